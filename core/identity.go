package core

import "context"

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

// RolePermissions maps each role to what it may do.
var RolePermissions = map[string][]Permission{
	"viewer":          {PermReadContent, PermViewAnalytics},
	"editor":          {PermReadContent, PermWriteContent, PermViewAnalytics},
	"content_manager": {PermReadContent, PermWriteContent, PermGenerateContent, PermManageSubscribers, PermViewAnalytics},
	"admin":           {PermReadContent, PermWriteContent, PermGenerateContent, PermManageSubscribers, PermViewAnalytics, PermAdmin},
}

// Principal is an authenticated caller.
type Principal struct {
	Tenant  string
	Role    string
	Subject string
}

// Can reports whether the principal's role grants perm.
func (p Principal) Can(perm Permission) bool {
	for _, x := range RolePermissions[p.Role] {
		if x == perm {
			return true
		}
	}
	return false
}

// Header reads request headers by case-insensitive name; http.Header satisfies it.
type Header interface {
	Get(name string) string
}

// Authenticator turns a request's credential into a Principal. A missing or wrong credential
// is an error wrapping ErrUnauthenticated that says what to fix.
type Authenticator interface {
	Authenticate(ctx context.Context, h Header) (Principal, error)
}
