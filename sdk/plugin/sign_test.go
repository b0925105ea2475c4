package plugin_test

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
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/plugin"
	"github.com/aquascene/aquahub/sdk/plugin/plugintest"
)

type signIn struct {
	Alg    string         `json:"alg"`
	Secret string         `json:"secret"`
	Header map[string]any `json:"header,omitempty"`
	Claims map[string]any `json:"claims,omitempty"`
}

type signOut struct {
	JWT    string         `json:"jwt"`
	Claims map[string]any `json:"claims"`
}

type fetchIn struct {
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

type fetchOut struct {
	Body string `json:"body"`
}

// signingConnector signs with its declared keys and fetches URLs with a secret, the
// native twin of plugins/testdata/signer.
func signingConnector() *plugin.Connector {
	return &plugin.Connector{
		ID: "signer", Version: "1.0.0", Egress: []string{"*"},
		Secrets: []plugin.SecretSpec{
			{Name: "signing_key", Use: plugin.SecretUseSign},
			{Name: "ec_key", Use: plugin.SecretUseSign},
			{Name: "sa_key", Use: plugin.SecretUseSign},
			{Name: "api_key"},
		},
		Actions: []plugin.Handler{
			plugin.Action[signIn, signOut]{Name: "sign", Handle: func(ctx context.Context, in signIn) (signOut, error) {
				token, err := plugin.SignJWT(ctx, in.Alg, in.Secret, in.Header, in.Claims)
				if err != nil {
					return signOut{}, err
				}
				claims, err := plugin.JWTClaims(token)
				return signOut{JWT: token, Claims: claims}, err
			}},
			plugin.Action[fetchIn, fetchOut]{Name: "fetch", Handle: func(ctx context.Context, in fetchIn) (fetchOut, error) {
				req, _ := http.NewRequestWithContext(ctx, "GET", in.URL, nil)
				req.Header.Set("Authorization", "Bearer "+plugin.Secret(in.Secret))
				resp, err := plugin.HTTPClient().Do(req)
				if err != nil {
					return fetchOut{}, err
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return fetchOut{Body: string(b)}, nil
			}},
		},
	}
}

type keyPair struct {
	rsa                   *rsa.PrivateKey
	ec                    *ecdsa.PrivateKey
	rsaPEM, ecPEM, saJSON string
}

func newKeys(tb testing.TB) keyPair {
	tb.Helper()
	var k keyPair
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		tb.Fatal(err)
	}
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		tb.Fatal(err)
	}
	k.rsaPEM = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.rsa)}))
	der, err := x509.MarshalPKCS8PrivateKey(k.ec)
	if err != nil {
		tb.Fatal(err)
	}
	k.ecPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	sa, _ := json.Marshal(map[string]string{"type": "service_account", "private_key": k.rsaPEM, "private_key_id": "kid-1",
		"client_email": "hub@proj.iam.gserviceaccount.com", "token_uri": "http://127.0.0.1:9/token"})
	k.saJSON = string(sa)
	return k
}

func verifies(token string, pub crypto.PublicKey) bool {
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
		return len(sig) == 64 && ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
	}
	return false
}

// TestSignJWTNatively checks that plugintest signs and refuses as the wasm host does (see
// plugins/sign_test.go for the same cases through wasm).
func TestSignJWTNatively(t *testing.T) {
	k := newKeys(t)
	h, err := plugintest.New(signingConnector(), plugintest.Options{Secrets: map[string]string{
		"signing_key": k.rsaPEM, "ec_key": k.ecPEM, "sa_key": k.saJSON, "api_key": "sk-http-0123456789",
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	bad, err := plugintest.New(signingConnector(), plugintest.Options{Secrets: map[string]string{"signing_key": "not a key"}})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()

	tests := []struct {
		name       string
		h          *plugintest.Harness
		in         signIn
		pub        crypto.PublicKey
		wantClaims map[string]any
		wantKind   abi.ErrorKind
		wantMsg    string
	}{
		{name: "RS256", h: h, in: signIn{Alg: plugin.RS256, Secret: "signing_key", Claims: map[string]any{"iss": "a", "exp": 1700000180}}, pub: &k.rsa.PublicKey,
			wantClaims: map[string]any{"iss": "a", "exp": json.Number("1700000180")}},
		{name: "ES256", h: h, in: signIn{Alg: plugin.ES256, Secret: "ec_key", Header: map[string]any{"kid": "k"}, Claims: map[string]any{"iss": "x"}}, pub: &k.ec.PublicKey},
		{name: "service-account key fills iss and aud", h: h, in: signIn{Alg: plugin.RS256, Secret: "sa_key", Claims: map[string]any{"scope": "s"}}, pub: &k.rsa.PublicKey,
			wantClaims: map[string]any{"iss": "hub@proj.iam.gserviceaccount.com", "aud": "http://127.0.0.1:9/token", "scope": "s"}},
		{name: "HTTP secret", h: h, in: signIn{Alg: plugin.RS256, Secret: "api_key", Claims: map[string]any{"iss": "x"}},
			wantKind: abi.KindPermanent, wantMsg: `invalid_request: secret "api_key" is declared for HTTP requests`},
		{name: "key not set", h: bad, in: signIn{Alg: plugin.ES256, Secret: "ec_key", Claims: map[string]any{"iss": "x"}},
			wantKind: abi.KindAuth, wantMsg: `unknown_secret: signing key secret "ec_key" is not set for this tenant`},
		{name: "bad key", h: bad, in: signIn{Alg: plugin.RS256, Secret: "signing_key", Claims: map[string]any{"iss": "x"}},
			wantKind: abi.KindAuth, wantMsg: `bad_key: secret "signing_key": not a PEM private key`},
		{name: "wrong key type", h: h, in: signIn{Alg: plugin.ES256, Secret: "signing_key", Claims: map[string]any{"iss": "x"}},
			wantKind: abi.KindAuth, wantMsg: "cannot sign ES256"},
		{name: "guest alg header", h: h, in: signIn{Alg: plugin.RS256, Secret: "signing_key", Header: map[string]any{"alg": "none"}, Claims: map[string]any{"iss": "x"}},
			wantKind: abi.KindPermanent, wantMsg: "header.alg: set by the host"},
		{name: "nil claims", h: h, in: signIn{Alg: plugin.RS256, Secret: "signing_key"},
			wantKind: abi.KindPermanent, wantMsg: "claims: must be a JSON object"},
		{name: "oversized claims", h: h, in: signIn{Alg: plugin.RS256, Secret: "signing_key", Claims: map[string]any{"x": strings.Repeat("a", abi.MaxJWTRequestBytes)}},
			wantKind: abi.KindPermanent, wantMsg: "exceeds the limit of 65536 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.h.Invoke(context.Background(), "sign", tt.in)
			if tt.wantKind != "" {
				var ae *abi.Error
				if !errors.As(err, &ae) || ae.Kind != tt.wantKind || !strings.Contains(ae.Message, tt.wantMsg) {
					t.Fatalf("got %v, want %s containing %q", err, tt.wantKind, tt.wantMsg)
				}
				if strings.Contains(ae.Message, "MII") {
					t.Fatalf("message holds key material: %s", ae.Message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if token, _ := out["jwt"].(string); !verifies(token, tt.pub) {
				t.Fatalf("token does not verify: %q", token)
			}
			claims, _ := out["claims"].(map[string]any)
			for k, want := range tt.wantClaims {
				if claims[k] != want {
					t.Errorf("claim %s = %#v, want %#v", k, claims[k], want)
				}
			}
		})
	}
}

func TestSigningKeyIsNeverSentNatively(t *testing.T) {
	k := newKeys(t)
	var received []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received = append(received, r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	h, err := plugintest.New(signingConnector(), plugintest.Options{
		Secrets: map[string]string{"signing_key": k.rsaPEM, "api_key": "sk-http-0123456789"},
		Egress:  []string{srv.URL},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	_, err = h.Invoke(context.Background(), "fetch", fetchIn{URL: srv.URL, Secret: "signing_key"})
	var ae *abi.Error
	if !errors.As(err, &ae) || ae.Kind != abi.KindPermanent || !strings.Contains(ae.Message, `invalid_request: header Authorization: secret "signing_key" is a signing key and cannot be sent`) {
		t.Fatalf("got %v", err)
	}
	if len(received) != 0 || strings.Contains(ae.Message, "MII") {
		t.Fatalf("key sent (%q) or quoted (%s)", received, ae.Message)
	}
	if _, err := h.Invoke(context.Background(), "fetch", fetchIn{URL: srv.URL, Secret: "api_key"}); err != nil || len(received) != 1 {
		t.Fatalf("HTTP secret: %v, server got %q", err, received)
	}
}

// minimalHost implements plugin.Host but not plugin.JWTSigner, like a host written
// before ABI revision 1.3.
type minimalHost struct{}

func (minimalHost) HTTP(context.Context, *abi.HTTPRequest) *abi.HTTPResponse { return nil }
func (minimalHost) KVGet(context.Context, string) ([]byte, bool, error)      { return nil, false, nil }
func (minimalHost) KVSet(context.Context, string, []byte) error              { return nil }
func (minimalHost) Log(context.Context, abi.LogRecord)                       {}
func (minimalHost) Now(context.Context) time.Time                            { return time.Time{} }

func TestSignJWTWithoutSigner(t *testing.T) {
	if _, err := plugin.SignJWT(context.Background(), plugin.RS256, "k", nil, map[string]any{}); !errors.Is(err, plugin.ErrNoHost) {
		t.Fatalf("without a host: %v, want ErrNoHost", err)
	}
	c := &plugin.Connector{ID: "x", Version: "1", Secrets: []plugin.SecretSpec{{Name: "k", Use: plugin.SecretUseSign}}, Actions: []plugin.Handler{
		plugin.Action[struct{}, struct{}]{Name: "sign", Handle: func(ctx context.Context, _ struct{}) (struct{}, error) {
			_, err := plugin.SignJWT(ctx, plugin.RS256, "k", nil, map[string]any{})
			return struct{}{}, err
		}},
	}}
	resp := c.Invoke(context.Background(), minimalHost{}, &abi.InvokeRequest{Action: "sign", Inputs: []json.RawMessage{[]byte(`{}`)}})
	if e := resp.Results[0].Error; e == nil || e.Kind != abi.KindPermanent || !strings.Contains(e.Message, "does not provide sign_jwt") {
		t.Fatalf("got %+v", e)
	}
}

func TestJWTClaims(t *testing.T) {
	tests := []struct {
		name, token, want string
	}{
		{"claims", "e30." + base64.RawURLEncoding.EncodeToString([]byte(`{"aud":"x","n":1}`)) + ".sig", ""},
		{"two parts", "a.b", "not a compact JWS"},
		{"bad base64", "e30.!!!.sig", "jwt: claims"},
		{"not an object", "e30." + base64.RawURLEncoding.EncodeToString([]byte(`[1]`)) + ".sig", "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := plugin.JWTClaims(tt.token)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("got %v, want %q", err, tt.want)
				}
				return
			}
			if err != nil || claims["aud"] != "x" || claims["n"] != json.Number("1") {
				t.Fatalf("got %v, %v", claims, err)
			}
		})
	}
}
