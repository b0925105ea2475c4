package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/google/uuid"
	bbolt "go.etcd.io/bbolt"
)

var (
	bucketEvents   = []byte("events")
	bucketEventIDs = []byte("eventids")
	bucketIdem     = []byte("idem")
	bucketRuns     = []byte("runs")
	// bucketQueue holds queued runs as tenant\0 lane\0 be64(due) run id: per tenant and lane
	// in due order, so Lease serves tenants in turn and one tenant's backlog is not in another's
	// way. Format version 1 kept be64(due) tenant\0 run id in "queue" (see migrate).
	bucketQueue   = []byte("runqueue")
	bucketQueueV1 = []byte("queue")
	bucketLeases  = []byte("leases")
	bucketLedger  = []byte("ledger")
	bucketDLQ     = []byte("dlq")
)

// Pipeline is the store of events, runs, the queue, the effect ledger and the dead-letter
// queue: core.Store on the hub's bbolt file.
type Pipeline struct {
	db handle
	// mu guards nextTenant, where the next Lease starts its round of tenants.
	mu         sync.Mutex
	nextTenant int
}

var _ core.Store = (*Pipeline)(nil)

// Pipeline returns the pipeline's store.
func (d *DB) Pipeline() *Pipeline { return d.pipeline }

// Close does nothing: the DB owns the file. It lets Pipeline satisfy core.Store.
func (s *Pipeline) Close() error { return nil }

// queueKey files a queued run: tenant\0 lane\0 be64(due) run id. Runs are grouped per
// tenant, then per lane, each lane in due order, so Lease can serve tenants in turn and jump
// over a saturated lane without reading its entries.
func queueKey(due time.Time, run *core.Run) []byte {
	k := make([]byte, 0, len(run.Tenant)+1+len(run.Lane)+1+8+len(run.ID))
	k = append(k, run.Tenant...)
	k = append(k, 0)
	k = append(k, run.Lane...)
	k = append(k, 0)
	k = append(k, be64(uint64(max(due.UnixNano(), 0)))...)
	return append(k, run.ID...)
}

// queueEntry is a parsed queue key; its strings alias the key's bytes.
type queueEntry struct {
	tenant, lane []byte
	due          uint64
	id           []byte
}

func parseQueueKey(k []byte) (queueEntry, bool) {
	tenant, rest, ok := bytes.Cut(k, []byte{0})
	if !ok {
		return queueEntry{}, false
	}
	lane, rest, ok := bytes.Cut(rest, []byte{0})
	if !ok || len(rest) < 8 {
		return queueEntry{}, false
	}
	return queueEntry{tenant: tenant, lane: lane, due: binary.BigEndian.Uint64(rest[:8]), id: rest[8:]}, true
}

// Accept implements core.Store.
func (s *Pipeline) Accept(ctx context.Context, req core.AcceptRequest) (core.AcceptResult, error) {
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
			var first acceptResultRecord
			if ok, err := getRecord(tx.Bucket(bucketIdem), key(req.Tenant, req.IdempotencyKey), &first); ok || err != nil {
				res.Replayed = true
				for _, a := range first.Events {
					res.Events = append(res.Events, a.accepted())
				}
				return err
			}
		}
		res.Events = make([]core.Accepted, 0, len(req.Events))
		var leaseUntil time.Time
		if req.LeaseTTL > 0 {
			leaseUntil = now.Add(req.LeaseTTL)
		}
		for i := range req.Events {
			acc, leased, err := acceptOne(tx, s.db.idx, req.Tenant, &req.Events[i], runIDs[i], now, leaseUntil, req.LeaseLanes)
			if err != nil {
				return err
			}
			res.Events = append(res.Events, acc)
			res.Leased = append(res.Leased, leased...)
		}
		if req.IdempotencyKey != "" {
			rec := acceptResultRecord{Events: make([]acceptedRecord, len(res.Events))}
			for i, a := range res.Events {
				rec.Events[i] = toAcceptedRecord(a)
			}
			k := key(req.Tenant, req.IdempotencyKey)
			if err := tx.Bucket(bucketIdemTimes).Put(timeKey(now, k), nil); err != nil {
				return err
			}
			return putRecord(tx.Bucket(bucketIdem), k, rec)
		}
		return nil
	})
	if err != nil {
		return core.AcceptResult{}, fmt.Errorf("accepting events: %w", storageError(err))
	}
	return res, nil
}

// acceptOne stores one event unless its (tenant, source, id) exists, with one run per
// matched rule: queued, or leased until leaseUntil when it is not zero (and then returned).
// Shared by Accept and RecordStep so emitted events follow the same path. The event's dedup
// key goes to the journal (dedup.go).
func acceptOne(tx *bbolt.Tx, ix *dedupIndex, tenant string, p *core.Pending, runIDs []string, now, leaseUntil time.Time, leaseLanes map[string]bool) (core.Accepted, []core.Run, error) {
	ev := p.Event
	idKey := key(tenant, ev.ID, ev.Source)
	v, err := dedupGet(tx, ix, idKey)
	if err != nil {
		return core.Accepted{}, nil, err
	}
	if v != nil {
		prev, err := decodeDedup(idKey, v)
		acc := prev.accepted()
		acc.Duplicate = true
		return acc, nil, err
	}
	events := bucket(tx, bucketEvents)
	seq, err := events.NextSequence()
	if err != nil {
		return core.Accepted{}, nil, err
	}
	ev.Tenant, ev.Seq, ev.ReceivedAt = tenant, seq, now
	body, err := encodeEvent(&ev)
	if err != nil {
		return core.Accepted{}, nil, err
	}
	if err := events.Put(be64(seq), body); err != nil {
		return core.Accepted{}, nil, err
	}
	acc := core.Accepted{ID: ev.ID, Source: ev.Source, Seq: seq}
	var leased []core.Run
	for i, rule := range p.RuleIDs {
		run := core.Run{
			ID: runIDs[i], Tenant: tenant, RuleID: rule, Status: core.RunQueued,
			EventSeq: seq, EventID: ev.ID, EventSource: ev.Source, EventType: ev.Type,
			CreatedAt: now, UpdatedAt: now, NextAt: now,
		}
		if i < len(p.Lanes) {
			run.Lane = p.Lanes[i]
		}
		lease := !leaseUntil.IsZero() && (leaseLanes == nil || leaseLanes[run.Lane])
		if lease {
			run.Status, run.Attempts = core.RunRunning, 1
		}
		if err := putRun(tx, &run); err != nil {
			return core.Accepted{}, nil, err
		}
		if !lease {
			err = tx.Bucket(bucketQueue).Put(queueKey(now, &run), nil)
		} else {
			err = tx.Bucket(bucketLeases).Put(key(tenant, run.ID), be64(uint64(leaseUntil.UnixNano())))
			leased = append(leased, run)
		}
		if err != nil {
			return core.Accepted{}, nil, err
		}
		acc.Runs = append(acc.Runs, run.ID)
	}
	return acc, leased, ix.add(tx, idKey, seq, encodeDedup(acc))
}

// runIDPrefix starts every run id.
const runIDPrefix = "run_"

func newRunID() string { return newRunIDFrom(uuid.Must(uuid.NewV7())) }

func newRunIDFrom(u uuid.UUID) string { return runIDPrefix + u.String() }

func putRun(tx *bbolt.Tx, run *core.Run) error {
	return bucket(tx, bucketRuns).Put(key(run.Tenant, run.ID), encodeRun(run))
}

func getRun(tx *bbolt.Tx, tenant, id string) (core.Run, error) {
	k := key(tenant, id)
	v := tx.Bucket(bucketRuns).Get(k)
	if v == nil {
		return core.Run{}, fmt.Errorf("run %q: %w", id, core.ErrNotFound)
	}
	return readRun(tx, k, v)
}

// readRun decodes the run stored at k with its event's id, source and type, which the run
// record does not repeat.
func readRun(tx *bbolt.Tx, k, v []byte) (core.Run, error) {
	run, err := decodeRun(k, v)
	if err != nil || run.EventID != "" {
		return run, err
	}
	ek := be64(run.EventSeq)
	if ev := tx.Bucket(bucketEvents).Get(ek); ev != nil {
		if run.EventID, run.EventSource, run.EventType, err = eventAttributes(ek, ev); err != nil {
			return run, fmt.Errorf("run %q: %w", run.ID, err)
		}
	}
	return run, nil
}

func ledger(tx *bbolt.Tx, tenant, runID string) ([]core.StepRecord, error) {
	var out []core.StepRecord
	err := scan(tx.Bucket(bucketLedger), prefix(tenant, runID), func(k, v []byte) (bool, error) {
		rec, err := decodeStep(k, v)
		if err != nil {
			return false, err
		}
		out = append(out, rec)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	// Keys sort by step id; a run reads best in the order its steps ran.
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartedAt.Before(out[j].StartedAt) })
	return out, nil
}

// Events implements core.Store.
func (s *Pipeline) Events(ctx context.Context, tenant, id, source string) ([]core.Event, error) {
	var out []core.Event
	err := s.db.View(func(tx *bbolt.Tx) error {
		prefix := append(key(tenant, id), 0)
		if source != "" {
			prefix = key(tenant, id, source)
		}
		return scanDedup(tx, prefix, func(k, v []byte) error {
			if source != "" && !bytes.Equal(k, prefix) {
				return nil
			}
			acc, err := decodeDedup(k, v)
			if err != nil {
				return err
			}
			ev, err := eventBySeq(tx, acc.Seq)
			if errors.Is(err, core.ErrNotFound) {
				return nil // pruned; the dedup key outlives it
			}
			if err != nil {
				return err
			}
			out = append(out, ev)
			return nil
		})
	})
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("event %q: %w", id, core.ErrNotFound)
	}
	return out, err
}

// eventBySeq reads a stored event; a pruned one is not found.
func eventBySeq(tx *bbolt.Tx, seq uint64) (core.Event, error) {
	k := be64(seq)
	v := tx.Bucket(bucketEvents).Get(k)
	if v == nil {
		return core.Event{}, fmt.Errorf("event #%d: %w", seq, core.ErrNotFound)
	}
	ev, live, err := decodeEvent(k, v)
	if err == nil && !live {
		err = fmt.Errorf("event #%d was pruned: %w", seq, core.ErrNotFound)
	}
	return ev, err
}

// EventBySeq implements core.Store.
func (s *Pipeline) EventBySeq(ctx context.Context, tenant string, seq uint64) (core.Event, error) {
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
func (s *Pipeline) EventsAfter(ctx context.Context, after uint64, limit int) ([]core.Event, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []core.Event
	err := s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Seek(be64(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			ev, live, err := decodeEvent(k, v)
			if err != nil {
				return err
			}
			if live {
				out = append(out, ev)
			}
		}
		return nil
	})
	return out, err
}

// Run implements core.Store.
func (s *Pipeline) Run(ctx context.Context, tenant, id string) (core.Run, error) {
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
func (s *Pipeline) Runs(ctx context.Context, tenant string, f core.RunFilter) ([]core.Run, error) {
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
			start = key(tenant, f.After)
		}
		k, v := lastBefore(c, start)
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < f.Limit; k, v = c.Prev() {
			r, err := readRun(tx, k, v)
			if err != nil {
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

// deadRuns lists dead runs from the dlq index, newest first, without scanning live runs.
func (s *Pipeline) deadRuns(tenant string, f core.RunFilter) ([]core.Run, error) {
	var out []core.Run
	err := s.db.View(func(tx *bbolt.Tx) error {
		prefix := append([]byte(tenant), 0)
		c := tx.Bucket(bucketDLQ).Cursor()
		start := append([]byte(tenant), 1)
		if f.After != "" {
			start = key(tenant, f.After)
		}
		k, _ := lastBefore(c, start)
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < f.Limit; k, _ = c.Prev() {
			_, id, _ := splitKey(k)
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
func (s *Pipeline) runsOfEvent(tenant string, f core.RunFilter) ([]core.Run, error) {
	var out []core.Run
	err := s.db.View(func(tx *bbolt.Tx) error {
		prefix := append(key(tenant, f.EventID), 0)
		return scanDedup(tx, prefix, func(k, v []byte) error {
			acc, err := decodeDedup(k, v)
			if err != nil {
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
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	if len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, err
}

// Replay implements core.Store.
func (s *Pipeline) Replay(ctx context.Context, tenant, id string, now time.Time) (core.Run, error) {
	var run core.Run
	err := s.db.Update(func(tx *bbolt.Tx) error {
		var err error
		if run, err = getRun(tx, tenant, id); err != nil {
			return err
		}
		if run.Status != core.RunDead {
			return fmt.Errorf("run %q is %s, only dead runs can be replayed: %w", id, run.Status, core.ErrConflict)
		}
		if err := tx.Bucket(bucketDLQ).Delete(key(tenant, id)); err != nil {
			return err
		}
		run.Status, run.Attempts, run.NextAt, run.UpdatedAt, run.FinishedAt = core.RunQueued, 0, now, now, time.Time{}
		if err := putRun(tx, &run); err != nil {
			return err
		}
		return tx.Bucket(bucketQueue).Put(queueKey(now, &run), nil)
	})
	return run, err
}

// Discard implements core.Store.
func (s *Pipeline) Discard(ctx context.Context, tenant, id string) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		run, err := getRun(tx, tenant, id)
		if err != nil {
			return err
		}
		if run.Status != core.RunDead {
			return fmt.Errorf("run %q is %s, only dead runs can be discarded: %w", id, run.Status, core.ErrConflict)
		}
		if err := tx.Bucket(bucketDLQ).Delete(key(tenant, id)); err != nil {
			return err
		}
		var n core.PruneCounts
		return deleteRun(tx, &run, time.Time{}, &n)
	})
}

// storageError turns a full disk into core.ErrUnavailable with a message that says so, so
// that ingestion answers 503 (nothing stored) instead of 500.
func storageError(err error) error {
	if diskFull(err) {
		return &core.OverloadError{Limit: "storage.path", Detail: "the data disk is full; nothing was stored (" + err.Error() + ")", After: 30 * time.Second, Hub: true}
	}
	return err
}

// diskFull reports whether err is a full disk (or quota, or file size limit). bbolt wraps
// some of these with %s, so the error's text is checked as well as its chain.
func diskFull(err error) bool {
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT, syscall.EFBIG} {
		if errors.Is(err, errno) || strings.Contains(err.Error(), errno.Error()) {
			return true
		}
	}
	return false
}
