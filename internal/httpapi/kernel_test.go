package httpapi_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/httpapi"
	"github.com/aquascene/aquahub/internal/httpapi/apitest"
	"github.com/gofiber/fiber/v2"
)

type thing struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// module serves /api/v1/things; answer decides what GET sends.
type module struct{ answer any }

func (m module) Routes(mux *httpapi.Mux) {
	mux.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/things/:id", Summary: "A thing", Tag: "things", Permission: core.PermReadContent,
		Responses: []httpapi.Response{{Status: 200, Description: "The thing", Body: thing{}}, {Status: 404, Description: "No such thing"}}},
		func(c *fiber.Ctx) error {
			if c.Params("id") == "missing" {
				return fmt.Errorf("thing %q: %w", c.Params("id"), core.ErrNotFound)
			}
			return c.JSON(m.answer)
		})
}

// recorder is a testing.TB that keeps the errors reported to it.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Helper() {}

func TestAnswersAreCheckedAgainstTheDocument(t *testing.T) {
	tests := []struct {
		name   string
		answer any
		path   string
		ok     bool
	}{
		{"declared shape", thing{Name: "a", Count: 1}, "/api/v1/things/a", true},
		{"a problem for a declared error", nil, "/api/v1/things/missing", true},
		{"a field the type lacks", map[string]any{"name": "a", "count": 1, "extra": true}, "/api/v1/things/a", false},
		{"a missing required field", map[string]any{"name": "a"}, "/api/v1/things/a", false},
		{"a field of the wrong type", map[string]any{"name": "a", "count": "one"}, "/api/v1/things/a", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := apitest.New(t, module{answer: tc.answer})
			rec := &recorder{TB: t}
			req := httptest.NewRequest("GET", tc.path, nil)
			req.Header.Set("Authorization", "Bearer dev-key")
			srv.Do(rec, req)
			if tc.ok && len(rec.errs) > 0 {
				t.Fatalf("a valid answer was refused: %v", rec.errs)
			}
			if !tc.ok && len(rec.errs) == 0 {
				t.Fatal("an answer that breaks its schema passed")
			}
		})
	}
}

func TestOperationsMustDeclareAPermission(t *testing.T) {
	_, err := httpapi.New(httpapi.DefaultConfig(), httpapi.Options{Auth: apitest.Keys()}, routesFunc(func(m *httpapi.Mux) {
		m.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/open", Summary: "forgot its permission",
			Responses: []httpapi.Response{{Status: 200, Description: "x", Body: thing{}}}}, func(c *fiber.Ctx) error { return nil })
	}))
	if err == nil || !strings.Contains(err.Error(), "declares no permission") {
		t.Fatalf("got %v", err)
	}
}

func TestSuccessWithoutBodyTypeIsRefused(t *testing.T) {
	_, err := httpapi.New(httpapi.DefaultConfig(), httpapi.Options{Auth: apitest.Keys()}, routesFunc(func(m *httpapi.Mux) {
		m.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/x", Summary: "untyped", Permission: core.PermReadContent,
			Responses: []httpapi.Response{{Status: 200, Description: "x"}}}, func(c *fiber.Ctx) error { return nil })
	}))
	if err == nil || !strings.Contains(err.Error(), "response 200 has no body type") {
		t.Fatalf("got %v", err)
	}
}

func TestPermissionsAndCredentials(t *testing.T) {
	srv := apitest.New(t, module{answer: thing{Name: "a"}})
	tests := []struct {
		name, key string
		status    int
		detail    string
	}{
		{"no credential", "", 401, "missing credential"},
		{"unknown key", "nope", 401, "unknown API key"},
		{"viewer may read", "viewer-key", 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := srv.Call(t, "GET", "/api/v1/things/a", tc.key, nil, nil)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, body)
			}
			if tc.detail != "" && !strings.Contains(fmt.Sprint(body["detail"]), tc.detail) {
				t.Fatalf("detail %v, want %q", body["detail"], tc.detail)
			}
		})
	}
}

type routesFunc func(m *httpapi.Mux)

func (f routesFunc) Routes(m *httpapi.Mux) { f(m) }

// TestCanaryLeaksFail: an answer or a log line holding the canary secret fails the test
// that produced it, plainly or base64-encoded.
func TestCanaryLeaksFail(t *testing.T) {
	tests := []struct {
		name   string
		answer any
	}{
		{"plain", thing{Name: apitest.Canary}},
		{"base64", thing{Name: base64.StdEncoding.EncodeToString([]byte(apitest.Canary))}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := apitest.New(t, module{answer: tc.answer})
			rec := &recorder{TB: t}
			req := httptest.NewRequest("GET", "/api/v1/things/a", nil)
			req.Header.Set("Authorization", "Bearer dev-key")
			srv.Do(rec, req)
			if len(rec.errs) == 0 || !strings.Contains(rec.errs[0], "a secret value") {
				t.Fatalf("a leaked canary passed: %v", rec.errs)
			}
		})
	}
	rec := &recorder{TB: t}
	apitest.Logger(rec).Info("calling vendor", "token", apitest.Canary)
	if len(rec.errs) == 0 {
		t.Fatal("a log line with the canary passed")
	}
	clean := &recorder{TB: t}
	apitest.Logger(clean).Info("calling vendor", "token", "[redacted]")
	if len(clean.errs) != 0 {
		t.Fatalf("a clean line failed: %v", clean.errs)
	}
}

// TestMetricsToken: with server.metrics_token set, /metrics needs it as a bearer token.
func TestMetricsToken(t *testing.T) {
	cfg := httpapi.DefaultConfig()
	cfg.MetricsToken = "metrics-token-0123456789"
	srv := apitest.NewWith(t, cfg, httpapi.Options{Auth: apitest.Keys()}, scrapeModule{})
	tests := []struct {
		name, token string
		status      int
	}{
		{"no token", "", 401},
		{"wrong token", "metrics-token-wrong", 401},
		{"an API key is not the token", "dev-key", 401},
		{"the token", "metrics-token-0123456789", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if status, body, _ := srv.Call(t, "GET", "/metrics", tc.token, nil, nil); status != tc.status {
				t.Fatalf("%d %v, want %d", status, body, tc.status)
			}
		})
	}
	open := apitest.New(t, scrapeModule{})
	if status, _, _ := open.Call(t, "GET", "/metrics", "", nil, nil); status != 200 {
		t.Fatalf("without a metrics token /metrics is open: %d", status)
	}
}

type scrapeModule struct{}

func (scrapeModule) Routes(m *httpapi.Mux) {
	m.Handle(httpapi.Op{Method: "GET", Path: "/metrics", Summary: "metrics", Public: true, Scrape: true,
		Responses: []httpapi.Response{{Status: 200, Description: "metrics", Body: thing{}}}}, func(c *fiber.Ctx) error { return c.JSON(thing{Name: "up"}) })
}

func TestProfilerIsOffByDefaultAndLoopbackOnly(t *testing.T) {
	off := apitest.New(t)
	if status, _, _ := off.Call(t, "GET", "/debug/pprof/heap", "", nil, nil); status != 404 {
		t.Fatalf("profiler without server.pprof: %d", status)
	}
	cfg := httpapi.DefaultConfig()
	cfg.Pprof = true
	on := apitest.NewWith(t, cfg, httpapi.Options{Auth: apitest.Keys()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go on.Serve(ln)
	defer on.Shutdown(context.Background())
	resp, err := http.Get("http://" + ln.Addr().String() + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("profiler from loopback: %d", resp.StatusCode)
	}
}
