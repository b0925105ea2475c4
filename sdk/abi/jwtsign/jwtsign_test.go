package jwtsign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/aquascene/aquahub/sdk/abi"
)

// testKeys are generated once per test binary: RSA generation is slow, and no private key
// is committed to the repository.
type testKeys struct {
	rsa, rsaShort *rsa.PrivateKey
	ec, ecP384    *ecdsa.PrivateKey
	ed            ed25519.PrivateKey
}

var keys = sync.OnceValue(func() testKeys {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	var k testKeys
	var err error
	k.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.rsaShort, err = rsa.GenerateKey(rand.Reader, 1024)
	must(err)
	k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	k.ecP384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	must(err)
	_, k.ed, err = ed25519.GenerateKey(rand.Reader)
	must(err)
	return k
})

func pemOf(tb testing.TB, typ string, der []byte) string {
	tb.Helper()
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func pkcs8(tb testing.TB, k any) string {
	tb.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		tb.Fatal(err)
	}
	return pemOf(tb, "PRIVATE KEY", der)
}

func sec1(tb testing.TB, k *ecdsa.PrivateKey) string {
	tb.Helper()
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		tb.Fatal(err)
	}
	return pemOf(tb, "EC PRIVATE KEY", der)
}

func pkcs1(tb testing.TB, k *rsa.PrivateKey) string {
	tb.Helper()
	return pemOf(tb, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k))
}

func serviceAccountJSON(tb testing.TB, fields map[string]string) string {
	tb.Helper()
	b, err := json.Marshal(fields)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// sign runs one request through a signer holding value as the signing key "private_key"
// (and an HTTP secret "api_key").
func sign(tb testing.TB, value string, req abi.JWTRequest) *abi.JWTResponse {
	tb.Helper()
	s := NewSigner(Policy{
		Secrets:  map[string]string{"private_key": value, "api_key": "sk-live-123456"},
		Declared: []abi.SecretSpec{{Name: "private_key", Use: abi.SecretUseSign}, {Name: "api_key"}, {Name: "unset_key", Use: abi.SecretUseSign}},
		Scope:    "tenant\x00conn",
	})
	return s.Sign(&req)
}

// verify checks token with golang-jwt (an independent implementation) against pub and
// returns its header and claims.
func verify(tb testing.TB, token, alg string, pub crypto.PublicKey) (map[string]any, jwt.MapClaims) {
	tb.Helper()
	parsed, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{alg}), jwt.WithoutClaimsValidation())
	if err != nil {
		tb.Fatalf("token does not verify: %v\n%s", err, token)
	}
	return parsed.Header, parsed.Claims.(jwt.MapClaims)
}

// assertNoKeyMaterial fails if msg holds any line of the secret's value (PEM armour
// lines aside) or any of its JSON fields' lines.
func assertNoKeyMaterial(tb testing.TB, msg, secret string) {
	tb.Helper()
	for _, line := range strings.Split(strings.ReplaceAll(secret, `\n`, "\n"), "\n") {
		line = strings.TrimSpace(line)
		if len(line) < 12 || strings.HasPrefix(line, "-----") {
			continue
		}
		if strings.Contains(msg, line) {
			tb.Fatalf("message %q contains key material %q", msg, line)
		}
	}
}

const claimsJSON = `{"iss":"svc@example.iam.gserviceaccount.com","scope":"https://www.googleapis.com/auth/analytics.readonly","aud":"https://oauth2.googleapis.com/token?a=1&b=2","iat":1700000000,"exp":1700003600}`

func TestSignVerifies(t *testing.T) {
	k := keys()
	sa := serviceAccountJSON(t, map[string]string{
		"type": "service_account", "private_key": pkcs8(t, k.rsa), "private_key_id": "kid-from-file",
		"client_email": "svc@proj.iam.gserviceaccount.com", "token_uri": "http://127.0.0.1:9999/token",
	})
	tests := []struct {
		name       string
		alg, value string
		pub        crypto.PublicKey
		header     string
		claims     string
		wantHeader map[string]any // checked fields
		wantClaims map[string]any // checked fields
	}{
		{name: "RS256 with a PKCS#1 key", alg: "RS256", value: pkcs1(t, k.rsa), pub: &k.rsa.PublicKey, claims: claimsJSON,
			wantHeader: map[string]any{"alg": "RS256", "typ": "JWT"},
			wantClaims: map[string]any{"iss": "svc@example.iam.gserviceaccount.com", "aud": "https://oauth2.googleapis.com/token?a=1&b=2", "iat": 1700000000.0}},
		{name: "RS256 with a PKCS#8 key", alg: "RS256", value: pkcs8(t, k.rsa), pub: &k.rsa.PublicKey, claims: claimsJSON,
			wantHeader: map[string]any{"alg": "RS256", "typ": "JWT"}},
		{name: "ES256 with a PKCS#8 key", alg: "ES256", value: pkcs8(t, k.ec), pub: &k.ec.PublicKey, claims: claimsJSON,
			wantHeader: map[string]any{"alg": "ES256", "typ": "JWT"}},
		{name: "ES256 with a SEC 1 key after EC PARAMETERS, as openssl writes it", alg: "ES256",
			value: pemOf(t, "EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}) + sec1(t, k.ec),
			pub:   &k.ec.PublicKey, claims: claimsJSON},
		{name: "PEM with escaped line breaks", alg: "RS256", value: strings.ReplaceAll(pkcs8(t, k.rsa), "\n", `\n`), pub: &k.rsa.PublicKey, claims: claimsJSON},
		{name: "guest header fields are kept", alg: "RS256", value: pkcs1(t, k.rsa), pub: &k.rsa.PublicKey,
			header: `{"kid":"my-kid","x5t":"abc"}`, claims: claimsJSON,
			wantHeader: map[string]any{"kid": "my-kid", "x5t": "abc", "alg": "RS256", "typ": "JWT"}},
		{name: "service-account key: its private_key_id becomes kid, client_email and token_uri fill iss and aud", alg: "RS256", value: sa, pub: &k.rsa.PublicKey,
			claims:     `{"scope":"https://www.googleapis.com/auth/analytics.readonly","iat":1700000000,"exp":1700003600}`,
			wantHeader: map[string]any{"kid": "kid-from-file"},
			wantClaims: map[string]any{"iss": "svc@proj.iam.gserviceaccount.com", "aud": "http://127.0.0.1:9999/token", "scope": "https://www.googleapis.com/auth/analytics.readonly"}},
		{name: "service-account key: the guest's kid, iss and aud win", alg: "RS256", value: sa, pub: &k.rsa.PublicKey,
			header: `{"kid":"guest-kid"}`, claims: `{"iss":"guest-iss","aud":"guest-aud"}`,
			wantHeader: map[string]any{"kid": "guest-kid"},
			wantClaims: map[string]any{"iss": "guest-iss", "aud": "guest-aud"}},
		{name: "empty claims object", alg: "ES256", value: sec1(t, k.ec), pub: &k.ec.PublicKey, claims: `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := sign(t, tt.value, abi.JWTRequest{Alg: tt.alg, Secret: "private_key", Header: json.RawMessage(tt.header), Claims: json.RawMessage(tt.claims)})
			if resp.Error != nil {
				t.Fatalf("error: %v", resp.Error)
			}
			header, claims := verify(t, resp.JWT, tt.alg, tt.pub)
			for k, want := range tt.wantHeader {
				if header[k] != want {
					t.Errorf("header %s = %v, want %v (header %v)", k, header[k], want, header)
				}
			}
			for k, want := range tt.wantClaims {
				if claims[k] != want {
					t.Errorf("claim %s = %v, want %v (claims %v)", k, claims[k], want, claims)
				}
			}
			if tt.alg == "ES256" {
				sig, err := base64.RawURLEncoding.DecodeString(resp.JWT[strings.LastIndexByte(resp.JWT, '.')+1:])
				if err != nil || len(sig) != 64 {
					t.Fatalf("ES256 signature is %d bytes (%v), want 64 (r || s)", len(sig), err)
				}
			}
		})
	}
}

// TestSignKeepsClaims checks the claims are signed as the guest wrote them: same values,
// large integers intact, nothing added for a plain PEM key.
func TestSignKeepsClaims(t *testing.T) {
	k := keys()
	claims := `{"sub":"a@b.c","n":12345678901234567890,"nested":{"x":[1,"<&>"]},"aud":"https://login.salesforce.com"}`
	resp := sign(t, pkcs1(t, k.rsa), abi.JWTRequest{Alg: "RS256", Secret: "private_key", Claims: json.RawMessage(claims)})
	if resp.Error != nil {
		t.Fatal(resp.Error)
	}
	parts := strings.Split(resp.JWT, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", resp.JWT)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"aud":"https://login.salesforce.com","n":12345678901234567890,"nested":{"x":[1,"<&>"]},"sub":"a@b.c"}`
	if string(payload) != want {
		t.Fatalf("payload\n got %s\nwant %s", payload, want)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	if err := rsa.VerifyPKCS1v15(&k.rsa.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
		t.Fatalf("stdlib verification: %v", err)
	}
}

func TestSignRefuses(t *testing.T) {
	k := keys()
	rsaPEM := pkcs1(t, k.rsa)
	truncated := rsaPEM[:len(rsaPEM)/2] + "\n-----END RSA PRIVATE KEY-----\n"
	corrupt := pemOf(t, "RSA PRIVATE KEY", []byte("definitely not DER"))
	tests := []struct {
		name     string
		value    string
		req      abi.JWTRequest
		wantCode string
		wantMsg  string
	}{
		{"RS256 with an EC key", sec1(t, k.ec), abi.JWTRequest{Alg: "RS256", Claims: json.RawMessage(`{}`)}, abi.JWTErrorBadKey, "EC P-256 key cannot sign RS256"},
		{"ES256 with an RSA key", rsaPEM, abi.JWTRequest{Alg: "ES256", Claims: json.RawMessage(`{}`)}, abi.JWTErrorBadKey, "RSA key of 2048 bits cannot sign ES256"},
		{"ES256 with a P-384 key", pkcs8(t, k.ecP384), abi.JWTRequest{Alg: "ES256", Claims: json.RawMessage(`{}`)}, abi.JWTErrorBadKey, "EC P-384 key cannot sign ES256"},
		{"ed25519 key", pkcs8(t, k.ed), abi.JWTRequest{Alg: "RS256", Claims: json.RawMessage(`{}`)}, abi.JWTErrorBadKey, "ed25519.PrivateKey is not supported"},
		{"short RSA key", pkcs1(t, k.rsaShort), abi.JWTRequest{Alg: "RS256", Claims: json.RawMessage(`{}`)}, abi.JWTErrorBadKey, "1024 bits is too short"},
		{"garbage", "hunter2-not-a-key-at-all", abi.JWTRequest{Alg: "RS256", Claims: json.RawMessage(`{}`)}, abi.JWTErrorBadKey, "not a PEM private key or a service-account JSON key"},
		{"truncated PEM", truncated, abi.JWTRequest{Alg: "RS256", Claims: json.RawMessage(`{}`)}, abi.JWTErrorBadKey, "not a PEM private key"},
		{"corrupt DER", corrupt, abi.JWTRequest{Alg: "RS256", Claims: json.RawMessage(`{}`)}, abi.JWTErrorBadKey, "not a valid PKCS#1 RSA key"},
		{"public key only", pemOf(t, "PUBLIC KEY", x509.MarshalPKCS1PublicKey(&k.rsa.PublicKey)), abi.JWTRequest{Alg: "RS256", Claims: json.RawMessage(`{}`)}, abi.JWTErrorBadKey, "found PUBLIC KEY"},
		{"encrypted PKCS#8", pemOf(t, "ENCRYPTED PRIVATE KEY", []byte("ciphertext-bytes-here")), abi.JWTRequest{Alg: "RS256", Claims: json.RawMessage(`{}`)}, abi.JWTErrorBadKey, "encrypted"},
		{"encrypted PKCS#1", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: []byte("x")})), abi.JWTRequest{Alg: "RS256", Claims: json.RawMessage(`{}`)}, abi.JWTErrorBadKey, "encrypted"},
		{"JSON that is not a key file", `{"private_key": "x"`, abi.JWTRequest{Alg: "RS256", Claims: json.RawMessage(`{}`)}, abi.JWTErrorBadKey, "not a valid JSON key file"},
		{"JSON key of another type", serviceAccountJSON(t, map[string]string{"type": "authorized_user", "private_key": rsaPEM}), abi.JWTRequest{Alg: "RS256", Claims: json.RawMessage(`{}`)}, abi.JWTErrorBadKey, `"type" must be "service_account"`},
		{"service account without private_key", serviceAccountJSON(t, map[string]string{"type": "service_account"}), abi.JWTRequest{Alg: "RS256", Claims: json.RawMessage(`{}`)}, abi.JWTErrorBadKey, "has no private_key"},
		{"service account with a bad private_key", serviceAccountJSON(t, map[string]string{"type": "service_account", "private_key": corrupt}), abi.JWTRequest{Alg: "RS256", Claims: json.RawMessage(`{}`)}, abi.JWTErrorBadKey, "service-account private_key: RSA PRIVATE KEY block"},
		{"header alg override", rsaPEM, abi.JWTRequest{Alg: "RS256", Header: json.RawMessage(`{"alg":"none"}`), Claims: json.RawMessage(`{}`)}, abi.JWTErrorInvalid, "header.alg: set by the host"},
		{"header typ", rsaPEM, abi.JWTRequest{Alg: "RS256", Header: json.RawMessage(`{"typ":"at+jwt"}`), Claims: json.RawMessage(`{}`)}, abi.JWTErrorInvalid, "header.typ: set by the host"},
		{"header not an object", rsaPEM, abi.JWTRequest{Alg: "RS256", Header: json.RawMessage(`["kid"]`), Claims: json.RawMessage(`{}`)}, abi.JWTErrorInvalid, "header: must be a JSON object"},
		{"claims an array", rsaPEM, abi.JWTRequest{Alg: "RS256", Claims: json.RawMessage(`[1,2]`)}, abi.JWTErrorInvalid, "claims: must be a JSON object"},
		{"claims a string", rsaPEM, abi.JWTRequest{Alg: "RS256", Claims: json.RawMessage(`"iss"`)}, abi.JWTErrorInvalid, "claims: must be a JSON object"},
		{"claims null", rsaPEM, abi.JWTRequest{Alg: "RS256", Claims: json.RawMessage(`null`)}, abi.JWTErrorInvalid, "claims: must be a JSON object"},
		{"claims missing", rsaPEM, abi.JWTRequest{Alg: "RS256"}, abi.JWTErrorInvalid, "claims: must be a JSON object"},
		{"alg none", rsaPEM, abi.JWTRequest{Alg: "none", Claims: json.RawMessage(`{}`)}, abi.JWTErrorInvalid, `alg: must be RS256 or ES256 (got "none")`},
		{"alg HS256", rsaPEM, abi.JWTRequest{Alg: "HS256", Claims: json.RawMessage(`{}`)}, abi.JWTErrorInvalid, `alg: must be RS256 or ES256`},
		{"alg missing", rsaPEM, abi.JWTRequest{Claims: json.RawMessage(`{}`)}, abi.JWTErrorInvalid, "alg: required"},
		{"secret missing from the request", rsaPEM, abi.JWTRequest{Alg: "RS256", Secret: "-", Claims: json.RawMessage(`{}`)}, abi.JWTErrorInvalid, "secret: required"},
		{"signing key not set by the tenant", rsaPEM, abi.JWTRequest{Alg: "RS256", Secret: "unset_key", Claims: json.RawMessage(`{}`)}, abi.JWTErrorUnknownSecret, `signing key secret "unset_key" is not set for this tenant`},
		{"signing key set empty", "", abi.JWTRequest{Alg: "RS256", Claims: json.RawMessage(`{}`)}, abi.JWTErrorUnknownSecret, "is not set for this tenant"},
		{"undeclared secret", rsaPEM, abi.JWTRequest{Alg: "RS256", Secret: "other", Claims: json.RawMessage(`{}`)}, abi.JWTErrorInvalid, `secret "other" is not declared by the connector`},
		{"HTTP secret", rsaPEM, abi.JWTRequest{Alg: "RS256", Secret: "api_key", Claims: json.RawMessage(`{}`)}, abi.JWTErrorInvalid, `secret "api_key" is declared for HTTP requests, not as a signing key`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			switch req.Secret {
			case "":
				req.Secret = "private_key"
			case "-":
				req.Secret = ""
			}
			resp := sign(t, tt.value, req)
			if resp.Error == nil {
				t.Fatalf("signed %q, want %s error", resp.JWT, tt.wantCode)
			}
			if resp.JWT != "" {
				t.Fatalf("error response carries a token too: %+v", resp)
			}
			if resp.Error.Code != tt.wantCode || !strings.Contains(resp.Error.Message, tt.wantMsg) {
				t.Fatalf("error %q: %q, want %s containing %q", resp.Error.Code, resp.Error.Message, tt.wantCode, tt.wantMsg)
			}
			assertNoKeyMaterial(t, resp.Error.Message, tt.value)
			assertNoKeyMaterial(t, resp.Error.Message, "sk-live-123456-http-secret-line")
		})
	}
}

// TestKeysCache checks that a key is parsed once per (scope, secret) and that a rotated
// value replaces it.
func TestKeysCache(t *testing.T) {
	k := keys()
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cache := NewKeys()
	signer := func(value string) *Signer {
		return NewSigner(Policy{Secrets: map[string]string{"pk": value}, Declared: []abi.SecretSpec{{Name: "pk", Use: "sign"}}, Keys: cache, Scope: "t\x00c"})
	}
	req := &abi.JWTRequest{Alg: "RS256", Secret: "pk", Claims: json.RawMessage(`{"n":1}`)}

	first := signer(pkcs1(t, k.rsa)).Sign(req)
	cached := cache.m["t\x00c\x00pk"].key
	second := signer(pkcs1(t, k.rsa)).Sign(req)
	if first.Error != nil || second.Error != nil {
		t.Fatal(first.Error, second.Error)
	}
	if cache.m["t\x00c\x00pk"].key != cached || len(cache.m) != 1 {
		t.Fatalf("the same value was parsed again (%d entries)", len(cache.m))
	}
	verify(t, second.JWT, "RS256", &k.rsa.PublicKey)

	rotated := signer(pkcs1(t, other)).Sign(req)
	if rotated.Error != nil {
		t.Fatal(rotated.Error)
	}
	verify(t, rotated.JWT, "RS256", &other.PublicKey)
	if len(cache.m) != 1 {
		t.Fatalf("rotation left %d entries, want 1", len(cache.m))
	}
}

// TestES256SignatureIsRawRS checks the r || s encoding against crypto/ecdsa directly.
func TestES256SignatureIsRawRS(t *testing.T) {
	k := keys()
	resp := sign(t, sec1(t, k.ec), abi.JWTRequest{Alg: "ES256", Secret: "private_key", Claims: json.RawMessage(`{"a":1}`)})
	if resp.Error != nil {
		t.Fatal(resp.Error)
	}
	if !verifyStdlib(resp.JWT, &k.ec.PublicKey) {
		t.Fatal("crypto/ecdsa does not verify the r || s signature")
	}
}

// verifyStdlib verifies a compact JWS with crypto/rsa or crypto/ecdsa.
func verifyStdlib(token string, pub crypto.PublicKey) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return false
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) == nil
	case *ecdsa.PublicKey:
		if len(sig) != 64 {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(pub, digest[:], r, s)
	}
	return false
}
