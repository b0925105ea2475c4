package bolt

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	bbolt "go.etcd.io/bbolt"
)

// TestPruningFilesTheJournalAsItWasWhenThePassBegan checks the bound that keeps a pruning
// pass from chasing a journal that accepts keep growing: it files the events up to upTo,
// then says nothing more is left.
func TestPruningFilesTheJournalAsItWasWhenThePassBegan(t *testing.T) {
	db, err := Open(Config{Path: filepath.Join(t.TempDir(), "aquahub.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.filer.close()
	db.filer = nil
	for i := range 10 {
		p := core.Pending{Event: core.Event{ID: fmt.Sprint(i), Source: "s", Type: "t", SpecVersion: "1.0"}}
		if _, err := db.Pipeline().Accept(t.Context(), core.AcceptRequest{Tenant: "acme", Events: []core.Pending{p}, Now: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	var changed, more bool
	err = db.db.Update(func(tx *bbolt.Tx) error {
		changed, more, err = fileJournal(tx, db.db.idx, 3, 6)
		return err
	})
	if err != nil || !changed || !more {
		t.Fatalf("first filing up to #6, 3 keys: changed %v, more %v, %v; want true, true", changed, more, err)
	}
	err = db.db.Update(func(tx *bbolt.Tx) error {
		changed, more, err = fileJournal(tx, db.db.idx, 100, 6)
		return err
	})
	if err != nil || !changed || more {
		t.Fatalf("second filing up to #6: changed %v, more %v, %v; want true, false", changed, more, err)
	}
	journaled, filed, err := DedupKeys(db)
	if err != nil || journaled != 4 || filed != 6 {
		t.Fatalf("%d journaled, %d filed (%v); want 4 and 6", journaled, filed, err)
	}
	if n := db.db.idx.size.Load(); n != 4 {
		t.Fatalf("the writer's map holds %d keys, want 4", n)
	}
}
