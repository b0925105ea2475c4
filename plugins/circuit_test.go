package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/aquascene/aquahub/core"
)

// publishedEvents records what the host publishes, by tenant.
type publishedEvents struct {
	mu     sync.Mutex
	events []core.Event
}

func (p *publishedEvents) Publish(_ context.Context, tenant string, evs ...core.Event) ([]core.Accepted, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range evs {
		e.Tenant = tenant
		p.events = append(p.events, e)
	}
	return nil, nil
}

func (p *publishedEvents) all() []core.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]core.Event(nil), p.events...)
}

// gaugeValue reads one labelled value of a gauge vector.
func gaugeValue(tb testing.TB, g *prometheus.GaugeVec, labels ...string) float64 {
	tb.Helper()
	var m dto.Metric
	if err := g.WithLabelValues(labels...).Write(&m); err != nil {
		tb.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

// TestCircuitBreakerDefersCalls: a tenant's connector whose origin answers 500 opens that
// tenant's breaker for that origin; its next calls are deferred without reaching the
// origin (whatever the guest makes of the refusal), while the same tenant's other origin and
// another tenant's calls to the failing origin go on. Once the origin recovers, one probe
// closes the breaker. Opening and closing are published as events.
func TestCircuitBreakerDefersCalls(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	var badHits atomic.Int64
	bad, _ := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		badHits.Add(1)
		if failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	good, _ := loopbackServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	pub := &publishedEvents{}
	cfg := Config{PoolSize: 2, Circuit: core.BreakerConfig{FailureRatio: 0.5, MinRequests: 4, Window: 10 * time.Second,
		TimeoutRun: 3, OpenFor: 300 * time.Millisecond, MaxOpenFor: time.Second}}
	c, _ := openCatalog(t, cfg, Deps{
		Publisher: pub,
		Grants: func(string, string) (TenantConfig, bool) {
			return TenantConfig{Egress: []string{bad.URL, good.URL}, Secrets: map[string]string{"token": "tok-123456789"}}, true
		},
	}, map[string]string{"hostile.wasm": hostileGuest(t)}, false)
	fetch := func(tenant, url string) (map[string]any, error) {
		res, err := c.Execute(context.Background(), ActionCall{Tenant: tenant, Connector: "hostile", Action: "fetch",
			Input: map[string]any{"url": url + "/x"}})
		return res.Output, err
	}

	// The guest reports the 500s as outputs; the breaker counts them anyway.
	for i := range 4 {
		out, err := fetch("t1", bad.URL)
		if err != nil || out["status"] != float64(500) {
			t.Fatalf("call %d: %v %v", i, out, err)
		}
	}
	_, err := fetch("t1", bad.URL)
	var se *core.StepError
	if !errors.As(err, &se) || se.Class != core.ClassDeferred || se.RetryAfter <= 0 || se.RetryAfter > time.Second {
		t.Fatalf("call with the circuit open: %v, want a deferral until the probe", err)
	}
	if n := badHits.Load(); n != 4 {
		t.Fatalf("the failing origin was reached %d times, want 4", n)
	}
	if _, err := fetch("t1", good.URL); err != nil {
		t.Fatalf("the tenant's other origin: %v", err)
	}
	if _, err := fetch("t2", bad.URL); err != nil || badHits.Load() != 5 {
		t.Fatalf("another tenant's call to the failing origin: %v (hits %d)", err, badHits.Load())
	}
	if v := gaugeValue(t, c.metrics.circuitsOpen, "hostile"); v != 1 {
		t.Fatalf("open breakers gauge %v, want 1", v)
	}

	// Recovery: after open_for one probe goes, succeeds and closes the breaker.
	failing.Store(false)
	time.Sleep(cfg.Circuit.OpenFor + cfg.Circuit.OpenFor/10 + 50*time.Millisecond)
	for i := range 2 {
		if out, err := fetch("t1", bad.URL); err != nil || out["status"] != float64(200) {
			t.Fatalf("call %d after recovery: %v %v", i, out, err)
		}
	}
	if v := gaugeValue(t, c.metrics.circuitsOpen, "hostile"); v != 0 {
		t.Fatalf("open breakers gauge %v after recovery, want 0", v)
	}
	evs := pub.all()
	if len(evs) != 2 || evs[0].Type != EventCircuitOpened || evs[1].Type != EventCircuitClosed || evs[0].Tenant != "t1" || evs[1].Tenant != "t1" {
		t.Fatalf("published %+v, want t1's opened then closed", evs)
	}
	var opened struct {
		Connector, Origin, Reason string
		Failures, Requests        int
	}
	if err := json.Unmarshal(evs[0].Data, &opened); err != nil {
		t.Fatal(err)
	}
	if opened.Connector != "hostile" || opened.Origin != bad.URL || opened.Failures != 4 || opened.Requests != 4 || opened.Reason == "" {
		t.Fatalf("opened event data %+v", opened)
	}
}

func TestCircuitBreakerDisabled(t *testing.T) {
	var hits atomic.Int64
	bad, _ := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	}))
	c, _ := openCatalog(t, Config{PoolSize: 1, Circuit: core.BreakerConfig{Disabled: true}}, Deps{
		Grants: func(string, string) (TenantConfig, bool) {
			return TenantConfig{Egress: []string{bad.URL}, Secrets: map[string]string{"token": "tok-123456789"}}, true
		},
	}, map[string]string{"hostile.wasm": hostileGuest(t)}, false)
	for range 15 {
		if _, err := c.Execute(context.Background(), ActionCall{Tenant: "t1", Connector: "hostile", Action: "fetch",
			Input: map[string]any{"url": bad.URL}}); err != nil {
			t.Fatal(err)
		}
	}
	if hits.Load() != 15 {
		t.Fatalf("%d of 15 requests reached the origin with breakers disabled", hits.Load())
	}
}
