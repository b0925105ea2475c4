package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/logtest"
	"github.com/aquascene/aquahub/internal/storage/bolt"
)

// dedupKeys returns how many dedup keys are journaled and how many filed.
func dedupKeys(t *testing.T, db *bolt.DB) (journaled, filed int) {
	t.Helper()
	j, f, err := bolt.DedupKeys(db)
	if err != nil {
		t.Fatal(err)
	}
	return j, f
}

// checkFound checks that e1 is a duplicate of first and that its event and run are found by
// id, the way the API finds them.
func checkFound(t *testing.T, s core.Store, first core.Accepted, at time.Time) {
	t.Helper()
	ctx := context.Background()
	dup := acceptAt(t, s, at, "e1", "r1")
	if !dup.Duplicate || dup.Seq != first.Seq || len(dup.Runs) != 1 || dup.Runs[0] != first.Runs[0] {
		t.Fatalf("second accept of e1 = %+v, want a duplicate of %+v", dup, first)
	}
	evs, err := s.Events(ctx, "acme", "e1", "")
	if err != nil || len(evs) != 1 || evs[0].Seq != first.Seq {
		t.Fatalf("Events(e1) = %+v, %v; want the event #%d", evs, err, first.Seq)
	}
	if evs, err := s.Events(ctx, "acme", "e1", "app"); err != nil || len(evs) != 1 {
		t.Fatalf("Events(e1, app) = %+v, %v", evs, err)
	}
	runs, err := s.Runs(ctx, "acme", core.RunFilter{EventID: "e1"})
	if err != nil || len(runs) != 1 || runs[0].ID != first.Runs[0] {
		t.Fatalf("Runs(event e1) = %+v, %v; want run %s", runs, err, first.Runs[0])
	}
	if _, err := s.Events(ctx, "acme", "e2", ""); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("Events(e2) = %v, want not found", err)
	}
}

func TestDuplicatesAreFoundWhileJournaledAndOnceFiled(t *testing.T) {
	db := openDB(t, bolt.Config{})
	bolt.StopFiler(db)
	s := db.Pipeline()
	at := time.Now()
	first := acceptAt(t, s, at, "e1", "r1")
	if j, f := dedupKeys(t, db); j != 1 || f != 0 {
		t.Fatalf("after an accept: %d journaled, %d filed; want 1, 0", j, f)
	}
	checkFound(t, s, first, at)

	if err := bolt.FileDedupJournal(db); err != nil {
		t.Fatal(err)
	}
	if j, f := dedupKeys(t, db); j != 0 || f != 1 {
		t.Fatalf("after filing: %d journaled, %d filed; want 0, 1", j, f)
	}
	checkFound(t, s, first, at)
}

func TestTheJournalSurvivesARestartAndIsFiled(t *testing.T) {
	cfg := bolt.Config{Path: filepath.Join(t.TempDir(), "aquahub.db")}
	db, err := bolt.OpenWith(cfg, bolt.Options{Secrets: vault(t)})
	if err != nil {
		t.Fatal(err)
	}
	bolt.StopFiler(db)
	at := time.Now()
	first := acceptAt(t, db.Pipeline(), at, "e1", "r1")
	for i := range 20 {
		acceptAt(t, db.Pipeline(), at, fmt.Sprintf("other-%d", i))
	}
	if j, _ := dedupKeys(t, db); j != 21 {
		t.Fatalf("%d keys journaled before the restart, want 21", j)
	}
	db.Close()

	db, err = bolt.OpenWith(cfg, bolt.Options{Secrets: vault(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkFound(t, db.Pipeline(), first, at)
	if again := acceptAt(t, db.Pipeline(), at, "other-7"); !again.Duplicate {
		t.Fatalf("other-7 after the restart = %+v, want a duplicate", again)
	}
	// The filer files what the last process left.
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, f := dedupKeys(t, db)
		if j == 0 && f == 21 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart: %d journaled, %d filed; want 0, 21", j, f)
		}
		time.Sleep(20 * time.Millisecond)
	}
	checkFound(t, db.Pipeline(), first, at)
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestARolledBackAcceptLeavesNoDedupKey(t *testing.T) {
	db := openDB(t, bolt.Config{})
	boom := errors.New("boom")
	if err := bolt.FailAfterAccept(db, "acme", "e1", boom); !errors.Is(err, boom) {
		t.Fatalf("failing transaction: %v", err)
	}
	if j, f := dedupKeys(t, db); j != 0 || f != 0 {
		t.Fatalf("after a rollback: %d journaled, %d filed; want none", j, f)
	}
	first := acceptAt(t, db.Pipeline(), time.Now(), "e1", "r1")
	if first.Duplicate {
		t.Fatalf("e1 after a rolled-back accept = %+v, want it stored", first)
	}
	checkFound(t, db.Pipeline(), first, time.Now())
}

// acceptFromMany accepts the ids e0 … e(ids-1) of source app from writers goroutines, each
// in an order of its own, runs also(w) beside writer w, and returns the sequence numbers
// each id was stored under (a duplicate answer stores nothing).
func acceptFromMany(t *testing.T, db *bolt.DB, writers, ids int, also func(w int)) map[string][]uint64 {
	t.Helper()
	var mu sync.Mutex
	stored := map[string][]uint64{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			also(w)
		}()
		go func() {
			defer wg.Done()
			for i := range ids {
				id := fmt.Sprintf("e%d", (i*7+w*5)%ids)
				res, err := db.Pipeline().Accept(context.Background(), core.AcceptRequest{Tenant: "acme", Events: []core.Pending{{
					Event: core.Event{ID: id, Source: "app", Type: "t", SpecVersion: "1.0"}}}})
				if err != nil {
					t.Error(err)
					return
				}
				if ev := res.Events[0]; !ev.Duplicate {
					mu.Lock()
					stored[id] = append(stored[id], ev.Seq)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(stored) != ids {
		t.Fatalf("%d ids stored, want %d", len(stored), ids)
	}
	for id, seqs := range stored {
		if len(seqs) != 1 {
			t.Errorf("%s stored %d times (%v)", id, len(seqs), seqs)
		}
	}
	j, f := dedupKeys(t, db)
	if j+f != ids {
		t.Fatalf("%d journaled + %d filed dedup keys, want %d", j, f, ids)
	}
	return stored
}

func TestConcurrentAcceptsStoreEachKeyOnce(t *testing.T) {
	db := openDB(t, bolt.Config{})
	acceptFromMany(t, db, 8, 40, func(w int) {
		if w%3 == 0 {
			if err := bolt.FileDedupJournal(db); err != nil {
				t.Error(err)
			}
		}
	})
}

// A filer that cannot file is counted at every attempt and logged once, its keys are still
// found, and when filing works again it says so and empties the journal.
func TestAFailingFilerIsLoggedOnceAndRecovers(t *testing.T) {
	var logs logtest.Buffer
	db, err := bolt.OpenWith(bolt.Config{Path: filepath.Join(t.TempDir(), "aquahub.db")},
		bolt.Options{Secrets: vault(t), Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	waitFor := func(what string, ok func(core.StorageStats) bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(db.StorageStats()); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: stats %+v\nlog:\n%s", what, db.StorageStats(), logs.String())
			}
		}
	}
	bolt.FailFiling(db, errors.New("no space left on device"))
	at := time.Now()
	first := acceptAt(t, db.Pipeline(), at, "e1", "r1")
	waitFor("first failed filing", func(s core.StorageStats) bool { return s.DedupFileErrors >= 1 })
	acceptAt(t, db.Pipeline(), at, "e9")
	waitFor("second failed filing", func(s core.StorageStats) bool { return s.DedupFileErrors >= 2 })
	if st := db.StorageStats(); st.DedupJournal != 2 {
		t.Fatalf("%d keys journaled while filing fails, want 2", st.DedupJournal)
	}
	checkFound(t, db.Pipeline(), first, at)
	out := logs.String()
	if n := strings.Count(out, "filing the dedup journal failed"); n != 1 || !strings.Contains(out, "no space left on device") || !strings.Contains(out, "level=WARN") {
		t.Fatalf("want one warning naming the error, got %d in:\n%s", n, out)
	}

	bolt.FailFiling(db, nil)
	acceptAt(t, db.Pipeline(), at, "e10")
	waitFor("filing again", func(s core.StorageStats) bool { return s.DedupJournal == 0 })
	if j, f := dedupKeys(t, db); j != 0 || f != 3 {
		t.Fatalf("after recovery: %d journaled, %d filed; want 0, 3", j, f)
	}
	checkFound(t, db.Pipeline(), first, at)
	if out := logs.String(); !strings.Contains(out, "filing the dedup journal works again") || strings.Count(out, "filing the dedup journal failed") != 1 {
		t.Fatalf("want the recovery logged once after one warning:\n%s", out)
	}
}
