package bolt

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/core"
)

// TestPreflightNeverPanics flips bytes of a small file, one place at a time, and checks it:
// whatever the damage, the check returns (an error or, for bytes no structure depends on,
// nothing) instead of failing the process.
func TestPreflightNeverPanics(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "aquahub.db")
	db, err := Open(Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	var evs []core.Pending
	for i := range 300 {
		evs = append(evs, core.Pending{Event: core.Event{ID: fmt.Sprint(i), Source: "s", Type: "t", SpecVersion: "1.0"}, RuleIDs: []string{"r"}})
	}
	if _, err := db.Pipeline().Accept(context.Background(), core.AcceptRequest{Tenant: "acme", Events: evs}); err != nil {
		t.Fatal(err)
	}
	used := db.BackupSize()
	db.Close()
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	good = good[:used]
	rnd := rand.New(rand.NewPCG(7, 11))
	found, refused := 0, 0
	for i := range 1500 {
		b := append([]byte(nil), good...)
		at := rnd.IntN(len(b))
		b[at] ^= byte(1 + rnd.IntN(255))
		// A file per change: an open that bbolt failed by panicking (recovered by openFile)
		// leaves that file's lock held in this process.
		damagedPath := filepath.Join(dir, fmt.Sprintf("damaged-%d.db", i))
		if err := os.WriteFile(damagedPath, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := preflight(damagedPath); err != nil {
			if !errors.Is(err, ErrDamaged) {
				t.Fatalf("byte %d changed: the check says %v, not ErrDamaged", at, err)
			}
			found++
			os.Remove(damagedPath)
			continue
		}
		// What the check passes, bbolt opens without failing the process; what it still
		// refuses is refused as damaged, naming the file.
		raw, err := openFile(damagedPath, false)
		switch {
		case err == nil:
			raw.Close()
		case !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), damagedPath):
			t.Fatalf("byte %d changed: open says %v, not ErrDamaged naming the file", at, err)
		default:
			refused++
		}
		os.Remove(damagedPath)
	}
	t.Logf("1500 single-byte changes: %d found by the check, %d more refused by bbolt, the rest in bytes no structure depends on (values, free space)", found, refused)
}
