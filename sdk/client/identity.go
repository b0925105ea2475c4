package client

import (
	"context"
	"net/url"
	"strconv"

	"github.com/aquascene/aquahub/sdk/api"
)

// The identity API: a tenant's API keys and audit log (/api/v1/keys, /api/v1/audit), and
// for the hub's operator, whose token the Client then holds in APIKey, the tenants
// (/api/v1/tenants) and the hub's audit log.

// CreateKey creates an API key; the answer's Key is shown only here.
func (c *Client) CreateKey(ctx context.Context, in api.APIKeyInput) (api.APIKeyCreated, error) {
	var out api.APIKeyCreated
	_, err := c.Do(ctx, "POST", "/api/v1/keys", in, "", nil, &out)
	return out, err
}

// Keys lists the tenant's API keys, newest first, without the keys themselves.
func (c *Client) Keys(ctx context.Context) ([]api.APIKey, error) {
	var out api.APIKeyList
	_, err := c.Do(ctx, "GET", "/api/v1/keys", nil, "", nil, &out)
	return out.Keys, err
}

// RevokeKey revokes an API key by id (or prefix); it stops working at once.
func (c *Client) RevokeKey(ctx context.Context, id string) (api.APIKey, error) {
	var out api.APIKey
	_, err := c.Do(ctx, "DELETE", "/api/v1/keys/"+url.PathEscape(id), nil, "", nil, &out)
	return out, err
}

// AuditLog returns the tenant's audit entries newest first; before continues a listing.
func (c *Client) AuditLog(ctx context.Context, limit int, before string) (api.AuditList, error) {
	return c.audit(ctx, "/api/v1/audit", limit, before, "")
}

// HubAuditLog returns the whole audit log (operator); tenant filters ("-" is the hub's own).
func (c *Client) HubAuditLog(ctx context.Context, limit int, before, tenant string) (api.AuditList, error) {
	return c.audit(ctx, "/api/v1/hub/audit", limit, before, tenant)
}

func (c *Client) audit(ctx context.Context, path string, limit int, before, tenant string) (api.AuditList, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if before != "" {
		q.Set("before", before)
	}
	if tenant != "" {
		q.Set("tenant", tenant)
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out api.AuditList
	_, err := c.Do(ctx, "GET", path, nil, "", nil, &out)
	return out, err
}

func tenantPath(id string, rest ...string) string {
	p := "/api/v1/tenants/" + url.PathEscape(id)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// Tenants lists every tenant (operator).
func (c *Client) Tenants(ctx context.Context) ([]api.Tenant, error) {
	var out api.TenantList
	_, err := c.Do(ctx, "GET", "/api/v1/tenants", nil, "", nil, &out)
	return out.Tenants, err
}

// Tenant returns one tenant (operator).
func (c *Client) Tenant(ctx context.Context, id string) (api.Tenant, error) {
	var out api.Tenant
	_, err := c.Do(ctx, "GET", tenantPath(id), nil, "", nil, &out)
	return out, err
}

// CreateTenant creates a tenant (operator).
func (c *Client) CreateTenant(ctx context.Context, in api.TenantInput) (api.Tenant, error) {
	var out api.Tenant
	_, err := c.Do(ctx, "POST", "/api/v1/tenants", in, "", nil, &out)
	return out, err
}

// UpdateTenant changes a tenant's sections (operator).
func (c *Client) UpdateTenant(ctx context.Context, id string, in api.TenantPatch) (api.Tenant, error) {
	var out api.Tenant
	_, err := c.Do(ctx, "PATCH", tenantPath(id), in, "", nil, &out)
	return out, err
}

// SuspendTenant suspends a tenant, ResumeTenant resumes it (operator).
func (c *Client) SuspendTenant(ctx context.Context, id string) (api.Tenant, error) {
	var out api.Tenant
	_, err := c.Do(ctx, "POST", tenantPath(id, "suspend"), nil, "", nil, &out)
	return out, err
}

// ResumeTenant resumes a suspended tenant (operator).
func (c *Client) ResumeTenant(ctx context.Context, id string) (api.Tenant, error) {
	var out api.Tenant
	_, err := c.Do(ctx, "POST", tenantPath(id, "resume"), nil, "", nil, &out)
	return out, err
}

// DeleteTenant deletes a tenant created through the API and revokes its keys (operator).
func (c *Client) DeleteTenant(ctx context.Context, id string) error {
	_, err := c.Do(ctx, "DELETE", tenantPath(id), nil, "", nil, nil)
	return err
}

// CreateTenantKey creates an API key for a tenant, such as its first admin key (operator).
func (c *Client) CreateTenantKey(ctx context.Context, tenant string, in api.APIKeyInput) (api.APIKeyCreated, error) {
	var out api.APIKeyCreated
	_, err := c.Do(ctx, "POST", tenantPath(tenant, "keys"), in, "", nil, &out)
	return out, err
}
