package identity_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/identity"
)

func TestKeysAuthenticate(t *testing.T) {
	keys := identity.NewKeys(map[string]identity.TenantConfig{"acme": {APIKeys: []string{"acme-key-1"}}})
	keys.Add("viewer-key", "acme", "viewer")
	tests := []struct {
		name   string
		header map[string]string
		tenant string
		role   string
		err    string
	}{
		{"bearer", map[string]string{"Authorization": "Bearer acme-key-1"}, "acme", "admin", ""},
		{"bearer is case-insensitive", map[string]string{"Authorization": "bearer acme-key-1"}, "acme", "admin", ""},
		{"x-api-key", map[string]string{"X-API-Key": "viewer-key"}, "acme", "viewer", ""},
		{"missing", nil, "", "", "missing credential"},
		{"unknown", map[string]string{"Authorization": "Bearer nope"}, "", "", "unknown API key"},
		{"a prefix of a key is not the key", map[string]string{"Authorization": "Bearer acme-key"}, "", "", "unknown API key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.header {
				h.Set(k, v)
			}
			p, err := keys.Authenticate(context.Background(), h)
			if tc.err != "" {
				if !errors.Is(err, core.ErrUnauthenticated) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want ErrUnauthenticated saying %q", err, tc.err)
				}
				return
			}
			if err != nil || p.Tenant != tc.tenant || p.Role != tc.role {
				t.Fatalf("got %+v %v", p, err)
			}
		})
	}
}

func TestValidateKeys(t *testing.T) {
	err := identity.ValidateKeys([]string{"a", "b"}, map[string]identity.TenantConfig{
		"a": {APIKeys: []string{"shared-key", "abc"}},
		"b": {APIKeys: []string{"shared-key"}},
	})
	for _, want := range []string{"tenants[0].api_keys[1]: an API key must have at least 6 characters", `tenants[1].api_keys[0]: the same key is already used by tenant "a"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}
