package inbound

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/aquascene/aquahub/core"
)

// basicScheme verifies HTTP Basic credentials; the secret is "user:password".
func basicScheme() Scheme {
	return Scheme{
		Name: "basic",
		New: func(cfg SourceConfig) (Verifier, error) {
			user, pass, ok := strings.Cut(cfg.Secret, ":")
			if !ok || user == "" || pass == "" {
				return nil, core.Invalid("secret", `must be "user:password" for verifier basic`)
			}
			return Basic{Username: user, Password: pass}, nil
		},
	}
}

// Basic verifies HTTP Basic credentials.
type Basic struct {
	Username, Password string
}

// Verify implements Verifier.
func (v Basic) Verify(r Request) (Verified, error) {
	req := http.Request{Header: r.Header}
	user, pass, ok := req.BasicAuth()
	if !ok {
		return Verified{}, unauthorized("Basic credentials missing")
	}
	u := subtle.ConstantTimeCompare([]byte(user), []byte(v.Username))
	p := subtle.ConstantTimeCompare([]byte(pass), []byte(v.Password))
	if u&p != 1 {
		return Verified{}, unauthorized("wrong Basic credentials")
	}
	return Verified{}, nil
}

var _ Verifier = Basic{}
