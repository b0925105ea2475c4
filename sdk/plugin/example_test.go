package plugin_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/aquascene/aquahub/sdk/plugin"
	"github.com/aquascene/aquahub/sdk/plugin/plugintest"
)

type greetIn struct {
	Name  string `json:"name" desc:"who to greet" jsonschema:"minLength=1"`
	Shout bool   `json:"shout,omitempty"`
}

type greetOut struct {
	Greeting string `json:"greeting"`
}

// A connector is a value: actions with typed handlers, whose schemas come from the structs.
func Example() {
	c := &plugin.Connector{
		ID: "greeter", Version: "1.0.0",
		Actions: []plugin.Handler{
			plugin.Action[greetIn, greetOut]{
				Name: "greet",
				Handle: func(ctx context.Context, in greetIn) (greetOut, error) {
					g := "hello, " + in.Name
					if in.Shout {
						g = strings.ToUpper(g)
					}
					return greetOut{Greeting: g}, nil
				},
			},
		},
	}
	schema, _ := json.Marshal(c.Manifest().Actions[0].Input)
	fmt.Println(string(schema))

	h, _ := plugintest.New(c, plugintest.Options{})
	out, _ := h.Invoke(context.Background(), "greet", map[string]any{"name": "Amano", "shout": true})
	fmt.Println(out["greeting"])
	_, err := h.Invoke(context.Background(), "greet", map[string]any{"nmae": "typo"})
	fmt.Println(err)
	// Output:
	// {"type":"object","properties":{"name":{"type":"string","description":"who to greet","minLength":1},"shout":{"type":"boolean"}},"required":["name"],"additionalProperties":false}
	// HELLO, AMANO
	// invalid_input: nmae: unknown field "nmae"
}

// HTTPClient is ordinary net/http code; the host checks egress and injects the secret.
func ExampleHTTPClient() {
	vendor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"auth":%q}`, r.Header.Get("Authorization"))
	}))
	defer vendor.Close()

	type in struct{}
	type out struct {
		SawAuth bool `json:"saw_auth"`
	}
	c := &plugin.Connector{
		ID: "vendor", Version: "1.0.0", Egress: []string{"*"},
		// The key goes in the Authorization header and nowhere else.
		Secrets: []plugin.SecretSpec{{Name: "api_key", Places: []plugin.SecretPlace{{Header: "Authorization"}}}},
		Actions: []plugin.Handler{plugin.Action[in, out]{
			Name: "whoami",
			Handle: func(ctx context.Context, _ in) (out, error) {
				req, _ := http.NewRequestWithContext(ctx, "GET", vendor.URL+"/me", nil)
				req.Header.Set("Authorization", "Bearer "+plugin.Secret("api_key"))
				resp, err := plugin.HTTPClient().Do(req)
				if err != nil {
					return out{}, err
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if err := plugin.CheckResponse(resp, body); err != nil {
					return out{}, err
				}
				// The vendor echoed the header; the host scrubbed the secret from the reply.
				return out{SawAuth: strings.Contains(string(body), "[redacted]")}, nil
			},
		}},
	}

	denied, _ := plugintest.New(c, plugintest.Options{Secrets: map[string]string{"api_key": "s3cr3t-value"}})
	_, err := denied.Invoke(context.Background(), "whoami", map[string]any{})
	fmt.Println(err != nil && strings.Contains(err.Error(), "not granted"))

	granted, _ := plugintest.New(c, plugintest.Options{
		Secrets: map[string]string{"api_key": "s3cr3t-value"},
		Egress:  []string{vendor.URL}, // a loopback address must be granted literally
	})
	res, err := granted.Invoke(context.Background(), "whoami", map[string]any{})
	fmt.Println(res["saw_auth"], err)
	// Output:
	// true
	// true <nil>
}

// HMACHex has the host sign the request body with a secret the connector never sees, for
// a vendor (or partner) that checks an X-Signature-256 header.
func ExampleHMACHex() {
	partner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte("whsec-shared-with-partner"))
		mac.Write(body)
		if r.Header.Get("X-Signature-256") != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
		}
	}))
	defer partner.Close()

	type in struct {
		ID string `json:"id"`
	}
	c := &plugin.Connector{
		ID: "notify", Version: "1.0.0", Egress: []string{"*"},
		Secrets: []plugin.SecretSpec{{Name: "signing_secret", Places: []plugin.SecretPlace{{HMAC: "X-Signature-256"}}}},
		Actions: []plugin.Handler{plugin.Action[in, in]{
			Name: "notify",
			Handle: func(ctx context.Context, n in) (in, error) {
				body, _ := json.Marshal(n)
				req, _ := http.NewRequestWithContext(ctx, "POST", partner.URL, bytes.NewReader(body))
				req.Header.Set("X-Signature-256", "sha256="+plugin.HMACHex("signing_secret"))
				resp, err := plugin.HTTPClient().Do(req)
				if err != nil {
					return in{}, err
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return n, plugin.CheckResponse(resp, b)
			},
		}},
	}
	h, _ := plugintest.New(c, plugintest.Options{
		Secrets: map[string]string{"signing_secret": "whsec-shared-with-partner"},
		Egress:  []string{partner.URL},
	})
	_, err := h.Invoke(context.Background(), "notify", map[string]any{"id": "42"})
	fmt.Println(err)
	// Output:
	// <nil>
}

// SignJWT has the host sign a JWT-bearer assertion with the tenant's private key, which
// the connector declares with Use SecretUseSign and never sees.
func ExampleSignJWT() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))

	type in struct{}
	type out struct {
		Assertion string `json:"assertion"`
	}
	c := &plugin.Connector{
		ID: "vendor", Version: "1.0.0",
		Secrets: []plugin.SecretSpec{{Name: "private_key", Use: plugin.SecretUseSign, Required: true}},
		Actions: []plugin.Handler{plugin.Action[in, out]{
			Name: "assert",
			Handle: func(ctx context.Context, _ in) (out, error) {
				now := plugin.Now(ctx).Unix()
				jwt, err := plugin.SignJWT(ctx, plugin.ES256, "private_key",
					map[string]any{"kid": "key-1"},
					map[string]any{"iss": "client-id", "aud": "https://login.example.com", "iat": now, "exp": now + 180})
				return out{Assertion: jwt}, err
			},
		}},
	}

	h, _ := plugintest.New(c, plugintest.Options{Secrets: map[string]string{"private_key": pemKey}})
	res, _ := h.Invoke(context.Background(), "assert", map[string]any{})
	token := res["assertion"].(string)
	header, _ := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	fmt.Println(string(header))
	claims, _ := plugin.JWTClaims(token)
	fmt.Println(claims["iss"], claims["aud"])
	// Output:
	// {"alg":"ES256","kid":"key-1","typ":"JWT"}
	// client-id https://login.example.com
}
