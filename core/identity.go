package core

import (
	"context"
	"slices"
	"time"
)

// Permission is what a role may do. The six are the seed's; every HTTP operation declares
// the one it needs.
type Permission string

// Permissions.
const (
	PermReadContent       Permission = "read_content"
	PermWriteContent      Permission = "write_content"
	PermGenerateContent   Permission = "generate_content"
	PermManageSubscribers Permission = "manage_subscribers"
	PermViewAnalytics     Permission = "view_analytics"
	PermAdmin             Permission = "admin_access"
)

// Permissions lists the six permissions.
var Permissions = []Permission{PermReadContent, PermWriteContent, PermGenerateContent, PermManageSubscribers, PermViewAnalytics, PermAdmin}

// The seed's four roles.
const (
	RoleViewer         = "viewer"
	RoleEditor         = "editor"
	RoleContentManager = "content_manager"
	RoleAdmin          = "admin"
)

// Roles lists the roles from least to most privileged.
var Roles = []string{RoleViewer, RoleEditor, RoleContentManager, RoleAdmin}

// RolePermissions maps each role to what it may do.
var RolePermissions = map[string][]Permission{
	RoleViewer:         {PermReadContent, PermViewAnalytics},
	RoleEditor:         {PermReadContent, PermWriteContent, PermViewAnalytics},
	RoleContentManager: {PermReadContent, PermWriteContent, PermGenerateContent, PermManageSubscribers, PermViewAnalytics},
	RoleAdmin:          {PermReadContent, PermWriteContent, PermGenerateContent, PermManageSubscribers, PermViewAnalytics, PermAdmin},
}

// ValidRole reports whether role is one of Roles.
func ValidRole(role string) bool {
	_, ok := RolePermissions[role]
	return ok
}

// Principal is an authenticated caller: a member of one tenant with a role, or the hub's
// operator, who administers tenants and belongs to none.
type Principal struct {
	// Tenant is the caller's tenant; empty for the operator.
	Tenant string
	// Role is one of Roles; empty for the operator.
	Role string
	// Subject names the caller for the audit log: a JWT's sub, "key:<id>" for an API key.
	Subject string
	// Operator marks the hub's operator credential. It reaches only the operations that
	// administer the hub, never a tenant's.
	Operator bool
	// Only, when not nil, narrows the role's permissions to these (a JWT's permissions
	// claim); it never widens them.
	Only []Permission
}

// Can reports whether the principal's role grants perm.
func (p Principal) Can(perm Permission) bool {
	if p.Operator {
		return false
	}
	if p.Only != nil && !slices.Contains(p.Only, perm) {
		return false
	}
	return slices.Contains(RolePermissions[p.Role], perm)
}

// Header reads request headers by case-insensitive name; http.Header satisfies it.
type Header interface {
	Get(name string) string
}

// Authenticator turns a request's credential into a Principal. A missing or wrong credential
// is an error wrapping ErrUnauthenticated that says what to fix; a known credential that may
// not be used now (its tenant is suspended) wraps ErrForbidden.
type Authenticator interface {
	Authenticate(ctx context.Context, h Header) (Principal, error)
}

// RequestInfo is where a request came from, for the audit log.
type RequestInfo struct {
	// RemoteAddr is the client's IP address.
	RemoteAddr string
	Method     string
	Path       string
	// RequestID correlates log lines and audit entries of one request.
	RequestID string
}

type requestInfoKey struct{}

// WithRequestInfo returns ctx carrying info.
func WithRequestInfo(ctx context.Context, info RequestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, info)
}

// RequestInfoFrom returns the request ctx belongs to; the zero value outside a request.
func RequestInfoFrom(ctx context.Context) RequestInfo {
	info, _ := ctx.Value(requestInfoKey{}).(RequestInfo)
	return info
}

// AuditEntry is one line of the audit log: an administrative change, or a credential that
// failed.
type AuditEntry struct {
	// ID orders entries in time; the store assigns it.
	ID string
	// Tenant is the tenant concerned; empty for the hub's own entries (tenant administration,
	// credentials no tenant could be told from).
	Tenant string
	Time   time.Time
	// Actor is who acted: a principal's subject, "operator", or what a failed credential
	// claimed to be ("unknown API key aqh_live_AbC…").
	Actor string
	// Action says what happened: "POST /api/v1/keys", "auth.failed", "auth.forbidden".
	Action string
	// Target names what was changed, when there is one (a key id, a tenant id).
	Target string
	// Outcome is "ok", "denied" or "failed".
	Outcome string
	// Detail is a short reason or summary; never a secret value.
	Detail string
	// RemoteAddr is where the request came from.
	RemoteAddr string
}

// Auditor records audit entries. It must not block on a slow store for long: callers are
// request handlers.
type Auditor interface {
	Audit(ctx context.Context, e AuditEntry)
}
