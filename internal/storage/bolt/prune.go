package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/aquascene/aquahub/core"
	bbolt "go.etcd.io/bbolt"
)

// What is kept, and for how long (Config.Retention, Config.DedupWindow):
//
//   - a succeeded run and its ledger: Retention after it finished;
//   - a dead run: until it is replayed or discarded;
//   - an event: Retention after it was received, and then until no run of it is kept and
//     the webhook fan-out has read it; past that its body goes and a tombstone stays, so
//     that its dedup key can be found, until DedupWindow after it was received;
//   - an Idempotency-Key's answer: DedupWindow after its first use;
//   - a webhook message that succeeded or died: Retention after its last attempt, with the
//     step key that queued it;
//   - content, templates, endpoints, connector kv values: until deleted (they are what the
//     hub is for, not its history).
//
// The pruner finds what to delete without scanning what it keeps. Runs are keyed by
// time-ordered ids, so it walks each tenant's runs from a durable cursor up to the runs
// created before the cutoff; a run it passes that is not finished yet (queued, retrying,
// dead) is left behind the cursor, and if it later succeeds, Finish files it in runs.late
// by finish time. Events are walked the same way by sequence number, and tombstones by a
// second cursor. Deleting a run releases its event when no other run of it is kept.
var (
	bucketPrune     = []byte("prune")      // cursors and counters, see the keys below
	bucketRunsLate  = []byte("runs.late")  // be64(finished unix ns) tenant\0run id → empty
	bucketIdemTimes = []byte("idem.times") // be64(first use unix ns) tenant\0key → empty
)

var (
	keyEventsCursor = []byte("events.cursor") // be64: every event up to it was looked at
	keyDedupCursor  = []byte("dedup.cursor")  // be64: every tombstone up to it was looked at
	keyEventsGone   = []byte("events.gone")   // be64: events pruned since the file began
)

// runsCursorKey is the key of a tenant's runs cursor: the id of the last run looked at.
func runsCursorKey(tenant string) []byte { return append([]byte("runs\x00"), tenant...) }

func timeKey(t time.Time, rest []byte) []byte {
	return append(be64(uint64(max(t.UnixNano(), 0))), rest...)
}

func getU64(b *bbolt.Bucket, k []byte) uint64 {
	v, _ := readBE64(b.Get(k))
	return v
}

// Pruner deletes what is past retention, in the background, in small transactions. It is a
// core.Worker; Prune runs one pass.
type Pruner struct {
	d   *DB
	log *slog.Logger

	mu    sync.Mutex
	stats core.StorageStats
	// started is when Start ran; caughtUp when a pass last ended with nothing left.
	started, caughtUp time.Time

	stop chan struct{}
	done chan struct{}
}

var _ core.Worker = (*Pruner)(nil)

func newPruner(d *DB) *Pruner {
	return &Pruner{d: d, log: slog.New(slog.DiscardHandler)}
}

// Pruner returns the file's pruner; log receives a line for every pass that deleted
// something and for every failure.
func (d *DB) Pruner(log *slog.Logger) *Pruner {
	if log != nil {
		d.pruner.log = log
	}
	return d.pruner
}

// Start runs a pass now and then one every Config.PruneInterval until Stop.
func (p *Pruner) Start(ctx context.Context) error {
	if p.stop != nil {
		return errors.New("pruner already started")
	}
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	p.mu.Lock()
	p.started = time.Now()
	p.mu.Unlock()
	go p.loop()
	return nil
}

// Stop ends the background passes, waiting for the transaction in flight until ctx ends.
func (p *Pruner) Stop(ctx context.Context) error {
	if p.stop == nil {
		return nil
	}
	close(p.stop)
	select {
	case <-p.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	p.stop = nil
	return nil
}

func (p *Pruner) loop() {
	defer close(p.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-p.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		start := time.Now()
		n, err := p.Prune(ctx, start)
		switch {
		case errors.Is(err, context.Canceled):
			return
		case err != nil:
			p.log.Warn("pruning old data failed; the next pass retries", "err", err)
		case n.Total() > 0:
			p.log.Info("pruned data past retention", "runs", n.Runs, "events", n.Events, "dedup_keys", n.DedupKeys,
				"idempotency_keys", n.IdempotencyKeys, "webhook_messages", n.Deliveries, "took", time.Since(start).Round(time.Millisecond))
		}
		select {
		case <-p.stop:
			return
		case <-time.After(p.d.cfg.PruneInterval):
		}
	}
}

// errUnchanged rolls back a write transaction that wrote nothing (a pruning pass or a
// filing that found nothing to move, a consistency check), which then costs no commit.
var errUnchanged = errors.New("nothing written")

// step is one kind of pruning: it looks at up to budget items in tx and reports what it
// deleted, whether it wrote anything, and whether more is left.
type step func(tx *bbolt.Tx, budget int) (n core.PruneCounts, changed, more bool, err error)

// Prune deletes what is past retention at now, in transactions of Config.PruneBatch items,
// pausing between two for as long as the last one held the file, so that ingestion never
// waits for more than one small transaction. It returns what it deleted.
func (p *Pruner) Prune(ctx context.Context, now time.Time) (core.PruneCounts, error) {
	cfg := p.d.cfg
	runCut, dedupCut := now.Add(-cfg.Retention), now.Add(-cfg.DedupWindow)
	var total core.PruneCounts
	var deliveries deliveryWalk
	var fileUpTo uint64
	steps := []step{
		// The dedup keys the pruner reads and deletes are those filed in eventids; it files
		// the journal first, so that what is past retention is not left for the filer: the
		// journal as it was when the pass began, so that a steady stream of accepts cannot
		// keep the pass from going on.
		func(tx *bbolt.Tx, budget int) (core.PruneCounts, bool, bool, error) {
			if fileUpTo == 0 {
				fileUpTo = max(bucket(tx, bucketEvents).Sequence(), 1)
			}
			changed, more, err := fileJournal(tx, p.d.db.idx, budget, fileUpTo)
			return core.PruneCounts{}, changed, more, err
		},
		func(tx *bbolt.Tx, budget int) (core.PruneCounts, bool, bool, error) {
			return pruneRuns(tx, budget, runCut, dedupCut)
		},
		func(tx *bbolt.Tx, budget int) (core.PruneCounts, bool, bool, error) {
			return pruneLateRuns(tx, budget, runCut, dedupCut)
		},
		func(tx *bbolt.Tx, budget int) (core.PruneCounts, bool, bool, error) {
			return pruneEvents(tx, budget, runCut, dedupCut)
		},
		func(tx *bbolt.Tx, budget int) (core.PruneCounts, bool, bool, error) {
			return pruneTombstones(tx, budget, dedupCut)
		},
		func(tx *bbolt.Tx, budget int) (core.PruneCounts, bool, bool, error) {
			return pruneIdempotencyKeys(tx, budget, dedupCut)
		},
		func(tx *bbolt.Tx, budget int) (core.PruneCounts, bool, bool, error) {
			return deliveries.prune(tx, budget, runCut)
		},
	}
	var err error
	for _, s := range steps {
		if err = p.run(ctx, s, &total); err != nil {
			break
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.Pruned.Add(total)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			p.stats.PruneErrors++
		}
		return total, err
	}
	p.stats.LastPrune = time.Now()
	p.caughtUp = p.stats.LastPrune
	return total, nil
}

// run repeats one step in transactions of its own until it has nothing left.
func (p *Pruner) run(ctx context.Context, s step, total *core.PruneCounts) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var n core.PruneCounts
		var more bool
		start := time.Now()
		err := p.d.db.Update(func(tx *bbolt.Tx) error {
			var changed bool
			var err error
			n, changed, more, err = s(tx, p.d.cfg.PruneBatch)
			if err == nil && !changed {
				return errUnchanged
			}
			return err
		})
		if errors.Is(err, errUnchanged) {
			err = nil
		}
		if err != nil {
			return fmt.Errorf("pruning %s: %w", p.d.path, storageError(err))
		}
		total.Add(n)
		if !more {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(max(time.Since(start), time.Millisecond)):
		}
	}
}

// pruneRuns walks each tenant's runs from its cursor, deleting succeeded runs that finished
// before cut and filing in runs.late those that finished after it; it stops at the first
// run created at or after cut.
func pruneRuns(tx *bbolt.Tx, budget int, cut, dedupCut time.Time) (n core.PruneCounts, changed, more bool, err error) {
	runs, meta := bucket(tx, bucketRuns), tx.Bucket(bucketPrune)
	looked := 0
	var next []byte // the first key of the next tenant
	for {
		c := runs.Cursor()
		var k []byte
		if next == nil {
			k, _ = c.First()
		} else {
			k, _ = c.Seek(next)
		}
		if k == nil {
			return n, changed, false, nil
		}
		tenant, _, ok := splitKey(k)
		if !ok {
			next = append(bytes.Clone(k), 0)
			continue
		}
		next = append([]byte(tenant), 1)
		p := prefix(tenant)
		ck := runsCursorKey(tenant)
		var v []byte
		if last := meta.Get(ck); last != nil {
			k, v = c.Seek(key(tenant, string(last)))
			if k != nil && bytes.Equal(k, key(tenant, string(last))) {
				k, v = c.Next()
			}
		} else {
			k, v = c.Seek(p)
		}
		var expired []core.Run
		var lastID string
		for ; k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			if looked >= budget {
				more = true
				break
			}
			run, err := decodeRun(k, v)
			if err != nil {
				return n, changed, more, err
			}
			if !run.CreatedAt.Before(cut) {
				break
			}
			looked++
			lastID = run.ID
			if run.Status != core.RunSucceeded {
				continue
			}
			if run.FinishedAt.Before(cut) {
				expired = append(expired, run)
			} else if err := tx.Bucket(bucketRunsLate).Put(timeKey(run.FinishedAt, key(run.Tenant, run.ID)), nil); err != nil {
				return n, changed, more, err
			}
		}
		for i := range expired {
			if err := deleteRun(tx, &expired[i], dedupCut, &n); err != nil {
				return n, changed, more, err
			}
		}
		if lastID != "" {
			changed = true
			if err := meta.Put(ck, []byte(lastID)); err != nil {
				return n, changed, more, err
			}
		}
		if more {
			return n, changed, more, nil
		}
	}
}

// pruneLateRuns deletes the runs filed in runs.late that finished before cut.
func pruneLateRuns(tx *bbolt.Tx, budget int, cut, dedupCut time.Time) (n core.PruneCounts, changed, more bool, err error) {
	late := tx.Bucket(bucketRunsLate)
	var keys [][]byte
	c := late.Cursor()
	limit := uint64(max(cut.UnixNano(), 0))
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if at, ok := readBE64(k[:min(8, len(k))]); ok && at >= limit {
			break
		}
		if len(keys) >= budget {
			more = true
			break
		}
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		changed = true
		if err := late.Delete(k); err != nil {
			return n, changed, more, err
		}
		if len(k) < 8 {
			continue
		}
		tenant, id, ok := splitKey(k[8:])
		if !ok {
			continue
		}
		rk := key(tenant, id)
		v := tx.Bucket(bucketRuns).Get(rk)
		if v == nil {
			continue
		}
		run, err := decodeRun(rk, v)
		if err != nil {
			return n, changed, more, err
		}
		if run.Status == core.RunSucceeded {
			if err := deleteRun(tx, &run, dedupCut, &n); err != nil {
				return n, changed, more, err
			}
		}
	}
	return n, changed, more, nil
}

// deleteRun deletes a run with its ledger and releases its event.
func deleteRun(tx *bbolt.Tx, run *core.Run, dedupCut time.Time, n *core.PruneCounts) error {
	if err := bucket(tx, bucketRuns).Delete(key(run.Tenant, run.ID)); err != nil {
		return err
	}
	if err := deletePrefix(bucket(tx, bucketLedger), prefix(run.Tenant, run.ID)); err != nil {
		return err
	}
	n.Runs++
	return releaseEvent(tx, run.EventSeq, dedupCut, n)
}

// releaseEvent prunes the event seq once none of its runs is kept, if the pruner has
// already passed it (behind the events cursor): a tombstone replaces it, or nothing when its
// dedup key is past the window too (received before dedupCut, or behind the dedup cursor).
// An event the pruner has not reached yet is left for it. dedupCut may be zero (unknown).
func releaseEvent(tx *bbolt.Tx, seq uint64, dedupCut time.Time, n *core.PruneCounts) error {
	meta := tx.Bucket(bucketPrune)
	if seq > getU64(meta, keyEventsCursor) {
		return nil
	}
	events := bucket(tx, bucketEvents)
	k := be64(seq)
	v := events.Get(k)
	if v == nil {
		return nil
	}
	ev, live, err := decodeEvent(k, v)
	if err != nil || !live {
		return err
	}
	held, err := eventHeld(tx, &ev)
	if err != nil || held {
		return err
	}
	if seq <= getU64(meta, keyDedupCursor) || ev.ReceivedAt.Before(dedupCut) {
		if err := events.Delete(k); err != nil {
			return err
		}
		if err := tx.Bucket(bucketEventIDs).Delete(key(ev.Tenant, ev.ID, ev.Source)); err != nil {
			return err
		}
		n.DedupKeys++
	} else if err := events.Put(k, encodeTombstone(&ev)); err != nil {
		return err
	}
	n.Events++
	return meta.Put(keyEventsGone, be64(getU64(meta, keyEventsGone)+1))
}

// eventHeld reports whether a run of ev is kept.
func eventHeld(tx *bbolt.Tx, ev *core.Event) (bool, error) {
	dk := key(ev.Tenant, ev.ID, ev.Source)
	v := tx.Bucket(bucketEventIDs).Get(dk)
	if v == nil {
		return false, nil
	}
	acc, err := decodeDedup(dk, v)
	if err != nil {
		return false, err
	}
	// The dedup key of (tenant, source, id) names the runs of the event stored under it;
	// another event with the same key would have been a duplicate and not stored.
	if acc.Seq != ev.Seq {
		return false, nil
	}
	runs := tx.Bucket(bucketRuns)
	for _, id := range acc.Runs {
		if runs.Get(key(ev.Tenant, id)) != nil {
			return true, nil
		}
	}
	return false, nil
}

// fanOutCursor is the sequence number of the last event the webhook fan-out read; ok is
// false when it never ran on this file.
func fanOutCursor(tx *bbolt.Tx) (uint64, bool) {
	return readBE64(tx.Bucket(bucketWebhookMeta).Get(keyFanOutCursor))
}

// pruneEvents walks the events after the events cursor that were received before cut and
// that the webhook fan-out has read, releasing those no run needs.
func pruneEvents(tx *bbolt.Tx, budget int, cut, dedupCut time.Time) (n core.PruneCounts, changed, more bool, err error) {
	meta := tx.Bucket(bucketPrune)
	cursor := getU64(meta, keyEventsCursor)
	fan, hasFan := fanOutCursor(tx)
	journaled, hasJournal := journalStart(tx)
	var seqs []uint64
	c := tx.Bucket(bucketEvents).Cursor()
	for k, v := c.Seek(be64(cursor + 1)); k != nil; k, v = c.Next() {
		if len(seqs) >= budget {
			more = true
			break
		}
		seq, _ := readBE64(k)
		if (hasFan && seq > fan) || (hasJournal && seq >= journaled) {
			break
		}
		ev, _, err := decodeEvent(k, v)
		if err != nil {
			return n, changed, more, err
		}
		if !ev.ReceivedAt.Before(cut) {
			break
		}
		seqs = append(seqs, seq)
	}
	if len(seqs) == 0 {
		return n, false, false, nil
	}
	if err := meta.Put(keyEventsCursor, be64(seqs[len(seqs)-1])); err != nil {
		return n, true, more, err
	}
	for _, seq := range seqs {
		if err := releaseEvent(tx, seq, dedupCut, &n); err != nil {
			return n, true, more, err
		}
	}
	return n, true, more, nil
}

// pruneTombstones walks the events after the dedup cursor, up to the events cursor, that
// were received before dedupCut, deleting tombstones with their dedup keys.
func pruneTombstones(tx *bbolt.Tx, budget int, dedupCut time.Time) (n core.PruneCounts, changed, more bool, err error) {
	meta := tx.Bucket(bucketPrune)
	cursor, upTo := getU64(meta, keyDedupCursor), getU64(meta, keyEventsCursor)
	events := bucket(tx, bucketEvents)
	var last uint64
	var gone []core.Event
	looked := 0
	c := events.Cursor()
	for k, v := c.Seek(be64(cursor + 1)); k != nil; k, v = c.Next() {
		if looked >= budget {
			more = true
			break
		}
		seq, _ := readBE64(k)
		if seq > upTo {
			break
		}
		ev, live, err := decodeEvent(k, v)
		if err != nil {
			return n, changed, more, err
		}
		if !ev.ReceivedAt.Before(dedupCut) {
			break
		}
		looked++
		last = seq
		if !live {
			gone = append(gone, ev)
		}
	}
	if looked == 0 {
		return n, false, false, nil
	}
	for _, ev := range gone {
		if err := events.Delete(be64(ev.Seq)); err != nil {
			return n, true, more, err
		}
		if err := tx.Bucket(bucketEventIDs).Delete(key(ev.Tenant, ev.ID, ev.Source)); err != nil {
			return n, true, more, err
		}
		n.DedupKeys++
	}
	return n, true, more, meta.Put(keyDedupCursor, be64(last))
}

// pruneIdempotencyKeys deletes the Idempotency-Key answers first given before cut.
func pruneIdempotencyKeys(tx *bbolt.Tx, budget int, cut time.Time) (n core.PruneCounts, changed, more bool, err error) {
	times := tx.Bucket(bucketIdemTimes)
	limit := uint64(max(cut.UnixNano(), 0))
	var keys [][]byte
	c := times.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if at, ok := readBE64(k[:min(8, len(k))]); ok && at >= limit {
			break
		}
		if len(keys) >= budget {
			more = true
			break
		}
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := times.Delete(k); err != nil {
			return n, true, more, err
		}
		if len(k) > 8 && tx.Bucket(bucketIdem).Get(k[8:]) != nil {
			if err := tx.Bucket(bucketIdem).Delete(k[8:]); err != nil {
				return n, true, more, err
			}
			n.IdempotencyKeys++
		}
	}
	return n, len(keys) > 0, more, nil
}

// deliveryWalk prunes webhook messages that succeeded or died before the cutoff. Message ids
// grow with time per endpoint, so each endpoint's messages are read from the oldest until
// one created after the cutoff; the few older ones still pending are passed over, and after
// is where the next transaction of the same pass resumes.
type deliveryWalk struct {
	after []byte
}

// deliveryAge is the part of a stored webhook message the pruner reads.
type deliveryAge struct {
	State     string    `json:"state"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	StepKey   string    `json:"step_key"`
}

func (w *deliveryWalk) prune(tx *bbolt.Tx, budget int, cut time.Time) (n core.PruneCounts, changed, more bool, err error) {
	b := tx.Bucket(bucketWebhookDeliveries)
	c := b.Cursor()
	var k, v []byte
	if w.after == nil {
		k, v = c.First()
	} else {
		k, v = c.Seek(w.after)
		if k != nil && bytes.Equal(k, w.after) {
			k, v = c.Next()
		}
	}
	type old struct{ tenant, endpoint, id, stepKey string }
	var gone []old
	looked := 0
	for k != nil {
		if looked >= budget {
			more = true
			break
		}
		looked++
		w.after = bytes.Clone(k)
		tenant, rest, ok1 := splitKey(k)
		endpoint, id, ok2 := splitKey([]byte(rest))
		if !ok1 || !ok2 {
			k, v = c.Next()
			continue
		}
		var r deliveryAge
		if err := json.Unmarshal(v, &r); err != nil {
			return n, changed, more, fmt.Errorf("decoding webhook message %q: %w", k, err)
		}
		if !r.CreatedAt.Before(cut) {
			// Every later message of this endpoint is newer: go to the next endpoint.
			k, v = c.Seek(append(key(tenant, endpoint), 1))
			continue
		}
		if (r.State == "succeeded" || r.State == "dead") && r.UpdatedAt.Before(cut) {
			gone = append(gone, old{tenant, endpoint, id, r.StepKey})
		}
		k, v = c.Next()
	}
	if !more {
		w.after = nil
	}
	wt := webhookTx{tx: tx}
	for _, g := range gone {
		if err := wt.DeleteDelivery(g.tenant, g.endpoint, g.id); err != nil {
			return n, true, more, err
		}
		if g.stepKey != "" {
			if err := tx.Bucket(bucketWebhookStepKeys).Delete(key(g.tenant, g.stepKey)); err != nil {
				return n, true, more, err
			}
		}
		n.Deliveries++
	}
	return n, len(gone) > 0, more, nil
}

// noteFinished files a run that succeeded behind its tenant's runs cursor in runs.late, so
// that the pruner, which has passed it, still finds it. Finish calls it in its transaction
// for a succeeded run.
func noteFinished(tx *bbolt.Tx, run *core.Run) error {
	last := tx.Bucket(bucketPrune).Get(runsCursorKey(run.Tenant))
	if last == nil || run.ID > string(last) {
		return nil
	}
	return tx.Bucket(bucketRunsLate).Put(timeKey(run.FinishedAt, key(run.Tenant, run.ID)), nil)
}

// StorageStats reports the file's size and use, the events kept and the pruner's progress.
func (d *DB) StorageStats() core.StorageStats {
	p := d.pruner
	p.mu.Lock()
	st := p.stats
	if !p.started.IsZero() {
		since := p.started
		if p.caughtUp.After(since) {
			since = p.caughtUp
		}
		st.PruneLag = time.Since(since)
	}
	p.mu.Unlock()
	st.DedupJournal, st.DedupFileErrors = d.db.idx.size.Load(), d.db.idx.fileErrors.Load()
	if fi, err := os.Stat(d.path); err == nil {
		st.FileBytes = fi.Size()
	}
	_ = d.db.View(func(tx *bbolt.Tx) error {
		free := d.db.Stats()
		st.HighWaterBytes = tx.Size()
		st.UsedBytes = tx.Size() - int64(free.FreePageN+free.PendingPageN)*int64(d.db.Info().PageSize)
		seq := tx.Bucket(bucketEvents).Sequence()
		st.Events = int64(seq - min(seq, getU64(tx.Bucket(bucketPrune), keyEventsGone)))
		return nil
	})
	return st
}
