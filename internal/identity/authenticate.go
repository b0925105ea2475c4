package identity

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"strconv"
	"strings"

	"github.com/aquascene/aquahub/core"
)

// authFailure is a credential that did not authenticate: the reason the caller reads, and
// for the audit log what it claimed to be and, when known, whose it was.
type authFailure struct {
	reason string
	actor  string
	tenant string
}

func (f *authFailure) Error() string        { return f.reason }
func (f *authFailure) Is(target error) bool { return target == core.ErrUnauthenticated }

// configKey is an API key of the configuration file, kept as its digest.
type configKey struct {
	sum    [32]byte
	tenant string
	role   string
	index  int
}

func configKeys(tenants []FileTenant) []configKey {
	var out []configKey
	for _, t := range tenants {
		for i, k := range t.Config.APIKeys {
			role := k.Role
			if role == "" {
				role = t.Config.APIKeyRole
			}
			out = append(out, configKey{sum: sha256.Sum256([]byte(k.Key)), tenant: t.ID, role: role, index: i})
		}
	}
	return out
}

// Authenticate implements core.Authenticator. It accepts, in `Authorization: Bearer` or
// `X-API-Key`: the operator token, a stored key (aqh_live_…), a JWT, or a key of the
// configuration file. The principal's tenant must exist and not be suspended. Failures are
// written to the audit log.
func (m *Module) Authenticate(ctx context.Context, h core.Header) (core.Principal, error) {
	p, err := m.authenticate(ctx, bearer(h))
	if err != nil {
		var f *authFailure
		if errors.As(err, &f) {
			m.auditFailure(ctx, f)
		}
		return core.Principal{}, err
	}
	return p, nil
}

func (m *Module) authenticate(ctx context.Context, credential string) (core.Principal, error) {
	if credential == "" {
		return core.Principal{}, core.Unauthenticated("missing credential: send Authorization: Bearer <API key or token>")
	}
	if m.operator != nil {
		sum := sha256.Sum256([]byte(credential))
		if subtle.ConstantTimeCompare(sum[:], m.operator) == 1 {
			return core.Principal{Operator: true, Subject: "operator"}, nil
		}
	}
	var p core.Principal
	switch {
	case strings.HasPrefix(credential, KeyPrefix):
		var err error
		if p, err = m.storedKey(ctx, credential); err != nil {
			return p, err
		}
	case looksLikeJWT(credential):
		if m.jwt == nil {
			return p, &authFailure{reason: "JWTs are not accepted: the hub has no identity.jwt.keys", actor: "jwt"}
		}
		var err error
		if p, err = m.jwt.verify(credential); err != nil {
			return p, &authFailure{reason: err.Error(), actor: "jwt"}
		}
	default:
		sum := sha256.Sum256([]byte(credential))
		found := -1
		for i := range m.keys {
			if subtle.ConstantTimeCompare(sum[:], m.keys[i].sum[:]) == 1 {
				found = i
			}
		}
		if found < 0 {
			return p, &authFailure{reason: "unknown API key", actor: "unknown credential " + hint(credential)}
		}
		k := m.keys[found]
		p = core.Principal{Tenant: k.tenant, Role: k.role, Subject: "config-key:" + k.tenant + "[" + strconv.Itoa(k.index) + "]"}
	}
	t, ok := m.reg.Tenant(p.Tenant)
	if !ok {
		return core.Principal{}, &authFailure{reason: "tenant " + strconv.Quote(p.Tenant) + " does not exist", actor: p.Subject}
	}
	if t.Suspended {
		err := core.Forbidden("tenant %s is suspended", p.Tenant)
		m.auditFailure(ctx, &authFailure{reason: err.Error(), actor: p.Subject, tenant: p.Tenant})
		return core.Principal{}, err
	}
	return p, nil
}

// hint names an unknown credential in the audit log by its first characters only.
func hint(s string) string {
	if len(s) <= 4 {
		return "(" + strconv.Itoa(len(s)) + " characters)"
	}
	return strconv.Quote(s[:4]+"…") + " (" + strconv.Itoa(len(s)) + " characters)"
}

func bearer(h core.Header) string {
	v := h.Get("Authorization")
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return strings.TrimSpace(h.Get("X-API-Key"))
}
