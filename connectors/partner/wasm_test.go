//go:build !wasip1

package main

import (
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/partner/sim"
	"github.com/aquascene/aquahub/connectors/simkit"
	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/plugins"
	"github.com/aquascene/aquahub/plugins/wasmtest"
)

// TestWASMThroughHost builds the connector for wasip1 (once per test binary) and runs it
// through the real host (package plugins) against the simulator: paging, mapping, a
// notification signed by the host, and the error classes.
func TestWASMThroughHost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the wasm module")
	}
	s := sim.New()
	ts := httptest.NewServer(s)
	defer ts.Close()
	grant := func(apiKey string) plugins.TenantConfig {
		return plugins.TenantConfig{
			Config:  greenAqua(ts.URL),
			Secrets: map[string]string{"api_key": apiKey, "notification_secret": sim.DevNotificationSecret},
			Egress:  []string{ts.URL},
		}
	}
	cat := wasmtest.Connector(t, ".", grant(sim.DefaultKey), plugins.Config{CallTimeout: 3 * time.Second, PoolSize: 1})
	step := wasmtest.Steps(cat, "aquascene", "partner")

	out, err := step("catalog.list", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	products, _ := out["products"].([]any)
	if len(products) != len(sim.Catalog()) || out["pages"] != float64(3) {
		t.Fatalf("%d products in %v pages", len(products), out["pages"])
	}
	first := products[0].(map[string]any)
	if first["id"] != "GA-CO2-PRO-2L" || first["category"] != "CO2 Systems" || first["price_range"] != "€189.00–€249.00" || first["partner"] != "Green Aqua" {
		t.Fatalf("first product %v", first)
	}
	out, err = step("content.notify", map[string]any{"content_id": "c-1", "product_id": "GA-CO2-PRO-2L"})
	if err != nil {
		t.Fatal(err)
	}
	if ns := s.Notifications(); len(ns) != 1 || !ns[0].Verified || ns[0].ID != out["notification_id"] {
		t.Fatalf("notifications %+v, output %v", ns, out)
	}
	t.Run("ES256 notification signed by the host", func(t *testing.T) {
		g := grant(sim.DefaultKey)
		g.Config["notification_alg"] = "ES256"
		g.Secrets = map[string]string{"api_key": sim.DefaultKey, "notification_key": sim.DevSigningKeyPEM}
		signed := wasmtest.Connector(t, ".", g, plugins.Config{CallTimeout: 3 * time.Second, PoolSize: 1})
		out, err := wasmtest.Steps(signed, "aquascene", "partner")("content.notify", map[string]any{"content_id": "c-2"})
		if err != nil {
			t.Fatal(err)
		}
		if ns := s.Notifications(); len(ns) != 2 || !ns[1].Verified || ns[1].ID != out["notification_id"] {
			t.Fatalf("notifications %+v, output %v", ns, out)
		}
	})

	tests := []struct {
		name      string
		action    string
		inject    int
		latency   time.Duration
		input     map[string]any
		wantClass core.ErrorClass
	}{
		{"unknown product", "catalog.get", 0, 0, map[string]any{"id": "GA-NOPE"}, core.ClassNotFound},
		{"page size refused", "catalog.list", 0, 0, map[string]any{"page_size": 500}, core.ClassInvalidInput},
		{"throttled", "catalog.list", 429, 0, map[string]any{}, core.ClassRateLimited},
		{"5xx", "catalog.get", 502, 0, map[string]any{"id": "GA-CO2-PRO-2L"}, core.ClassTransient},
		{"timeout", "catalog.list", 0, 5 * time.Second, map[string]any{}, core.ClassTransient},
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
			_, err := step(tt.action, tt.input)
			var se *core.StepError
			if !errors.As(err, &se) || se.Class != tt.wantClass {
				t.Fatalf("error %v, want class %q", err, tt.wantClass)
			}
			if tt.wantClass == core.ClassRateLimited && se.RetryAfter != 2*time.Second {
				t.Fatalf("retry after %s, want the partner's 2 s", se.RetryAfter)
			}
		})
	}

	t.Run("auth", func(t *testing.T) {
		bad := wasmtest.Connector(t, ".", grant("wrong-api-key"), plugins.Config{CallTimeout: 3 * time.Second, PoolSize: 1})
		_, err := wasmtest.Steps(bad, "aquascene", "partner")("catalog.list", map[string]any{})
		var se *core.StepError
		if !errors.As(err, &se) || se.Class != core.ClassAuth {
			t.Fatalf("error %v, want auth", err)
		}
	})
}
