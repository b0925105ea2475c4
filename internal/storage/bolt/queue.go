package bolt

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/aquascene/aquahub/core"
	bbolt "go.etcd.io/bbolt"
)

// Lease implements core.Queue. Tenants take turns: each round leases at most one due run
// of every tenant that has one, starting after the tenant the previous call began with, so a
// tenant's backlog never pushes another tenant's due runs back; within a tenant, runs go in
// due order across the lanes skip does not report saturated.
func (s *Pipeline) Lease(ctx context.Context, now time.Time, max int, ttl time.Duration, skip func(tenant, lane string) bool) ([]core.Run, error) {
	var out []core.Run
	err := s.db.Batch(func(tx *bbolt.Tx) error {
		out = out[:0]
		q := tx.Bucket(bucketQueue)
		picked := s.pickDue(q, now, max, skip)
		until := be64(uint64(now.Add(ttl).UnixNano()))
		for _, k := range picked {
			e, _ := parseQueueKey(k)
			tenant, id := string(e.tenant), string(e.id)
			if err := q.Delete(k); err != nil {
				return err
			}
			run, err := getRun(tx, tenant, id)
			if err != nil {
				// A queue entry whose run was discarded: drop it.
				continue
			}
			run.Status = core.RunRunning
			run.Attempts++
			run.UpdatedAt = now
			if err := putRun(tx, &run); err != nil {
				return err
			}
			if err := tx.Bucket(bucketLeases).Put(key(tenant, id), until); err != nil {
				return err
			}
			if run.Steps, err = ledger(tx, tenant, id); err != nil {
				return err
			}
			out = append(out, run)
		}
		return nil
	})
	return out, err
}

// lanes calls fn with the cursor positioned at the first entry of every lane of every
// tenant, jumping over each lane's entries with one Seek.
func lanes(c *bbolt.Cursor, fn func(tenant, lane string, k []byte)) {
	for k, _ := c.First(); k != nil; {
		e, ok := parseQueueKey(k)
		if !ok {
			k, _ = c.Next()
			continue
		}
		tenant, lane := string(e.tenant), string(e.lane)
		fn(tenant, lane, k)
		next := make([]byte, 0, len(e.tenant)+len(e.lane)+2)
		next = append(append(append(next, e.tenant...), 0), e.lane...)
		k, _ = c.Seek(append(next, 1))
	}
}

// pickDue chooses up to n due runs: per tenant in due order across its unsaturated lanes,
// then tenants in turn, one run each per round.
func (s *Pipeline) pickDue(q *bbolt.Bucket, now time.Time, n int, skip func(tenant, lane string) bool) [][]byte {
	limit := uint64(max(now.UnixNano(), 0))
	type laneHead struct{ keys [][]byte }
	var tenants []string
	perTenant := map[string][]laneHead{}
	c := q.Cursor()
	lanes(c, func(tenant, lane string, first []byte) {
		if skip != nil && skip(tenant, lane) {
			return
		}
		var h laneHead
		for k := first; k != nil && len(h.keys) < n; k, _ = c.Next() {
			e, ok := parseQueueKey(k)
			if !ok || string(e.tenant) != tenant || string(e.lane) != lane || e.due > limit {
				break
			}
			h.keys = append(h.keys, bytes.Clone(k))
		}
		if len(h.keys) == 0 {
			return
		}
		if _, seen := perTenant[tenant]; !seen {
			tenants = append(tenants, tenant)
		}
		perTenant[tenant] = append(perTenant[tenant], h)
	})
	if len(tenants) == 0 {
		return nil
	}
	// Merge each tenant's lanes by due time.
	queues := make([][][]byte, len(tenants))
	for i, t := range tenants {
		var all [][]byte
		for _, h := range perTenant[t] {
			all = append(all, h.keys...)
		}
		slices.SortFunc(all, func(a, b []byte) int {
			ea, _ := parseQueueKey(a)
			eb, _ := parseQueueKey(b)
			return cmp.Compare(ea.due, eb.due)
		})
		queues[i] = all
	}
	s.mu.Lock()
	start := s.nextTenant % len(queues)
	s.nextTenant++
	s.mu.Unlock()
	var out [][]byte
	for round := 0; len(out) < n; round++ {
		took := false
		for i := range queues {
			q := queues[(start+i)%len(queues)]
			if round < len(q) && len(out) < n {
				out = append(out, q[round])
				took = true
			}
		}
		if !took {
			break
		}
	}
	return out
}

// NextDue implements core.Queue: the earliest head of an unsaturated lane.
func (s *Pipeline) NextDue(ctx context.Context, skip func(tenant, lane string) bool) (time.Time, bool, error) {
	var due uint64
	found := false
	err := s.db.View(func(tx *bbolt.Tx) error {
		lanes(tx.Bucket(bucketQueue).Cursor(), func(tenant, lane string, first []byte) {
			if skip != nil && skip(tenant, lane) {
				return
			}
			if e, ok := parseQueueKey(first); ok && (!found || e.due < due) {
				due, found = e.due, true
			}
		})
		return nil
	})
	return time.Unix(0, int64(due)), found, err
}

// RecordStep implements core.Queue.
func (s *Pipeline) RecordStep(ctx context.Context, run *core.Run, rec core.StepRecord, emitted []core.Pending) ([]core.Accepted, error) {
	var out []core.Accepted
	err := s.writeStep(run, &rec, emitted, &out, nil)
	if err != nil {
		return nil, fmt.Errorf("recording step %q of run %q: %w", rec.StepID, run.ID, err)
	}
	return out, nil
}

// Finish implements core.Queue.
func (s *Pipeline) Finish(ctx context.Context, run *core.Run, last *core.StepRecord, emitted []core.Pending) error {
	var out []core.Accepted
	if err := s.writeStep(run, last, emitted, &out, finishRun); err != nil {
		return fmt.Errorf("finishing run %q: %w", run.ID, err)
	}
	return nil
}

// writeStep writes a ledger entry (when rec is not nil) with the events it emitted and,
// when then is not nil, applies it in the same batched transaction.
func (s *Pipeline) writeStep(run *core.Run, rec *core.StepRecord, emitted []core.Pending, out *[]core.Accepted, then func(tx *bbolt.Tx, run *core.Run) error) error {
	var v []byte
	now := time.Now()
	if rec != nil {
		v = encodeStep(rec)
		now = rec.FinishedAt
	}
	runIDs := make([][]string, len(emitted))
	for i, p := range emitted {
		for range p.RuleIDs {
			runIDs[i] = append(runIDs[i], newRunID())
		}
	}
	return s.db.Batch(func(tx *bbolt.Tx) error {
		*out = (*out)[:0]
		if tx.Bucket(bucketLeases).Get(key(run.Tenant, run.ID)) == nil {
			return fmt.Errorf("run %q: lease lost: %w", run.ID, core.ErrConflict)
		}
		if rec != nil {
			if err := bucket(tx, bucketLedger).Put(key(run.Tenant, run.ID, rec.StepID), v); err != nil {
				return err
			}
		}
		for i := range emitted {
			acc, _, err := acceptOne(tx, s.db.idx, run.Tenant, &emitted[i], runIDs[i], now, time.Time{}, nil)
			if err != nil {
				return err
			}
			*out = append(*out, acc)
		}
		if then != nil {
			return then(tx, run)
		}
		return nil
	})
}

func finishRun(tx *bbolt.Tx, run *core.Run) error {
	key := key(run.Tenant, run.ID)
	if err := tx.Bucket(bucketLeases).Delete(key); err != nil {
		return err
	}
	if err := putRun(tx, run); err != nil {
		return err
	}
	switch run.Status {
	case core.RunSucceeded:
		return noteFinished(tx, run)
	case core.RunRetrying, core.RunQueued:
		return tx.Bucket(bucketQueue).Put(queueKey(run.NextAt, run), nil)
	case core.RunDead:
		return tx.Bucket(bucketDLQ).Put(key, nil)
	}
	return nil
}

// Release implements core.Queue.
func (s *Pipeline) Release(ctx context.Context, runs []core.Run, due time.Time) error {
	return s.db.Batch(func(tx *bbolt.Tx) error {
		for i := range runs {
			if err := requeue(tx, runs[i].Tenant, runs[i].ID, runs[i].Lane, due, false); err != nil {
				return err
			}
		}
		return nil
	})
}

// requeue moves a leased run back to the queue, due at now, in lane (or the lane it was
// last queued in, when lane is empty). A release gives the attempt back; an expired lease
// keeps it counted, since the attempt may have crashed the process.
func requeue(tx *bbolt.Tx, tenant, id, lane string, now time.Time, expired bool) error {
	key := key(tenant, id)
	if tx.Bucket(bucketLeases).Get(key) == nil {
		return nil
	}
	if err := tx.Bucket(bucketLeases).Delete(key); err != nil {
		return err
	}
	run, err := getRun(tx, tenant, id)
	if err != nil {
		return nil
	}
	run.Status, run.NextAt, run.UpdatedAt = core.RunQueued, now, now
	if lane != "" {
		run.Lane = lane
	}
	if !expired && run.Attempts > 0 {
		run.Attempts--
	}
	if err := putRun(tx, &run); err != nil {
		return err
	}
	return tx.Bucket(bucketQueue).Put(queueKey(now, &run), nil)
}

// RequeueExpired implements core.Queue.
func (s *Pipeline) RequeueExpired(ctx context.Context, now time.Time) (int, error) {
	return s.requeueLeases(now, now)
}

// RecoverLeases implements core.Queue.
func (s *Pipeline) RecoverLeases(ctx context.Context, now time.Time) (int, error) {
	return s.requeueLeases(now, time.Unix(0, math.MaxInt64))
}

// requeueLeases queues, due now, every run whose lease expires at or before cutoff.
func (s *Pipeline) requeueLeases(now, cutoff time.Time) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bbolt.Tx) error {
		n = 0
		var expired [][]byte
		c := tx.Bucket(bucketLeases).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(v) == 8 && int64(binary.BigEndian.Uint64(v)) <= cutoff.UnixNano() {
				expired = append(expired, append([]byte(nil), k...))
			}
		}
		for _, k := range expired {
			tenant, id, ok := splitKey(k)
			if !ok {
				continue
			}
			if err := requeue(tx, tenant, id, "", now, true); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// ExtendLeases implements core.Queue.
func (s *Pipeline) ExtendLeases(ctx context.Context, runs []core.Run, until time.Time) error {
	v := be64(uint64(until.UnixNano()))
	return s.db.Batch(func(tx *bbolt.Tx) error {
		leases := tx.Bucket(bucketLeases)
		for i := range runs {
			k := key(runs[i].Tenant, runs[i].ID)
			if leases.Get(k) == nil {
				continue // finished meanwhile, or expired and taken back
			}
			if err := leases.Put(k, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// Stats implements core.Queue.
func (s *Pipeline) Stats(ctx context.Context) (core.QueueStats, error) {
	var st core.QueueStats
	now := uint64(time.Now().UnixNano())
	err := s.db.View(func(tx *bbolt.Tx) error {
		st.Queued = tx.Bucket(bucketQueue).Stats().KeyN
		st.Leased = tx.Bucket(bucketLeases).Stats().KeyN
		st.Dead = tx.Bucket(bucketDLQ).Stats().KeyN
		st.Events = int(tx.Bucket(bucketEvents).Sequence())
		c := tx.Bucket(bucketQueue).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if e, ok := parseQueueKey(k); ok && e.due <= now {
				st.Pending++
			}
		}
		return nil
	})
	return st, err
}

// Backlog implements core.Queue.
func (s *Pipeline) Backlog(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketQueue).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if e, ok := parseQueueKey(k); ok {
				out[string(e.tenant)]++
			}
		}
		c = tx.Bucket(bucketLeases).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if tenant, _, ok := splitKey(k); ok {
				out[tenant]++
			}
		}
		return nil
	})
	return out, err
}
