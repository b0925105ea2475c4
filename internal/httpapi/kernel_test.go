package httpapi_test

import (
	"context"
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
