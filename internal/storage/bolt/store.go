package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/google/uuid"
	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

var (
	bucketEvents   = []byte("events")
	bucketEventIDs = []byte("eventids")
	bucketIdem     = []byte("idem")
	bucketRuns     = []byte("runs")
	bucketQueue    = []byte("queue")
	bucketLeases   = []byte("leases")
	bucketLedger   = []byte("ledger")
	bucketDLQ      = []byte("dlq")
)

// Options tunes the store. The zero value is usable.
type Options struct {
	// Timeout bounds the wait for the file lock held by another process (default 5s; bbolt's
	// own default of 0 waits forever).
	Timeout time.Duration
	// MaxBatchSize is how many concurrent writes share one commit (default 64). Set it near
	// the number of concurrent writers: a batch that never fills waits MaxBatchDelay.
	MaxBatchSize int
	// MaxBatchDelay is how long a batch waits for company before committing (default 2ms).
	// Longer raises throughput under load and latency when idle.
	MaxBatchDelay time.Duration
	// InitialMmapSize reserves address space so growth does not remap under readers
	// (default 256 MiB).
	InitialMmapSize int
}

// Store is the bbolt implementation of core.Store.
type Store struct {
	db *bbolt.DB
}

var _ core.Store = (*Store)(nil)

// Open opens or creates the database at path, creating its directory.
func Open(path string, opts Options) (*Store, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.MaxBatchSize <= 0 {
		opts.MaxBatchSize = 64
	}
	if opts.MaxBatchDelay <= 0 {
		opts.MaxBatchDelay = 2 * time.Millisecond
	}
	if opts.InitialMmapSize <= 0 {
		opts.InitialMmapSize = 256 << 20
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: opts.Timeout, InitialMmapSize: opts.InitialMmapSize, FreelistType: bbolt.FreelistMapType})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("opening %s: the file is locked by another process (is another aquahub running?)", path)
		}
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	db.MaxBatchSize = opts.MaxBatchSize
	db.MaxBatchDelay = opts.MaxBatchDelay
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketEvents, bucketEventIDs, bucketIdem, bucketRuns, bucketQueue, bucketLeases, bucketLedger, bucketDLQ} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("initialising %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// DB returns the underlying database so feature packages can keep their own buckets in
// the same file.
func (s *Store) DB() *bbolt.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func tkey(parts ...string) []byte {
	n := len(parts) - 1
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, p...)
	}
	return b
}

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

func queueKey(due time.Time, tenant, runID string) []byte {
	return append(u64(uint64(due.UnixNano())), tkey(tenant, runID)...)
}

// Accept implements core.Store.
func (s *Store) Accept(ctx context.Context, req core.AcceptRequest) (core.AcceptResult, error) {
	var res core.AcceptResult
	if err := ctx.Err(); err != nil {
		return res, err
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	// Run ids are drawn outside the batch function, which bbolt may call more than once.
	runIDs := make([][]string, len(req.Events))
	for i, p := range req.Events {
		for range p.RuleIDs {
			runIDs[i] = append(runIDs[i], newRunID())
		}
	}
	err := s.db.Batch(func(tx *bbolt.Tx) error {
		res = core.AcceptResult{}
		if req.IdempotencyKey != "" {
			if v := tx.Bucket(bucketIdem).Get(tkey(req.Tenant, req.IdempotencyKey)); v != nil {
				res.Replayed = true
				return json.Unmarshal(v, &res)
			}
		}
		res.Events = make([]core.Accepted, 0, len(req.Events))
		for i := range req.Events {
			acc, err := acceptOne(tx, req.Tenant, &req.Events[i], runIDs[i], now)
			if err != nil {
				return err
			}
			res.Events = append(res.Events, acc)
		}
		if req.IdempotencyKey != "" {
			v, err := json.Marshal(res)
			if err != nil {
				return err
			}
			return tx.Bucket(bucketIdem).Put(tkey(req.Tenant, req.IdempotencyKey), v)
		}
		return nil
	})
	if err != nil {
		return core.AcceptResult{}, fmt.Errorf("accepting events: %w", err)
	}
	return res, nil
}

// acceptOne stores one event unless its (tenant, source, id) exists, with one queued run per
// matched rule. Shared by Accept and RecordStep so emitted events follow the same path.
func acceptOne(tx *bbolt.Tx, tenant string, p *core.Pending, runIDs []string, now time.Time) (core.Accepted, error) {
	ev := p.Event
	idKey := tkey(tenant, ev.ID, ev.Source)
	ids := tx.Bucket(bucketEventIDs)
	if v := ids.Get(idKey); v != nil {
		var acc core.Accepted
		if err := json.Unmarshal(v, &acc); err != nil {
			return acc, err
		}
		acc.Duplicate = true
		return acc, nil
	}
	events := tx.Bucket(bucketEvents)
	seq, err := events.NextSequence()
	if err != nil {
		return core.Accepted{}, err
	}
	ev.Tenant, ev.Seq, ev.ReceivedAt = tenant, seq, now
	body, err := core.EncodeStored(&ev)
	if err != nil {
		return core.Accepted{}, err
	}
	if err := events.Put(u64(seq), body); err != nil {
		return core.Accepted{}, err
	}
	acc := core.Accepted{ID: ev.ID, Source: ev.Source, Seq: seq}
	for i, rule := range p.RuleIDs {
		run := core.Run{
			ID: runIDs[i], Tenant: tenant, RuleID: rule, Status: core.RunQueued,
			EventSeq: seq, EventID: ev.ID, EventSource: ev.Source, EventType: ev.Type,
			CreatedAt: now, UpdatedAt: now, NextAt: now,
		}
		if err := putRun(tx, &run); err != nil {
			return core.Accepted{}, err
		}
		if err := tx.Bucket(bucketQueue).Put(queueKey(now, tenant, run.ID), nil); err != nil {
			return core.Accepted{}, err
		}
		acc.Runs = append(acc.Runs, run.ID)
	}
	v, err := json.Marshal(acc)
	if err != nil {
		return core.Accepted{}, err
	}
	return acc, ids.Put(idKey, v)
}

func newRunID() string { return "run_" + uuid.Must(uuid.NewV7()).String() }

func putRun(tx *bbolt.Tx, run *core.Run) error {
	r := *run
	r.Steps = nil
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketRuns).Put(tkey(run.Tenant, run.ID), v)
}

func getRun(tx *bbolt.Tx, tenant, id string) (core.Run, error) {
	v := tx.Bucket(bucketRuns).Get(tkey(tenant, id))
	if v == nil {
		return core.Run{}, fmt.Errorf("run %q: %w", id, core.ErrNotFound)
	}
	var r core.Run
	if err := json.Unmarshal(v, &r); err != nil {
		return r, fmt.Errorf("decoding run %q: %w", id, err)
	}
	return r, nil
}

func ledger(tx *bbolt.Tx, tenant, runID string) ([]core.StepRecord, error) {
	prefix := append(tkey(tenant, runID), 0)
	var out []core.StepRecord
	c := tx.Bucket(bucketLedger).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var rec core.StepRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	// Keys sort by step id; a run reads best in the order its steps ran.
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartedAt.Before(out[j].StartedAt) })
	return out, nil
}

// Events implements core.Store.
func (s *Store) Events(ctx context.Context, tenant, id, source string) ([]core.Event, error) {
	var out []core.Event
	err := s.db.View(func(tx *bbolt.Tx) error {
		prefix := append(tkey(tenant, id), 0)
		if source != "" {
			prefix = tkey(tenant, id, source)
		}
		c := tx.Bucket(bucketEventIDs).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if source != "" && !bytes.Equal(k, prefix) {
				continue
			}
			var acc core.Accepted
			if err := json.Unmarshal(v, &acc); err != nil {
				return err
			}
			ev, err := eventBySeq(tx, acc.Seq)
			if err != nil {
				return err
			}
			out = append(out, ev)
		}
		return nil
	})
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("event %q: %w", id, core.ErrNotFound)
	}
	return out, err
}

func eventBySeq(tx *bbolt.Tx, seq uint64) (core.Event, error) {
	v := tx.Bucket(bucketEvents).Get(u64(seq))
	if v == nil {
		return core.Event{}, fmt.Errorf("event #%d: %w", seq, core.ErrNotFound)
	}
	return core.DecodeStored(v)
}

// EventBySeq implements core.Store.
func (s *Store) EventBySeq(ctx context.Context, tenant string, seq uint64) (core.Event, error) {
	var ev core.Event
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		ev, err = eventBySeq(tx, seq)
		return err
	})
	if err == nil && ev.Tenant != tenant {
		return core.Event{}, fmt.Errorf("event #%d: %w", seq, core.ErrNotFound)
	}
	return ev, err
}

// EventsAfter implements core.Store.
func (s *Store) EventsAfter(ctx context.Context, after uint64, limit int) ([]core.Event, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []core.Event
	err := s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Seek(u64(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			ev, err := core.DecodeStored(v)
			if err != nil {
				return err
			}
			out = append(out, ev)
		}
		return nil
	})
	return out, err
}

// Run implements core.Store.
func (s *Store) Run(ctx context.Context, tenant, id string) (core.Run, error) {
	var run core.Run
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		if run, err = getRun(tx, tenant, id); err != nil {
			return err
		}
		run.Steps, err = ledger(tx, tenant, id)
		return err
	})
	return run, err
}

// Runs implements core.Store.
func (s *Store) Runs(ctx context.Context, tenant string, f core.RunFilter) ([]core.Run, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	var out []core.Run
	if f.EventID != "" {
		return s.runsOfEvent(tenant, f)
	}
	if f.Status == core.RunDead {
		return s.deadRuns(tenant, f)
	}
	err := s.db.View(func(tx *bbolt.Tx) error {
		prefix := append([]byte(tenant), 0)
		c := tx.Bucket(bucketRuns).Cursor()
		// Newest first: start just before the After cursor, or at the tenant's last key.
		start := append([]byte(tenant), 1)
		if f.After != "" {
			start = tkey(tenant, f.After)
		}
		k, v := lastBefore(c, start)
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < f.Limit; k, v = c.Prev() {
			var r core.Run
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			if (f.Status != "" && r.Status != f.Status) || (f.RuleID != "" && r.RuleID != f.RuleID) || (f.EventID != "" && r.EventID != f.EventID) {
				continue
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// lastBefore positions c at the last key strictly less than key.
func lastBefore(c *bbolt.Cursor, key []byte) ([]byte, []byte) {
	if k, _ := c.Seek(key); k == nil {
		return c.Last()
	}
	return c.Prev()
}

// deadRuns lists dead runs from the dlq index, newest first, without scanning live runs.
func (s *Store) deadRuns(tenant string, f core.RunFilter) ([]core.Run, error) {
	var out []core.Run
	err := s.db.View(func(tx *bbolt.Tx) error {
		prefix := append([]byte(tenant), 0)
		c := tx.Bucket(bucketDLQ).Cursor()
		start := append([]byte(tenant), 1)
		if f.After != "" {
			start = tkey(tenant, f.After)
		}
		k, _ := lastBefore(c, start)
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < f.Limit; k, _ = c.Prev() {
			_, id, _ := splitRunKey(k)
			r, err := getRun(tx, tenant, id)
			if err != nil {
				return err
			}
			if f.RuleID != "" && r.RuleID != f.RuleID {
				continue
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// runsOfEvent lists the runs an event started through its dedup record, which names
// them, instead of scanning the tenant's runs.
func (s *Store) runsOfEvent(tenant string, f core.RunFilter) ([]core.Run, error) {
	var out []core.Run
	err := s.db.View(func(tx *bbolt.Tx) error {
		prefix := append(tkey(tenant, f.EventID), 0)
		c := tx.Bucket(bucketEventIDs).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var acc core.Accepted
			if err := json.Unmarshal(v, &acc); err != nil {
				return err
			}
			for _, id := range acc.Runs {
				r, err := getRun(tx, tenant, id)
				if errors.Is(err, core.ErrNotFound) {
					continue // discarded
				}
				if err != nil {
					return err
				}
				if (f.Status != "" && r.Status != f.Status) || (f.RuleID != "" && r.RuleID != f.RuleID) {
					continue
				}
				out = append(out, r)
			}
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	if len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, err
}

// Replay implements core.Store.
func (s *Store) Replay(ctx context.Context, tenant, id string, now time.Time) (core.Run, error) {
	var run core.Run
	err := s.db.Update(func(tx *bbolt.Tx) error {
		var err error
		if run, err = getRun(tx, tenant, id); err != nil {
			return err
		}
		if run.Status != core.RunDead {
			return fmt.Errorf("run %q is %s, only dead runs can be replayed: %w", id, run.Status, core.ErrConflict)
		}
		if err := tx.Bucket(bucketDLQ).Delete(tkey(tenant, id)); err != nil {
			return err
		}
		run.Status, run.Attempts, run.NextAt, run.UpdatedAt, run.FinishedAt = core.RunQueued, 0, now, now, time.Time{}
		if err := putRun(tx, &run); err != nil {
			return err
		}
		return tx.Bucket(bucketQueue).Put(queueKey(now, tenant, id), nil)
	})
	return run, err
}

// Discard implements core.Store.
func (s *Store) Discard(ctx context.Context, tenant, id string) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		run, err := getRun(tx, tenant, id)
		if err != nil {
			return err
		}
		if run.Status != core.RunDead {
			return fmt.Errorf("run %q is %s, only dead runs can be discarded: %w", id, run.Status, core.ErrConflict)
		}
		if err := tx.Bucket(bucketDLQ).Delete(tkey(tenant, id)); err != nil {
			return err
		}
		prefix := append(tkey(tenant, id), 0)
		c := tx.Bucket(bucketLedger).Cursor()
		var keys [][]byte
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			keys = append(keys, k)
		}
		for _, k := range keys {
			if err := tx.Bucket(bucketLedger).Delete(k); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketRuns).Delete(tkey(tenant, id))
	})
}
