package jwtsign

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/aquascene/aquahub/sdk/abi"
)

// Policy is what one connector may sign with for one tenant.
type Policy struct {
	// Secrets maps the tenant's secret names to values. Only those Declared as signing keys
	// are ever read.
	Secrets map[string]string
	// Declared are the manifest's secrets (abi.Manifest.Secrets).
	Declared []abi.SecretSpec
	// Keys caches parsed keys, shared by every signer of a host; nil gives the signer a
	// cache of its own.
	Keys *Keys
	// Scope prefixes cache keys: the host uses tenant and connector id, so that a parsed
	// key is cached per (tenant, connector, secret).
	Scope string
}

// Signer answers sign_jwt requests under a Policy. It is safe for concurrent use.
type Signer struct {
	policy Policy
}

// NewSigner returns a signer for p.
func NewSigner(p Policy) *Signer {
	if p.Keys == nil {
		p.Keys = NewKeys()
	}
	return &Signer{policy: p}
}

// Sign signs req. Failures come back in JWTResponse.Error, never as a Go error, because
// they are answers to the guest; their messages never hold key material.
func (s *Signer) Sign(req *abi.JWTRequest) *abi.JWTResponse {
	fail := func(code, format string, args ...any) *abi.JWTResponse {
		return &abi.JWTResponse{Error: &abi.JWTError{Code: code, Message: fmt.Sprintf(format, args...)}}
	}
	if err := req.Check(); err != nil {
		return fail(abi.JWTErrorInvalid, "%v", err)
	}
	header, _ := req.HeaderFields()
	claims, _ := req.ClaimFields()
	spec, declared := s.declared(req.Secret)
	switch {
	case !declared:
		return fail(abi.JWTErrorInvalid, "secret %q is not declared by the connector (declare it in the manifest's secrets with use %q)", req.Secret, abi.SecretUseSign)
	case !spec.Signing():
		return fail(abi.JWTErrorInvalid, "secret %q is declared for HTTP requests, not as a signing key (use %q)", req.Secret, abi.SecretUseSign)
	}
	value, ok := s.policy.Secrets[req.Secret]
	if !ok || value == "" {
		return fail(abi.JWTErrorUnknownSecret, "signing key secret %q is not set for this tenant", req.Secret)
	}
	key, err := s.policy.Keys.get(s.policy.Scope, req.Secret, value)
	if err != nil {
		return fail(abi.JWTErrorBadKey, "secret %q: %v", req.Secret, err)
	}
	if err := key.fits(req.Alg); err != nil {
		return fail(abi.JWTErrorBadKey, "secret %q: %v", req.Secret, err)
	}

	if header == nil {
		header = map[string]json.RawMessage{}
	}
	header["alg"] = jsonString(req.Alg)
	header["typ"] = jsonString("JWT")
	if _, set := header["kid"]; !set && key.kid != "" {
		header["kid"] = jsonString(key.kid)
	}
	// A service-account key names its issuer and token endpoint, as Google's own
	// libraries read them; the guest cannot read the key file, so the host fills what the
	// guest left out.
	if _, set := claims["iss"]; !set && key.email != "" {
		claims["iss"] = jsonString(key.email)
	}
	if _, set := claims["aud"]; !set && key.tokenURI != "" {
		claims["aud"] = jsonString(key.tokenURI)
	}
	h, err := encodeJSON(header)
	if err != nil {
		return fail(abi.JWTErrorInvalid, "header: %v", err)
	}
	c, err := encodeJSON(claims)
	if err != nil {
		return fail(abi.JWTErrorInvalid, "claims: %v", err)
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	sig, err := key.sign(req.Alg, []byte(input))
	if err != nil {
		return fail(abi.JWTErrorBadKey, "secret %q: signing failed", req.Secret)
	}
	return &abi.JWTResponse{JWT: input + "." + enc.EncodeToString(sig)}
}

func (s *Signer) declared(name string) (abi.SecretSpec, bool) {
	for _, d := range s.policy.Declared {
		if d.Name == name {
			return d, true
		}
	}
	return abi.SecretSpec{}, false
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// encodeJSON encodes v compactly without HTML escaping, so that claims such as URLs with
// '&' are signed as the guest wrote them.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Keys caches parsed private keys by scope and secret name, so that a connector signing
// on every call does not parse (and validate) the key every time. A changed secret value
// replaces its entry. It is safe for concurrent use.
type Keys struct {
	mu sync.Mutex
	m  map[string]cachedKey
}

type cachedKey struct {
	sum [sha256.Size]byte
	key *privateKey
}

// NewKeys returns an empty cache.
func NewKeys() *Keys { return &Keys{m: map[string]cachedKey{}} }

func (k *Keys) get(scope, name, value string) (*privateKey, error) {
	id := scope + "\x00" + name
	sum := sha256.Sum256([]byte(value))
	k.mu.Lock()
	c, ok := k.m[id]
	k.mu.Unlock()
	if ok && c.sum == sum {
		return c.key, nil
	}
	key, err := parseKey(value)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	k.m[id] = cachedKey{sum: sum, key: key}
	k.mu.Unlock()
	return key, nil
}
