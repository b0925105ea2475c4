package inbound

import (
	"crypto/subtle"
	"strings"

	"github.com/aquascene/aquahub/core"
)

// apiKeyScheme verifies a shared key of at least 16 characters in a header.
func apiKeyScheme() Scheme {
	return Scheme{
		Name:   "api_key",
		Fields: []string{"header"},
		New: func(cfg SourceConfig) (Verifier, error) {
			if len(cfg.Secret) < 16 {
				return nil, core.Invalid("secret", "an API key must have at least 16 characters")
			}
			return APIKey{Header: cfg.Header, Key: cfg.Secret}, nil
		},
	}
}

// APIKey verifies a shared key in a header. With the Authorization header the key follows
// "Bearer ".
type APIKey struct {
	// Header carries the key (default X-API-Key).
	Header string
	Key    string
}

// Verify implements Verifier.
func (v APIKey) Verify(r Request) (Verified, error) {
	header := orDefault(v.Header, "X-API-Key")
	got := r.Header.Get(header)
	if strings.EqualFold(header, "Authorization") {
		got = strings.TrimPrefix(got, "Bearer ")
	}
	if got == "" {
		return Verified{}, unauthorized("%s header missing", header)
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(v.Key)) != 1 {
		return Verified{}, unauthorized("wrong key in %s", header)
	}
	return Verified{}, nil
}

var _ Verifier = APIKey{}
