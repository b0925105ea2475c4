//go:build !wasip1

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// specFiles are HubSpot's own OpenAPI documents of the endpoints the connector calls.
var specFiles = []string{"testdata/hubspot-crm-contacts-v3.json", "testdata/hubspot-events-send-v3.json"}

// loadSpecs loads the documents with one correction: the search request's sorts are typed
// as strings, while HubSpot's documentation and clients send {propertyName, direction}
// objects (which the connector sends), so each sort may be either.
func loadSpecs(tb testing.TB) []routers.Router {
	tb.Helper()
	var out []routers.Router
	for _, f := range specFiles {
		doc, err := openapi3.NewLoader().LoadFromFile(f)
		if err != nil {
			tb.Fatalf("loading %s: %v", f, err)
		}
		if s := doc.Components.Schemas["PublicObjectSearchRequest"]; s != nil {
			sortObj := &openapi3.Schema{Type: &openapi3.Types{"object"}, Required: []string{"propertyName"},
				Properties: openapi3.Schemas{
					"propertyName": openapi3.NewStringSchema().NewRef(),
					"direction":    openapi3.NewStringSchema().WithEnum("ASCENDING", "DESCENDING").NewRef(),
				}}
			s.Value.Properties["sorts"].Value.Items = openapi3.NewSchemaRef("", &openapi3.Schema{
				OneOf: openapi3.SchemaRefs{openapi3.NewStringSchema().NewRef(), sortObj.NewRef()}})
		}
		doc.Servers = openapi3.Servers{{URL: "http://spec"}}
		// The documents carry examples that do not match their own schemas
		// ("{missingScopes=[scope1, scope2]}" for an object); they are not checked.
		r, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
		if err != nil {
			tb.Fatalf("router for %s: %v", f, err)
		}
		out = append(out, r)
	}
	return out
}

// specCheck is an http.Handler in front of the simulator that validates every request and
// its response against HubSpot's specs, where the specs describe the route.
type specCheck struct {
	routers []routers.Router
	next    http.Handler

	mu       sync.Mutex
	checked  map[string]int // operation → validated exchanges
	failures []string
}

func newSpecCheck(tb testing.TB, next http.Handler) *specCheck {
	tb.Helper()
	return &specCheck{routers: loadSpecs(tb), next: next, checked: map[string]int{}}
}

func (c *specCheck) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	c.next.ServeHTTP(rec, r)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
	if strings.HasPrefix(r.URL.Path, "/_sim/") || r.Context().Err() != nil {
		return // control endpoints, and answers no client waited for (injected latency)
	}
	if err := c.validate(r.Method, r.URL.RequestURI(), r.Header, body, rec); err != nil {
		c.mu.Lock()
		c.failures = append(c.failures, fmt.Sprintf("%s %s -> %d: %v\nrequest: %s\nresponse: %s", r.Method, r.URL.RequestURI(), rec.Code, err, body, rec.Body.String()))
		c.mu.Unlock()
	}
}

func (c *specCheck) validate(method, uri string, header http.Header, body []byte, rec *httptest.ResponseRecorder) error {
	req, _ := http.NewRequest(method, "http://spec"+uri, bytes.NewReader(body))
	req.Header = header.Clone()
	for _, router := range c.routers {
		route, params, err := router.FindRoute(req)
		if err != nil {
			continue
		}
		opts := &openapi3filter.Options{AuthenticationFunc: func(context.Context, *openapi3filter.AuthenticationInput) error { return nil }}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
		if rec.Code < 400 {
			// An invalid request the simulator rejected is the simulator's business; a
			// request it accepted must be one HubSpot documents.
			if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
				return fmt.Errorf("request: %w", err)
			}
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
			Body: io.NopCloser(bytes.NewReader(rec.Body.Bytes())), Options: opts}
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			return fmt.Errorf("response: %w", err)
		}
		c.mu.Lock()
		c.checked[method+" "+route.Path]++
		c.mu.Unlock()
		return nil
	}
	return nil
}

// verify fails the test for every exchange that did not match the specs, and when fewer
// than want operations were checked at all.
func (c *specCheck) verify(tb testing.TB, want ...string) {
	tb.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.failures {
		tb.Errorf("does not match HubSpot's spec: %s", f)
	}
	for _, op := range want {
		if c.checked[op] == 0 {
			tb.Errorf("no %s exchange was validated (validated: %v)", op, c.checked)
		}
	}
}

// The validator rejects what the specs forbid, so a clean validation means something.
func TestSpecCheckRejects(t *testing.T) {
	c := &specCheck{routers: loadSpecs(t)}
	h := http.Header{"Content-Type": {"application/json"}}
	ok := func(status int, body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		rec.Header().Set("Content-Type", "application/json")
		rec.WriteHeader(status)
		rec.WriteString(body)
		return rec
	}
	good := `{"status":"COMPLETE","results":[],"startedAt":"2025-01-01T00:00:00.000Z","completedAt":"2025-01-01T00:00:00.000Z"}`
	tests := []struct {
		name, method, uri, body string
		resp                    *httptest.ResponseRecorder
	}{
		{"upsert without inputs", "POST", "/crm/v3/objects/contacts/batch/upsert", `{}`, ok(200, good)},
		{"upsert input without id", "POST", "/crm/v3/objects/contacts/batch/upsert", `{"inputs":[{"properties":{}}]}`, ok(200, good)},
		{"upsert property not a string", "POST", "/crm/v3/objects/contacts/batch/upsert", `{"inputs":[{"id":"a@b.co","properties":{"n":1}}]}`, ok(200, good)},
		{"upsert response without status", "POST", "/crm/v3/objects/contacts/batch/upsert", `{"inputs":[{"id":"a@b.co","properties":{}}]}`, ok(200, `{"results":[]}`)},
		{"event without eventName", "POST", "/events/v3/send", `{"properties":{}}`, ok(204, "")},
		{"search sort direction", "POST", "/crm/v3/objects/contacts/search", `{"after":"","filterGroups":[],"limit":1,"properties":[],"sorts":[{"propertyName":"x","direction":"UP"}]}`, ok(200, `{"total":0,"results":[]}`)},
		{"error without correlationId", "GET", "/crm/v3/objects/contacts/1", ``, ok(404, `{"message":"x","category":"OBJECT_NOT_FOUND"}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.validate(tt.method, tt.uri, h, []byte(tt.body), tt.resp); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
