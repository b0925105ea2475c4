package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/aquascene/aquahub/core"
	bbolt "go.etcd.io/bbolt"
)

func splitRunKey(k []byte) (tenant, id string, ok bool) {
	i := bytes.IndexByte(k, 0)
	if i < 0 {
		return "", "", false
	}
	return string(k[:i]), string(k[i+1:]), true
}

// Lease implements core.Queue.
func (s *Store) Lease(ctx context.Context, now time.Time, max int, ttl time.Duration) ([]core.Run, error) {
	var out []core.Run
	err := s.db.Update(func(tx *bbolt.Tx) error {
		out = out[:0]
		q := tx.Bucket(bucketQueue)
		var keys [][]byte
		c := q.Cursor()
		limit := uint64(now.UnixNano())
		for k, _ := c.First(); k != nil && len(keys) < max; k, _ = c.Next() {
			if binary.BigEndian.Uint64(k[:8]) > limit {
				break
			}
			keys = append(keys, append([]byte(nil), k...))
		}
		until := u64(uint64(now.Add(ttl).UnixNano()))
		for _, k := range keys {
			if err := q.Delete(k); err != nil {
				return err
			}
			tenant, id, ok := splitRunKey(k[8:])
			if !ok {
				continue
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
			if err := tx.Bucket(bucketLeases).Put(k[8:], until); err != nil {
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

// NextDue implements core.Queue.
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	var due time.Time
	var ok bool
	err := s.db.View(func(tx *bbolt.Tx) error {
		k, _ := tx.Bucket(bucketQueue).Cursor().First()
		if k != nil {
			due, ok = time.Unix(0, int64(binary.BigEndian.Uint64(k[:8]))), true
		}
		return nil
	})
	return due, ok, err
}

// RecordStep implements core.Queue.
func (s *Store) RecordStep(ctx context.Context, run *core.Run, rec core.StepRecord, emitted []core.Pending) ([]core.Accepted, error) {
	var out []core.Accepted
	err := s.writeStep(run, &rec, emitted, &out, nil)
	if err != nil {
		return nil, fmt.Errorf("recording step %q of run %q: %w", rec.StepID, run.ID, err)
	}
	return out, nil
}

// Finish implements core.Queue.
func (s *Store) Finish(ctx context.Context, run *core.Run, last *core.StepRecord, emitted []core.Pending) error {
	var out []core.Accepted
	if err := s.writeStep(run, last, emitted, &out, finishRun); err != nil {
		return fmt.Errorf("finishing run %q: %w", run.ID, err)
	}
	return nil
}

// writeStep writes a ledger entry (when rec is not nil) with the events it emitted and,
// when then is not nil, applies it in the same batched transaction.
func (s *Store) writeStep(run *core.Run, rec *core.StepRecord, emitted []core.Pending, out *[]core.Accepted, then func(tx *bbolt.Tx, run *core.Run) error) error {
	var v []byte
	now := time.Now()
	if rec != nil {
		var err error
		if v, err = json.Marshal(rec); err != nil {
			return err
		}
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
		if tx.Bucket(bucketLeases).Get(tkey(run.Tenant, run.ID)) == nil {
			return fmt.Errorf("run %q: lease lost: %w", run.ID, core.ErrConflict)
		}
		if rec != nil {
			if err := tx.Bucket(bucketLedger).Put(tkey(run.Tenant, run.ID, rec.StepID), v); err != nil {
				return err
			}
		}
		for i := range emitted {
			acc, err := acceptOne(tx, run.Tenant, &emitted[i], runIDs[i], now)
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
	key := tkey(run.Tenant, run.ID)
	if err := tx.Bucket(bucketLeases).Delete(key); err != nil {
		return err
	}
	if err := putRun(tx, run); err != nil {
		return err
	}
	switch run.Status {
	case core.RunRetrying, core.RunQueued:
		return tx.Bucket(bucketQueue).Put(queueKey(run.NextAt, run.Tenant, run.ID), nil)
	case core.RunDead:
		return tx.Bucket(bucketDLQ).Put(key, nil)
	}
	return nil
}

// Release implements core.Queue.
func (s *Store) Release(ctx context.Context, runs []core.Run, now time.Time) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		for i := range runs {
			if err := requeue(tx, runs[i].Tenant, runs[i].ID, now, false); err != nil {
				return err
			}
		}
		return nil
	})
}

// requeue moves a leased run back to the queue. A release gives the attempt back; an
// expired lease keeps it counted, since the attempt may have crashed the process.
func requeue(tx *bbolt.Tx, tenant, id string, now time.Time, expired bool) error {
	key := tkey(tenant, id)
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
	if !expired && run.Attempts > 0 {
		run.Attempts--
	}
	if err := putRun(tx, &run); err != nil {
		return err
	}
	return tx.Bucket(bucketQueue).Put(queueKey(now, tenant, id), nil)
}

// RequeueExpired implements core.Queue.
func (s *Store) RequeueExpired(ctx context.Context, now time.Time) (int, error) {
	return s.requeueLeases(now, now)
}

// RecoverLeases implements core.Queue.
func (s *Store) RecoverLeases(ctx context.Context, now time.Time) (int, error) {
	return s.requeueLeases(now, time.Unix(0, math.MaxInt64))
}

// requeueLeases queues, due now, every run whose lease expires at or before cutoff.
func (s *Store) requeueLeases(now, cutoff time.Time) (int, error) {
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
			tenant, id, ok := splitRunKey(k)
			if !ok {
				continue
			}
			if err := requeue(tx, tenant, id, now, true); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// ExtendLease pushes a leased run's expiry to until, so a long step keeps its lease.
func (s *Store) ExtendLease(ctx context.Context, run *core.Run, until time.Time) error {
	return s.db.Batch(func(tx *bbolt.Tx) error {
		key := tkey(run.Tenant, run.ID)
		if tx.Bucket(bucketLeases).Get(key) == nil {
			return fmt.Errorf("run %q: lease lost: %w", run.ID, core.ErrConflict)
		}
		return tx.Bucket(bucketLeases).Put(key, u64(uint64(until.UnixNano())))
	})
}

// Stats implements core.Queue.
func (s *Store) Stats(ctx context.Context) (core.QueueStats, error) {
	var st core.QueueStats
	now := uint64(time.Now().UnixNano())
	err := s.db.View(func(tx *bbolt.Tx) error {
		st.Queued = tx.Bucket(bucketQueue).Stats().KeyN
		st.Leased = tx.Bucket(bucketLeases).Stats().KeyN
		st.Dead = tx.Bucket(bucketDLQ).Stats().KeyN
		st.Events = int(tx.Bucket(bucketEvents).Sequence())
		c := tx.Bucket(bucketQueue).Cursor()
		for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k[:8]) <= now; k, _ = c.Next() {
			st.Pending++
		}
		return nil
	})
	return st, err
}
