package plugin

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aquascene/aquahub/sdk/abi"
)

// Secret uses, for SecretSpec.Use.
const (
	// SecretUseHTTP (the default) lets requests carry the secret by reference (Secret,
	// BasicAuth).
	SecretUseHTTP = abi.SecretUseHTTP
	// SecretUseSign makes the secret a private key that only SignJWT may use; a request
	// referencing it fails. Declaring one needs a hub that speaks ABI revision 1.3.
	SecretUseSign = abi.SecretUseSign
)

// JWT algorithms SignJWT accepts.
const (
	// RS256 signs with an RSA key (RSASSA-PKCS1-v1_5, SHA-256).
	RS256 = abi.JWTAlgRS256
	// ES256 signs with an EC P-256 key (ECDSA, SHA-256).
	ES256 = abi.JWTAlgES256
)

// JWTSigner is implemented by a Host that signs JWTs with the tenant's signing keys (ABI
// revision 1.3), as plugintest's Harness does. In a wasm build SignJWT calls the hub's
// sign_jwt import instead.
type JWTSigner interface {
	// SignJWT signs req; failures come back in JWTResponse.Error.
	SignJWT(ctx context.Context, req *abi.JWTRequest) *abi.JWTResponse
}

// SignJWT asks the host to sign a JWT with the tenant's private key held in the named
// secret, which the manifest must declare with Use SecretUseSign, and returns the token in
// compact form (header.claims.signature). alg is RS256 or ES256. The host sets the
// header's alg and typ ("JWT") and keeps the other header fields given (such as kid;
// header may be nil). claims is the claims set, signed as given. When the secret holds a
// Google service-account key file, its private_key_id becomes kid, and its client_email
// and token_uri become iss and aud, unless header or claims set them. Read them back with
// JWTClaims. The key itself never enters the connector.
//
// A refusal is a *SignError: an action returning it reports unknown_secret (the tenant
// has not set the key) and bad_key (the value is not a usable key for alg) as auth
// failures, which the hub does not retry since the tenant must fix the credential, and
// invalid_request as permanent.
func SignJWT(ctx context.Context, alg, secret string, header, claims map[string]any) (string, error) {
	h := hostFrom(ctx)
	if h == nil {
		return "", ErrNoHost
	}
	req := &abi.JWTRequest{Alg: alg, Secret: secret}
	if len(header) > 0 {
		b, err := json.Marshal(header)
		if err != nil {
			return "", Permanent(fmt.Errorf("sign_jwt: encoding header: %w", err))
		}
		req.Header = b
	}
	b, err := json.Marshal(claims)
	if err != nil {
		return "", Permanent(fmt.Errorf("sign_jwt: encoding claims: %w", err))
	}
	req.Claims = b
	if enc, err := json.Marshal(req); err != nil || len(enc) > abi.MaxJWTRequestBytes {
		return "", Permanent(fmt.Errorf("sign_jwt: the request of %d bytes exceeds the limit of %d bytes", len(enc), abi.MaxJWTRequestBytes))
	}
	var resp *abi.JWTResponse
	if s, ok := h.(JWTSigner); ok {
		resp = s.SignJWT(ctx, req)
	} else if r, ok := platformSignJWT(h, req); ok {
		resp = r
	} else {
		resp = &abi.JWTResponse{Error: &abi.JWTError{Code: abi.JWTErrorInvalid, Message: "the host does not provide sign_jwt (ABI revision 1.3)"}}
	}
	if resp.Error != nil {
		return "", &SignError{resp.Error}
	}
	if resp.JWT == "" {
		return "", Permanent(errors.New("sign_jwt: the host returned no token"))
	}
	return resp.JWT, nil
}

// SignError is returned by SignJWT when the host did not sign.
type SignError struct{ *abi.JWTError }

// Unwrap returns the typed form of the failure: Auth for unknown_secret and bad_key,
// Permanent otherwise.
func (e *SignError) Unwrap() error {
	switch e.Code {
	case abi.JWTErrorUnknownSecret, abi.JWTErrorBadKey:
		return Auth(errors.New(e.JWTError.Error()))
	}
	return Permanent(errors.New(e.JWTError.Error()))
}

// JWTClaims decodes the claims set of a compact JWT without verifying it: for reading
// back what the host filled in from a service-account key (iss, aud) after SignJWT.
func JWTClaims(token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("jwt: not a compact JWS (want header.claims.signature)")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("jwt: claims: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil || claims == nil {
		return nil, errors.New("jwt: claims are not a JSON object")
	}
	return claims, nil
}
