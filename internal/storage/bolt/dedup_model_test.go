package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/storage/bolt"
)

// TestDedupAgreesWithAModel runs random sequences of accepts (batches that may repeat a key),
// accepts rolled back after journaling, filings and restarts against a map of what was
// stored, and after each step requires the store to agree with the map: every stored key
// found under its first sequence number, by accept and by Events, whether its key is
// journaled or filed, and exactly one dedup key per stored event.
func TestDedupAgreesWithAModel(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { runDedupModel(t, seed) })
	}
}

func runDedupModel(t *testing.T, seed uint64) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	cfg := bolt.Config{Path: filepath.Join(t.TempDir(), "aquahub.db")}
	open := func() *bolt.DB {
		db, err := bolt.OpenWith(cfg, bolt.Options{Secrets: vault(t)})
		if err != nil {
			t.Fatal(err)
		}
		bolt.StopFiler(db) // filings happen where the sequence says, not on a timer
		return db
	}
	db := open()
	defer func() { db.Close() }()

	type dk struct{ id, source string }
	stored := map[dk]uint64{}
	pick := func() dk {
		return dk{fmt.Sprintf("e%d", rng.IntN(24)), []string{"app", "crm"}[rng.IntN(2)]}
	}
	var trace []string
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("after %v: %s", trace, fmt.Sprintf(format, args...))
	}

	for step := range 300 {
		switch op := rng.IntN(20); {
		case op < 14: // accept a batch of one to three events, keys possibly repeated
			var batch []core.Pending
			var keys []dk
			for range 1 + rng.IntN(3) {
				k := pick()
				keys = append(keys, k)
				batch = append(batch, core.Pending{Event: core.Event{ID: k.id, Source: k.source, Type: "t", SpecVersion: "1.0"}})
			}
			trace = append(trace, fmt.Sprint("accept ", keys))
			res, err := db.Pipeline().Accept(ctx, core.AcceptRequest{Tenant: "acme", Events: batch})
			if err != nil {
				fail("accept: %v", err)
			}
			for i, k := range keys {
				got := res.Events[i]
				if seq, ok := stored[k]; ok {
					if !got.Duplicate || got.Seq != seq {
						fail("%v accepted as %+v, want a duplicate of #%d", k, got, seq)
					}
					continue
				}
				if got.Duplicate {
					fail("%v accepted as %+v, want it stored", k, got)
				}
				stored[k] = got.Seq
			}
		case op < 16: // an accept whose transaction rolls back after journaling its key
			k := pick()
			if _, ok := stored[k]; ok || k.source != "app" {
				continue
			}
			trace = append(trace, fmt.Sprint("rollback ", k))
			boom := errors.New("boom")
			if err := bolt.FailAfterAccept(db, "acme", k.id, boom); !errors.Is(err, boom) {
				fail("failing accept: %v", err)
			}
		case op < 19:
			trace = append(trace, "file")
			if err := bolt.FileDedupJournal(db); err != nil {
				fail("filing: %v", err)
			}
		default:
			trace = append(trace, "restart")
			if err := db.Close(); err != nil {
				fail("close: %v", err)
			}
			db = open()
		}
		if len(trace) > 12 {
			trace = trace[len(trace)-12:]
		}

		j, f, err := bolt.DedupKeys(db)
		if err != nil {
			fail("%v", err)
		}
		if j+f != len(stored) {
			fail("step %d: %d journaled + %d filed dedup keys, want %d", step, j, f, len(stored))
		}
		for range 3 {
			k := pick()
			evs, err := db.Pipeline().Events(ctx, "acme", k.id, k.source)
			seq, ok := stored[k]
			switch {
			case ok && (err != nil || len(evs) != 1 || evs[0].Seq != seq):
				fail("Events(%v) = %+v, %v; want #%d", k, evs, err, seq)
			case !ok && !errors.Is(err, core.ErrNotFound):
				fail("Events(%v) = %+v, %v; want not found", k, evs, err)
			}
			all, err := db.Pipeline().Events(ctx, "acme", k.id, "")
			want := 0
			for _, s := range []string{"app", "crm"} {
				if _, ok := stored[dk{k.id, s}]; ok {
					want++
				}
			}
			if want == 0 && !errors.Is(err, core.ErrNotFound) || want > 0 && (err != nil || len(all) != want) {
				fail("Events(%s, any source) = %+v, %v; want %d events", k.id, all, err, want)
			}
		}
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

// A write that fails inside a group commit after journaling its key is taken out of the
// group; the others commit without it, and its key is nowhere: not journaled, not found,
// and stored when accepted again.
func TestAFailingWriteInAGroupLeavesNoDedupKey(t *testing.T) {
	db := openDB(t, bolt.Config{})
	ctx := context.Background()
	boom := errors.New("boom")
	acceptFromMany(t, db, 6, 30, func(w int) {
		for i := range 10 {
			if err := bolt.FailAfterAcceptInGroup(db, "acme", fmt.Sprintf("f%d", (i+w)%10), boom); !errors.Is(err, boom) {
				t.Errorf("failing write: %v, want boom", err)
			}
		}
	})
	for i := range 10 {
		id := fmt.Sprintf("f%d", i)
		if evs, err := db.Pipeline().Events(ctx, "acme", id, ""); !errors.Is(err, core.ErrNotFound) {
			t.Fatalf("Events(%s) = %+v, %v; want not found", id, evs, err)
		}
		if got := acceptAt(t, db.Pipeline(), time.Now(), id); got.Duplicate {
			t.Fatalf("%s accepted after its failed writes = %+v, want it stored", id, got)
		}
	}
}
