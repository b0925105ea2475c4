package bolt_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/storage/bolt"
)

// fill stores n events with a run of each rule, in batches, so that the file spans many
// pages.
func fill(t testing.TB, db *bolt.DB, n int, rules ...string) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < n; i += 100 {
		var evs []core.Pending
		for j := i; j < min(i+100, n); j++ {
			evs = append(evs, core.Pending{Event: core.Event{ID: fmt.Sprint("e", j), Source: "s", Type: "t", SpecVersion: "1.0",
				Data: json.RawMessage(`{"text":"` + strings.Repeat("x", 200) + `"}`)}, RuleIDs: rules})
		}
		if _, err := db.Pipeline().Accept(ctx, core.AcceptRequest{Tenant: "acme", Events: evs}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDamagedFileIsRefusedClearly: a truncated, overwritten or emptied file stops Open with
// an error that names the file and the way forward, and the file is left as it was.
func TestDamagedFileIsRefusedClearly(t *testing.T) {
	tests := []struct {
		name string
		// damage gets the file's size and the part of it in use.
		damage func(t *testing.T, path string, size, used int64)
		want   string
	}{
		{"truncated to half of its pages", func(t *testing.T, path string, size, used int64) {
			if err := os.Truncate(path, used/2); err != nil {
				t.Fatal(err)
			}
		}, "truncated"},
		{"cut inside the first page", func(t *testing.T, path string, size, used int64) {
			if err := os.Truncate(path, 100); err != nil {
				t.Fatal(err)
			}
		}, "truncated"},
		{"emptied", func(t *testing.T, path string, size, used int64) {
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
		}, "it is empty"},
		{"garbage from the start", func(t *testing.T, path string, size, used int64) {
			overwrite(t, path, 0, int(size))
		}, "no valid meta page"},
		{"garbage over data pages", func(t *testing.T, path string, size, used int64) {
			overwrite(t, path, 2*4096, 64*4096)
		}, "page"},
		{"not a database at all", func(t *testing.T, path string, size, used int64) {
			if err := os.WriteFile(path, []byte("events:\n  - hello\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "no valid meta page"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "aquahub.db")
			db, err := bolt.Open(bolt.Config{Path: path})
			if err != nil {
				t.Fatal(err)
			}
			fill(t, db, 2000, "r")
			used := db.BackupSize()
			db.Close()
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			tc.damage(t, path, st.Size(), used)
			before := digest(t, path)
			_, err = bolt.Open(bolt.Config{Path: path})
			if err == nil {
				t.Fatal("a damaged file opened")
			}
			if !errors.Is(err, bolt.ErrDamaged) {
				t.Errorf("error is not ErrDamaged: %v", err)
			}
			for _, want := range []string{path, tc.want, "aquahub backup", "bbolt check " + path} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not say %q:\n%v", want, err)
				}
			}
			if digest(t, path) != before {
				t.Error("opening changed the damaged file")
			}
			if err := bolt.CheckFile(path); !errors.Is(err, bolt.ErrDamaged) {
				t.Errorf("CheckFile: %v, want ErrDamaged", err)
			}
		})
	}
}

func overwrite(t *testing.T, path string, off, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	junk := make([]byte, n)
	r := rand.NewChaCha8([32]byte{1})
	r.Read(junk)
	if _, err := f.WriteAt(junk, int64(off)); err != nil {
		t.Fatal(err)
	}
}

func digest(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestBackupUnderLoad: a backup taken while writers accept events is a consistent file that
// passes `bbolt check` and opens with every event accepted before the backup began.
func TestBackupUnderLoad(t *testing.T) {
	dir := t.TempDir()
	db, err := bolt.Open(bolt.Config{Path: filepath.Join(dir, "aquahub.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fill(t, db, 1000, "r")
	written, stop := writeInBackground(t, db, 8, nil)
	for written.Load() < 50 {
		time.Sleep(time.Millisecond)
	}
	during := written.Load()
	var backups []string
	for i := range 3 {
		path := filepath.Join(dir, fmt.Sprint("backup-", i, ".db"))
		var buf bytes.Buffer
		want := db.BackupSize()
		n, err := db.Backup(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(buf.Len()) || n < want {
			t.Fatalf("backup wrote %d bytes, reported %d, size was %d", buf.Len(), n, want)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		backups = append(backups, path)
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if written.Load() <= during {
		t.Fatal("no event was written while the backups were taken")
	}
	for _, path := range backups {
		if err := bolt.CheckFile(path); err != nil {
			t.Fatalf("backup %s: %v", path, err)
		}
		b, err := bolt.Open(bolt.Config{Path: path})
		if err != nil {
			t.Fatalf("opening backup %s: %v", path, err)
		}
		if evs, err := b.Pipeline().Events(context.Background(), "acme", "e999", ""); err != nil || len(evs) != 1 {
			t.Errorf("backup %s lacks an event stored before it began: %v", path, err)
		}
		b.Close()
	}
}

// writeInBackground accepts events w<w>-<i>, each with a run of rule r, from writers
// goroutines until stop is called, which waits for them; after, when set, runs after each
// writer's accept i. written counts the accepts.
func writeInBackground(t *testing.T, db *bolt.DB, writers int, after func(i int) error) (written *atomic.Int64, stop func()) {
	t.Helper()
	written = new(atomic.Int64)
	var done atomic.Bool
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !done.Load(); i++ {
				_, err := db.Pipeline().Accept(context.Background(), core.AcceptRequest{Tenant: "acme", Events: []core.Pending{{
					Event: core.Event{ID: fmt.Sprint("w", w, "-", i), Source: "s", Type: "t", SpecVersion: "1.0"}, RuleIDs: []string{"r"}}}})
				if err != nil {
					t.Error(err)
					return
				}
				written.Add(1)
				if after != nil {
					if err := after(i); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	return written, func() {
		done.Store(true)
		wg.Wait()
	}
}

// TestBackupFileOfAClosedHub: with no hub running, the file is copied directly.
func TestBackupFileOfAClosedHub(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aquahub.db")
	db, err := bolt.Open(bolt.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, db, 100, "r")
	db.Close()
	var buf bytes.Buffer
	if _, err := bolt.BackupFile(path, &buf); err != nil {
		t.Fatal(err)
	}
	copyPath := path + ".copy"
	if err := os.WriteFile(copyPath, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := bolt.CheckFile(copyPath); err != nil {
		t.Fatal(err)
	}
}

// TestCompactReturnsSpace: after pruning, compacting gives the file back its free pages and
// keeps what was kept; it refuses a file a hub has open.
func TestCompactReturnsSpace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aquahub.db")
	db, err := bolt.Open(bolt.Config{Path: path, Retention: time.Hour, DedupWindow: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, db, 6000)
	acceptAt(t, db.Pipeline(), time.Now().Add(3*time.Hour), "kept")
	if n := prune(t, db, time.Now().Add(2*time.Hour)); n.Events != 6000 {
		t.Fatalf("pruned %+v", n)
	}
	defer bolt.SetLockTimeout(50 * time.Millisecond)()
	if _, err := bolt.Compact(path, ""); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("compacting a file in use: %v, want it refused as locked", err)
	}
	db.Close()
	res, err := bolt.Compact(path, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("compacted %d → %d bytes", res.Before, res.After)
	if res.After >= res.Before/2 {
		t.Fatalf("compacting after pruning went from %d to %d bytes", res.Before, res.After)
	}
	if st, _ := os.Stat(path); st.Size() != res.After {
		t.Fatalf("the file is %d bytes, Compact said %d", st.Size(), res.After)
	}
	db, err = bolt.Open(bolt.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if evs, err := db.Pipeline().Events(context.Background(), "acme", "kept", ""); err != nil || len(evs) != 1 {
		t.Fatalf("the kept event after compacting: %v", err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}
