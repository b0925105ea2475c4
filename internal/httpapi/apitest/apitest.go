// Package apitest runs the HTTP kernel with feature modules in tests and checks every answer
// against the server's own OpenAPI document, so a handler that sends something its operation
// does not declare fails the test that exercised it.
package apitest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/httpapi"
	"github.com/aquascene/aquahub/internal/identity"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
)

// OperatorToken is the hub operator's credential of the servers New builds.
const OperatorToken = "operator-token-for-tests-0123456789abcdef"

// Keys authenticates the API keys tests use: dev-key and admin-key (admins), editor-key,
// manager-key (content_manager) and viewer-key of tenant aquascene, other-key (admin) of
// tenant other, and OperatorToken.
func Keys() core.Authenticator {
	m, err := identity.New(identity.Config{OperatorToken: OperatorToken}, []identity.FileTenant{
		{ID: "aquascene", Config: identity.TenantConfig{APIKeys: []identity.ConfigKey{
			{Key: "dev-key", Role: core.RoleAdmin}, {Key: "admin-key", Role: core.RoleAdmin}, {Key: "editor-key", Role: core.RoleEditor},
			{Key: "manager-key", Role: core.RoleContentManager}, {Key: "viewer-key", Role: core.RoleViewer},
		}}},
		{ID: "other", Config: identity.TenantConfig{APIKeys: []identity.ConfigKey{{Key: "other-key", Role: core.RoleAdmin}}}},
	}, identity.Deps{})
	if err != nil {
		panic(err)
	}
	return m
}

// Server is a kernel server under test.
type Server struct {
	*httpapi.Server
	check validator.Validator
}

// New builds a server with the modules, authenticating with Keys, and validates its
// document as OpenAPI 3.1.
func New(tb testing.TB, modules ...httpapi.RouteModule) *Server {
	tb.Helper()
	return NewWith(tb, httpapi.DefaultConfig(), httpapi.Options{Auth: Keys(), Version: "test"}, modules...)
}

// NewWith is New with the kernel's configuration and options given.
func NewWith(tb testing.TB, cfg httpapi.Config, opts httpapi.Options, modules ...httpapi.RouteModule) *Server {
	tb.Helper()
	srv, err := httpapi.New(cfg, opts, modules...)
	if err != nil {
		tb.Fatal(err)
	}
	return Wrap(tb, srv)
}

// Wrap checks an already built server (a whole hub's) the way New does.
func Wrap(tb testing.TB, srv *httpapi.Server) *Server {
	tb.Helper()
	raw, err := json.Marshal(srv.Document().JSON())
	if err != nil {
		tb.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(raw)
	if err != nil {
		tb.Fatalf("the OpenAPI document does not parse: %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		tb.Fatalf("the OpenAPI document does not load: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			tb.Errorf("OpenAPI document: %s: %s", e.Message, e.Reason)
		}
		tb.FailNow()
	}
	return &Server{Server: srv, check: v}
}

// Do sends req and returns the answer with its body read into memory. An answer that does
// not match the operation's declared responses fails the test.
func (s *Server) Do(tb testing.TB, req *http.Request) (*http.Response, []byte) {
	tb.Helper()
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := s.App().Test(req, 60_000)
	if err != nil {
		tb.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		tb.Fatal(err)
	}
	CheckNoSecret(tb, req.Method+" "+req.URL.Path+" answered", body)
	for name, vs := range resp.Header {
		for _, v := range vs {
			CheckNoSecret(tb, req.Method+" "+req.URL.Path+" answered header "+name, []byte(v))
		}
	}
	s.validate(tb, req, reqBody, resp, body)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, body
}

func (s *Server) validate(tb testing.TB, req *http.Request, reqBody []byte, resp *http.Response, body []byte) {
	tb.Helper()
	if resp.StatusCode == 404 && strings.Contains(string(body), "no route for") {
		return // an unknown route has no operation to check against
	}
	if !s.Document().Has(req.Method, routeOf(s, req)) {
		return
	}
	vreq := httptest.NewRequest(req.Method, req.URL.String(), bytes.NewReader(reqBody))
	vreq.Header = req.Header.Clone()
	vresp := &http.Response{StatusCode: resp.StatusCode, Header: resp.Header.Clone(), Body: io.NopCloser(bytes.NewReader(body)), Request: vreq}
	if ok, errs := s.check.ValidateHttpResponse(vreq, vresp); !ok {
		for _, e := range errs {
			detail := e.Reason
			for _, se := range e.SchemaValidationErrors {
				detail += "; " + se.FieldPath + ": " + se.Reason
			}
			tb.Errorf("%s %s answered %d, which its OpenAPI operation does not allow: %s: %s\nbody: %.500s", req.Method, req.URL.Path, resp.StatusCode, e.Message, detail, body)
		}
	}
}

// routeOf finds the registered route (fiber form) that serves req, for Document.Has.
func routeOf(s *Server, req *http.Request) string {
	for key := range s.Document().Operations() {
		method, path, _ := strings.Cut(key, " ")
		if method == req.Method && matches(path, req.URL.Path) {
			return strings.NewReplacer("{", ":", "}", "").Replace(path)
		}
	}
	return req.URL.Path
}

// matches reports whether an OpenAPI path template matches a request path.
func matches(template, path string) bool {
	t, p := strings.Split(template, "/"), strings.Split(path, "/")
	if len(t) != len(p) {
		return false
	}
	for i := range t {
		if strings.HasPrefix(t[i], "{") {
			if p[i] == "" {
				return false
			}
			continue
		}
		if t[i] != p[i] {
			return false
		}
	}
	return true
}

// Call sends a JSON request (body as given when a string or []byte, else marshalled) with
// the API key and extra headers, and returns the status, the decoded JSON object and the
// headers.
func (s *Server) Call(tb testing.TB, method, path, key string, body any, header map[string]string) (int, map[string]any, http.Header) {
	tb.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, raw := s.Do(tb, req)
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out, resp.Header
}
