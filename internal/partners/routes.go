package partners

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/httpapi"
	"github.com/aquascene/aquahub/sdk/api"
)

// Routes implements httpapi.RouteModule: the partner registry under /api/v1/partners for
// callers with admin_access, and a partner's revenue and ROI for callers with
// view_analytics. A module built without a Store serves none.
func (m *Module) Routes(mux *httpapi.Mux) {
	if m.st == nil {
		return
	}
	type R = httpapi.Response
	notFound := R{Status: 404, Description: "No such partner"}
	invalid := R{Status: 400, Description: "Invalid field (name, catalog.mapping.<field>, revenue_sharing.currency ...)"}
	mux.Handle(httpapi.Op{Method: "POST", Path: "/api/v1/partners", Summary: "Register a partner", Tag: "partners",
		Permission: core.PermAdmin, Request: api.PartnerInput{},
		Responses: []R{{Status: 201, Description: "Registered", Body: api.Partner{}}, invalid, {Status: 409, Description: "The id is registered already"}}}, m.create)
	mux.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/partners", Summary: "List partners", Tag: "partners", Permission: core.PermAdmin,
		Responses: []R{{Status: 200, Description: "The tenant's partners by id", Body: api.PartnerList{}}}}, m.list)
	mux.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/partners/:id", Summary: "A partner", Tag: "partners", Permission: core.PermAdmin,
		Responses: []R{{Status: 200, Description: "The partner", Body: api.Partner{}}, notFound}}, m.get)
	mux.Handle(httpapi.Op{Method: "PUT", Path: "/api/v1/partners/:id", Summary: "Register or replace a partner", Tag: "partners",
		Permission: core.PermAdmin, Request: api.PartnerInput{},
		Responses: []R{{Status: 200, Description: "Replaced", Body: api.Partner{}}, {Status: 201, Description: "Registered", Body: api.Partner{}}, invalid}}, m.put)
	mux.Handle(httpapi.Op{Method: "DELETE", Path: "/api/v1/partners/:id", Summary: "Remove a partner and its revenue attributions", Tag: "partners",
		Permission: core.PermAdmin, Responses: []R{{Status: 200, Description: "Deleted", Body: api.PartnerDeleted{}}, notFound}}, m.delete)
	mux.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/partners/:id/revenue", Summary: "Orders attributed to the partner's content, newest first", Tag: "partners",
		Permission: core.PermViewAnalytics, Responses: []R{{Status: 200, Description: "The attributions", Body: api.RevenueAttributionList{}}, notFound}}, m.revenue)
	mux.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/partners/:id/roi", Summary: "Partnership ROI over the partner's content of the last period_days days", Tag: "partners",
		Permission: core.PermViewAnalytics, Query: []httpapi.Param{{Name: "period_days", Description: "content created in the last this many days (default 30, 1 to 730)"}},
		Responses: []R{{Status: 200, Description: "The ROI", Body: api.PartnershipROI{}}, {Status: 400, Description: "Invalid period_days"}, notFound}}, m.roi)
}

func decodeInput(c *fiber.Ctx) (api.PartnerInput, error) {
	var in api.PartnerInput
	if len(c.Body()) == 0 {
		return in, core.Invalid("", "a JSON body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return in, core.Invalid(te.Field, "must be %s (got %s)", te.Type, te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return in, core.Invalid(strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), "unknown field")
		}
		return in, core.Invalid("", "malformed JSON: %v", err)
	}
	return in, nil
}

func (m *Module) create(c *fiber.Ctx) error {
	in, err := decodeInput(c)
	if err != nil {
		return err
	}
	p, err := m.Create(c.UserContext(), httpapi.Tenant(c), FromAPI(in.ID, in))
	if err != nil {
		return err
	}
	c.Location("/api/v1/partners/" + p.ID)
	return c.Status(fiber.StatusCreated).JSON(p.ToAPI())
}

func (m *Module) list(c *fiber.Ctx) error {
	ps, err := m.List(c.UserContext(), httpapi.Tenant(c))
	if err != nil {
		return err
	}
	out := api.PartnerList{Partners: make([]api.Partner, len(ps))}
	for i := range ps {
		out.Partners[i] = ps[i].ToAPI()
	}
	return c.JSON(out)
}

func (m *Module) get(c *fiber.Ctx) error {
	p, err := m.Get(c.UserContext(), httpapi.Tenant(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(p.ToAPI())
}

func (m *Module) put(c *fiber.Ctx) error {
	in, err := decodeInput(c)
	if err != nil {
		return err
	}
	id := c.Params("id")
	if in.ID != "" && in.ID != id {
		return core.Invalid("id", "%q differs from the path's %q", in.ID, id)
	}
	p, created, err := m.Put(c.UserContext(), httpapi.Tenant(c), FromAPI(id, in))
	if err != nil {
		return err
	}
	if created {
		c.Status(fiber.StatusCreated)
	}
	return c.JSON(p.ToAPI())
}

func (m *Module) delete(c *fiber.Ctx) error {
	if err := m.Delete(c.UserContext(), httpapi.Tenant(c), c.Params("id")); err != nil {
		return err
	}
	return c.JSON(api.PartnerDeleted{Status: "deleted"})
}

func (m *Module) revenue(c *fiber.Ctx) error {
	list, err := m.Attributions(c.UserContext(), httpapi.Tenant(c), c.Params("id"))
	if err != nil {
		return err
	}
	out := api.RevenueAttributionList{Attributions: make([]api.RevenueAttribution, len(list))}
	for i, a := range list {
		out.Attributions[i] = attributionToAPI(a)
	}
	return c.JSON(out)
}

func (m *Module) roi(c *fiber.Ctx) error {
	days := 30
	if raw := c.Query("period_days"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > 730 {
			return core.Invalid("period_days", "must be a whole number from 1 to 730 (got %q)", raw)
		}
		days = n
	}
	r, err := m.ROI(c.UserContext(), httpapi.Tenant(c), c.Params("id"), days)
	if err != nil {
		return err
	}
	return c.JSON(roiToAPI(r))
}

var _ httpapi.RouteModule = (*Module)(nil)
