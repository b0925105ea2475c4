package bolt

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/webhooks"
	bbolt "go.etcd.io/bbolt"
)

// writeVersion2 turns the file at path, written by this version, into what format version 2
// wrote: JSON pipeline records, no pruner buckets, step keys not named in their messages.
func writeVersion2(t testing.TB, path string) {
	t.Helper()
	raw, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	err = raw.Update(func(tx *bbolt.Tx) error {
		type kv struct{ k, v []byte }
		rewrite := func(name []byte, fn func(k, v []byte) (any, error)) error {
			var all []kv
			err := tx.Bucket(name).ForEach(func(k, v []byte) error {
				rec, err := fn(k, v)
				if err != nil {
					return err
				}
				j, err := json.Marshal(rec)
				all = append(all, kv{append([]byte(nil), k...), j})
				return err
			})
			if err != nil {
				return err
			}
			for _, e := range all {
				if err := tx.Bucket(name).Put(e.k, e.v); err != nil {
					return err
				}
			}
			return nil
		}
		err := rewrite(bucketEvents, func(k, v []byte) (any, error) {
			ev, _, err := decodeEvent(k, v)
			body, _ := json.Marshal(ev)
			return eventV2{Event: body, Tenant: ev.Tenant, Seq: ev.Seq, ReceivedAt: ev.ReceivedAt}, err
		})
		if err != nil {
			return err
		}
		err = rewrite(bucketRuns, func(k, v []byte) (any, error) {
			r, err := readRun(tx, k, v)
			return runV2{ID: r.ID, Tenant: r.Tenant, RuleID: r.RuleID, Status: string(r.Status), EventSeq: r.EventSeq, EventID: r.EventID,
				EventSource: r.EventSource, EventType: r.EventType, Attempts: r.Attempts, Lane: r.Lane, NextAt: r.NextAt,
				CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, FinishedAt: r.FinishedAt}, err
		})
		if err != nil {
			return err
		}
		err = rewrite(bucketLedger, func(k, v []byte) (any, error) {
			s, err := decodeStep(k, v)
			return stepV2{StepID: s.StepID, Kind: s.Kind, Status: string(s.Status), Attempts: s.Attempts, Output: s.Output,
				StartedAt: s.StartedAt, FinishedAt: s.FinishedAt, DurationMS: s.DurationMS}, err
		})
		if err != nil {
			return err
		}
		err = rewrite(bucketEventIDs, func(k, v []byte) (any, error) { return decodeDedup(k, v) })
		if err != nil {
			return err
		}
		err = rewrite(bucketWebhookDeliveries, func(k, v []byte) (any, error) {
			var rec map[string]json.RawMessage
			err := json.Unmarshal(v, &rec)
			delete(rec, "step_key")
			return rec, err
		})
		if err != nil {
			return err
		}
		for _, b := range [][]byte{bucketPrune, bucketRunsLate, bucketIdemTimes} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keyFormatVer, []byte("2"))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestVersion2FileIsMigrated: a file in format version 2's layout opens, every record reads
// as it did, every pipeline record is rewritten, and the pruner finds what it needs.
func TestVersion2FileIsMigrated(t *testing.T) {
	tests := []struct {
		name  string
		batch int
	}{
		{"one transaction per part", 5000},
		{"transactions of two records", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func(prev int) { migrateBatch = prev }(migrateBatch)
			migrateBatch = tc.batch
			path := filepath.Join(t.TempDir(), "aquahub.db")
			db, err := Open(Config{Path: path})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			t0 := time.Date(2025, 8, 6, 12, 0, 0, 0, time.UTC)
			s := db.Pipeline()
			res, err := s.Accept(ctx, core.AcceptRequest{Tenant: "acme", IdempotencyKey: "idem-1", Now: t0, Events: []core.Pending{
				{Event: core.Event{ID: "e1", Source: "app", Type: "a.b", SpecVersion: "1.0", Data: json.RawMessage(`{"html":"<p>"}`)}, RuleIDs: []string{"r1", "r2"}},
				{Event: core.Event{ID: "e2", Source: "app", Type: "a.b", SpecVersion: "1.0"}, RuleIDs: []string{"r1"}},
			}})
			if err != nil {
				t.Fatal(err)
			}
			runs, err := s.Lease(ctx, t0, 10, time.Minute, nil)
			if err != nil || len(runs) != 3 {
				t.Fatalf("lease: %d %v", len(runs), err)
			}
			for i := range runs {
				runs[i].Status, runs[i].FinishedAt = core.RunSucceeded, t0
				rec := core.StepRecord{StepID: "s", Kind: "log", Status: core.StepSucceeded, Attempts: 1, Output: json.RawMessage(`{"ok":1}`), StartedAt: t0, FinishedAt: t0, DurationMS: 1.25}
				if err := s.Finish(ctx, &runs[i], &rec, nil); err != nil {
					t.Fatal(err)
				}
			}
			err = db.Webhooks().Update(ctx, func(tx webhooks.Tx) error {
				d := webhooks.Delivery{Tenant: "acme", ID: "msg_1", EndpointID: "ep_1", State: webhooks.StateSucceeded, CreatedAt: t0, UpdatedAt: t0, Body: json.RawMessage(`{}`)}
				if err := tx.PutDelivery(d); err != nil {
					return err
				}
				if err := tx.PutStepMessage("acme", "step-1", "msg_1"); err != nil {
					return err
				}
				return tx.PutStepMessage("acme", "orphan", "msg_gone")
			})
			if err != nil {
				t.Fatal(err)
			}
			before, err := s.Run(ctx, "acme", runs[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			evBefore, _ := s.Events(ctx, "acme", "e1", "")
			db.Close()
			writeVersion2(t, path)

			db, err = Open(Config{Path: path})
			if err != nil {
				t.Fatalf("opening a version 2 file: %v", err)
			}
			defer db.Close()
			if n, err := LegacyRecords(db); err != nil || n != 0 {
				t.Fatalf("%d records left in version 2's layout (%v)", n, err)
			}
			s = db.Pipeline()
			after, err := s.Run(ctx, "acme", runs[0].ID)
			if err != nil || !reflect.DeepEqual(before, after) {
				t.Fatalf("the run changed in the migration:\n%+v\n%+v (%v)", before, after, err)
			}
			evAfter, err := s.Events(ctx, "acme", "e1", "")
			if err != nil || len(evAfter) != 1 || !sameJSON(evAfter[0].Data, evBefore[0].Data) || evAfter[0].Seq != res.Events[0].Seq {
				t.Fatalf("the event changed in the migration: %+v %v", evAfter, err)
			}
			again, err := s.Accept(ctx, core.AcceptRequest{Tenant: "acme", IdempotencyKey: "idem-1", Now: t0})
			if err != nil || !again.Replayed || len(again.Events) != 2 {
				t.Fatalf("the idempotency key after the migration: %+v %v", again, err)
			}
			// Pruning after the migration: the runs, events and messages go, and so do the
			// idempotency key (indexed from the migration's time) and the step key.
			n, err := db.Pruner(nil).Prune(ctx, time.Now().Add(30*24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if n.Runs != 3 || n.Events != 2 || n.IdempotencyKeys != 1 || n.Deliveries != 1 {
				t.Fatalf("pruned after the migration: %+v", n)
			}
			err = db.Webhooks().View(ctx, func(tx webhooks.Tx) error {
				for _, k := range []string{"step-1", "orphan"} {
					if _, ok, _ := tx.StepMessage("acme", k); ok {
						t.Errorf("step key %q kept", k)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Check(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestMigrationCutShortResumes: a migration that stops partway leaves the file readable and
// at version 2, and the next open finishes it.
func TestMigrationCutShortResumes(t *testing.T) {
	defer func(prev int) { migrateBatch = prev }(migrateBatch)
	migrateBatch = 2
	path := filepath.Join(t.TempDir(), "aquahub.db")
	db, err := Open(Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var pending []core.Pending
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		pending = append(pending, core.Pending{Event: core.Event{ID: id, Source: "s", Type: "t", SpecVersion: "1.0"}, RuleIDs: []string{"r"}})
	}
	if _, err := db.Pipeline().Accept(ctx, core.AcceptRequest{Tenant: "acme", Events: pending}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	writeVersion2(t, path)

	raw, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := &DB{db: newHandle(raw, Config{}), path: path}
	stop := errors.New("power cut")
	seen := 0
	err = d.migrateEach(bucketEvents, func(tx *bbolt.Tx, k, v []byte) error {
		if seen++; seen > 3 {
			return stop
		}
		ev, err := decodeEventV2(v)
		if err != nil {
			return err
		}
		nv, err := encodeEvent(&ev)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketEvents).Put(k, nv)
	})
	if !errors.Is(err, stop) {
		t.Fatalf("the cut-short migration: %v", err)
	}
	if n, _ := LegacyRecords(d); n == 0 {
		t.Fatal("the cut-short migration rewrote everything")
	}
	raw.Close()

	db, err = Open(Config{Path: path})
	if err != nil {
		t.Fatalf("reopening after a cut-short migration: %v", err)
	}
	defer db.Close()
	if n, err := LegacyRecords(db); err != nil || n != 0 {
		t.Fatalf("%d records left in version 2's layout (%v)", n, err)
	}
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		if evs, err := db.Pipeline().Events(ctx, "acme", id, ""); err != nil || len(evs) != 1 {
			t.Fatalf("event %s after the resumed migration: %+v %v", id, evs, err)
		}
	}
}

// sameJSON reports whether a and b are the same JSON value: version 2 stored data with <, >
// and & escaped.
func sameJSON(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// TestOlderFilesMigrate opens testdata/format-v2.db and format-v3.db, each written by the
// hub's code at that format version (two tenants; runs succeeded with two ledger entries,
// dead, released for a retry and queued; an Idempotency-Key; a webhook message), and reads
// back everything that code read from it (format-v2.json, format-v3.json): the migration
// keeps every event, run, ledger entry and queue count.
func TestOlderFilesMigrate(t *testing.T) {
	for _, version := range []string{"v2", "v3"} {
		t.Run(version, func(t *testing.T) { testOlderFileMigrates(t, "format-"+version) })
	}
}

func testOlderFileMigrates(t *testing.T, name string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", name+".db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "aquahub.db")
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(Config{Path: path})
	if err != nil {
		t.Fatalf("opening %s: %v", name, err)
	}
	defer db.Close()
	if n, err := LegacyRecords(db); err != nil || n != 0 {
		t.Fatalf("%d records left in the JSON layout (%v)", n, err)
	}
	ctx := context.Background()
	s := db.Pipeline()
	got := map[string]any{}
	var events []core.Event
	for _, tenant := range []string{"acme", "globex"} {
		all, err := s.Runs(ctx, tenant, core.RunFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, r := range all {
			full, err := s.Run(ctx, tenant, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			got["run "+tenant+" "+r.ID] = full
			if !seen[r.EventID] {
				seen[r.EventID] = true
				evs, err := s.Events(ctx, tenant, r.EventID, "")
				if err != nil {
					t.Fatal(err)
				}
				events = append(events, evs...)
			}
		}
	}
	sort.Slice(events, func(i, j int) bool { return events[i].Seq < events[j].Seq })
	got["events"] = events
	if got["events_after"], err = s.EventsAfter(ctx, 0, 1000); err != nil {
		t.Fatal(err)
	}
	if got["queue_stats"], err = s.Stats(ctx); err != nil {
		t.Fatal(err)
	}
	var want, have map[string]any
	raw, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &have); err != nil {
		t.Fatal(err)
	}
	if len(want) != 16+3 {
		t.Fatalf("testdata/%s.json holds %d entries, not 16 runs, the events, the listing and the queue's counts", name, len(want))
	}
	for k, w := range want {
		if h, ok := have[k]; !ok {
			t.Errorf("%s: missing after the migration", k)
		} else if !reflect.DeepEqual(w, h) {
			wj, _ := json.Marshal(w)
			hj, _ := json.Marshal(h)
			t.Errorf("%s changed in the migration:\n was %s\n now %s", k, wj, hj)
		}
	}
	for k := range have {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: appeared in the migration", k)
		}
	}
	again, err := s.Accept(ctx, core.AcceptRequest{Tenant: "acme", IdempotencyKey: "idem-1"})
	if err != nil || !again.Replayed || len(again.Events) != 6 {
		t.Errorf("the Idempotency-Key after the migration: %+v %v", again, err)
	}
	dup, err := s.Accept(ctx, core.AcceptRequest{Tenant: "globex", Events: []core.Pending{
		{Event: core.Event{ID: "evt-07", Source: "app/newsletter", Type: "newsletter.send.requested", SpecVersion: "1.0"}, RuleIDs: []string{"send"}}}})
	if err != nil || len(dup.Events) != 1 || !dup.Events[0].Duplicate {
		t.Errorf("a repeat of an event stored before the migration: %+v %v", dup, err)
	}
	err = db.Webhooks().View(ctx, func(tx webhooks.Tx) error {
		if id, ok, err := tx.StepMessage("acme", "step-1"); err != nil || !ok || id != "msg_1" {
			t.Errorf("the webhook step key after the migration: %q %v %v", id, ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}
