package core_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/storage/bolt"
	"github.com/aquascene/aquahub/rules"
)

// directory is a core.TenantDirectory the test changes while the engine runs.
type directory struct {
	mu      sync.Mutex
	tenants map[string]*core.Tenant
}

func (d *directory) Tenant(id string) (*core.Tenant, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.tenants[id]
	return t, ok
}

func (d *directory) TenantIDs() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var ids []string
	for id := range d.tenants {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (d *directory) set(t core.Tenant) {
	d.mu.Lock()
	d.tenants[t.ID] = &t
	d.mu.Unlock()
}

// refusing is an Admission that refuses the tenants it names.
type refusing struct{ tenants []string }

func (r refusing) AdmitEvents(tenant string, n int) error {
	if slices.Contains(r.tenants, tenant) {
		return &core.OverloadError{Limit: "tenants[" + tenant + "].limits.ingest_rate", Detail: "over", After: time.Second}
	}
	return nil
}

func newTenantEngine(t *testing.T, dir *directory, adm core.Admission) (*core.Engine, *bolt.Pipeline) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	set, err := rules.Parse(map[string][]byte{"r.yaml": []byte(`
rules:
  - id: tick
    on: schedule
    schedule: "@every 1s"
    steps: [ { id: note, log: { message: tick, level: debug } } ]
  - id: work
    on: work.requested
    steps: [ { id: note, log: { message: work, level: debug } } ]
`)}, []string{"r.yaml"}, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(bolt.Config{Path: filepath.Join(t.TempDir(), "hub.db")})
	if err != nil {
		t.Fatal(err)
	}
	e, err := core.NewEngine(core.EngineOptions{Store: db.Pipeline(), Rules: set, Tenants: dir, Admission: adm,
		Config: core.EngineConfig{Workers: 2, LeaseTTL: 5 * time.Second, MaxQueuedPerTenant: 1000}, PollInterval: 10 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.Drain(ctx)
		db.Close()
	})
	return e, db.Pipeline()
}

func scheduleRuns(t *testing.T, st *bolt.Pipeline, tenant string) int {
	t.Helper()
	runs, err := st.Runs(context.Background(), tenant, core.RunFilter{RuleID: "tick"})
	if err != nil {
		t.Fatal(err)
	}
	return len(runs)
}

// TestSchedulesFollowTheTenantRegistry: a tenant added at run time gets schedule events
// without a restart; a suspended one gets none until it is resumed.
func TestSchedulesFollowTheTenantRegistry(t *testing.T) {
	dir := &directory{tenants: map[string]*core.Tenant{"acme": {ID: "acme"}}}
	_, st := newTenantEngine(t, dir, nil)
	dir.set(core.Tenant{ID: "newco"})
	dir.set(core.Tenant{ID: "paused", Suspended: true})
	deadline := time.Now().Add(10 * time.Second)
	for scheduleRuns(t, st, "newco") == 0 || scheduleRuns(t, st, "acme") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no schedule run for the tenant added at run time (acme %d, newco %d)", scheduleRuns(t, st, "acme"), scheduleRuns(t, st, "newco"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := scheduleRuns(t, st, "paused"); n != 0 {
		t.Fatalf("a suspended tenant got %d schedule runs", n)
	}
	dir.set(core.Tenant{ID: "paused"})
	for scheduleRuns(t, st, "paused") == 0 {
		if time.Now().After(deadline.Add(5 * time.Second)) {
			t.Fatal("a resumed tenant got no schedule run")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTenantLimitsReplaceTheEngines: a tenant's max_queued_runs replaces
// engine.max_queued_per_tenant for it, naming its own limit; the admission refuses what it
// refuses and stores nothing.
func TestTenantLimitsReplaceTheEngines(t *testing.T) {
	dir := &directory{tenants: map[string]*core.Tenant{"small": {ID: "small", Limits: core.TenantLimits{MaxQueuedRuns: 2}}, "acme": {ID: "acme"}, "capped": {ID: "capped"}}}
	e, st := newTenantEngine(t, dir, refusing{tenants: []string{"capped"}})
	evs := func(n int) []core.Event {
		out := make([]core.Event, n)
		for i := range out {
			out[i] = core.Event{ID: time.Now().Format(time.RFC3339Nano) + string(rune('a'+i)), Source: "t", Type: "work.requested", SpecVersion: "1.0"}
		}
		return out
	}
	_, err := e.Ingest(context.Background(), "small", "", evs(3))
	var oe *core.OverloadError
	if !errors.As(err, &oe) || oe.Limit != "tenants[small].limits.max_queued_runs" || !errors.Is(err, core.ErrOverloaded) {
		t.Fatalf("3 runs past small's limit of 2: %v", err)
	}
	if _, err := e.Ingest(context.Background(), "acme", "", evs(3)); err != nil {
		t.Fatalf("acme under the engine's limit: %v", err)
	}
	_, err = e.Ingest(context.Background(), "capped", "", []core.Event{{ID: "c1", Source: "t", Type: "work.requested", SpecVersion: "1.0"}})
	if !errors.As(err, &oe) || oe.Limit != "tenants[capped].limits.ingest_rate" {
		t.Fatalf("the admission's refusal: %v", err)
	}
	if _, err := st.Events(context.Background(), "capped", "c1", ""); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("a refused event was stored: %v", err)
	}
}
