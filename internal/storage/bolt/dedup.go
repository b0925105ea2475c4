package bolt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// The dedup index (eventids) files every event under tenant\0id\0source. Those keys are
// random, so filing each one as its event is accepted dirties a leaf of the index per event
// inside the commit every accept waits for: about two thirds of an ingest commit's pages
// (docs/performance.md, finding 19). So an accept files its key in a journal instead,
// eventids.new, under the event's sequence number: an append, which costs one page for the
// whole commit. A filer moves the journal into eventids in the background, in sorted
// transactions: the index's leaves are then written off the path every accept waits for,
// many in one commit and its two flushes, and keys that share a leaf cost it once. Until
// then the keys are held in memory (rebuilt from the journal at open), so a duplicate is
// found in the same commit as before and what deduplication guarantees does not change: a key is in eventids or in the journal, never
// both, and the journal is in the same file, so backup and compact copy it with the rest.
var bucketEventIDsNew = []byte("eventids.new")

const (
	// fileDelay is how long the filer lets the journal grow after its first new key before it
	// files it: the longer, the more keys share each leaf of eventids it writes.
	fileDelay = 500 * time.Millisecond
	// fileChunk is the most keys one filing transaction moves, bounding how long it holds
	// the writer: in alternating `bench ingest` runs, 1,024 kept the p99 at 17 ms where
	// 8,192 let it reach 19–21 ms, at the same throughput.
	fileChunk = 1024
)

// dedupIndex is what the writer knows of the journal: the key of every entry in the last
// committed state, and the changes of the write transaction in progress. Write transactions
// run one at a time (handle.Update holds mu for each), so only the writer touches it.
type dedupIndex struct {
	mu sync.Mutex
	// journal maps the keys in eventids.new to their sequence numbers, as last committed.
	journal map[string]uint64
	// tx is the write transaction that added and removed since its start; its changes are
	// applied to journal when it commits and dropped when it rolls back.
	tx      *bbolt.Tx
	added   map[string]uint64
	removed map[string]bool
	// stale says the journal map may not match the file (a commit failed after its
	// functions had run), so the next transaction reads it again from the file.
	stale bool
	// size is len(journal), readable without mu.
	size atomic.Int64
	// kick wakes the filer when a commit added keys.
	kick chan struct{}
	// fileErrors counts failed filings.
	fileErrors atomic.Int64
}

func newDedupIndex() *dedupIndex {
	// Stale until the first write transaction reads the journal from the file.
	return &dedupIndex{journal: map[string]uint64{}, stale: true, kick: make(chan struct{}, 1)}
}

// begin makes the index follow tx, reading the journal from the file when it may be stale.
func (ix *dedupIndex) begin(tx *bbolt.Tx) error {
	if ix.tx == tx {
		return nil
	}
	ix.tx, ix.added, ix.removed = tx, nil, nil
	if !ix.stale {
		return nil
	}
	m, err := readJournal(tx)
	if err != nil {
		return err
	}
	ix.journal, ix.stale = m, false
	ix.size.Store(int64(len(m)))
	return nil
}

// lookup returns the sequence number under which the journal in tx holds k.
func (ix *dedupIndex) lookup(tx *bbolt.Tx, k []byte) (uint64, bool, error) {
	if err := ix.begin(tx); err != nil {
		return 0, false, err
	}
	if seq, ok := ix.added[string(k)]; ok {
		return seq, true, nil
	}
	if ix.removed[string(k)] {
		return 0, false, nil
	}
	seq, ok := ix.journal[string(k)]
	return seq, ok, nil
}

// add journals the dedup record rec of the event seq under k in tx.
func (ix *dedupIndex) add(tx *bbolt.Tx, k []byte, seq uint64, rec []byte) error {
	if err := ix.begin(tx); err != nil {
		return err
	}
	v := binary.AppendUvarint(make([]byte, 0, binary.MaxVarintLen64+len(k)+len(rec)), uint64(len(k)))
	v = append(append(v, k...), rec...)
	if err := tx.Bucket(bucketEventIDsNew).Put(be64(seq), v); err != nil {
		return err
	}
	if ix.added == nil {
		ix.added = map[string]uint64{}
	}
	ix.added[string(k)] = seq
	return nil
}

// remove notes that tx deleted k's journal entry.
func (ix *dedupIndex) remove(tx *bbolt.Tx, k []byte) error {
	if err := ix.begin(tx); err != nil {
		return err
	}
	if _, ok := ix.added[string(k)]; ok {
		delete(ix.added, string(k))
		return nil
	}
	if ix.removed == nil {
		ix.removed = map[string]bool{}
	}
	ix.removed[string(k)] = true
	return nil
}

// settle ends the transaction the index followed: committed, its changes join the journal
// map; otherwise they are dropped, and if its functions had all run (the commit itself
// failed) the map is read again from the file before it is next used, since a failed
// commit may still have reached the file.
func (ix *dedupIndex) settle(committed, ranAll bool) {
	if ix.tx == nil {
		return
	}
	changed := len(ix.added) > 0 || len(ix.removed) > 0
	switch {
	case committed:
		for k := range ix.removed {
			delete(ix.journal, k)
		}
		for k, seq := range ix.added {
			ix.journal[k] = seq
		}
		ix.size.Store(int64(len(ix.journal)))
		if len(ix.added) > 0 {
			ix.wake()
		}
	case ranAll && changed:
		ix.stale = true
	}
	ix.tx, ix.added, ix.removed = nil, nil, nil
}

// wake tells the filer there are keys to file, unless it has been told already.
func (ix *dedupIndex) wake() {
	select {
	case ix.kick <- struct{}{}:
	default:
	}
}

// readJournal maps the keys of the journal in tx to their sequence numbers.
func readJournal(tx *bbolt.Tx) (map[string]uint64, error) {
	m := map[string]uint64{}
	err := tx.Bucket(bucketEventIDsNew).ForEach(func(k, v []byte) error {
		seq, _ := readBE64(k)
		dk, _, err := decodeJournal(k, v)
		m[string(dk)] = seq
		return err
	})
	return m, err
}

// decodeJournal splits a journal entry into its dedup key and dedup record.
func decodeJournal(k, v []byte) (dk, rec []byte, err error) {
	n, w := binary.Uvarint(v)
	if w <= 0 || uint64(len(v)-w) < n {
		return nil, nil, fmt.Errorf("decoding dedup journal entry %x: truncated", k)
	}
	return v[w : w+int(n)], v[w+int(n):], nil
}

// dedupGet returns the dedup record under k in tx, filed or journaled, or nil.
func dedupGet(tx *bbolt.Tx, ix *dedupIndex, k []byte) ([]byte, error) {
	if v := tx.Bucket(bucketEventIDs).Get(k); v != nil {
		return v, nil
	}
	seq, ok, err := ix.lookup(tx, k)
	if err != nil || !ok {
		return nil, err
	}
	v := tx.Bucket(bucketEventIDsNew).Get(be64(seq))
	if v == nil {
		return nil, fmt.Errorf("dedup journal: entry #%d of %q is missing", seq, k)
	}
	dk, rec, err := decodeJournal(be64(seq), v)
	if err == nil && !bytes.Equal(dk, k) {
		err = fmt.Errorf("dedup journal: entry #%d holds %q, not %q", seq, dk, k)
	}
	return rec, err
}

// scanDedup calls fn with every dedup key in tx starting with p and its record, those filed
// in key order, then those journaled in the order they were accepted. It reads the journal
// of tx itself, not the writer's map, so a reader sees one state of both.
func scanDedup(tx *bbolt.Tx, p []byte, fn func(k, v []byte) error) error {
	c := tx.Bucket(bucketEventIDs).Cursor()
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketEventIDsNew).ForEach(func(k, v []byte) error {
		dk, rec, err := decodeJournal(k, v)
		if err != nil || !bytes.HasPrefix(dk, p) {
			return err
		}
		return fn(dk, rec)
	})
}

// fileJournal moves up to budget of the oldest journal entries into eventids, in key
// order, those of events up to upTo (all when upTo is 0). It reports whether it moved any
// and whether more are left.
func fileJournal(tx *bbolt.Tx, ix *dedupIndex, budget int, upTo uint64) (changed, more bool, err error) {
	type entry struct{ seq, dk, rec []byte }
	var entries []entry
	c := tx.Bucket(bucketEventIDsNew).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if seq, _ := readBE64(k); upTo > 0 && seq > upTo {
			break
		}
		if len(entries) >= budget {
			more = true
			break
		}
		dk, rec, err := decodeJournal(k, v)
		if err != nil {
			return false, false, err
		}
		entries = append(entries, entry{k, dk, rec})
	}
	if len(entries) == 0 {
		return false, false, nil
	}
	ids := tx.Bucket(bucketEventIDs)
	// A filing inserts in key order, so leaves it splits can be left nine tenths full rather
	// than half: `bench pipeline` stores 850 bytes per event against 920 at bbolt's
	// default, at the same throughput.
	ids.FillPercent = 0.9
	byKey := slices.SortedFunc(slices.Values(entries), func(a, b entry) int { return bytes.Compare(a.dk, b.dk) })
	for _, e := range byKey {
		if err := ids.Put(e.dk, e.rec); err != nil {
			return true, more, err
		}
	}
	// entries are the journal's oldest, in order, so the deletes empty its start.
	j := tx.Bucket(bucketEventIDsNew)
	for _, e := range entries {
		if err := j.Delete(e.seq); err != nil {
			return true, more, err
		}
		if err := ix.remove(tx, e.dk); err != nil {
			return true, more, err
		}
	}
	return true, more, nil
}

// journalStart is the sequence number of the oldest event whose dedup key is still in the
// journal; ok is false when the journal is empty. The pruner leaves such events alone,
// since it reads their runs and deletes their keys in eventids.
func journalStart(tx *bbolt.Tx) (seq uint64, ok bool) {
	k, _ := tx.Bucket(bucketEventIDsNew).Cursor().First()
	if k == nil {
		return 0, false
	}
	return readBE64(k)
}

// filer files the journal in the background: fileDelay after a commit added keys, all of
// it, fileChunk keys a transaction.
type filer struct {
	d    *DB
	log  *slog.Logger
	stop chan struct{}
	done chan struct{}
	// failing says the last filing failed, so that a lasting fault is logged once when it
	// begins and once when it ends, not at every attempt.
	failing bool
	// fault, set only by tests, fails each filing transaction after its work, as a full disk
	// would at its commit.
	fault atomic.Pointer[error]
}

func startFiler(d *DB, log *slog.Logger) *filer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := &filer{d: d, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	go f.loop()
	return f
}

func (f *filer) loop() {
	defer close(f.done)
	ix := f.d.db.idx
	for {
		select {
		case <-f.stop:
			return
		case <-ix.kick:
		}
		select {
		case <-f.stop:
			return
		case <-time.After(fileDelay):
		}
		f.report(f.fileAll())
	}
}

// report counts and logs a failed filing, and logs the first success after failures. The
// keys of a failed filing stay journaled and found; the next commit that adds keys, or the
// next pruning pass, tries again.
func (f *filer) report(err error) {
	ix := f.d.db.idx
	switch {
	case err != nil:
		ix.fileErrors.Add(1)
		if !f.failing {
			f.log.Warn("filing the dedup journal failed; its keys stay journaled and are still found, and filing is retried",
				"err", err, "journaled_keys", ix.size.Load())
		}
		f.failing = true
	case f.failing:
		f.log.Info("filing the dedup journal works again", "failed_filings", ix.fileErrors.Load())
		f.failing = false
	}
}

// fileAll files the journal in transactions of fileChunk keys until it is empty.
func (f *filer) fileAll() error {
	for {
		select {
		case <-f.stop:
			return nil
		default:
		}
		var more bool
		err := f.d.db.Update(func(tx *bbolt.Tx) error {
			var changed bool
			var err error
			changed, more, err = fileJournal(tx, f.d.db.idx, fileChunk, 0)
			switch fault := f.fault.Load(); {
			case err == nil && !changed:
				return errUnchanged
			case err == nil && fault != nil:
				return *fault
			}
			return err
		})
		if errors.Is(err, errUnchanged) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", f.d.path, storageError(err))
		}
		if !more {
			return nil
		}
	}
}

// close stops the filer and waits for it; what it did not file stays in the journal.
func (f *filer) close() {
	close(f.stop)
	<-f.done
}
