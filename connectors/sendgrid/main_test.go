//go:build !wasip1

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/sendgrid/sim"
	"github.com/aquascene/aquahub/connectors/simkit"
	"github.com/aquascene/aquahub/connectors/simkit/simtest"
	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/plugin/plugintest"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// specRouter loads SendGrid's own OpenAPI document of mail send. The spec types top-level
// custom_args as a string while SendGrid and its SDKs send an object (wire-contracts §2.2), so
// that one schema is corrected to the object of strings SendGrid accepts.
func specRouter(t testing.TB) routers.Router {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile("testdata/sendgrid-mail-v3.json")
	if err != nil {
		t.Fatalf("loading spec: %v", err)
	}
	body := doc.Paths.Find("/v3/mail/send").Post.RequestBody.Value.Content.Get("application/json").Schema.Value
	body.Properties["custom_args"] = openapi3.NewSchemaRef("", &openapi3.Schema{
		Type: &openapi3.Types{"object"}, AdditionalProperties: openapi3.AdditionalProperties{Schema: openapi3.NewStringSchema().NewRef()},
	})
	doc.Servers = openapi3.Servers{{URL: "http://x"}}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	return r
}

// validate checks every mail send the simulator received against the spec.
func validate(t testing.TB, router routers.Router, reqs []simkit.Request) {
	t.Helper()
	if len(reqs) == 0 {
		t.Fatal("no requests to validate")
	}
	for i, rec := range reqs {
		if err := validateOne(router, rec); err != nil {
			t.Fatalf("request %d does not match SendGrid's spec: %v\n%s", i, err, rec.Body)
		}
	}
}

func validateOne(router routers.Router, rec simkit.Request) error {
	req, _ := http.NewRequest(rec.Method, "http://x"+rec.Path, bytes.NewReader(rec.Body))
	req.Header = rec.Header.Clone()
	route, params, err := router.FindRoute(req)
	if err != nil {
		return err
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: func(context.Context, *openapi3filter.AuthenticationInput) error { return nil }}}
	return openapi3filter.ValidateRequest(context.Background(), in)
}

// The validator itself rejects what the spec forbids, so a passing validation means something.
func TestSpecValidatorRejects(t *testing.T) {
	router := specRouter(t)
	h := http.Header{"Content-Type": {"application/json"}}
	tests := []struct{ name, body string }{
		{"no personalizations", `{"from":{"email":"a@b.co"}}`},
		{"no from", `{"personalizations":[{"to":[{"email":"a@b.co"}]}]}`},
		{"to without email", `{"personalizations":[{"to":[{"name":"x"}]}],"from":{"email":"a@b.co"}}`},
		{"custom_args not strings", `{"personalizations":[{"to":[{"email":"a@b.co"}]}],"from":{"email":"a@b.co"},"custom_args":{"a":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := validateOne(router, simkit.Request{Method: "POST", Path: "/v3/mail/send", Header: h, Body: []byte(tt.body)}); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func setup(t testing.TB, key string, opts ...sim.Option) (*sim.Server, *plugintest.Harness) {
	t.Helper()
	s := sim.New(opts...)
	ts := simtest.Serve(t, s, nil)
	h := plugintest.Start(t, Connector, plugintest.Options{
		Config: map[string]any{"base_url": ts.URL}, Secrets: map[string]string{"api_key": key},
		Egress: []string{ts.URL}, Timeout: 5 * time.Second,
	})
	return s, h
}

func addresses(n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"email": fmt.Sprintf("reader%04d@example.com", i)}
	}
	return out
}

func newsletter(n int) map[string]any {
	return map[string]any{
		"from": map[string]any{"email": "newsletter@aquascene.bg", "name": "AquaScene"}, "reply_to": map[string]any{"email": "hello@aquascene.bg"},
		"to": addresses(n), "subject": "This Week in Aquascaping", "text": "CO2 basics", "html": "<h1>CO2 basics</h1>",
		"custom_args": map[string]any{"content_id": "c-1", "campaign_type": "newsletter", "generated_by": "ai_processor"},
		"categories":  []string{"newsletter"},
	}
}

func TestSendSplitsAndMatchesSpec(t *testing.T) {
	router := specRouter(t)
	tests := []struct {
		name         string
		input        map[string]any
		wantRequests int
	}{
		{"one recipient", newsletter(1), 1},
		{"2500 recipients split", newsletter(2500), 3},
		{"shared envelope", func() map[string]any { m := newsletter(1500); m["shared_envelope"] = true; return m }(), 2},
		{"personalizations with cc", map[string]any{
			"from": map[string]any{"email": "a@aquascene.bg"}, "subject": "s", "html": "<p>x</p>",
			"personalizations": []map[string]any{
				{"to": addresses(600), "cc": []map[string]any{{"email": "cc@example.com"}}, "custom_args": map[string]any{"k": "v"}},
				{"to": addresses(500), "subject": "own subject"},
			},
			"send_at": time.Now().Add(time.Hour).Unix(),
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, h := setup(t, sim.DefaultKey)
			out, err := h.Invoke(context.Background(), "mail.send", tt.input)
			if err != nil {
				t.Fatal(err)
			}
			ids := out["message_ids"].([]any)
			msgs := s.Messages()
			if len(ids) != tt.wantRequests || len(msgs) != tt.wantRequests || out["message_id"] != msgs[0].ID {
				t.Fatalf("%d ids, %d messages; want %d", len(ids), len(msgs), tt.wantRequests)
			}
			for i, m := range msgs {
				if ids[i] != m.ID {
					t.Fatalf("message_ids[%d] = %v, want %s", i, ids[i], m.ID)
				}
			}
			validate(t, router, s.Requests())
		})
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name      string
		key       string
		inject    int
		input     map[string]any
		wantKind  abi.ErrorKind
		wantField string
	}{
		{"bad key", "SG.wrong-key", 0, newsletter(1), abi.KindAuth, ""},
		{"no body", sim.DefaultKey, 0, func() map[string]any { m := newsletter(1); delete(m, "html"); delete(m, "text"); return m }(), abi.KindInvalidInput, "html"},
		{"no recipients", sim.DefaultKey, 0, func() map[string]any { m := newsletter(1); delete(m, "to"); return m }(), abi.KindInvalidInput, "to"},
		{"bad address rejected by SendGrid", sim.DefaultKey, 0, func() map[string]any {
			m := newsletter(1)
			m["to"] = []map[string]any{{"email": "not-an-address@"}}
			return m
		}(), abi.KindInvalidInput, "to"},
		{"send_at too far", sim.DefaultKey, 0, func() map[string]any {
			m := newsletter(1)
			m["send_at"] = time.Now().Add(100 * time.Hour).Unix()
			return m
		}(), abi.KindInvalidInput, "send_at"},
		{"500", sim.DefaultKey, 500, newsletter(1), abi.KindTransient, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, h := setup(t, tt.key)
			if tt.inject != 0 {
				s.Injector().Inject(tt.inject, 1)
			}
			_, err := h.Invoke(context.Background(), "mail.send", tt.input)
			var e *abi.Error
			if !errors.As(err, &e) || e.Kind != tt.wantKind || e.Field != tt.wantField {
				t.Fatalf("error = %#v, want %s field %q", err, tt.wantKind, tt.wantField)
			}
		})
	}
}

// A 429 waits until X-RateLimit-Reset; the retry sends only the requests not yet accepted.
func TestRateLimitedThenResumes(t *testing.T) {
	now := time.Now()
	s, h := setup(t, sim.DefaultKey, sim.WithRateLimit(2, time.Minute), sim.WithClock(func() time.Time { return now }))
	_, err := h.Invoke(context.Background(), "mail.send", newsletter(2500))
	var e *abi.Error
	if !errors.As(err, &e) || e.Kind != abi.KindRateLimited {
		t.Fatalf("error = %v, want rate_limited", err)
	}
	if e.RetryAfter() < 50*time.Second || e.RetryAfter() > 61*time.Second {
		t.Fatalf("retry after %s, want about a minute (until X-RateLimit-Reset)", e.RetryAfter())
	}
	if n := len(s.Messages()); n != 2 {
		t.Fatalf("%d messages accepted before the limit, want 2", n)
	}
	now = now.Add(time.Minute)
	out, err := h.Invoke(context.Background(), "mail.send", newsletter(2500))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.Messages()); n != 3 || len(out["message_ids"].([]any)) != 3 {
		t.Fatalf("%d messages after the retry, want 3 (no duplicates)", n)
	}
}

func TestTimeout(t *testing.T) {
	s, h := setup(t, sim.DefaultKey)
	s.Injector().Set(simkit.Faults{Latency: 10 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := h.Invoke(ctx, "mail.send", newsletter(1))
	var e *abi.Error
	if !errors.As(err, &e) || e.Kind != abi.KindTransient {
		t.Fatalf("error = %v, want transient", err)
	}
}
