package core_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/storage/bolt"
	"github.com/aquascene/aquahub/rules"
)

// vendor is a targeted step kind (`vendor: slow`) standing in for connectors: each target
// has a capacity, as a connector's instance pool does, and a behaviour per call.
type vendor struct {
	capacity map[string]int
	call     func(ctx context.Context, call core.StepCall) (core.StepResult, error)
}

func (v *vendor) Syntax() core.StepSyntax  { return core.StepSyntax{Name: "vendor", Target: true} }
func (v *vendor) Check(core.StepDef) error { return nil }
func (v *vendor) Capacity(target string) int {
	return v.capacity[target]
}
func (v *vendor) Execute(ctx context.Context, call core.StepCall) (core.StepResult, error) {
	return v.call(ctx, call)
}

type vendorHub struct {
	engine *core.Engine
	store  *bolt.Pipeline
}

func newVendorHub(t *testing.T, cfg core.EngineConfig, v *vendor) *vendorHub {
	t.Helper()
	return newObservedVendorHub(t, cfg, v, nil)
}

func newObservedVendorHub(t *testing.T, cfg core.EngineConfig, v *vendor, obs core.Observer) *vendorHub {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	kinds, err := core.NewStepKinds(append(core.BuiltinStepKinds(quiet), v)...)
	if err != nil {
		t.Fatal(err)
	}
	src := `
rules:
  - id: slow
    on: slow.requested
    retry: { attempts: 1 }
    steps: [ { id: send, vendor: slow } ]
  - id: fast
    on: fast.requested
    retry: { attempts: 1 }
    steps: [ { id: send, vendor: fast } ]
`
	set, err := rules.Parse(map[string][]byte{"r.yaml": []byte(src)}, []string{"r.yaml"}, rules.Options{Kinds: kinds})
	if err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(bolt.Config{Path: filepath.Join(t.TempDir(), "hub.db")})
	if err != nil {
		t.Fatal(err)
	}
	e, err := core.NewEngine(core.EngineOptions{Store: db.Pipeline(), Rules: set, Kinds: kinds, Config: cfg,
		PollInterval: 10 * time.Millisecond, Logger: quiet, Observer: obs})
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
	return &vendorHub{engine: e, store: db.Pipeline()}
}

// post ingests n events in one request (one commit), as a batch from an app would arrive.
func (h *vendorHub) post(t *testing.T, tenant, typ string, n int) []string {
	t.Helper()
	evs := make([]core.Event, n)
	for i := range evs {
		evs[i] = core.Event{ID: fmt.Sprintf("%s-%d", typ, i), Source: "t", Type: typ, SpecVersion: "1.0"}
	}
	res, err := h.engine.Ingest(context.Background(), tenant, "", evs)
	if err != nil {
		t.Fatal(err)
	}
	var runs []string
	for _, a := range res.Events {
		runs = append(runs, a.Runs...)
	}
	return runs
}

// waitAll waits until every run succeeded and returns when the last did.
func (h *vendorHub) waitAll(t *testing.T, tenant string, runs []string, patience time.Duration) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for _, id := range runs {
		for {
			run, err := h.store.Run(context.Background(), tenant, id)
			if err == nil && run.Status == core.RunSucceeded {
				break
			}
			if err == nil && run.Status == core.RunDead {
				t.Fatalf("run %s died: %s", id, run.LastError)
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %s did not succeed in %s: %+v %v", id, patience, run, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// TestSlowLaneDoesNotStallOtherLanes: a backlog on a slow vendor (capacity 2, 100 ms a
// call) ahead of a fast vendor's runs. Every fast run must finish while most of the slow
// backlog is still waiting; with workers shared first come first served they would finish
// last.
func TestSlowLaneDoesNotStallOtherLanes(t *testing.T) {
	var slowDone atomic.Int64
	v := &vendor{capacity: map[string]int{"slow": 2, "fast": 2}, call: func(ctx context.Context, call core.StepCall) (core.StepResult, error) {
		if call.Target == "slow" {
			select {
			case <-time.After(100 * time.Millisecond):
			case <-ctx.Done():
				return core.StepResult{}, ctx.Err()
			}
			slowDone.Add(1)
		}
		return core.StepResult{}, nil
	}}
	h := newVendorHub(t, core.EngineConfig{Workers: 4, LeaseTTL: 5 * time.Second}, v)
	slow := h.post(t, "acme", "slow.requested", 40)
	start := time.Now()
	fast := h.post(t, "acme", "fast.requested", 10)
	h.waitAll(t, "acme", fast, 10*time.Second)
	fastTook, slowAtThen := time.Since(start), slowDone.Load()
	h.waitAll(t, "acme", slow, 20*time.Second)
	t.Logf("10 fast runs behind 40 slow ones finished in %s, when %d of 40 slow runs had finished (all slow: %s)",
		fastTook.Round(time.Millisecond), slowAtThen, time.Since(start).Round(time.Millisecond))
	if slowAtThen > 20 {
		t.Fatalf("the fast runs waited for the slow backlog: %d of 40 slow runs had finished first", slowAtThen)
	}
}

// TestTenantsAreServedInTurn: one tenant's backlog of 200 runs does not hold another
// tenant's few runs back.
func TestTenantsAreServedInTurn(t *testing.T) {
	var mu sync.Mutex
	done := map[string]int{}
	v := &vendor{capacity: map[string]int{"slow": 2, "fast": 2}, call: func(ctx context.Context, call core.StepCall) (core.StepResult, error) {
		time.Sleep(5 * time.Millisecond)
		mu.Lock()
		done[call.Tenant]++
		mu.Unlock()
		return core.StepResult{}, nil
	}}
	h := newVendorHub(t, core.EngineConfig{Workers: 4, LeaseTTL: 5 * time.Second}, v)
	big := h.post(t, "big", "fast.requested", 200)
	small := h.post(t, "small", "fast.requested", 5)
	// Count big's runs from the moment small's are accepted: how long posting takes depends
	// on the machine, and big's runs rightly proceed meanwhile.
	mu.Lock()
	bigBefore := done["big"]
	mu.Unlock()
	h.waitAll(t, "small", small, 10*time.Second)
	mu.Lock()
	bigThen := done["big"]
	mu.Unlock()
	h.waitAll(t, "big", big, 30*time.Second)
	t.Logf("tenant small's 5 runs finished while %d of tenant big's 200 did (%d had when small's were accepted)", bigThen-bigBefore, bigBefore)
	if waiting := 200 - bigBefore; bigThen-bigBefore > waiting/2 {
		t.Fatalf("tenant small waited for tenant big's backlog: %d of big's %d waiting runs done first", bigThen-bigBefore, waiting)
	}
}

// TestDeferredStepKeepsItsAttempt: a step deferred (nothing tried) comes back later and
// does not use up the rule's single attempt.
func TestDeferredStepKeepsItsAttempt(t *testing.T) {
	var calls atomic.Int64
	v := &vendor{call: func(ctx context.Context, call core.StepCall) (core.StepResult, error) {
		if calls.Add(1) <= 3 {
			return core.StepResult{}, core.Deferred(20*time.Millisecond, errors.New("circuit open"))
		}
		return core.StepResult{Output: map[string]any{"ok": true}}, nil
	}}
	h := newVendorHub(t, core.EngineConfig{Workers: 2, LeaseTTL: 5 * time.Second}, v)
	runs := h.post(t, "acme", "fast.requested", 1)
	h.waitAll(t, "acme", runs, 10*time.Second)
	run, err := h.store.Run(context.Background(), "acme", runs[0])
	if err != nil {
		t.Fatal(err)
	}
	if run.Attempts != 1 || len(run.Steps) != 1 || run.Steps[0].Attempts != 1 {
		t.Fatalf("deferrals were counted: attempts %d, ledger %+v", run.Attempts, run.Steps)
	}
}

// TestLaneBacklogOverflowLosesNothing: more runs than a lane's backlog holds go back to the
// store and still run, each exactly once.
func TestLaneBacklogOverflowLosesNothing(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	v := &vendor{capacity: map[string]int{"slow": 1}, call: func(ctx context.Context, call core.StepCall) (core.StepResult, error) {
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		seen[call.RunID]++
		mu.Unlock()
		return core.StepResult{}, nil
	}}
	h := newVendorHub(t, core.EngineConfig{Workers: 4, LeaseTTL: 5 * time.Second, LaneBacklog: 3}, v)
	runs := h.post(t, "acme", "slow.requested", 60)
	h.waitAll(t, "acme", runs, 30*time.Second)
	mu.Lock()
	defer mu.Unlock()
	for _, id := range runs {
		if seen[id] != 1 {
			t.Fatalf("run %s executed %d times", id, seen[id])
		}
	}
	for _, id := range runs {
		run, _ := h.store.Run(context.Background(), "acme", id)
		if run.Attempts != 1 {
			t.Fatalf("run %s was charged %d attempts for waiting", id, run.Attempts)
		}
	}
}

// TestQueueLimitRefusesWithRetryAfter: past a tenant's limit of unfinished runs, ingestion
// is refused with core.ErrOverloaded and a Retry-After, stores nothing, and leaves other
// tenants alone.
func TestQueueLimitRefusesWithRetryAfter(t *testing.T) {
	gate := make(chan struct{})
	v := &vendor{capacity: map[string]int{"slow": 1}, call: func(ctx context.Context, call core.StepCall) (core.StepResult, error) {
		select {
		case <-gate:
		case <-ctx.Done():
			return core.StepResult{}, ctx.Err()
		}
		return core.StepResult{}, nil
	}}
	h := newVendorHub(t, core.EngineConfig{Workers: 2, LeaseTTL: 5 * time.Second, MaxQueuedPerTenant: 5}, v)
	h.post(t, "acme", "slow.requested", 5)
	_, err := h.engine.Ingest(context.Background(), "acme", "", []core.Event{{ID: "over", Source: "t", Type: "slow.requested", SpecVersion: "1.0"}})
	var oe *core.OverloadError
	if !errors.Is(err, core.ErrOverloaded) || !errors.As(err, &oe) || oe.RetryAfter() <= 0 || oe.Limit != "engine.max_queued_per_tenant" {
		t.Fatalf("over the limit: %v, want ErrOverloaded with a retry-after naming the limit", err)
	}
	if _, err := h.store.Events(context.Background(), "acme", "over", ""); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("the refused event was stored: %v", err)
	}
	if _, err := h.engine.Ingest(context.Background(), "other", "", []core.Event{{ID: "o", Source: "t", Type: "slow.requested", SpecVersion: "1.0"}}); err != nil {
		t.Fatalf("another tenant was refused: %v", err)
	}
	// Events that start no run are never refused.
	if _, err := h.engine.Ingest(context.Background(), "acme", "", []core.Event{{ID: "note", Source: "t", Type: "nothing.matches", SpecVersion: "1.0"}}); err != nil {
		t.Fatalf("an event with no runs was refused: %v", err)
	}
	close(gate)
}

// TestBacklogOf100000RunsDoesNotDelayAnotherTenant: tenant big has 100,000 runs queued and
// being worked through when tenant small posts one. Small's run must finish while big's
// backlog is still almost whole: the order of service, not a timing, is asserted (fewer than
// 1% of big's runs may finish between small's post and small's finish). The figures are
// logged.
func TestBacklogOf100000RunsDoesNotDelayAnotherTenant(t *testing.T) {
	if testing.Short() {
		t.Skip("ingests 100,000 runs")
	}
	const backlog, batch = 100_000, 2_000
	var bigDone atomic.Int64
	v := &vendor{capacity: map[string]int{"fast": 4}, call: func(ctx context.Context, call core.StepCall) (core.StepResult, error) {
		time.Sleep(time.Millisecond)
		if call.Tenant == "big" {
			bigDone.Add(1)
		}
		return core.StepResult{}, nil
	}}
	h := newVendorHub(t, core.EngineConfig{Workers: 8, LeaseTTL: 30 * time.Second, MaxQueuedPerTenant: 200_000}, v)
	start := time.Now()
	for i := 0; i < backlog; i += batch {
		evs := make([]core.Event, batch)
		for j := range evs {
			evs[j] = core.Event{ID: fmt.Sprintf("big-%d", i+j), Source: "t", Type: "fast.requested", SpecVersion: "1.0"}
		}
		if _, err := h.engine.Ingest(context.Background(), "big", "", evs); err != nil {
			t.Fatal(err)
		}
	}
	ingested := time.Since(start)
	for bigDone.Load() < 200 {
		time.Sleep(5 * time.Millisecond)
	}
	posted := time.Now()
	before := bigDone.Load()
	small := h.post(t, "small", "fast.requested", 1)
	h.waitAll(t, "small", small, 60*time.Second)
	waited, during := time.Since(posted), bigDone.Load()-before
	t.Logf("ingested %d runs of tenant big in %s; tenant small's first run finished %s after it was posted, while %d of big's runs finished (%d of %d still waiting)",
		backlog, ingested.Round(time.Millisecond), waited.Round(time.Millisecond), during, backlog-int(bigDone.Load()), backlog)
	if during >= backlog/100 {
		t.Fatalf("tenant small waited behind tenant big's backlog: %d of big's runs finished first", during)
	}
}

// flakyStore fails every nth write that ends a run's attempt, before anything is written,
// as a failing disk would.
type flakyStore struct {
	core.Store
	every         int64
	calls, failed atomic.Int64
}

func (s *flakyStore) Finish(ctx context.Context, run *core.Run, last *core.StepRecord, emitted []core.Pending) error {
	if s.calls.Add(1)%s.every == 0 {
		s.failed.Add(1)
		return errors.New("injected storage error: no space left on device")
	}
	return s.Store.Finish(ctx, run, last, emitted)
}

// TestStorageErrorsLoseNoRun: when the write that finishes a run fails, the run stays
// leased; its lease runs out and it runs again with the same idempotency key, so a vendor
// that honours the key acts once. Every run ends succeeded with one ledger entry.
func TestStorageErrorsLoseNoRun(t *testing.T) {
	var mu sync.Mutex
	calls, keys := map[string]int{}, map[string]map[string]bool{}
	v := &vendor{capacity: map[string]int{"fast": 4}, call: func(ctx context.Context, call core.StepCall) (core.StepResult, error) {
		mu.Lock()
		defer mu.Unlock()
		calls[call.RunID]++
		if keys[call.RunID] == nil {
			keys[call.RunID] = map[string]bool{}
		}
		keys[call.RunID][call.IdempotencyKey] = true
		return core.StepResult{}, nil
	}}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	kinds, err := core.NewStepKinds(append(core.BuiltinStepKinds(quiet), v)...)
	if err != nil {
		t.Fatal(err)
	}
	set, err := rules.Parse(map[string][]byte{"r.yaml": []byte("rules:\n  - id: fast\n    on: fast.requested\n    steps: [ { id: send, vendor: fast } ]\n")},
		[]string{"r.yaml"}, rules.Options{Kinds: kinds})
	if err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(bolt.Config{Path: filepath.Join(t.TempDir(), "hub.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store := &flakyStore{Store: db.Pipeline(), every: 5}
	e, err := core.NewEngine(core.EngineOptions{Store: store, Rules: set, Kinds: kinds, Logger: quiet,
		Config: core.EngineConfig{Workers: 4, LeaseTTL: time.Second}, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.Drain(ctx)
	}()
	h := &vendorHub{engine: e, store: db.Pipeline()}
	runs := h.post(t, "acme", "fast.requested", 50)
	h.waitAll(t, "acme", runs, time.Minute)
	mu.Lock()
	defer mu.Unlock()
	again := 0
	for _, id := range runs {
		run, err := h.store.Run(context.Background(), "acme", id)
		if err != nil || run.Status != core.RunSucceeded || len(run.Steps) != 1 {
			t.Fatalf("run %s: %+v %v", id, run, err)
		}
		if calls[id] > 1 {
			again++
		}
		if len(keys[id]) != 1 {
			t.Fatalf("run %s called the vendor with %d idempotency keys, want one", id, len(keys[id]))
		}
	}
	t.Logf("%d of %d finishing writes failed; %d runs ran again after their lease ran out", store.failed.Load(), store.calls.Load(), again)
	if store.failed.Load() == 0 || again == 0 {
		t.Fatalf("no failure was injected (%d) or none cost a rerun (%d)", store.failed.Load(), again)
	}
}

// heldObserver records the ingestions the engine held for room.
type heldObserver struct {
	mu   sync.Mutex
	held []string
}

func (o *heldObserver) EventsAccepted(string, int, int)                     {}
func (o *heldObserver) RunFinished(string, string, core.RunStatus)          {}
func (o *heldObserver) StepFinished(string, core.StepStatus, time.Duration) {}
func (o *heldObserver) IngestHeld(tenant string, _ time.Duration, timedOut bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.held = append(o.held, fmt.Sprintf("%s timedOut=%v", tenant, timedOut))
}

// TestBackpressureHoldsOnlyTheFullLane: once a tenant's backlog for a lane is full, that
// tenant's next ingestion into the lane waits for a run of it to start, while the same
// tenant's other lanes and other tenants' runs for the same lane are accepted at once; past
// BackpressureWait an ingestion is accepted anyway, its runs queued in the store.
func TestBackpressureHoldsOnlyTheFullLane(t *testing.T) {
	for _, tc := range []struct {
		name string
		wait time.Duration
		// released: the blocked ingestion returns because a run started (true) or because
		// its wait ran out while the lane stayed blocked (false).
		released bool
	}{
		{"a run starts", time.Minute, true},
		{"the wait runs out", 50 * time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gate := make(chan struct{})
			started := make(chan struct{}, 100)
			v := &vendor{capacity: map[string]int{"slow": 1, "fast": 1}, call: func(ctx context.Context, call core.StepCall) (core.StepResult, error) {
				if call.Target == "slow" {
					started <- struct{}{}
					select {
					case <-gate:
					case <-ctx.Done():
						return core.StepResult{}, ctx.Err()
					}
				}
				return core.StepResult{}, nil
			}}
			obs := &heldObserver{}
			h := newObservedVendorHub(t, core.EngineConfig{Workers: 4, LeaseTTL: 5 * time.Second, LaneBacklog: 2, BackpressureWait: tc.wait}, v, obs)
			var runs []string
			post := func(tenant, typ, id string) []string {
				res, err := h.engine.Ingest(context.Background(), tenant, "", []core.Event{{ID: id, Source: "t", Type: typ, SpecVersion: "1.0"}})
				if err != nil {
					t.Error(err)
					return nil
				}
				return res.Events[0].Runs
			}
			runs = append(runs, post("acme", "slow.requested", "s0")...)
			<-started // s0 holds the lane; the next two fill acme's backlog of 2
			runs = append(runs, post("acme", "slow.requested", "s1")...)
			runs = append(runs, post("acme", "slow.requested", "s2")...)

			held := make(chan []string, 1)
			go func() { held <- post("acme", "slow.requested", "s3") }()
			fast := post("acme", "fast.requested", "f0")
			other := post("other", "slow.requested", "o0")
			h.waitAll(t, "acme", fast, 10*time.Second)
			if tc.released {
				select {
				case <-held:
					t.Fatal("an ingestion into a full lane was accepted while no run of the lane could start")
				default:
				}
				close(gate)
			}
			s3 := <-held
			if len(s3) != 1 {
				t.Fatalf("the held ingestion stored %d runs, want 1", len(s3))
			}
			if !tc.released {
				close(gate)
			}
			h.waitAll(t, "acme", append(runs, s3...), 10*time.Second)
			h.waitAll(t, "other", other, 10*time.Second)
			obs.mu.Lock()
			defer obs.mu.Unlock()
			if want := []string{"acme timedOut=" + fmt.Sprint(!tc.released)}; fmt.Sprint(obs.held) != fmt.Sprint(want) {
				t.Fatalf("observed waits %v, want %v", obs.held, want)
			}
		})
	}
}

// A kind that calls StepCall.Released while it still has work (a connector waiting for a
// write after handing its instance back) frees its lane for the next run at once, and a
// second call frees nothing more.
func TestReleasedFreesTheLaneEarly(t *testing.T) {
	var inLane, most atomic.Int32
	var calls atomic.Int32
	secondStarted := make(chan struct{})
	v := &vendor{capacity: map[string]int{"slow": 1, "fast": 1}, call: func(ctx context.Context, call core.StepCall) (core.StepResult, error) {
		n := calls.Add(1)
		if n == 2 {
			close(secondStarted)
		}
		in := inLane.Add(1)
		for m := most.Load(); in > m && !most.CompareAndSwap(m, in); m = most.Load() {
		}
		time.Sleep(10 * time.Millisecond) // the lane's resource in use
		inLane.Add(-1)
		call.Released()
		call.Released()
		if n == 1 {
			select {
			case <-secondStarted: // the next run got the lane while this one still works
			case <-time.After(10 * time.Second):
				return core.StepResult{}, errors.New("the lane was not freed by Released")
			}
		}
		return core.StepResult{Output: map[string]any{"ok": true}}, nil
	}}
	h := newVendorHub(t, core.EngineConfig{Workers: 4, TenantConcurrency: 4}, v)
	runs := h.post(t, "t1", "slow.requested", 4)
	h.waitAll(t, "t1", runs, 30*time.Second)
	if m := most.Load(); m > 1 {
		t.Fatalf("%d runs used the lane's resource at once; its capacity is 1 (a second Released freed more)", m)
	}
}
