//go:build !wasip1

package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aquascene/aquahub/plugins"
	"github.com/aquascene/aquahub/plugins/wasmtest"
)

// BenchmarkWasmMailSend runs the pipeline bench's step (a SendGrid mail/send body POSTed
// with a bearer secret and an idempotency header) through the real host and the wasm
// guest against a loopback sink that answers 202. Run it with -cpuprofile: the guest's
// share is runtime._ExternalCode.
func BenchmarkWasmMailSend(b *testing.B) {
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Message-Id", "bench")
		w.WriteHeader(http.StatusAccepted)
	}))
	defer sink.Close()
	cat := wasmtest.Open(b, plugins.Config{}, plugins.Deps{Grants: func(tenant, connector string) (plugins.TenantConfig, bool) {
		return plugins.TenantConfig{Config: map[string]any{"base_url": sink.URL},
			Secrets: map[string]string{"api_key": "SG.bench.key"}, Egress: []string{sink.URL}}, true
	}}, wasmtest.Build(b, "."))
	in := map[string]any{
		"method": "POST", "url": "/v3/mail/send", "bearer_secret": "api_key", "idempotency_header": "Idempotency-Key",
		"json": map[string]any{
			"personalizations": []any{map[string]any{"to": []any{map[string]any{"email": "reader7@example.com"}}}},
			"from":             map[string]any{"email": "newsletter@aquascene.bg", "name": "AquaScene"},
			"subject":          "This Week in Aquascaping",
			"content":          []any{map[string]any{"type": "text/html", "value": "<h1>CO2</h1><p>Issue 7</p>"}},
			"custom_args":      map[string]any{"content_id": "CNT-7", "bench_id": "b-7"},
		},
	}
	call := plugins.ActionCall{Tenant: "bench", RunID: "r", StepID: "send", Connector: "http", Action: "request",
		Input: in, IdempotencyKey: "r:send", Attempt: 1}
	ctx := context.Background()
	for b.Loop() {
		if _, err := cat.Execute(ctx, call); err != nil {
			b.Fatal(err)
		}
	}
}
