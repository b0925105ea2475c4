package bolt

import (
	"errors"
	"fmt"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// handle is the bbolt file as the stores see it: bbolt's DB, whose Batch is replaced by the
// group commit below and whose Update keeps the dedup index's map of the journal in step
// with the file. View is bbolt's.
type handle struct {
	*bbolt.DB
	group *groupCommit
	idx   *dedupIndex
}

func newHandle(db *bbolt.DB, cfg Config) handle {
	h := handle{DB: db, idx: newDedupIndex()}
	h.group = newGroupCommit(h.Update, cfg.MaxBatchSize, cfg.MaxBatchDelay)
	return h
}

// Update runs fn in a write transaction, as bbolt's does, and then applies to the dedup
// index what fn journaled (or drops it, if the transaction did not commit). It holds the
// index's lock throughout, so the next transaction starts from the settled index; bbolt
// runs one write transaction at a time anyway.
func (h handle) Update(fn func(*bbolt.Tx) error) error {
	h.idx.mu.Lock()
	defer h.idx.mu.Unlock()
	ranAll := false
	err := h.DB.Update(func(tx *bbolt.Tx) error {
		err := fn(tx)
		ranAll = err == nil
		return err
	})
	h.idx.settle(err == nil, ranAll)
	return err
}

// Batch runs fn in a write transaction shared with the other writes waiting at the time, and
// returns once that transaction is on disk. fn may be called more than once (when another
// function of its group fails), so it must be idempotent and decide nothing outside tx.
func (h handle) Batch(fn func(*bbolt.Tx) error) error { return h.group.do(fn) }

// groupCommit gives concurrent writers one commit each time the file's single writer becomes
// free. bbolt's own DB.Batch closes a batch when a timer fires (MaxBatchDelay) or it holds
// MaxBatchSize calls, whether or not the writer is free: under load a batch then holds what
// arrived in one delay, waits behind the commit before it, and commits cost what they did
// for a fraction of the writes. Here the writes that arrive while a commit runs all join the
// next one, so a commit's cost is shared by as many writes as its duration brings, and an
// idle hub commits a lone write at once.
type groupCommit struct {
	update func(func(*bbolt.Tx) error) error
	// max is the most calls one commit holds; delay how long the first write of an idle
	// file waits for others.
	max   int
	delay time.Duration

	mu      sync.Mutex
	pending []*call
	running bool // a goroutine is committing; it takes pending when its commit is done
}

type call struct {
	fn  func(*bbolt.Tx) error
	err chan error
}

// errSolo tells a call that its function failed inside a group, which was committed without
// it; the call runs alone to get its own error.
var errSolo = errors.New("bolt: batch function failed in a group; run alone")

func newGroupCommit(update func(func(*bbolt.Tx) error) error, max int, delay time.Duration) *groupCommit {
	return &groupCommit{update: update, max: max, delay: delay}
}

func (g *groupCommit) do(fn func(*bbolt.Tx) error) error {
	c := &call{fn: fn, err: make(chan error, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, c)
	if !g.running {
		g.running = true
		go g.commitLoop()
	}
	g.mu.Unlock()
	err := <-c.err
	if err == errSolo {
		err = g.update(func(tx *bbolt.Tx) error { return safely(fn, tx) })
	}
	return err
}

// commitLoop commits the pending calls, max at a time, until none are left.
func (g *groupCommit) commitLoop() {
	if g.delay > 0 {
		time.Sleep(g.delay)
	}
	for {
		g.mu.Lock()
		n := min(len(g.pending), g.max)
		if n == 0 {
			g.running = false
			g.pending = nil
			g.mu.Unlock()
			return
		}
		calls := make([]*call, n)
		copy(calls, g.pending)
		g.pending = g.pending[n:]
		g.mu.Unlock()
		g.commit(calls)
	}
}

// commit runs calls in one transaction. A call whose function fails is taken out, told to
// run alone, and the rest run again in a new transaction (bbolt's DB.Batch does the same).
func (g *groupCommit) commit(calls []*call) {
	for len(calls) > 0 {
		failed := -1
		err := g.update(func(tx *bbolt.Tx) error {
			for i, c := range calls {
				if err := safely(c.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			for _, c := range calls {
				c.err <- err
			}
			return
		}
		calls[failed].err <- errSolo
		calls = append(calls[:failed], calls[failed+1:]...)
	}
}

// safely calls fn, turning a panic into an error so that one write cannot take down the
// others of its group.
func safely(fn func(*bbolt.Tx) error, tx *bbolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("bolt: write panicked: %v", p)
		}
	}()
	return fn(tx)
}
