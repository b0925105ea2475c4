//go:build !wasip1

package main

import (
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/ga4/sim"
	"github.com/aquascene/aquahub/connectors/simkit"
	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/plugins"
	"github.com/aquascene/aquahub/plugins/wasmtest"
)

// TestWASMThroughHost builds the connector for wasip1 (once per test binary) and runs it
// through the real host (package plugins) against the simulator: the host signs the
// assertion with the service account's key, the token is kept in kv and refreshed after a
// 401, every page is read, and the error classes come out right.
func TestWASMThroughHost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the wasm module")
	}
	s := sim.New()
	ts := httptest.NewServer(s)
	defer ts.Close()
	grant := func(key string) plugins.TenantConfig {
		return plugins.TenantConfig{
			Config:  map[string]any{"base_url": ts.URL, "property_id": sim.DefaultProperty},
			Secrets: map[string]string{"service_account": key},
			Egress:  []string{ts.URL},
		}
	}
	cat := wasmtest.Connector(t, ".", grant(string(s.ServiceAccountJSON(ts.URL))), plugins.Config{CallTimeout: 5 * time.Second, PoolSize: 1})
	step := wasmtest.Steps(cat, "aquascene", "ga4")

	out, err := step("reports.run", map[string]any{"dimensions": []string{"pagePath", "sessionSource"},
		"metrics": []string{"screenPageViews", "averageSessionDuration", "bounceRate"}, "page_size": 10})
	if err != nil {
		t.Fatal(err)
	}
	all := len(sim.Pages) * len(sim.Sources)
	if rows, _ := out["rows"].([]any); len(rows) != all || out["pages"] != float64((all+9)/10) {
		t.Fatalf("%d rows in %v pages", len(rows), out["pages"])
	}
	if cm, _ := out["content_metrics"].([]any); len(cm) != len(sim.Pages) {
		t.Fatalf("content metrics for %d pages", len(cm))
	}
	s.ExpireTokens()
	if _, err := step("reports.run", seedReport); err != nil {
		t.Fatalf("after the token expired: %v", err)
	}
	if n := s.TokensIssued(); n != 2 {
		t.Fatalf("%d tokens issued, want 2 (kept, then refreshed once)", n)
	}

	tests := []struct {
		name      string
		inject    int
		latency   time.Duration
		input     map[string]any
		wantClass core.ErrorClass
	}{
		{"invalid metric", 0, 0, map[string]any{"metrics": []string{"pageviews"}}, core.ClassInvalidInput},
		{"rate limited", 429, 0, seedReport, core.ClassRateLimited},
		{"5xx", 500, 0, seedReport, core.ClassTransient},
		{"timeout", 0, 10 * time.Second, seedReport, core.ClassTransient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.inject != 0 {
				s.Injector().Inject(tt.inject, 1)
			}
			if tt.latency != 0 {
				s.Injector().Set(simkit.Faults{Latency: tt.latency})
				defer s.Injector().Set(simkit.Faults{})
			}
			_, err := step("reports.run", tt.input)
			var se *core.StepError
			if !errors.As(err, &se) || se.Class != tt.wantClass {
				t.Fatalf("error %v, want class %q", err, tt.wantClass)
			}
		})
	}

	t.Run("auth", func(t *testing.T) {
		bad := wasmtest.Connector(t, ".", grant(`{"type":"service_account"}`), plugins.Config{CallTimeout: 5 * time.Second, PoolSize: 1})
		_, err := wasmtest.Steps(bad, "aquascene", "ga4")("reports.run", seedReport)
		var se *core.StepError
		if !errors.As(err, &se) || se.Class != core.ClassAuth {
			t.Fatalf("error %v, want auth", err)
		}
	})
}
