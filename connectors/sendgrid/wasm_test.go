//go:build !wasip1

package main

import (
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/sendgrid/sim"
	"github.com/aquascene/aquahub/connectors/simkit"
	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/plugins"
	"github.com/aquascene/aquahub/plugins/wasmtest"
)

// TestWASMThroughHost builds the connector for wasip1 (once per test binary) and runs it
// through the real host (package plugins) against the simulator.
func TestWASMThroughHost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the wasm module")
	}
	s := sim.New()
	ts := httptest.NewServer(s)
	defer ts.Close()
	cat := wasmtest.Connector(t, ".", plugins.TenantConfig{
		Config:  map[string]any{"base_url": ts.URL},
		Secrets: map[string]string{"api_key": sim.DefaultKey},
		Egress:  []string{ts.URL},
	}, plugins.Config{CallTimeout: 2 * time.Second, PoolSize: 1})
	step := wasmtest.Steps(cat, "aquascene", "sendgrid")
	run := func(input map[string]any) (map[string]any, error) { return step("mail.send", input) }
	mail := func(recipients int) map[string]any {
		to := make([]any, recipients)
		for i := range to {
			to[i] = map[string]any{"email": "reader" + string(rune('a'+i%26)) + "@example.com"}
		}
		return map[string]any{
			"from": map[string]any{"email": "newsletter@aquascene.bg", "name": "AquaScene"}, "to": to,
			"subject": "CO2 basics", "text": "plain", "html": "<p>html</p>",
			"custom_args": map[string]any{"content_id": "CNT-1"},
		}
	}

	// Happy path: two recipients in one request, the message id returned, the message kept.
	out, err := run(mail(2))
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := out["message_id"].(string); id == "" || len(s.Messages()) != 1 {
		t.Fatalf("output %v, %d messages", out, len(s.Messages()))
	}

	tooLate := mail(1)
	tooLate["send_at"] = time.Now().Add(100 * time.Hour).Unix()
	tests := []struct {
		name      string
		inject    int
		latency   time.Duration
		input     map[string]any
		wantClass core.ErrorClass
		retryOK   bool
	}{
		{"4xx", 0, 0, tooLate, core.ClassInvalidInput, false},
		{"429 then success", 429, 0, mail(1), core.ClassRateLimited, true},
		{"5xx then success", 503, 0, mail(1), core.ClassTransient, true},
		{"timeout", 0, 5 * time.Second, mail(1), core.ClassTransient, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.inject != 0 {
				s.Injector().Inject(tt.inject, 1)
			}
			if tt.latency != 0 {
				s.Injector().Set(simkit.Faults{Latency: tt.latency})
			}
			before := len(s.Messages())
			_, err := run(tt.input)
			var se *core.StepError
			if !errors.As(err, &se) || se.Class != tt.wantClass {
				t.Fatalf("error %v, want class %q", err, tt.wantClass)
			}
			if tt.wantClass == core.ClassRateLimited && (se.RetryAfter <= 0 || se.RetryAfter > 3*time.Second) {
				t.Fatalf("retry after %s, want until X-RateLimit-Reset (about 1 s)", se.RetryAfter)
			}
			s.Injector().Set(simkit.Faults{})
			if tt.retryOK {
				out, err := run(tt.input)
				if err != nil {
					t.Fatalf("retry: %v", err)
				}
				if out["message_id"] == "" || len(s.Messages()) != before+1 {
					t.Fatalf("retry output %v, %d messages (before %d)", out, len(s.Messages()), before)
				}
			}
		})
	}
}
