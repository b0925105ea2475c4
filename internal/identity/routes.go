package identity

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/httpapi"
	"github.com/aquascene/aquahub/sdk/api"
)

// Routes implements httpapi.RouteModule: a tenant's API keys and audit log (admin_access),
// and for the hub's operator the tenants and the hub's audit log.
func (m *Module) Routes(mux *httpapi.Mux) {
	type R = httpapi.Response
	notFound := R{Status: 404, Description: "No such key or tenant"}
	mux.Handle(httpapi.Op{Method: "POST", Path: "/api/v1/keys", Summary: "Create an API key with a role; the answer shows the key once", Tag: "keys",
		Permission: core.PermAdmin, Request: api.APIKeyInput{},
		Responses: []R{{Status: 201, Description: "Created; key is shown only here", Body: api.APIKeyCreated{}}, {Status: 400, Description: "Invalid role, ttl or expires_at"}}}, m.createKey)
	mux.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/keys", Summary: "The tenant's API keys (never the keys themselves)", Tag: "keys",
		Permission: core.PermAdmin, Responses: []R{{Status: 200, Description: "The keys, newest first", Body: api.APIKeyList{}}}}, m.listKeys)
	mux.Handle(httpapi.Op{Method: "DELETE", Path: "/api/v1/keys/:id", Summary: "Revoke an API key; it stops working at once", Tag: "keys",
		Permission: core.PermAdmin, Responses: []R{{Status: 200, Description: "Revoked", Body: api.APIKey{}}, notFound}}, m.revokeKey)
	auditQuery := []httpapi.Param{{Name: "limit", Description: "at most this many (default 100, max 1000)"}, {Name: "before", Description: "continue before this entry id"}}
	mux.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/audit", Summary: "The tenant's audit log: administrative changes and failed credentials", Tag: "audit",
		Permission: core.PermAdmin, Query: auditQuery, Responses: []R{{Status: 200, Description: "Entries, newest first", Body: api.AuditList{}}}}, m.tenantAudit)

	// The operator's.
	mux.Handle(httpapi.Op{Method: "POST", Path: "/api/v1/tenants", Summary: "Create a tenant (operator)", Tag: "tenants", Operator: true,
		Permission: core.PermAdmin, Request: api.TenantInput{},
		Responses: []R{{Status: 201, Description: "Created", Body: api.Tenant{}}, {Status: 400, Description: "Invalid field"}, {Status: 409, Description: "The id exists, existed, or is the configuration file's"}}}, m.createTenant)
	mux.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/tenants", Summary: "Every tenant (operator)", Tag: "tenants", Operator: true,
		Permission: core.PermAdmin, Responses: []R{{Status: 200, Description: "The tenants", Body: api.TenantList{}}}}, m.listTenants)
	mux.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/tenants/:id", Summary: "A tenant; secrets by name only (operator)", Tag: "tenants", Operator: true,
		Permission: core.PermAdmin, Responses: []R{{Status: 200, Description: "The tenant", Body: api.Tenant{}}, notFound}}, m.getTenant)
	mux.Handle(httpapi.Op{Method: "PATCH", Path: "/api/v1/tenants/:id", Summary: "Change a tenant's sections; those the configuration file pins are refused (operator)", Tag: "tenants", Operator: true,
		Permission: core.PermAdmin, Request: api.TenantPatch{},
		Responses: []R{{Status: 200, Description: "Changed", Body: api.Tenant{}}, {Status: 400, Description: "Invalid field"}, notFound, {Status: 409, Description: "A section is pinned by the configuration file"}}}, m.patchTenant)
	mux.Handle(httpapi.Op{Method: "POST", Path: "/api/v1/tenants/:id/suspend", Summary: "Suspend a tenant: credentials, ingestion and schedules stop; runs wait (operator)", Tag: "tenants", Operator: true,
		Permission: core.PermAdmin, Responses: []R{{Status: 200, Description: "Suspended", Body: api.Tenant{}}, notFound, {Status: 409, Description: "Pinned by the configuration file"}}}, m.suspendTenant)
	mux.Handle(httpapi.Op{Method: "POST", Path: "/api/v1/tenants/:id/resume", Summary: "Resume a suspended tenant (operator)", Tag: "tenants", Operator: true,
		Permission: core.PermAdmin, Responses: []R{{Status: 200, Description: "Resumed", Body: api.Tenant{}}, notFound, {Status: 409, Description: "The configuration file suspends it"}}}, m.resumeTenant)
	mux.Handle(httpapi.Op{Method: "DELETE", Path: "/api/v1/tenants/:id", Summary: "Delete a tenant created through the API and revoke its keys; its id is not given again (operator)", Tag: "tenants", Operator: true,
		Permission: core.PermAdmin, Responses: []R{{Status: 204, Description: "Deleted"}, notFound, {Status: 409, Description: "Declared in the configuration file"}}}, m.deleteTenant)
	mux.Handle(httpapi.Op{Method: "POST", Path: "/api/v1/tenants/:id/keys", Summary: "Create an API key for a tenant, such as its first admin key (operator)", Tag: "tenants", Operator: true,
		Permission: core.PermAdmin, Request: api.APIKeyInput{},
		Responses: []R{{Status: 201, Description: "Created; key is shown only here", Body: api.APIKeyCreated{}}, {Status: 400, Description: "Invalid role, ttl or expires_at"}, notFound}}, m.createTenantKey)
	mux.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/hub/audit", Summary: "The whole audit log: every tenant's and the hub's own (operator)", Tag: "audit", Operator: true,
		Permission: core.PermAdmin, Query: append(auditQuery, httpapi.Param{Name: "tenant", Description: "only this tenant's entries (\"-\" for the hub's own)"}),
		Responses: []R{{Status: 200, Description: "Entries, newest first", Body: api.AuditList{}}}}, m.hubAudit)
}

// decode reads a JSON body strictly: an unknown field is an error naming it.
func decode(c *fiber.Ctx, dst any) error {
	if len(c.Body()) == 0 {
		return core.Invalid("", "a JSON body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return core.Invalid("", "malformed JSON: %v", err)
	}
	return nil
}

func keyInput(in api.APIKeyInput) (KeyInput, error) {
	k := KeyInput{Name: in.Name, Role: in.Role, ExpiresAt: in.ExpiresAt}
	if in.TTL != "" {
		d, err := time.ParseDuration(in.TTL)
		if err != nil || d <= 0 {
			return k, core.Invalid("ttl", "must be a positive Go duration such as 720h (got %q)", in.TTL)
		}
		k.TTL = d
	}
	return k, nil
}

func (m *Module) createKey(c *fiber.Ctx) error {
	return m.createKeyFor(c, httpapi.Tenant(c))
}

func (m *Module) createTenantKey(c *fiber.Ctx) error {
	return m.createKeyFor(c, c.Params("id"))
}

func (m *Module) createKeyFor(c *fiber.Ctx, tenant string) error {
	var in api.APIKeyInput
	if err := decode(c, &in); err != nil {
		return err
	}
	ki, err := keyInput(in)
	if err != nil {
		return err
	}
	k, secret, err := m.CreateKey(c.UserContext(), tenant, subjectOf(httpapi.PrincipalOf(c)), ki)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(api.APIKeyCreated{APIKey: apiKey(k, m.now()), Key: secret})
}

func subjectOf(p core.Principal) string {
	if p.Operator {
		return "operator"
	}
	return p.Subject
}

func (m *Module) listKeys(c *fiber.Ctx) error {
	keys, err := m.Keys(c.UserContext(), httpapi.Tenant(c))
	if err != nil {
		return err
	}
	out := api.APIKeyList{Keys: make([]api.APIKey, 0, len(keys))}
	now := m.now()
	for _, k := range keys {
		out.Keys = append(out.Keys, apiKey(k, now))
	}
	return c.JSON(out)
}

func (m *Module) revokeKey(c *fiber.Ctx) error {
	k, err := m.RevokeKey(c.UserContext(), httpapi.Tenant(c), c.Params("id"), subjectOf(httpapi.PrincipalOf(c)))
	if err != nil {
		return err
	}
	return c.JSON(apiKey(k, m.now()))
}

func auditFilter(c *fiber.Ctx) (AuditFilter, error) {
	f := AuditFilter{Before: c.Query("before"), Limit: 100}
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return f, core.Invalid("limit", "must be a number from 1 to 1000 (got %q)", l)
		}
		f.Limit = n
	}
	return f, nil
}

func (m *Module) tenantAudit(c *fiber.Ctx) error {
	f, err := auditFilter(c)
	if err != nil {
		return err
	}
	f.Tenant = httpapi.Tenant(c)
	es, err := m.AuditLog(c.UserContext(), f)
	if err != nil {
		return err
	}
	return c.JSON(apiAuditList(es, f.Limit))
}

func (m *Module) hubAudit(c *fiber.Ctx) error {
	f, err := auditFilter(c)
	if err != nil {
		return err
	}
	switch t := c.Query("tenant"); t {
	case "":
		f.AllTenants = true
	case "-":
	default:
		f.Tenant = t
	}
	es, err := m.AuditLog(c.UserContext(), f)
	if err != nil {
		return err
	}
	return c.JSON(apiAuditList(es, f.Limit))
}

func (m *Module) createTenant(c *fiber.Ctx) error {
	var in api.TenantInput
	if err := decode(c, &in); err != nil {
		return err
	}
	t, err := m.CreateTenant(c.UserContext(), in.ID, tenantInputPatch(in), in.Suspended)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(apiTenant(t))
}

func (m *Module) listTenants(c *fiber.Ctx) error {
	out := api.TenantList{Tenants: []api.Tenant{}}
	for _, t := range m.Tenants() {
		out.Tenants = append(out.Tenants, apiTenant(t))
	}
	return c.JSON(out)
}

func (m *Module) getTenant(c *fiber.Ctx) error {
	t, ok := m.reg.Tenant(c.Params("id"))
	if !ok {
		return &httpapi.Problem{Status: 404, Detail: "tenant " + strconv.Quote(c.Params("id")) + " does not exist"}
	}
	return c.JSON(apiTenant(t))
}

func (m *Module) patchTenant(c *fiber.Ctx) error {
	var in api.TenantPatch
	if err := decode(c, &in); err != nil {
		return err
	}
	t, err := m.UpdateTenant(c.UserContext(), c.Params("id"), tenantPatch(in))
	if err != nil {
		return err
	}
	return c.JSON(apiTenant(t))
}

func (m *Module) suspendTenant(c *fiber.Ctx) error {
	t, err := m.SetSuspended(c.UserContext(), c.Params("id"), true)
	if err != nil {
		return err
	}
	return c.JSON(apiTenant(t))
}

func (m *Module) resumeTenant(c *fiber.Ctx) error {
	t, err := m.SetSuspended(c.UserContext(), c.Params("id"), false)
	if err != nil {
		return err
	}
	return c.JSON(apiTenant(t))
}

func (m *Module) deleteTenant(c *fiber.Ctx) error {
	if err := m.DeleteTenant(c.UserContext(), c.Params("id")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

var _ httpapi.RouteModule = (*Module)(nil)
