//go:build !wasip1

package main

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/airtable/sim"
	"github.com/aquascene/aquahub/connectors/simkit"
	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/plugins"
	"github.com/aquascene/aquahub/plugins/wasmtest"
)

// TestWASMThroughHost builds the connector for wasip1 and runs it through the real host
// (package plugins) against the simulator.
func TestWASMThroughHost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the wasm module")
	}
	s := sim.New(sim.WithRateLimit(0, 0))
	ts := httptest.NewServer(s)
	defer ts.Close()
	cat := wasmtest.Connector(t, ".", plugins.TenantConfig{
		Config:  map[string]any{"base_url": ts.URL, "base_id": sim.DefaultBase},
		Secrets: map[string]string{"api_key": sim.DefaultKey},
		Egress:  []string{ts.URL},
	}, plugins.Config{CallTimeout: 2 * time.Second, PoolSize: 1})
	run := wasmtest.Steps(cat, "aquascene", "airtable")

	// Happy path and pagination: 25 records written in 3 requests, read back in 3 pages.
	out, err := run("records.create", map[string]any{"table": "Content_Master", "records": records(25)})
	if err != nil {
		t.Fatal(err)
	}
	if ids, _ := out["ids"].([]any); len(ids) != 25 {
		t.Fatalf("create output %v", out)
	}
	s.ResetRequests()
	out, err = run("records.list", map[string]any{"table": "Content_Master", "page_size": 10})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(out["count"]) != "25" {
		t.Fatalf("list count = %#v", out["count"])
	}
	if len(s.Requests()) != 3 {
		t.Fatalf("%d list requests, want 3", len(s.Requests()))
	}

	tests := []struct {
		name      string
		inject    int
		latency   time.Duration
		input     map[string]any
		wantClass core.ErrorClass
		retryOK   bool
	}{
		{"4xx", 0, 0, map[string]any{"table": "Content_Master", "filter_by_formula": "REGEX_MATCH({Title},'x')"}, core.ClassInvalidInput, false},
		{"429 then success", 429, 0, map[string]any{"table": "Content_Master", "max_records": 1}, core.ClassRateLimited, true},
		{"5xx then success", 503, 0, map[string]any{"table": "Content_Master", "max_records": 1}, core.ClassTransient, true},
		{"timeout", 0, 5 * time.Second, map[string]any{"table": "Content_Master", "max_records": 1}, core.ClassTransient, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.inject != 0 {
				s.Injector().Inject(tt.inject, 1)
			}
			if tt.latency != 0 {
				s.Injector().Set(simkit.Faults{Latency: tt.latency})
			}
			_, err := run("records.list", tt.input)
			if got := wasmtest.Class(err); got != tt.wantClass {
				t.Fatalf("error %v has class %q, want %q", err, got, tt.wantClass)
			}
			if tt.wantClass == core.ClassRateLimited {
				var se *core.StepError
				errors.As(err, &se)
				if se.RetryAfter != 30*time.Second {
					t.Fatalf("retry after %s, want 30s", se.RetryAfter)
				}
			}
			s.Injector().Set(simkit.Faults{})
			if tt.retryOK {
				if _, err := run("records.list", tt.input); err != nil {
					t.Fatalf("retry: %v", err)
				}
			}
		})
	}
}
