package identity

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"github.com/aquascene/aquahub/core"
)

// TenantConfig is a tenant's credentials in the configuration (tenants[].api_keys).
type TenantConfig struct {
	// APIKeys authenticate callers as this tenant with `Authorization: Bearer <key>` (or
	// `X-API-Key: <key>`), with the admin role.
	APIKeys []string `koanf:"api_keys"`
}

// ValidateKeys checks every tenant's keys: at least 6 characters, no key shared by two
// tenants. tenants maps tenant id to its configuration; paths name tenants[i].
func ValidateKeys(ids []string, tenants map[string]TenantConfig) error {
	var errs []error
	seen := map[string]string{}
	for i, id := range ids {
		for j, k := range tenants[id].APIKeys {
			path := fmt.Sprintf("tenants[%d].api_keys[%d]", i, j)
			if len(k) < 6 {
				errs = append(errs, core.Invalid(path, "an API key must have at least 6 characters"))
			}
			if other, dup := seen[k]; dup {
				errs = append(errs, core.Invalid(path, "the same key is already used by tenant %q", other))
			}
			seen[k] = id
		}
	}
	return errors.Join(errs...)
}

// Keys authenticates API keys. Keys are compared as SHA-256 digests in constant time.
type Keys struct {
	keys []apiKey
}

type apiKey struct {
	sum    [32]byte
	tenant string
	role   string
}

// NewKeys returns the keys of every tenant, each granting the admin role.
func NewKeys(tenants map[string]TenantConfig) *Keys {
	k := &Keys{}
	for id, t := range tenants {
		for _, key := range t.APIKeys {
			k.Add(key, id, "admin")
		}
	}
	return k
}

// Add grants key the role within tenant.
func (a *Keys) Add(key, tenant, role string) {
	a.keys = append(a.keys, apiKey{sum: sha256.Sum256([]byte(key)), tenant: tenant, role: role})
}

// Authenticate implements core.Authenticator.
func (a *Keys) Authenticate(_ context.Context, h core.Header) (core.Principal, error) {
	key := bearer(h)
	if key == "" {
		return core.Principal{}, core.Unauthenticated("missing credential: send Authorization: Bearer <api key>")
	}
	sum := sha256.Sum256([]byte(key))
	found := -1
	for i := range a.keys {
		if subtle.ConstantTimeCompare(sum[:], a.keys[i].sum[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return core.Principal{}, core.Unauthenticated("unknown API key")
	}
	k := a.keys[found]
	return core.Principal{Tenant: k.tenant, Role: k.role, Subject: "api-key"}, nil
}

func bearer(h core.Header) string {
	v := h.Get("Authorization")
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return strings.TrimSpace(h.Get("X-API-Key"))
}

var _ core.Authenticator = (*Keys)(nil)
