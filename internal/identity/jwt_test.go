package identity_test

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/aquascene/aquahub/internal/identity"
)

// sign makes a token with the method, key and claims given; kid names the key.
func sign(t *testing.T, m jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// good are claims every key accepts at now.
func good(now time.Time, extra map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{"sub": "user-42", "tenant": "aquascene", "role": "editor", "iss": "https://auth.aquascene.example",
		"aud": "aquahub", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// unsigned builds a token with alg none.
func unsigned(claims jwt.MapClaims) string {
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	p, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + "."
}

// tamper replaces the payload of a signed token, keeping its signature.
func tamper(token string, claims jwt.MapClaims) string {
	parts := strings.Split(token, ".")
	p, _ := json.Marshal(claims)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(p) + "." + parts[2]
}

// TestJWTNegativeMatrix: every malformed, misdirected or forged token is refused with 401
// (or 403), never 200.
func TestJWTNegativeMatrix(t *testing.T) {
	r := newRig(t)
	now := r.clock.now()
	pubDER, _ := x509.MarshalPKIXPublicKey(&r.rsa.PublicKey)
	rsaPublicPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	valid := sign(t, jwt.SigningMethodHS256, hmacSecret, "hs", good(now, nil))
	tests := []struct {
		name   string
		token  string
		status int
		detail string
	}{
		{"alg none", unsigned(good(now, nil)), 401, "invalid token"},
		{"alg none naming a key", unsigned(good(now, map[string]any{"kid": "hs"})), 401, "invalid token"},
		{"HS256 signed with the RS256 public key", sign(t, jwt.SigningMethodHS256, rsaPublicPEM, "rs", good(now, nil)), 401, "is not accepted (the key pins"},
		{"HS384 where HS256 is pinned", sign(t, jwt.SigningMethodHS384, hmacSecret, "hs", good(now, nil)), 401, "is not accepted (the key pins"},
		{"RS256 token under the HS256 key id", sign(t, jwt.SigningMethodRS256, r.rsa, "hs", good(now, nil)), 401, "invalid token"},
		{"missing exp", sign(t, jwt.SigningMethodHS256, hmacSecret, "hs", good(now, map[string]any{"exp": nil})), 401, "exp is required"},
		{"expired past leeway", sign(t, jwt.SigningMethodHS256, hmacSecret, "hs", good(now, map[string]any{"exp": now.Add(-31 * time.Second).Unix()})), 401, "expired"},
		{"nbf in the future", sign(t, jwt.SigningMethodHS256, hmacSecret, "hs", good(now, map[string]any{"nbf": now.Add(5 * time.Minute).Unix()})), 401, "not valid yet"},
		{"iat in the future", sign(t, jwt.SigningMethodHS256, hmacSecret, "hs", good(now, map[string]any{"iat": now.Add(5 * time.Minute).Unix()})), 401, "issued in the future"},
		{"wrong iss", sign(t, jwt.SigningMethodHS256, hmacSecret, "hs", good(now, map[string]any{"iss": "https://evil.example"})), 401, "wrong issuer"},
		{"missing iss", sign(t, jwt.SigningMethodHS256, hmacSecret, "hs", good(now, map[string]any{"iss": nil})), 401, "invalid token"},
		{"wrong aud", sign(t, jwt.SigningMethodHS256, hmacSecret, "hs", good(now, map[string]any{"aud": "someone-else"})), 401, "wrong audience"},
		{"tampered payload", tamper(valid, good(now, map[string]any{"role": "admin"})), 401, "signature does not verify"},
		{"signed with another secret", sign(t, jwt.SigningMethodHS256, []byte("another-secret-0123456789abcdefghij"), "hs", good(now, nil)), 401, "signature does not verify"},
		{"unknown role", sign(t, jwt.SigningMethodHS256, hmacSecret, "hs", good(now, map[string]any{"role": "owner"})), 401, `unknown role "owner"`},
		{"no tenant claim", sign(t, jwt.SigningMethodHS256, hmacSecret, "hs", good(now, map[string]any{"tenant": nil})), 401, "no tenant claim"},
		{"a tenant that does not exist", sign(t, jwt.SigningMethodHS256, hmacSecret, "hs", good(now, map[string]any{"tenant": "ghost"})), 401, `tenant "ghost" does not exist`},
		{"tenant and tenant_id disagree", sign(t, jwt.SigningMethodHS256, hmacSecret, "hs", good(now, map[string]any{"tenant_id": "other"})), 401, "disagree"},
		{"a tenant claim naming another tenant than the key's", sign(t, jwt.SigningMethodHS256, []byte("partner-secret-0123456789abcdefghijkl"), "partner", good(now, nil)), 401, `may not issue tokens for tenant "aquascene"`},
		{"not a JWT at all", "eyJhbGciOiJIUzI1NiJ9.garbage.garbage", 401, "invalid token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := r.srv.Call(t, "GET", "/api/v1/probe", tc.token, nil, nil)
			if status == 200 || status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, body)
			}
			if d := fmt.Sprint(body["detail"]); !strings.Contains(d, tc.detail) {
				t.Fatalf("detail %q does not say %q", d, tc.detail)
			}
		})
	}
	// Each refusal is in the hub's audit log (the tenant of a forged token is not trusted).
	status, body, _ := r.srv.Call(t, "GET", "/api/v1/hub/audit?tenant=-&limit=1000", operatorToken, nil, nil)
	entries, _ := body["entries"].([]any)
	if status != 200 || len(entries) < len(tests) {
		t.Fatalf("the hub's audit log has %d entries for %d refused tokens: %d %v", len(entries), len(tests), status, body)
	}
}

// TestJWTAccepted: the seed's token (user_id, email, permissions, tenant_id) works, as a
// viewer narrowed to its permissions; our own claims, RS256 and ES256 (from a JWKS) and a
// token just inside the leeway work.
func TestJWTAccepted(t *testing.T) {
	r := newRig(t)
	now := r.clock.now()
	seed := jwt.MapClaims{"user_id": 7, "email": "editor@aquascene.example", "permissions": []string{"read_content"},
		"tenant_id": "aquascene", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "iss": "https://auth.aquascene.example", "aud": "aquahub"}
	tests := []struct {
		name    string
		token   string
		role    string
		subject string
	}{
		{"our claims, HS256", sign(t, jwt.SigningMethodHS256, hmacSecret, "hs", good(now, nil)), "editor", "jwt:user-42"},
		{"the seed's claims", sign(t, jwt.SigningMethodHS256, hmacSecret, "hs", seed), "viewer", "jwt:7"},
		{"RS256 with a PEM public key", sign(t, jwt.SigningMethodRS256, r.rsa, "rs", good(now, nil)), "editor", "jwt:user-42"},
		{"ES256 from a JWKS", sign(t, jwt.SigningMethodES256, r.ec, "ec-1", good(now, nil)), "editor", "jwt:user-42"},
		{"expired inside the leeway", sign(t, jwt.SigningMethodHS256, hmacSecret, "hs", good(now, map[string]any{"exp": now.Add(-10 * time.Second).Unix()})), "editor", "jwt:user-42"},
		{"no kid: every key is tried", sign(t, jwt.SigningMethodHS256, hmacSecret, "", good(now, nil)), "editor", "jwt:user-42"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := r.srv.Call(t, "GET", "/api/v1/probe", tc.token, nil, nil)
			if status != 200 || body["tenant"] != "aquascene" || body["role"] != tc.role || body["subject"] != tc.subject {
				t.Fatalf("%d %v, want tenant aquascene, role %s, subject %s", status, body, tc.role, tc.subject)
			}
		})
	}
	// The seed's permissions claim narrows: read_content only, so generate_content is refused
	// even though a content_manager role would grant it.
	narrowed := sign(t, jwt.SigningMethodHS256, hmacSecret, "hs", good(now, map[string]any{"role": "content_manager", "permissions": []string{"read_content"}}))
	status, body, _ := r.srv.Call(t, "POST", "/api/v1/probe", narrowed, nil, nil)
	if status != 403 || !strings.Contains(fmt.Sprint(body["detail"]), "permission generate_content required") {
		t.Fatalf("a token narrowed by permissions: %d %v", status, body)
	}
	if status, _, _ := r.srv.Call(t, "POST", "/api/v1/probe", sign(t, jwt.SigningMethodHS256, hmacSecret, "hs", good(now, map[string]any{"role": "content_manager"})), nil, nil); status != 200 {
		t.Fatalf("a content_manager token without a permissions claim: %d", status)
	}
}

// TestZeroLeewayAllowsNoSkew: with jwt.leeway 0 a token is refused the second it expires.
func TestZeroLeewayAllowsNoSkew(t *testing.T) {
	r := newRig(t, func(c *identity.Config) { c.JWT.Leeway = 0 })
	now := r.clock.now()
	tests := []struct {
		name   string
		exp    time.Time
		status int
	}{
		{"a second before exp", now.Add(time.Second), 200},
		{"a second after exp", now.Add(-time.Second), 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := sign(t, jwt.SigningMethodHS256, hmacSecret, "hs", good(now, map[string]any{"exp": tc.exp.Unix()}))
			if status, body, _ := r.srv.Call(t, "GET", "/api/v1/probe", tok, nil, nil); status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, body)
			}
		})
	}
}

// TestMintedTokenVerifies: what `aquahub token` mints is accepted with its tenant and role.
func TestMintedTokenVerifies(t *testing.T) {
	r := newRig(t)
	tok, err := identity.Mint(hmacSecret, "hs", "https://auth.aquascene.example", "aquahub", "aquascene", "content_manager", "script", time.Hour, r.clock.now())
	if err != nil {
		t.Fatal(err)
	}
	status, body, _ := r.srv.Call(t, "POST", "/api/v1/probe", tok, nil, nil)
	if status != 200 || body["role"] != "content_manager" || body["subject"] != "jwt:script" {
		t.Fatalf("%d %v", status, body)
	}
	r.clock.add(time.Hour + time.Minute)
	if status, _, _ := r.srv.Call(t, "GET", "/api/v1/probe", tok, nil, nil); status != 401 {
		t.Fatalf("a minted token past its ttl: %d", status)
	}
	for _, bad := range []struct {
		name string
		err  func() error
	}{
		{"short secret", func() error {
			_, err := identity.Mint([]byte("short"), "", "", "", "aquascene", "admin", "s", time.Hour, r.clock.now())
			return err
		}},
		{"unknown role", func() error {
			_, err := identity.Mint(hmacSecret, "", "", "", "aquascene", "root", "s", time.Hour, r.clock.now())
			return err
		}},
		{"no ttl", func() error {
			_, err := identity.Mint(hmacSecret, "", "", "", "aquascene", "admin", "s", 0, r.clock.now())
			return err
		}},
	} {
		if bad.err() == nil {
			t.Errorf("%s: minted", bad.name)
		}
	}
}

// TestMintWithPicksTheKeyTheHubVerifiesWith: `aquahub token` mints with the configured
// HS256 key it is asked for, read from its secret_file the way the hub reads it, and says
// which key it lacks.
func TestMintWithPicksTheKeyTheHubVerifiesWith(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/hs.secret"
	if err := os.WriteFile(file, append(append([]byte(nil), hmacSecret...), "\r\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, func(c *identity.Config) {
		c.JWT.Keys[0] = identity.JWTKey{ID: "hs", SecretFile: file}
	})
	jwtCfg := identity.JWTConfig{Issuer: "https://auth.aquascene.example", Audience: "aquahub", Keys: []identity.JWTKey{
		{ID: "rs", Algorithm: "RS256", PublicKeyFile: "unused.pem"}, {ID: "hs", SecretFile: file},
		{ID: "partner", Secret: "partner-secret-0123456789abcdefghijkl"}}}
	tok, err := jwtCfg.MintWith("", "aquascene", "editor", "cli", time.Hour, r.clock.now())
	if err != nil {
		t.Fatal(err)
	}
	if status, body, _ := r.srv.Call(t, "GET", "/api/v1/probe", tok, nil, nil); status != 200 || body["role"] != "editor" {
		t.Fatalf("the first HS256 key's token: %d %v", status, body)
	}
	for _, tc := range []struct{ kid, want string }{
		{"rs", `no HS256 key with id "rs"`},
		{"nope", `no HS256 key with id "nope"`},
	} {
		if _, err := jwtCfg.MintWith(tc.kid, "aquascene", "editor", "cli", time.Hour, r.clock.now()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("kid %q: %v, want %q", tc.kid, err, tc.want)
		}
	}
}
