//go:build !wasip1

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/plugins"
	"github.com/aquascene/aquahub/plugins/wasmtest"
	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/plugin/plugintest"
)

// vendor is a loopback API: /echo reflects the request, /status/N answers N, /text is text,
// /moved redirects to /text keeping the query.
func vendor(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/status/"):
			var code int
			fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/status/"), "%d", &code)
			if code == 429 {
				w.Header().Set("Retry-After", "7")
			}
			w.WriteHeader(code)
			fmt.Fprint(w, `{"error":"as asked"}`)
		case r.URL.Path == "/moved":
			http.Redirect(w, r, "/text?"+r.URL.RawQuery, http.StatusFound)
		case r.URL.Path == "/text":
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, "plain words")
		default:
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{
				"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery,
				"auth": r.Header.Get("Authorization"), "idem": r.Header.Get("Idempotency-Key"),
				"ctype": r.Header.Get("Content-Type"), "body": string(b),
			})
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// runner runs the request action with a tenant grant for srv and returns output or error
// class; both the native harness and the wasm host implement it.
type runner func(t *testing.T, in map[string]any) (map[string]any, error)

func nativeRunner(t *testing.T, srv *httptest.Server) runner {
	h := plugintest.Start(t, Connector, plugintest.Options{
		Config:  map[string]any{"base_url": srv.URL + "/api"},
		Secrets: map[string]string{"api_key": "sk-live-123456"},
		Egress:  []string{srv.URL},
	})
	return func(t *testing.T, in map[string]any) (map[string]any, error) {
		out, err := h.Invoke(context.Background(), "request", in)
		var ae *abi.Error
		if errors.As(err, &ae) {
			return nil, classErr{class: string(ae.Kind), retryMS: ae.RetryAfterMS, msg: ae.Error()}
		}
		// Normalise json.Number to float64 as the hub does.
		b, _ := json.Marshal(out)
		var m map[string]any
		json.Unmarshal(b, &m)
		return m, err
	}
}

func wasmRunner(t *testing.T, srv *httptest.Server) runner {
	wasm := wasmtest.Build(t, ".")
	cat := wasmtest.Open(t, plugins.Config{}, plugins.Deps{Grants: func(tenant, connector string) (plugins.TenantConfig, bool) {
		return plugins.TenantConfig{
			Config:  map[string]any{"base_url": srv.URL + "/api"},
			Secrets: map[string]string{"api_key": "sk-live-123456"},
			Egress:  []string{srv.URL},
		}, true
	}}, wasm)
	return func(t *testing.T, in map[string]any) (map[string]any, error) {
		res, err := cat.Execute(context.Background(), plugins.ActionCall{
			Tenant: "aquascene", RunID: "r1", StepID: "s1", Connector: "http", Action: "request",
			Input: in, IdempotencyKey: "test-idem-test", Attempt: 1,
		})
		if err != nil {
			se := core.Classify(err)
			return nil, classErr{class: string(se.Class), retryMS: se.RetryAfter.Milliseconds(), msg: err.Error()}
		}
		return res.Output, nil
	}
}

type classErr struct {
	class   string
	retryMS int64
	msg     string
}

func (e classErr) Error() string { return e.class + ": " + e.msg }

func TestRequest(t *testing.T) {
	srv := vendor(t)
	for _, mode := range []struct {
		name string
		new  func(*testing.T, *httptest.Server) runner
	}{{"native", nativeRunner}, {"wasm", wasmRunner}} {
		t.Run(mode.name, func(t *testing.T) {
			run := mode.new(t, srv)
			tests := []struct {
				name  string
				in    map[string]any
				check func(t *testing.T, out map[string]any)
				class string // expected error class; empty = success
				retry int64
				msg   string // part of the error message
			}{
				{name: "GET JSON with query and bearer secret", in: map[string]any{
					"url": srv.URL + "/things", "query": map[string]any{"q": "a b"}, "bearer_secret": "api_key",
				}, check: func(t *testing.T, out map[string]any) {
					j := out["json"].(map[string]any)
					if j["method"] != "GET" || j["query"] != "q=a+b" || j["auth"] != "Bearer [redacted]" || out["status"] != float64(200) {
						t.Fatalf("got %v", out)
					}
				}},
				{name: "POST JSON relative to base_url with idempotency header", in: map[string]any{
					"method": "POST", "url": "/orders", "json": map[string]any{"n": 1}, "idempotency_header": "Idempotency-Key",
				}, check: func(t *testing.T, out map[string]any) {
					j := out["json"].(map[string]any)
					if j["path"] != "/api/orders" || j["body"] != `{"n":1}` || j["ctype"] != "application/json" || !strings.Contains(j["idem"].(string), "idem-test") {
						t.Fatalf("got %v", j)
					}
				}},
				{name: "JSON body sent as given, large integers exact", in: map[string]any{
					"method": "POST", "url": "/ids", "json": map[string]any{"id": json.Number("12345678901234567890"), "s": "<b>"},
				}, check: func(t *testing.T, out map[string]any) {
					j := out["json"].(map[string]any)
					if j["body"] != `{"id":12345678901234567890,"s":"\u003cb\u003e"}` && j["body"] != `{"id":12345678901234567890,"s":"<b>"}` {
						t.Fatalf("body %q", j["body"])
					}
				}},
				{name: "null json is no body", in: map[string]any{"method": "POST", "url": "/raw", "json": nil, "body": "x"},
					check: func(t *testing.T, out map[string]any) {
						if j := out["json"].(map[string]any); j["body"] != "x" || j["ctype"] != "" {
							t.Fatalf("got %v", j)
						}
					}},
				{name: "form body", in: map[string]any{"method": "PUT", "url": srv.URL + "/f", "form": map[string]any{"a": "1"}},
					check: func(t *testing.T, out map[string]any) {
						j := out["json"].(map[string]any)
						if j["body"] != "a=1" || j["ctype"] != "application/x-www-form-urlencoded" {
							t.Fatalf("got %v", j)
						}
					}},
				{name: "secret in a header template", in: map[string]any{"url": srv.URL + "/h", "headers": map[string]any{"Authorization": "Token {{secret:api_key}}"}},
					check: func(t *testing.T, out map[string]any) {
						if a := out["json"].(map[string]any)["auth"]; a != "Token [redacted]" {
							t.Fatalf("auth %v", a)
						}
					}},
				{name: "text response", in: map[string]any{"url": srv.URL + "/text"}, check: func(t *testing.T, out map[string]any) {
					if out["text"] != "plain words" || out["json"] != nil {
						t.Fatalf("got %v", out)
					}
				}},
				{name: "url is the request's own without a redirect", in: map[string]any{"url": "/orders", "query": map[string]any{"k": "{{secret:api_key}}"}},
					check: func(t *testing.T, out map[string]any) {
						if want := srv.URL + "/api/orders?k={{secret:api_key}}"; out["url"] != want {
							t.Fatalf("url %v, want %s", out["url"], want)
						}
					}},
				{name: "url is the final one after a redirect, secret values scrubbed", in: map[string]any{"url": srv.URL + "/moved", "query": map[string]any{"k": "{{secret:api_key}}"}},
					check: func(t *testing.T, out map[string]any) {
						u, _ := out["url"].(string)
						if !strings.HasPrefix(u, srv.URL+"/text?k=") || strings.Contains(u, "sk-live-123456") || out["text"] != "plain words" {
							t.Fatalf("url %q, output %v", u, out)
						}
					}},
				{name: "401 is auth", in: map[string]any{"url": srv.URL + "/status/401"}, class: "auth"},
				{name: "404 is not found", in: map[string]any{"url": srv.URL + "/status/404?a=1"}, class: "not_found",
					msg: "GET " + srv.URL + "/status/404?a=1: 404 Not Found: {\"error\":\"as asked\"}"},
				{name: "429 is rate limited with Retry-After", in: map[string]any{"url": srv.URL + "/status/429"}, class: "rate_limited", retry: 7000},
				{name: "422 is invalid input", in: map[string]any{"url": srv.URL + "/status/422"}, class: "invalid_input"},
				{name: "503 is transient", in: map[string]any{"url": srv.URL + "/status/503"}, class: "transient"},
				{name: "409 is permanent", in: map[string]any{"url": srv.URL + "/status/409"}, class: "permanent"},
				{name: "ungranted origin is denied", in: map[string]any{"url": "https://api.example.com/x"}, class: "permanent"},
				{name: "two bodies", in: map[string]any{"url": srv.URL, "json": 1, "body": "x"}, class: "invalid_input"},
				{name: "unknown field", in: map[string]any{"url": srv.URL, "metod": "GET"}, class: "invalid_input"},
				{name: "bad method", in: map[string]any{"url": srv.URL, "method": "BREW"}, class: "invalid_input"},
				{name: "relative URL without base", in: map[string]any{"url": "://x"}, class: "invalid_input", msg: "url"},
				{name: "unknown secret", in: map[string]any{"url": srv.URL, "bearer_secret": "nope"}, class: "permanent"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					out, err := run(t, tt.in)
					if tt.class == "" {
						if err != nil {
							t.Fatal(err)
						}
						tt.check(t, out)
						return
					}
					var ce classErr
					if !errors.As(err, &ce) || ce.class != tt.class {
						t.Fatalf("want class %s, got %v", tt.class, err)
					}
					if !strings.Contains(ce.msg, tt.msg) {
						t.Fatalf("message %q does not hold %q", ce.msg, tt.msg)
					}
					if tt.retry > 0 && ce.retryMS != tt.retry {
						t.Fatalf("retry after %d ms, want %d", ce.retryMS, tt.retry)
					}
				})
			}
		})
	}
}

// TestBaseURLFollowsTheTenant: the parsed base_url is kept between calls, so calls for
// tenants with different bases, alternating, must each join their own.
func TestBaseURLFollowsTheTenant(t *testing.T) {
	srv := vendor(t)
	tests := []struct{ name, base, want string }{
		{"first tenant", srv.URL + "/a", "/a/x"},
		{"second tenant", srv.URL + "/b/", "/b/x"},
		{"bad base", "http://[::1", ""},
	}
	harnesses := make([]*plugintest.Harness, len(tests))
	for i, tc := range tests {
		harnesses[i] = plugintest.Start(t, Connector, plugintest.Options{Config: map[string]any{"base_url": tc.base}, Egress: []string{srv.URL}})
	}
	for range 2 {
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				out, err := harnesses[i].Invoke(context.Background(), "request", map[string]any{"url": "x"})
				if tc.want == "" {
					if ae := plugintest.WantError(t, err, abi.KindInvalidInput, "url"); !strings.Contains(ae.Message, "base_url") {
						t.Fatalf("error %q does not name base_url", ae.Message)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if path := out["json"].(map[string]any)["path"]; path != tc.want {
					t.Fatalf("path %v, want %s", path, tc.want)
				}
			})
		}
	}
}
