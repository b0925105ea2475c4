package plugins

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/abi"
)

func signerGuest(tb testing.TB) string {
	return buildGuest(tb, "signer", "./plugins/testdata/signer", "-ldflags=-s -w")
}

// signKeys are the tenant's keys in the sign_jwt tests, generated per test binary (no
// private key is committed).
type signKeys struct {
	rsa                   *rsa.PrivateKey
	ec                    *ecdsa.PrivateKey
	rsaPEM, ecPEM, saJSON string
}

var testSignKeys = sync.OnceValues(func() (signKeys, error) {
	var k signKeys
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return k, err
	}
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return k, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.rsa)
	if err != nil {
		return k, err
	}
	k.rsaPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	ecDER, err := x509.MarshalECPrivateKey(k.ec)
	if err != nil {
		return k, err
	}
	k.ecPEM = string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}))
	sa, err := json.Marshal(map[string]string{
		"type": "service_account", "private_key": k.rsaPEM, "private_key_id": "0123abcd",
		"client_email": "hub@aquascene.iam.gserviceaccount.com", "token_uri": "https://oauth2.googleapis.com/token",
	})
	k.saJSON = string(sa)
	return k, err
})

func signKeysFor(tb testing.TB) signKeys {
	tb.Helper()
	k, err := testSignKeys()
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// openSigner loads the signer guest. Tenant "t1" has every key, "t2" a signing_key that
// is not a key and no ec_key; both may reach srvURL.
func openSigner(tb testing.TB, srvURL string) *Catalog {
	tb.Helper()
	k := signKeysFor(tb)
	grants := map[string]TenantConfig{
		"t1": {Secrets: map[string]string{"signing_key": k.rsaPEM, "ec_key": k.ecPEM, "sa_key": k.saJSON, "api_key": "sk-http-0123456789"}, Egress: []string{srvURL}},
		"t2": {Secrets: map[string]string{"signing_key": "this is not a private key", "api_key": "sk-http-0123456789"}, Egress: []string{srvURL}},
	}
	c, _ := openCatalog(tb, Config{}, Deps{Grants: func(tenant, _ string) (TenantConfig, bool) {
		g, ok := grants[tenant]
		return g, ok
	}}, map[string]string{"signer.wasm": signerGuest(tb)}, false)
	return c
}

func invokeSigner(tb testing.TB, c *Catalog, tenant, action string, input map[string]any) (map[string]any, error) {
	tb.Helper()
	res, err := c.Execute(context.Background(), ActionCall{
		Tenant: tenant, RunID: "run-1", StepID: "s1",
		Connector: "signer", Action: action, Input: input, IdempotencyKey: "run-1/s1", Attempt: 1,
	})
	return res.Output, err
}

// verifyJWS verifies a compact JWS with the standard library and returns its header.
func verifyJWS(tb testing.TB, token string, pub crypto.PublicKey) map[string]any {
	tb.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		tb.Fatalf("not a compact JWS: %q", token)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		tb.Fatal(err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	case *ecdsa.PublicKey:
		if len(sig) != 64 || !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			err = errSignature
		}
	}
	if err != nil {
		tb.Fatalf("token does not verify: %v", err)
	}
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var header map[string]any
	if err := json.Unmarshal(h, &header); err != nil {
		tb.Fatal(err)
	}
	return header
}

var errSignature = errors.New("ECDSA signature does not verify")

// assertNoSecret fails if s holds the PEM body of key (any of its lines) or the key itself.
func assertNoSecret(tb testing.TB, s, key string) {
	tb.Helper()
	for _, line := range strings.Split(key, "\n") {
		if len(line) >= 16 && !strings.HasPrefix(line, "-----") && strings.Contains(s, line) {
			tb.Fatalf("key material %q appears in %s", line, s)
		}
	}
}

func TestSignJWTThroughTheHost(t *testing.T) {
	k := signKeysFor(t)
	c := openSigner(t, "http://127.0.0.1:1")
	claims := map[string]any{"iss": "3MVG9-consumer-key", "sub": "ops@aquascene.test", "aud": "https://login.salesforce.com", "exp": 1700000180}
	tests := []struct {
		name       string
		input      map[string]any
		pub        crypto.PublicKey
		wantHeader map[string]any
		wantClaims map[string]any
	}{
		{"RS256 with a PEM key", map[string]any{"alg": "RS256", "secret": "signing_key", "claims": claims}, &k.rsa.PublicKey,
			map[string]any{"alg": "RS256", "typ": "JWT"}, map[string]any{"iss": "3MVG9-consumer-key", "aud": "https://login.salesforce.com", "exp": 1700000180.0}},
		{"ES256 keeps the guest's kid", map[string]any{"alg": "ES256", "secret": "ec_key", "header": map[string]any{"kid": "k-7"}, "claims": claims}, &k.ec.PublicKey,
			map[string]any{"alg": "ES256", "typ": "JWT", "kid": "k-7"}, map[string]any{"sub": "ops@aquascene.test"}},
		{"service-account key", map[string]any{"alg": "RS256", "secret": "sa_key", "claims": map[string]any{"scope": "https://www.googleapis.com/auth/analytics.readonly", "iat": 1700000000, "exp": 1700003600}}, &k.rsa.PublicKey,
			map[string]any{"kid": "0123abcd"}, map[string]any{"iss": "hub@aquascene.iam.gserviceaccount.com", "aud": "https://oauth2.googleapis.com/token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := invokeSigner(t, c, "t1", "sign", tt.input)
			if err != nil {
				t.Fatal(err)
			}
			token, _ := out["jwt"].(string)
			header := verifyJWS(t, token, tt.pub)
			for k, want := range tt.wantHeader {
				if header[k] != want {
					t.Errorf("header %s = %v, want %v", k, header[k], want)
				}
			}
			got, _ := out["claims"].(map[string]any)
			for k, want := range tt.wantClaims {
				if got[k] != want {
					t.Errorf("claim %s = %v, want %v (guest read %v)", k, got[k], want, got)
				}
			}
		})
	}
}

func TestSignJWTRefusals(t *testing.T) {
	k := signKeysFor(t)
	c := openSigner(t, "http://127.0.0.1:1")
	tests := []struct {
		name      string
		tenant    string
		input     map[string]any
		wantClass core.ErrorClass
		wantMsg   string
	}{
		{"HTTP secret", "t1", map[string]any{"alg": "RS256", "secret": "api_key", "claims": map[string]any{}}, core.ClassPermanent, `invalid_request: secret "api_key" is declared for HTTP requests, not as a signing key`},
		{"undeclared secret", "t1", map[string]any{"alg": "RS256", "secret": "nope", "claims": map[string]any{}}, core.ClassPermanent, `secret "nope" is not declared by the connector`},
		{"key not set by the tenant", "t2", map[string]any{"alg": "ES256", "secret": "ec_key", "claims": map[string]any{}}, core.ClassAuth, `unknown_secret: signing key secret "ec_key" is not set for this tenant`},
		{"value is not a key", "t2", map[string]any{"alg": "RS256", "secret": "signing_key", "claims": map[string]any{}}, core.ClassAuth, "bad_key: secret \"signing_key\": not a PEM private key"},
		{"key does not fit alg", "t1", map[string]any{"alg": "ES256", "secret": "signing_key", "claims": map[string]any{}}, core.ClassAuth, "bad_key: secret \"signing_key\": an RSA key of 2048 bits cannot sign ES256"},
		{"guest sets alg", "t1", map[string]any{"alg": "RS256", "secret": "signing_key", "header": map[string]any{"alg": "none"}, "claims": map[string]any{}}, core.ClassPermanent, "header.alg: set by the host"},
		{"no claims", "t1", map[string]any{"alg": "RS256", "secret": "signing_key"}, core.ClassPermanent, "claims: must be a JSON object"},
		{"unsupported alg", "t1", map[string]any{"alg": "HS256", "secret": "signing_key", "claims": map[string]any{}}, core.ClassPermanent, `alg: must be RS256 or ES256 (got "HS256")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := invokeSigner(t, c, tt.tenant, "sign", tt.input)
			if err == nil {
				t.Fatalf("signed: %v", out)
			}
			if cl := core.Classify(err).Class; cl != tt.wantClass || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("got %s: %v\nwant %s containing %q", cl, err, tt.wantClass, tt.wantMsg)
			}
			for _, key := range []string{k.rsaPEM, k.ecPEM} {
				assertNoSecret(t, err.Error(), key)
			}
		})
	}
}

// TestSigningKeyIsNeverSent checks that a guest referencing a signing key in a request
// gets invalid_request, that nothing reaches the server, and that the key appears
// nowhere in what the guest gets back; an HTTP secret is still sent.
func TestSigningKeyIsNeverSent(t *testing.T) {
	k := signKeysFor(t)
	var received []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		received = append(received, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Write([]byte("auth=" + r.Header.Get("Authorization")))
	}))
	defer srv.Close()
	c := openSigner(t, srv.URL)

	for _, secret := range []string{"signing_key", "sa_key"} {
		out, err := invokeSigner(t, c, "t1", "fetch", map[string]any{"url": srv.URL, "secret": secret})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(out)
		want := `invalid_request: url query parameter key: secret "` + secret + `" is a signing key and cannot be sent`
		if msg, _ := out["error"].(string); !strings.Contains(msg, want) {
			t.Fatalf("%s: guest got %s, want %q", secret, b, want)
		}
		assertNoSecret(t, string(b), k.rsaPEM)
		assertNoSecret(t, string(b), k.saJSON)
	}
	mu.Lock()
	if len(received) != 0 {
		t.Fatalf("a request referencing a signing key reached the server: %q", received)
	}
	mu.Unlock()

	out, err := invokeSigner(t, c, "t1", "fetch", map[string]any{"url": srv.URL, "secret": "api_key"})
	if err != nil {
		t.Fatal(err)
	}
	if out["status"] != 200.0 || out["body"] != "auth=Bearer [redacted]" || len(received) != 1 || received[0] != "Bearer sk-http-0123456789" {
		t.Fatalf("HTTP secret: guest got %v, server got %q", out, received)
	}
}

func TestSignJWTStatuses(t *testing.T) {
	c := openSigner(t, "http://127.0.0.1:1")
	tests := []struct {
		name   string
		action string
		input  map[string]any
		want   func(int64) bool
		what   string
	}{
		{"outside hub_invoke", "init_status", map[string]any{}, func(n int64) bool { return n == int64(abi.StatusUnavailable) }, "-5 (unavailable)"},
		{"over the request cap", "raw", map[string]any{"bytes": abi.MaxJWTRequestBytes + 1}, func(n int64) bool { return n == int64(abi.StatusTooLarge) }, "-3 (too_large)"},
		{"undecodable request", "raw", map[string]any{"bytes": 16}, func(n int64) bool { return n > 0 }, "the length of an invalid_request response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := invokeSigner(t, c, "t1", tt.action, tt.input)
			if err != nil {
				t.Fatal(err)
			}
			n, _ := out["result"].(float64)
			if !tt.want(int64(n)) {
				t.Fatalf("sign_jwt returned %v, want %s", out["result"], tt.what)
			}
		})
	}
}

// TestSignJWTFeature checks that a module importing sign_jwt shows the feature, and that
// an SDK module which never signs does not import it, so it still loads on older hosts.
func TestSignJWTFeature(t *testing.T) {
	c, _ := openCatalog(t, Config{}, Deps{}, map[string]string{"signer.wasm": signerGuest(t), "hostile.wasm": hostileGuest(t)}, false)
	c.mu.RLock()
	signer, hostile := c.byID["signer"], c.byID["hostile"]
	c.mu.RUnlock()
	if !signer.signJWT {
		t.Error("the signer module's sign_jwt import was not seen")
	}
	if f := c.Features("signer"); !slices.Contains(f, abi.ImportSignJWT) {
		t.Errorf("signer features %v lack %s", f, abi.ImportSignJWT)
	}
	if hostile.signJWT {
		t.Error("hostile (built with the same SDK, never signs) imports sign_jwt")
	}
	if f := c.Features("hostile"); slices.Contains(f, abi.ImportSignJWT) {
		t.Errorf("hostile features %v include %s", f, abi.ImportSignJWT)
	}
}
