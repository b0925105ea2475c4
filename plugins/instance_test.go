package plugins

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aquascene/aquahub/core"
)

// TestInstancesRunWithTheirOwnSettings runs one connector as two instances whose settings
// come from a resolver (the way registered partners do): each call carries its instance's
// secret to its instance's granted origin, a changed secret takes effect at the next call,
// the output passes through the instance's rewrite, and an unknown instance is not_found.
func TestInstancesRunWithTheirOwnSettings(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()

	type rec struct {
		key, version string
	}
	partners := map[string]*rec{"green-aqua": {"ga-key-1", "v1"}, "aquaflora": {"aquaflora-key", "v1"}}
	var pmu sync.Mutex
	resolver := func(_ context.Context, tenant, connector, instance string) (Instance, error) {
		pmu.Lock()
		defer pmu.Unlock()
		p, ok := partners[instance]
		if !ok || tenant != "t1" || connector != "signer" {
			return Instance{}, fmt.Errorf("no partner %q: %w", instance, core.ErrNotFound)
		}
		return Instance{
			Grant:   TenantConfig{Secrets: map[string]string{"api_key": p.key}, Egress: []string{srv.URL}},
			Version: p.version,
			Output: func(action string, out map[string]any) (map[string]any, error) {
				out["instance"] = instance
				return out, nil
			},
		}, nil
	}
	c, _ := openCatalog(t, Config{}, Deps{Instances: resolver,
		Grants: func(string, string) (TenantConfig, bool) {
			return TenantConfig{Secrets: map[string]string{"api_key": "base-key"}, Egress: []string{srv.URL}}, true
		}},
		map[string]string{"signer.wasm": signerGuest(t)}, false)
	fetch := func(target string) (map[string]any, error) {
		res, err := c.Execute(context.Background(), ActionCall{Tenant: "t1", RunID: "r", StepID: "s", Connector: target,
			Action: "fetch", Input: map[string]any{"url": srv.URL, "secret": "api_key"}, IdempotencyKey: "r/s", Attempt: 1})
		return res.Output, err
	}
	last := func() string {
		mu.Lock()
		defer mu.Unlock()
		return seen[len(seen)-1]
	}

	tests := []struct {
		name       string
		target     string
		wantAuth   string
		wantOutput string
	}{
		{"first instance", "signer/green-aqua", "Bearer ga-key-1", "green-aqua"},
		{"second instance", "signer/aquaflora", "Bearer aquaflora-key", "aquaflora"},
		{"the connector itself keeps the tenant's settings", "signer", "Bearer base-key", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := fetch(tt.target)
			if err != nil || out["status"] != 200.0 {
				t.Fatalf("fetch: %v %v", out, err)
			}
			if got := last(); got != tt.wantAuth {
				t.Fatalf("Authorization %q, want %q", got, tt.wantAuth)
			}
			if got, _ := out["instance"].(string); got != tt.wantOutput {
				t.Fatalf("output instance %q, want %q", got, tt.wantOutput)
			}
		})
	}

	pmu.Lock()
	partners["green-aqua"].key, partners["green-aqua"].version = "ga-key-2", "v2"
	pmu.Unlock()
	if _, err := fetch("signer/green-aqua"); err != nil || last() != "Bearer ga-key-2" {
		t.Fatalf("after the update: %v, Authorization %q, want the new key", err, last())
	}

	_, err := fetch("signer/nobody")
	var se *core.StepError
	if !errors.As(err, &se) || se.Class != core.ClassNotFound || !strings.Contains(err.Error(), `no partner "nobody"`) {
		t.Fatalf("unknown instance: %v, want not_found naming it", err)
	}
	if err := c.CheckStep("signer/Bad Name", "fetch", nil); err == nil || !strings.Contains(err.Error(), "instance after /") {
		t.Fatalf("CheckStep of a bad instance name: %v", err)
	}
	if err := c.CheckStep("signer/green-aqua", "fetch", map[string]any{"url": "${{ event.data.url }}", "secret": "api_key"}); err != nil {
		t.Fatalf("CheckStep of an instance: %v", err)
	}
}

func TestInstancesNeedAResolver(t *testing.T) {
	c, _ := openCatalog(t, Config{}, Deps{}, map[string]string{"signer.wasm": signerGuest(t)}, false)
	_, err := c.Execute(context.Background(), ActionCall{Tenant: "t1", Connector: "signer/x", Action: "init_status", Input: map[string]any{}})
	var se *core.StepError
	if !errors.As(err, &se) || se.Class != core.ClassPermanent || !strings.Contains(err.Error(), "no instances of signer") {
		t.Fatalf("error %v, want permanent: no instances", err)
	}
}
