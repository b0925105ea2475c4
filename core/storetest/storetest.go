package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
)

// Run runs the contract suite; open returns a new empty store and registers its cleanup.
func Run(t *testing.T, open func(t testing.TB) core.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s core.Store)
	}{
		{"accept stores events and queues one run per rule", testAccept},
		{"duplicate event answers with the original and creates nothing", testDedup},
		{"idempotency key replays the first answer", testIdempotencyKey},
		{"tenants are isolated", testTenantIsolation},
		{"lease takes due runs once", testLease},
		{"ledger and finish", testLedgerAndFinish},
		{"lost lease refuses writes", testLostLease},
		{"expired leases are queued again", testRequeueExpired},
		{"release gives the attempt back", testRelease},
		{"accept can lease the new runs", testAcceptLeased},
		{"backlog counts unfinished runs per tenant", testBacklog},
		{"lease serves tenants in turn", testLeaseTenantsInTurn},
		{"lease passes over saturated lanes", testLeaseSkipsLanes},
		{"dead runs replay and discard", testDeadLetter},
		{"events after a sequence number", testEventsAfter},
		{"runs list newest first with filters and paging", testRunsListing},
		{"emitted events are deduplicated with the ledger write", testEmitDedup},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

var t0 = time.Date(2025, 8, 6, 12, 0, 0, 0, time.UTC)

func event(id, source, typ string) core.Event {
	return core.Event{ID: id, Source: source, Type: typ, SpecVersion: "1.0", Data: json.RawMessage(`{"n":1}`)}
}

func accept(t testing.TB, s core.Store, tenant string, rules []string, evs ...core.Event) core.AcceptResult {
	t.Helper()
	req := core.AcceptRequest{Tenant: tenant, Now: t0}
	for _, e := range evs {
		req.Events = append(req.Events, core.Pending{Event: e, RuleIDs: rules})
	}
	res, err := s.Accept(context.Background(), req)
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	return res
}

func stats(t testing.TB, s core.Store) core.QueueStats {
	t.Helper()
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func testAccept(t *testing.T, s core.Store) {
	ctx := context.Background()
	res := accept(t, s, "acme", []string{"r1", "r2"}, event("e1", "app", "a.b"), event("e2", "app", "a.b"))
	if len(res.Events) != 2 || res.Events[0].Seq == 0 || res.Events[1].Seq <= res.Events[0].Seq {
		t.Fatalf("want two events with increasing seq, got %+v", res.Events)
	}
	if len(res.Events[0].Runs) != 2 {
		t.Fatalf("want 2 runs for 2 rules, got %v", res.Events[0].Runs)
	}
	evs, err := s.Events(ctx, "acme", "e1", "")
	if err != nil || len(evs) != 1 {
		t.Fatalf("Events: %v %v", evs, err)
	}
	if evs[0].Tenant != "acme" || evs[0].Seq != res.Events[0].Seq || string(evs[0].Data) != `{"n":1}` {
		t.Fatalf("stored event differs: %+v", evs[0])
	}
	run, err := s.Run(ctx, "acme", res.Events[0].Runs[0])
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != core.RunQueued || run.RuleID != "r1" || run.EventID != "e1" || run.EventSeq != res.Events[0].Seq {
		t.Fatalf("run: %+v", run)
	}
	if st := stats(t, s); st.Queued != 4 || st.Events != 2 {
		t.Fatalf("stats: %+v", st)
	}
}

func testDedup(t *testing.T, s core.Store) {
	first := accept(t, s, "acme", []string{"r1"}, event("e1", "app", "a.b"))
	again := accept(t, s, "acme", []string{"r1"}, event("e1", "app", "a.b"))
	if !again.Events[0].Duplicate || again.Events[0].Seq != first.Events[0].Seq || again.Events[0].Runs[0] != first.Events[0].Runs[0] {
		t.Fatalf("want the original answer marked duplicate, got %+v (first %+v)", again.Events[0], first.Events[0])
	}
	if st := stats(t, s); st.Queued != 1 || st.Events != 1 {
		t.Fatalf("a duplicate created something: %+v", st)
	}
	// Same id from another source is another event.
	other := accept(t, s, "acme", []string{"r1"}, event("e1", "other", "a.b"))
	if other.Events[0].Duplicate {
		t.Fatal("same id from another source was treated as a duplicate")
	}
	evs, err := s.Events(context.Background(), "acme", "e1", "")
	if err != nil || len(evs) != 2 {
		t.Fatalf("want both sources' events, got %d, %v", len(evs), err)
	}
	evs, err = s.Events(context.Background(), "acme", "e1", "other")
	if err != nil || len(evs) != 1 || evs[0].Source != "other" {
		t.Fatalf("source filter: %v %v", evs, err)
	}
}

func testIdempotencyKey(t *testing.T, s core.Store) {
	ctx := context.Background()
	req := core.AcceptRequest{Tenant: "acme", IdempotencyKey: "k1", Now: t0, Events: []core.Pending{{Event: event("e1", "app", "a"), RuleIDs: []string{"r"}}}}
	first, err := s.Accept(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	// Another body under the same key still gets the first answer and stores nothing.
	req.Events = []core.Pending{{Event: event("e2", "app", "a"), RuleIDs: []string{"r"}}}
	again, err := s.Accept(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Replayed || again.Events[0].ID != "e1" || again.Events[0].Seq != first.Events[0].Seq {
		t.Fatalf("want replay of first answer, got %+v", again)
	}
	if _, err := s.Events(ctx, "acme", "e2", ""); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("the replayed request stored its event: %v", err)
	}
	// Keys are per tenant.
	req.Tenant = "other"
	res, err := s.Accept(ctx, req)
	if err != nil || res.Replayed {
		t.Fatalf("key leaked across tenants: %+v %v", res, err)
	}
}

func testTenantIsolation(t *testing.T, s core.Store) {
	ctx := context.Background()
	res := accept(t, s, "acme", []string{"r1"}, event("e1", "app", "a"))
	if _, err := s.Events(ctx, "evil", "e1", ""); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("other tenant sees the event: %v", err)
	}
	if _, err := s.Run(ctx, "evil", res.Events[0].Runs[0]); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("other tenant sees the run: %v", err)
	}
	if _, err := s.EventBySeq(ctx, "evil", res.Events[0].Seq); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("other tenant reads the event by seq: %v", err)
	}
	runs, err := s.Runs(ctx, "evil", core.RunFilter{})
	if err != nil || len(runs) != 0 {
		t.Fatalf("other tenant lists runs: %v %v", runs, err)
	}
	// The same client id in another tenant is not a duplicate.
	if other := accept(t, s, "evil", []string{"r1"}, event("e1", "app", "a")); other.Events[0].Duplicate {
		t.Fatal("dedup crossed tenants")
	}
}

func testLease(t *testing.T, s core.Store) {
	ctx := context.Background()
	accept(t, s, "acme", []string{"r1"}, event("e1", "app", "a"), event("e2", "app", "a"), event("e3", "app", "a"))
	if runs, _ := s.Lease(ctx, t0.Add(-time.Second), 10, time.Minute, nil); len(runs) != 0 {
		t.Fatalf("leased runs that are not due yet: %d", len(runs))
	}
	runs, err := s.Lease(ctx, t0, 2, time.Minute, nil)
	if err != nil || len(runs) != 2 {
		t.Fatalf("Lease: %d %v", len(runs), err)
	}
	if runs[0].Status != core.RunRunning || runs[0].Attempts != 1 {
		t.Fatalf("leased run: %+v", runs[0])
	}
	rest, _ := s.Lease(ctx, t0, 10, time.Minute, nil)
	if len(rest) != 1 || rest[0].ID == runs[0].ID || rest[0].ID == runs[1].ID {
		t.Fatalf("second lease: %+v", rest)
	}
	if more, _ := s.Lease(ctx, t0.Add(time.Hour), 10, time.Minute, nil); len(more) != 0 {
		t.Fatal("a leased run was leased twice")
	}
	if st := stats(t, s); st.Leased != 3 || st.Queued != 0 {
		t.Fatalf("stats: %+v", st)
	}
}

func leaseOne(t testing.TB, s core.Store) core.Run {
	t.Helper()
	runs, err := s.Lease(context.Background(), t0.Add(time.Hour), 1, time.Minute, nil)
	if err != nil || len(runs) != 1 {
		t.Fatalf("lease: %d %v", len(runs), err)
	}
	return runs[0]
}

func testLedgerAndFinish(t *testing.T, s core.Store) {
	ctx := context.Background()
	accept(t, s, "acme", []string{"r1"}, event("e1", "app", "a"))
	run := leaseOne(t, s)
	rec := core.StepRecord{StepID: "one", Kind: "log", Status: core.StepSucceeded, Attempts: 1, Output: json.RawMessage(`{"x":1}`), FinishedAt: t0}
	if _, err := s.RecordStep(ctx, &run, rec, nil); err != nil {
		t.Fatal(err)
	}
	// A retry: the run goes back to the queue at NextAt with its ledger.
	run.Status, run.NextAt, run.LastError = core.RunRetrying, t0.Add(time.Hour), "boom"
	failed := core.StepRecord{StepID: "two", Kind: "log", Status: core.StepFailed, Attempts: 1, Error: "boom", FinishedAt: t0}
	if err := s.Finish(ctx, &run, &failed, nil); err != nil {
		t.Fatal(err)
	}
	if runs, _ := s.Lease(ctx, t0.Add(time.Minute), 1, time.Minute, nil); len(runs) != 0 {
		t.Fatal("a retrying run was leased before its time")
	}
	again := leaseOne(t, s)
	if again.ID != run.ID || again.Attempts != 2 || len(again.Steps) != 2 {
		t.Fatalf("re-leased run: %+v", again)
	}
	if !again.Steps[0].Done() || again.Steps[0].StepID != "one" || string(again.Steps[0].Output) != `{"x":1}` {
		t.Fatalf("ledger lost: %+v", again.Steps)
	}
	again.Status = core.RunSucceeded
	ok := core.StepRecord{StepID: "two", Kind: "log", Status: core.StepSucceeded, Attempts: 2, FinishedAt: t0}
	if err := s.Finish(ctx, &again, &ok, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.Run(ctx, "acme", run.ID)
	if err != nil || got.Status != core.RunSucceeded || len(got.Steps) != 2 || got.Steps[1].Status != core.StepSucceeded {
		t.Fatalf("finished run: %+v %v", got, err)
	}
	if st := stats(t, s); st.Queued != 0 || st.Leased != 0 {
		t.Fatalf("stats: %+v", st)
	}
}

func testLostLease(t *testing.T, s core.Store) {
	ctx := context.Background()
	accept(t, s, "acme", []string{"r1"}, event("e1", "app", "a"))
	run := leaseOne(t, s)
	if _, err := s.RequeueExpired(ctx, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	rec := core.StepRecord{StepID: "one", Status: core.StepSucceeded}
	if _, err := s.RecordStep(ctx, &run, rec, nil); !errors.Is(err, core.ErrConflict) {
		t.Fatalf("want ErrConflict after the lease expired, got %v", err)
	}
	run.Status = core.RunSucceeded
	if err := s.Finish(ctx, &run, nil, nil); !errors.Is(err, core.ErrConflict) {
		t.Fatalf("want ErrConflict from Finish, got %v", err)
	}
	if err := s.ExtendLeases(ctx, []core.Run{run}, t0.Add(3*time.Hour)); err != nil {
		t.Fatalf("ExtendLeases skips a lost lease: %v", err)
	}
	if st := stats(t, s); st.Leased != 0 || st.Queued != 1 {
		t.Fatalf("extending a lost lease must not lease the run again: %+v", st)
	}
}

func testRequeueExpired(t *testing.T, s core.Store) {
	ctx := context.Background()
	accept(t, s, "acme", []string{"r1"}, event("e1", "app", "a"), event("e2", "app", "a"))
	runs, _ := s.Lease(ctx, t0, 2, time.Minute, nil)
	if err := s.ExtendLeases(ctx, runs[:1], t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	n, err := s.RequeueExpired(ctx, t0.Add(2*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("want 1 expired lease, got %d %v", n, err)
	}
	again := leaseOne(t, s)
	if again.ID != runs[1].ID || again.Attempts != 2 {
		t.Fatalf("an expired lease keeps its attempt counted: %+v", again)
	}
	// At start every lease belongs to a dead process, expired or not; the runs are due now.
	n, err = s.RecoverLeases(ctx, t0)
	if err != nil || n != 2 {
		t.Fatalf("RecoverLeases: %d %v", n, err)
	}
	recovered, err := s.Lease(ctx, t0, 10, time.Minute, nil)
	if err != nil || len(recovered) != 2 {
		t.Fatalf("recovered runs must be due at once: %d %v", len(recovered), err)
	}
}

func testRelease(t *testing.T, s core.Store) {
	ctx := context.Background()
	accept(t, s, "acme", []string{"r1"}, event("e1", "app", "a"))
	run := leaseOne(t, s)
	if err := s.Release(ctx, []core.Run{run}, t0); err != nil {
		t.Fatal(err)
	}
	again := leaseOne(t, s)
	if again.ID != run.ID || again.Attempts != 1 {
		t.Fatalf("released run: %+v", again)
	}
	// A run released for later is not due before then, and keeps its attempt too.
	if err := s.Release(ctx, []core.Run{again}, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if early, _ := s.Lease(ctx, t0.Add(time.Hour-time.Second), 10, time.Minute, nil); len(early) != 0 {
		t.Fatalf("a run released until later was leased early: %+v", early)
	}
	if later, _ := s.Lease(ctx, t0.Add(time.Hour), 10, time.Minute, nil); len(later) != 1 || later[0].Attempts != 1 {
		t.Fatalf("released run at its due time: %+v", later)
	}
}

func testAcceptLeased(t *testing.T, s core.Store) {
	ctx := context.Background()
	res, err := s.Accept(ctx, core.AcceptRequest{Tenant: "acme", Now: t0, LeaseTTL: time.Minute,
		Events: []core.Pending{{Event: event("e1", "app", "a"), RuleIDs: []string{"r1", "r2"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Leased) != 2 || res.Leased[0].Status != core.RunRunning || res.Leased[0].Attempts != 1 || res.Leased[0].EventSeq != res.Events[0].Seq {
		t.Fatalf("leased runs: %+v", res.Leased)
	}
	if st := stats(t, s); st.Leased != 2 || st.Queued != 0 {
		t.Fatalf("runs accepted leased must not be queued: %+v", st)
	}
	if more, _ := s.Lease(ctx, t0.Add(time.Hour), 10, time.Minute, nil); len(more) != 0 {
		t.Fatalf("a run accepted leased was leased again: %+v", more)
	}
	run := res.Leased[0]
	if _, err := s.RecordStep(ctx, &run, core.StepRecord{StepID: "one", Status: core.StepSucceeded}, nil); err != nil {
		t.Fatalf("the lease from Accept must let the run record steps: %v", err)
	}
	dup, err := s.Accept(ctx, core.AcceptRequest{Tenant: "acme", Now: t0, LeaseTTL: time.Minute,
		Events: []core.Pending{{Event: event("e1", "app", "a"), RuleIDs: []string{"r1"}}}})
	if err != nil || !dup.Events[0].Duplicate || len(dup.Leased) != 0 {
		t.Fatalf("a duplicate leases nothing: %+v %v", dup, err)
	}
	// Expired, the leases go back to the queue like any other.
	if n, err := s.RequeueExpired(ctx, t0.Add(2*time.Minute)); err != nil || n != 2 {
		t.Fatalf("RequeueExpired: %d %v", n, err)
	}
}

func testDeadLetter(t *testing.T, s core.Store) {
	ctx := context.Background()
	res := accept(t, s, "acme", []string{"r1"}, event("e1", "app", "a"), event("e2", "app", "a"))
	if _, err := s.Replay(ctx, "acme", res.Events[0].Runs[0], t0); !errors.Is(err, core.ErrConflict) {
		t.Fatalf("replaying a queued run: want ErrConflict, got %v", err)
	}
	for range 2 {
		run := leaseOne(t, s)
		run.Status, run.LastError = core.RunDead, "permanent: nope"
		if err := s.Finish(ctx, &run, &core.StepRecord{StepID: "one", Status: core.StepFailed, Error: "nope"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	dead, err := s.Runs(ctx, "acme", core.RunFilter{Status: core.RunDead})
	if err != nil || len(dead) != 2 {
		t.Fatalf("dead runs: %d %v", len(dead), err)
	}
	if st := stats(t, s); st.Dead != 2 {
		t.Fatalf("stats: %+v", st)
	}
	if _, err := s.Replay(ctx, "evil", dead[0].ID, t0); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("replay across tenants: %v", err)
	}
	r, err := s.Replay(ctx, "acme", dead[0].ID, t0)
	if err != nil || r.Status != core.RunQueued || r.Attempts != 0 {
		t.Fatalf("replay: %+v %v", r, err)
	}
	again := leaseOne(t, s)
	if again.ID != dead[0].ID || len(again.Steps) != 1 {
		t.Fatalf("replayed run should keep its ledger: %+v", again)
	}
	if err := s.Discard(ctx, "acme", dead[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(ctx, "acme", dead[1].ID); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("discarded run still there: %v", err)
	}
	if err := s.Discard(ctx, "acme", again.ID); !errors.Is(err, core.ErrConflict) {
		t.Fatalf("discarding a running run: want ErrConflict, got %v", err)
	}
	if st := stats(t, s); st.Dead != 0 {
		t.Fatalf("stats: %+v", st)
	}
}

func testEventsAfter(t *testing.T, s core.Store) {
	ctx := context.Background()
	accept(t, s, "acme", nil, event("e1", "app", "a"), event("e2", "app", "a"))
	accept(t, s, "other", nil, event("e3", "app", "a"))
	all, err := s.EventsAfter(ctx, 0, 10)
	if err != nil || len(all) != 3 {
		t.Fatalf("EventsAfter: %d %v", len(all), err)
	}
	for i, want := range []string{"e1", "e2", "e3"} {
		if all[i].ID != want {
			t.Fatalf("order: got %s at %d", all[i].ID, i)
		}
	}
	if all[2].Tenant != "other" {
		t.Fatalf("tenant not kept: %+v", all[2])
	}
	rest, _ := s.EventsAfter(ctx, all[0].Seq, 1)
	if len(rest) != 1 || rest[0].ID != "e2" {
		t.Fatalf("after+limit: %+v", rest)
	}
}

func testRunsListing(t *testing.T, s core.Store) {
	ctx := context.Background()
	for i := range 5 {
		accept(t, s, "acme", []string{fmt.Sprintf("r%d", i%2)}, event(fmt.Sprintf("e%d", i), "app", "a"))
		time.Sleep(2 * time.Millisecond) // run ids are time-ordered
	}
	runs, err := s.Runs(ctx, "acme", core.RunFilter{})
	if err != nil || len(runs) != 5 || runs[0].EventID != "e4" || runs[4].EventID != "e0" {
		t.Fatalf("newest first: %v %v", ids(runs), err)
	}
	page, _ := s.Runs(ctx, "acme", core.RunFilter{Limit: 2})
	next, _ := s.Runs(ctx, "acme", core.RunFilter{Limit: 2, After: page[1].ID})
	if len(page) != 2 || len(next) != 2 || next[0].EventID != "e2" {
		t.Fatalf("paging: %v then %v", ids(page), ids(next))
	}
	r0, _ := s.Runs(ctx, "acme", core.RunFilter{RuleID: "r0"})
	if len(r0) != 3 {
		t.Fatalf("rule filter: %v", ids(r0))
	}
	byEvent, _ := s.Runs(ctx, "acme", core.RunFilter{EventID: "e3"})
	if len(byEvent) != 1 || byEvent[0].EventID != "e3" {
		t.Fatalf("event filter: %v", ids(byEvent))
	}
}

func ids(runs []core.Run) []string {
	var out []string
	for _, r := range runs {
		out = append(out, r.EventID)
	}
	return out
}

func testEmitDedup(t *testing.T, s core.Store) {
	ctx := context.Background()
	accept(t, s, "acme", []string{"r1"}, event("e1", "app", "a"))
	run := leaseOne(t, s)
	emitted := []core.Pending{{Event: event("child", "aquahub/rules/r1", "b"), RuleIDs: []string{"r2"}}}
	acc, err := s.RecordStep(ctx, &run, core.StepRecord{StepID: "emit", Status: core.StepSucceeded, FinishedAt: t0}, emitted)
	if err != nil || len(acc) != 1 || len(acc[0].Runs) != 1 {
		t.Fatalf("emit: %+v %v", acc, err)
	}
	// A crash before the run finished: the step runs again and emits the same event id.
	acc2, err := s.RecordStep(ctx, &run, core.StepRecord{StepID: "emit", Status: core.StepSucceeded, FinishedAt: t0}, emitted)
	if err != nil || !acc2[0].Duplicate {
		t.Fatalf("re-emit should be a duplicate: %+v %v", acc2, err)
	}
	if st := stats(t, s); st.Events != 2 || st.Queued != 1 {
		t.Fatalf("stats: %+v", st)
	}
}

func testBacklog(t *testing.T, s core.Store) {
	ctx := context.Background()
	accept(t, s, "acme", []string{"r1", "r2"}, event("e1", "app", "a"), event("e2", "app", "a"))
	accept(t, s, "other", []string{"r1"}, event("e1", "app", "a"))
	run := leaseOne(t, s)
	got, err := s.Backlog(ctx)
	if err != nil || got["acme"] != 4 || got["other"] != 1 {
		t.Fatalf("backlog with one run leased: %v %v", got, err)
	}
	run.Status = core.RunSucceeded
	if err := s.Finish(ctx, &run, nil, nil); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Backlog(ctx)
	if got[run.Tenant] != map[string]int{"acme": 3, "other": 0}[run.Tenant] {
		t.Fatalf("a finished run still counts: %v", got)
	}
}

func testLeaseTenantsInTurn(t *testing.T, s core.Store) {
	ctx := context.Background()
	var evs []core.Event
	for i := range 50 {
		evs = append(evs, event(fmt.Sprint("big-", i), "app", "a"))
	}
	accept(t, s, "big", []string{"r1"}, evs...)
	accept(t, s, "small", []string{"r1"}, event("late", "app", "a"))
	runs, err := s.Lease(ctx, t0.Add(time.Hour), 2, time.Minute, nil)
	if err != nil || len(runs) != 2 {
		t.Fatalf("Lease: %d %v", len(runs), err)
	}
	tenants := map[string]bool{runs[0].Tenant: true, runs[1].Tenant: true}
	if !tenants["big"] || !tenants["small"] {
		t.Fatalf("a tenant's backlog pushed another tenant back: leased %s and %s", runs[0].Tenant, runs[1].Tenant)
	}
}

func testLeaseSkipsLanes(t *testing.T, s core.Store) {
	ctx := context.Background()
	_, err := s.Accept(ctx, core.AcceptRequest{Tenant: "acme", Now: t0, Events: []core.Pending{
		{Event: event("e1", "app", "a"), RuleIDs: []string{"slow", "fast"}, Lanes: []string{"connector:slow", "connector:fast"}},
		{Event: event("e2", "app", "a"), RuleIDs: []string{"slow"}, Lanes: []string{"connector:slow"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	skip := func(tenant, lane string) bool { return lane == "connector:slow" }
	due, ok, err := s.NextDue(ctx, skip)
	if err != nil || !ok || !due.Equal(t0) {
		t.Fatalf("NextDue past a saturated lane: %v %v %v", due, ok, err)
	}
	runs, err := s.Lease(ctx, t0.Add(time.Hour), 10, time.Minute, skip)
	if err != nil || len(runs) != 1 || runs[0].RuleID != "fast" || runs[0].Lane != "connector:fast" {
		t.Fatalf("Lease past a saturated lane: %+v %v", runs, err)
	}
	if _, ok, _ := s.NextDue(ctx, skip); ok {
		t.Fatal("NextDue found a run of the saturated lane")
	}
	rest, err := s.Lease(ctx, t0.Add(time.Hour), 10, time.Minute, nil)
	if err != nil || len(rest) != 2 {
		t.Fatalf("the saturated lane's runs stayed queued: %d %v", len(rest), err)
	}
}
