package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// Permissions, as the seed integration guide names them.
const (
	PermReadContent       = "read_content"
	PermWriteContent      = "write_content"
	PermGenerateContent   = "generate_content"
	PermManageSubscribers = "manage_subscribers"
	PermViewAnalytics     = "view_analytics"
	PermAdmin             = "admin_access"
)

// RolePermissions maps each role to what it may do.
var RolePermissions = map[string][]string{
	"viewer":          {PermReadContent, PermViewAnalytics},
	"editor":          {PermReadContent, PermWriteContent, PermViewAnalytics},
	"content_manager": {PermReadContent, PermWriteContent, PermGenerateContent, PermManageSubscribers, PermViewAnalytics},
	"admin":           {PermReadContent, PermWriteContent, PermGenerateContent, PermManageSubscribers, PermViewAnalytics, PermAdmin},
}

// Principal is the authenticated caller.
type Principal struct {
	Tenant  string
	Role    string
	Subject string
}

// Can reports whether the principal's role grants perm.
func (p Principal) Can(perm string) bool {
	for _, x := range RolePermissions[p.Role] {
		if x == perm {
			return true
		}
	}
	return false
}

// Authenticator turns a request's credential into a Principal. It returns a *Problem with
// status 401 when the credential is missing or wrong.
type Authenticator interface {
	Authenticate(c *fiber.Ctx) (Principal, error)
}

// APIKeys authenticates `Authorization: Bearer <key>` (or `X-API-Key: <key>`) against
// configured keys. Keys are compared as SHA-256 digests in constant time.
type APIKeys struct {
	keys []apiKey
}

type apiKey struct {
	sum    [32]byte
	tenant string
	role   string
}

// NewAPIKeys returns an empty key set.
func NewAPIKeys() *APIKeys { return &APIKeys{} }

// Add grants key the role within tenant.
func (a *APIKeys) Add(key, tenant, role string) {
	a.keys = append(a.keys, apiKey{sum: sha256.Sum256([]byte(key)), tenant: tenant, role: role})
}

// Authenticate implements Authenticator.
func (a *APIKeys) Authenticate(c *fiber.Ctx) (Principal, error) {
	key := bearer(c)
	if key == "" {
		return Principal{}, &Problem{Status: 401, Detail: "missing credential: send Authorization: Bearer <api key>"}
	}
	sum := sha256.Sum256([]byte(key))
	found := -1
	for i := range a.keys {
		if subtle.ConstantTimeCompare(sum[:], a.keys[i].sum[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Principal{}, &Problem{Status: 401, Detail: "unknown API key"}
	}
	k := a.keys[found]
	return Principal{Tenant: k.tenant, Role: k.role, Subject: "api-key"}, nil
}

func bearer(c *fiber.Ctx) string {
	h := c.Get(fiber.HeaderAuthorization)
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return strings.TrimSpace(c.Get("X-API-Key"))
}

const principalKey = "aquahub.principal"

func (s *Server) authenticate(c *fiber.Ctx) error {
	if s.opts.Auth == nil {
		return &Problem{Status: 401, Detail: "no authentication configured"}
	}
	p, err := s.opts.Auth.Authenticate(c)
	if err != nil {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="aquahub"`)
		return err
	}
	c.Locals(principalKey, p)
	return c.Next()
}

// require answers 403 unless the caller's role grants perm.
func require(perm string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p := PrincipalOf(c)
		if !p.Can(perm) {
			return &Problem{Status: 403, Detail: "permission " + perm + " required (role " + p.Role + ")"}
		}
		return c.Next()
	}
}

// PrincipalOf returns the authenticated caller.
func PrincipalOf(c *fiber.Ctx) Principal {
	p, _ := c.Locals(principalKey).(Principal)
	return p
}

// Tenant returns the authenticated caller's tenant.
func Tenant(c *fiber.Ctx) string { return PrincipalOf(c).Tenant }
