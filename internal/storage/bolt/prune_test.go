package bolt_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/storage/bolt"
	"github.com/aquascene/aquahub/internal/webhooks"
)

var day0 = time.Date(2025, 8, 6, 12, 0, 0, 0, time.UTC)

const week = 7 * 24 * time.Hour

// openDB returns a hub file with the given retention settings (zero: the defaults) that is
// checked and closed at cleanup.
func openDB(t testing.TB, cfg bolt.Config) *bolt.DB {
	t.Helper()
	cfg.Path = filepath.Join(t.TempDir(), "aquahub.db")
	db, err := bolt.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Check(); err != nil {
			t.Errorf("database check: %v", err)
		}
		db.Close()
	})
	return db
}

// acceptAt stores one event with one run per rule, received at at.
func acceptAt(t testing.TB, s core.Store, at time.Time, id string, rules ...string) core.Accepted {
	t.Helper()
	res, err := s.Accept(context.Background(), core.AcceptRequest{Tenant: "acme", Now: at, Events: []core.Pending{{
		Event: core.Event{ID: id, Source: "app", Type: "t", SpecVersion: "1.0", Data: json.RawMessage(`{"n":1}`)}, RuleIDs: rules}}})
	if err != nil {
		t.Fatal(err)
	}
	return res.Events[0]
}

// finishAll leases every due run at at and ends it with status, one ledger entry each.
func finishAll(t testing.TB, s core.Store, at time.Time, status core.RunStatus) []core.Run {
	t.Helper()
	ctx := context.Background()
	var runs []core.Run
	for {
		more, err := s.Lease(ctx, at, 1000, time.Minute, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(more) == 0 {
			break
		}
		runs = append(runs, more...)
	}
	for i := range runs {
		runs[i].Status, runs[i].FinishedAt, runs[i].UpdatedAt = status, at, at
		rec := core.StepRecord{StepID: "send", Kind: "log", Status: core.StepSucceeded, Attempts: 1, Output: json.RawMessage(`{"ok":true}`), StartedAt: at, FinishedAt: at}
		if status == core.RunDead {
			rec.Status, rec.Error, rec.Output = core.StepFailed, "boom", nil
		}
		if err := s.Finish(ctx, &runs[i], &rec, nil); err != nil {
			t.Fatal(err)
		}
	}
	return runs
}

func prune(t testing.TB, db *bolt.DB, at time.Time) core.PruneCounts {
	t.Helper()
	n, err := db.Pruner(nil).Prune(context.Background(), at)
	if err != nil {
		t.Fatalf("prune: %v", err)
	}
	return n
}

func runGone(t testing.TB, s core.Store, id string) bool {
	t.Helper()
	_, err := s.Run(context.Background(), "acme", id)
	if err != nil && !errors.Is(err, core.ErrNotFound) {
		t.Fatal(err)
	}
	return err != nil
}

func eventGone(t testing.TB, s core.Store, id string) bool {
	t.Helper()
	_, err := s.Events(context.Background(), "acme", id, "")
	if err != nil && !errors.Is(err, core.ErrNotFound) {
		t.Fatal(err)
	}
	return err != nil
}

// TestRetentionKeepsWhatIsStillNeeded: succeeded runs past retention go with their ledger and
// event; dead runs and their events stay; an event's dedup key outlives it until the dedup
// window ends.
func TestRetentionKeepsWhatIsStillNeeded(t *testing.T) {
	tests := []struct {
		name  string
		batch int
	}{
		{"one transaction", 1000},
		{"transactions of two items", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openDB(t, bolt.Config{Retention: week, DedupWindow: 2 * week, PruneBatch: tc.batch})
			s := db.Pipeline()
			ctx := context.Background()
			old := acceptAt(t, s, day0, "old", "r1", "r2")
			acceptAt(t, s, day0, "also-old", "r3")
			noRule := acceptAt(t, s, day0, "no-rule")
			finishAll(t, s, day0, core.RunSucceeded)
			dead := acceptAt(t, s, day0, "dies", "r4")
			deadRuns := finishAll(t, s, day0.Add(time.Second), core.RunDead)
			recent := acceptAt(t, s, day0.Add(6*24*time.Hour), "recent", "r1")
			finishAll(t, s, day0.Add(6*24*time.Hour), core.RunSucceeded)

			if n := prune(t, db, day0.Add(6*24*time.Hour)); n.Total() != 0 {
				t.Fatalf("pruned %+v before anything was past retention", n)
			}
			n := prune(t, db, day0.Add(8*24*time.Hour))
			for _, id := range old.Runs {
				if !runGone(t, s, id) {
					t.Errorf("succeeded run %s past retention was kept", id)
				}
			}
			if !eventGone(t, s, "old") || !eventGone(t, s, "no-rule") || !eventGone(t, s, "also-old") {
				t.Error("an event past retention that no run needs was kept")
			}
			if runGone(t, s, deadRuns[0].ID) || eventGone(t, s, "dies") {
				t.Error("a dead run, or its event, was pruned")
			}
			if runGone(t, s, recent.Runs[0]) || eventGone(t, s, "recent") {
				t.Error("a run within retention was pruned")
			}
			if n.Runs != 3 || n.Events != 3 || n.DedupKeys != 0 {
				t.Errorf("pruned %+v, want 3 runs and 3 events, no dedup keys yet", n)
			}
			// Within the dedup window, the same event is still a duplicate.
			res, err := s.Accept(ctx, core.AcceptRequest{Tenant: "acme", Now: day0.Add(8 * 24 * time.Hour), Events: []core.Pending{{
				Event: core.Event{ID: "old", Source: "app", Type: "t", SpecVersion: "1.0"}, RuleIDs: []string{"r1"}}}})
			if err != nil || !res.Events[0].Duplicate || res.Events[0].Seq != old.Seq {
				t.Fatalf("a repeat inside the dedup window: %+v %v", res, err)
			}
			n = prune(t, db, day0.Add(15*24*time.Hour))
			if n.DedupKeys != 3 {
				t.Errorf("after the dedup window, pruned %+v, want the 3 dedup keys", n)
			}
			res, err = s.Accept(ctx, core.AcceptRequest{Tenant: "acme", Now: day0.Add(15 * 24 * time.Hour), Events: []core.Pending{{
				Event: core.Event{ID: "no-rule", Source: "app", Type: "t", SpecVersion: "1.0"}}}})
			if err != nil || res.Events[0].Duplicate || res.Events[0].Seq == noRule.Seq {
				t.Fatalf("a repeat after the dedup window was not stored anew: %+v %v", res, err)
			}
			// The dead run is still there, and so is its event; discarding it releases both.
			if runGone(t, s, dead.Runs[0]) || eventGone(t, s, "dies") {
				t.Fatal("a dead run was pruned")
			}
			if err := s.Discard(ctx, "acme", dead.Runs[0]); err != nil {
				t.Fatal(err)
			}
			if !eventGone(t, s, "dies") {
				t.Error("discarding the only run of an old event kept the event")
			}
			// recent went at day 15 too; the no-rule event stored anew is the one left.
			if st := db.StorageStats(); st.Events != 1 {
				t.Errorf("events kept: %d, want 1", st.Events)
			}
		})
	}
}

// TestRunFinishedAfterThePrunerPassedIt: a run the pruner passed while it was retrying, or
// dead and then replayed, is pruned once it has been finished for the retention.
func TestRunFinishedAfterThePrunerPassedIt(t *testing.T) {
	db := openDB(t, bolt.Config{Retention: week})
	s := db.Pipeline()
	ctx := context.Background()
	acc := acceptAt(t, s, day0, "slow", "r1")
	finishAll(t, s, day0, core.RunDead)
	prune(t, db, day0.Add(8*24*time.Hour))
	if runGone(t, s, acc.Runs[0]) {
		t.Fatal("a dead run was pruned")
	}
	replayedAt := day0.Add(10 * 24 * time.Hour)
	if _, err := s.Replay(ctx, "acme", acc.Runs[0], replayedAt); err != nil {
		t.Fatal(err)
	}
	finishAll(t, s, replayedAt, core.RunSucceeded)
	prune(t, db, replayedAt.Add(6*24*time.Hour))
	if runGone(t, s, acc.Runs[0]) || eventGone(t, s, "slow") {
		t.Fatal("a run finished less than the retention ago was pruned")
	}
	n := prune(t, db, replayedAt.Add(8*24*time.Hour))
	if !runGone(t, s, acc.Runs[0]) || !eventGone(t, s, "slow") || n.Runs != 1 || n.Events != 1 {
		t.Fatalf("the replayed run, finished past retention, was kept (pruned %+v)", n)
	}
}

// TestEventsWaitForTheWebhookFanOut: an event the fan-out has not read yet is kept.
func TestEventsWaitForTheWebhookFanOut(t *testing.T) {
	db := openDB(t, bolt.Config{Retention: week})
	s := db.Pipeline()
	ctx := context.Background()
	first := acceptAt(t, s, day0, "read")
	acceptAt(t, s, day0, "unread")
	err := db.Webhooks().Update(ctx, func(tx webhooks.Tx) error { return tx.SetFanOutCursor(first.Seq) })
	if err != nil {
		t.Fatal(err)
	}
	prune(t, db, day0.Add(8*24*time.Hour))
	if !eventGone(t, s, "read") || eventGone(t, s, "unread") {
		t.Fatal("want the event the fan-out read pruned and the other kept")
	}
}

// TestIdempotencyKeysLastTheDedupWindow: a repeated Idempotency-Key gets the first answer
// until the dedup window ends, and a new one after.
func TestIdempotencyKeysLastTheDedupWindow(t *testing.T) {
	db := openDB(t, bolt.Config{Retention: week, DedupWindow: 2 * week})
	s := db.Pipeline()
	ctx := context.Background()
	send := func(at time.Time, id string) core.AcceptResult {
		t.Helper()
		res, err := s.Accept(ctx, core.AcceptRequest{Tenant: "acme", IdempotencyKey: "k1", Now: at, Events: []core.Pending{{
			Event: core.Event{ID: id, Source: "app", Type: "t", SpecVersion: "1.0"}}}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	send(day0, "a")
	prune(t, db, day0.Add(10*24*time.Hour))
	if res := send(day0.Add(10*24*time.Hour), "b"); !res.Replayed || res.Events[0].ID != "a" {
		t.Fatalf("inside the dedup window: %+v", res)
	}
	if n := prune(t, db, day0.Add(15*24*time.Hour)); n.IdempotencyKeys != 1 {
		t.Fatalf("pruned %+v, want the idempotency key", n)
	}
	if res := send(day0.Add(15*24*time.Hour), "c"); res.Replayed || res.Events[0].ID != "c" {
		t.Fatalf("after the dedup window: %+v", res)
	}
}

// TestWebhookMessagesPrunedWithTheirStepKeys: succeeded and dead messages past retention go,
// with the step key that queued one; a pending message stays.
func TestWebhookMessagesPrunedWithTheirStepKeys(t *testing.T) {
	db := openDB(t, bolt.Config{Retention: week})
	ctx := context.Background()
	store := db.Webhooks()
	msg := func(id string, state webhooks.DeliveryState, updated time.Time, stepKey string) webhooks.Delivery {
		return webhooks.Delivery{Tenant: "acme", ID: id, EndpointID: "ep_1", EventType: "t", State: state,
			CreatedAt: day0, UpdatedAt: updated, StepKey: stepKey, Body: json.RawMessage(`{}`)}
	}
	err := store.Update(ctx, func(tx webhooks.Tx) error {
		for _, d := range []webhooks.Delivery{
			msg("msg_1", webhooks.StateSucceeded, day0, "step-1"),
			msg("msg_2", webhooks.StateDead, day0, ""),
			msg("msg_3", webhooks.StatePending, day0, ""),
			msg("msg_4", webhooks.StateSucceeded, day0.Add(5*24*time.Hour), ""),
		} {
			if err := tx.PutDelivery(d); err != nil {
				return err
			}
		}
		return tx.PutStepMessage("acme", "step-1", "msg_1")
	})
	if err != nil {
		t.Fatal(err)
	}
	n := prune(t, db, day0.Add(8*24*time.Hour))
	if n.Deliveries != 2 {
		t.Errorf("pruned %d messages, want 2", n.Deliveries)
	}
	err = store.View(ctx, func(tx webhooks.Tx) error {
		for id, want := range map[string]bool{"msg_1": false, "msg_2": false, "msg_3": true, "msg_4": true} {
			_, err := tx.Delivery("acme", "ep_1", id)
			if got := err == nil; got != want {
				t.Errorf("message %s kept: %v, want %v (%v)", id, got, want, err)
			}
		}
		if _, ok, _ := tx.StepMessage("acme", "step-1"); ok {
			t.Error("the step key of a pruned message was kept")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPrunerRunsInTheBackground: started as a worker, the pruner deletes what is past a
// retention of a second without being asked, and reports it.
func TestPrunerRunsInTheBackground(t *testing.T) {
	db := openDB(t, bolt.Config{Retention: time.Second, DedupWindow: time.Second, PruneInterval: 20 * time.Millisecond})
	s := db.Pipeline()
	acc := acceptAt(t, s, time.Now(), "e1", "r1")
	finishAll(t, s, time.Now(), core.RunSucceeded)
	p := db.Pruner(nil)
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer p.Stop(context.Background())
	deadline := time.Now().Add(10 * time.Second)
	for !runGone(t, s, acc.Runs[0]) {
		if time.Now().After(deadline) {
			t.Fatal("the background pruner did not prune a run past retention")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for db.StorageStats().Pruned.Events == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the pruner's stats do not count the pruned event")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := db.StorageStats(); st.LastPrune.IsZero() || st.PruneLag > 5*time.Second || st.FileBytes == 0 || st.UsedBytes == 0 || st.UsedBytes > st.FileBytes {
		t.Fatalf("stats: %+v", st)
	}
}

func TestRetentionSettingsAreChecked(t *testing.T) {
	tests := []struct {
		name string
		edit func(*bolt.Config)
		want string
	}{
		{"retention under a second", func(c *bolt.Config) { c.Retention = time.Millisecond }, "retention: must be at least 1s"},
		{"dedup window shorter than retention", func(c *bolt.Config) { c.DedupWindow = time.Hour }, "dedup_window: must be at least retention"},
		{"prune interval too short", func(c *bolt.Config) { c.PruneInterval = time.Microsecond }, "prune_interval"},
		{"prune batch zero", func(c *bolt.Config) { c.PruneBatch = 0 }, "prune_batch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := bolt.DefaultConfig()
			tc.edit(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate: %v, want %q", err, tc.want)
			}
		})
	}
	if err := bolt.DefaultConfig().Validate(); err != nil {
		t.Fatalf("the defaults do not validate: %v", err)
	}
}
