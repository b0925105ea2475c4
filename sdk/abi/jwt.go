package abi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// JWT signing algorithms sign_jwt accepts.
const (
	// JWTAlgRS256 is RSASSA-PKCS1-v1_5 with SHA-256; it needs an RSA key.
	JWTAlgRS256 = "RS256"
	// JWTAlgES256 is ECDSA on P-256 with SHA-256, the signature in JWS form (r || s, 64
	// bytes); it needs a P-256 key.
	JWTAlgES256 = "ES256"
)

// JWTRequest is the sign_jwt argument (ABI revision 1.3): sign Claims with the tenant's
// value of the signing key Secret.
type JWTRequest struct {
	// Alg is JWTAlgRS256 or JWTAlgES256. The host writes it into the header.
	Alg string `json:"alg"`
	// Secret names a secret the manifest declares with Use SecretUseSign.
	Secret string `json:"secret"`
	// Header is a JSON object of extra JOSE header fields, such as kid. alg and typ belong
	// to the host (alg from Alg, typ "JWT") and are refused here.
	Header json.RawMessage `json:"header,omitempty"`
	// Claims is the JWT claims set, a JSON object.
	Claims json.RawMessage `json:"claims"`
}

// DecodeJWTRequest parses and checks a sign_jwt argument. Unknown fields are errors.
func DecodeJWTRequest(b []byte) (*JWTRequest, error) {
	var r JWTRequest
	if err := decodeStrict(b, &r); err != nil {
		return nil, fmt.Errorf("sign_jwt request: %w", err)
	}
	if err := r.Check(); err != nil {
		return nil, fmt.Errorf("sign_jwt request: %w", err)
	}
	return &r, nil
}

// Check validates the request; the message starts with the field name.
func (r *JWTRequest) Check() error {
	switch r.Alg {
	case JWTAlgRS256, JWTAlgES256:
	case "":
		return errors.New("alg: required (RS256 or ES256)")
	default:
		return fmt.Errorf("alg: must be %s or %s (got %q)", JWTAlgRS256, JWTAlgES256, r.Alg)
	}
	if r.Secret == "" {
		return errors.New("secret: required (the name of a signing key secret)")
	}
	if _, err := r.HeaderFields(); err != nil {
		return err
	}
	if _, err := r.ClaimFields(); err != nil {
		return err
	}
	return nil
}

// HeaderFields returns the guest's extra header fields, by name; absent or null is empty.
func (r *JWTRequest) HeaderFields() (map[string]json.RawMessage, error) {
	if len(r.Header) == 0 || bytes.Equal(bytes.TrimSpace(r.Header), []byte("null")) {
		return nil, nil
	}
	m, ok := jsonObject(r.Header)
	if !ok {
		return nil, errors.New("header: must be a JSON object")
	}
	for _, k := range []string{"alg", "typ"} {
		if _, set := m[k]; set {
			return nil, fmt.Errorf("header.%s: set by the host (alg from the request's alg, typ JWT); remove it", k)
		}
	}
	return m, nil
}

// ClaimFields returns the claims set, by name.
func (r *JWTRequest) ClaimFields() (map[string]json.RawMessage, error) {
	m, ok := jsonObject(r.Claims)
	if !ok {
		return nil, errors.New("claims: must be a JSON object")
	}
	return m, nil
}

// jsonObject decodes b as a JSON object, keeping each value's encoding.
func jsonObject(b []byte) (map[string]json.RawMessage, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return nil, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, false
	}
	if m == nil {
		m = map[string]json.RawMessage{}
	}
	return m, true
}

// JWTResponse is what sign_jwt returns: the token or Error.
type JWTResponse struct {
	// JWT is the signed token in JWS compact form (header.claims.signature, base64url
	// without padding).
	JWT   string    `json:"jwt,omitempty"`
	Error *JWTError `json:"error,omitempty"`
}

// JWTError says why the host did not sign. Its message never holds key material.
type JWTError struct {
	// Code is one of the JWTError* constants.
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error implements error.
func (e *JWTError) Error() string { return e.Code + ": " + e.Message }

// sign_jwt error codes.
const (
	// JWTErrorInvalid: the request is malformed, or names a secret the manifest does not
	// declare as a signing key. A connector bug; repeating cannot fix it.
	JWTErrorInvalid = "invalid_request"
	// JWTErrorUnknownSecret: the tenant has not set the signing key.
	JWTErrorUnknownSecret = "unknown_secret"
	// JWTErrorBadKey: the tenant's value is not a usable private key for the algorithm
	// (not PEM or a service-account key, encrypted, wrong type or curve, too short).
	JWTErrorBadKey = "bad_key"
)
