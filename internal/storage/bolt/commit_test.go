package bolt

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"
)

func openGroup(t *testing.T, max int) (*bbolt.DB, *groupCommit) {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "g.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Update(func(tx *bbolt.Tx) error { _, err := tx.CreateBucket([]byte("b")); return err }); err != nil {
		t.Fatal(err)
	}
	return db, newGroupCommit(db.Update, max, 0)
}

func put(k string) func(*bbolt.Tx) error {
	return func(tx *bbolt.Tx) error { return tx.Bucket([]byte("b")).Put([]byte(k), []byte("v")) }
}

func stored(t *testing.T, db *bbolt.DB) []string {
	t.Helper()
	var keys []string
	db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("b")).ForEach(func(k, _ []byte) error { keys = append(keys, string(k)); return nil })
	})
	return keys
}

// holdWriter takes the file's write lock until the returned function is called, so that
// writes queue behind a commit the way they do under load. A test that fails first still
// lets go of the lock, before the file is closed.
func holdWriter(t *testing.T, db *bbolt.DB) (release func()) {
	t.Helper()
	held, done := make(chan struct{}), make(chan struct{})
	go db.Update(func(*bbolt.Tx) error { close(held); <-done; return nil })
	<-held
	release = sync.OnceFunc(func() { close(done) })
	t.Cleanup(release)
	return release
}

// queued waits until the commit loop runs (it has taken the first write) and n writes wait
// in g behind it. Seeing no write pending is not enough on its own: the first write's
// goroutine may not have queued yet.
func queued(t *testing.T, g *groupCommit, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		g.mu.Lock()
		running, got := g.running, len(g.pending)
		g.mu.Unlock()
		if running && got == n {
			return
		}
	}
	t.Fatalf("%d writes never queued behind a running commit", n)
}

// commitsOf counts the transactions the writes ran in.
type commitsOf struct {
	mu  sync.Mutex
	txs map[*bbolt.Tx]int
}

func (c *commitsOf) wrap(fn func(*bbolt.Tx) error) func(*bbolt.Tx) error {
	return func(tx *bbolt.Tx) error {
		c.mu.Lock()
		if c.txs == nil {
			c.txs = map[*bbolt.Tx]int{}
		}
		c.txs[tx]++
		c.mu.Unlock()
		return fn(tx)
	}
}

func TestWritesArrivingDuringACommitShareTheNext(t *testing.T) {
	db, g := openGroup(t, 1000)
	release := holdWriter(t, db)
	var c commitsOf
	var wg sync.WaitGroup
	errs := make(chan error, 11)
	write := func(k string) {
		defer wg.Done()
		errs <- g.do(c.wrap(put(k)))
	}
	wg.Add(1)
	go write("first") // starts the commit loop, which waits for the held lock
	queued(t, g, 0)
	for i := range 10 {
		wg.Add(1)
		go write(fmt.Sprintf("k%02d", i))
	}
	queued(t, g, 10)
	release()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := len(stored(t, db)); got != 11 {
		t.Fatalf("%d keys stored, want 11", got)
	}
	if len(c.txs) != 2 {
		t.Fatalf("11 writes ran in %d transactions, want 2: the first alone, the ten that queued behind it together", len(c.txs))
	}
}

func TestAGroupHoldsAtMostMaxWrites(t *testing.T) {
	db, g := openGroup(t, 4)
	release := holdWriter(t, db)
	var c commitsOf
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); g.do(c.wrap(put("first"))) }()
	queued(t, g, 0)
	for i := range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); g.do(c.wrap(put(fmt.Sprint(i)))) }()
	}
	queued(t, g, 10)
	release()
	wg.Wait()
	if len(c.txs) != 4 { // first, then 4 + 4 + 2
		t.Fatalf("11 writes with at most 4 per commit ran in %d transactions, want 4", len(c.txs))
	}
	for tx, n := range c.txs {
		if n > 4 {
			t.Fatalf("a transaction %p ran %d writes, more than 4", tx, n)
		}
	}
}

func TestAFailingWriteGetsItsOwnErrorAndTheOthersCommit(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name    string
		fail    func(*bbolt.Tx) error
		wantErr string
	}{
		{"error", func(*bbolt.Tx) error { return boom }, "boom"},
		{"panic", func(*bbolt.Tx) error { panic("bad write") }, "write panicked: bad write"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, g := openGroup(t, 1000)
			release := holdWriter(t, db)
			var wg sync.WaitGroup
			results := make([]error, 6)
			wg.Add(1)
			go func() { defer wg.Done(); results[0] = g.do(put("first")) }()
			queued(t, g, 0)
			for i := 1; i < 6; i++ {
				fn := put(fmt.Sprint(i))
				if i == 3 {
					fn = func(tx *bbolt.Tx) error { put("from-the-failing-write")(tx); return tc.fail(tx) }
				}
				wg.Add(1)
				go func() { defer wg.Done(); results[i] = g.do(fn) }()
				queued(t, g, i)
			}
			release()
			wg.Wait()
			for i, err := range results {
				switch {
				case i == 3 && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
					t.Errorf("the failing write got %v, want an error with %q", err, tc.wantErr)
				case i != 3 && err != nil:
					t.Errorf("write %d got %v, want nil: another write's failure is not its own", i, err)
				}
			}
			got := strings.Join(stored(t, db), " ")
			if got != "1 2 4 5 first" {
				t.Fatalf("stored %q, want every write but the failing one, and nothing of it", got)
			}
		})
	}
}

// TestWritesOneAtATimeEachCommit: with no write waiting behind it, each commit ends the
// committing goroutine, and the next lone write starts another.
func TestWritesOneAtATimeEachCommit(t *testing.T) {
	db, g := openGroup(t, 1000)
	for i := range 3 {
		if err := g.do(put(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(stored(t, db)); got != 3 {
		t.Fatalf("%d keys stored, want 3", got)
	}
}
