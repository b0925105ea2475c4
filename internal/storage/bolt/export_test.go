package bolt

import (
	"time"

	"github.com/aquascene/aquahub/core"
	bbolt "go.etcd.io/bbolt"
)

// SetLockTimeout shortens the wait for a locked file; the returned function restores it.
func SetLockTimeout(d time.Duration) func() {
	prev := lockTimeout
	lockTimeout = d
	return func() { lockTimeout = prev }
}

// LegacyRecords counts the pipeline records still in format version 2's JSON layout.
func LegacyRecords(d *DB) (int, error) {
	legacy := 0
	err := d.db.View(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketEvents, bucketRuns, bucketLedger, bucketEventIDs} {
			if err := tx.Bucket(b).ForEach(func(_, v []byte) error {
				if len(v) > 0 && v[0] == tagJSON {
					legacy++
				}
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	return legacy, err
}

// DedupKeys counts the dedup keys waiting in the journal and those filed in eventids.
func DedupKeys(d *DB) (journaled, filed int, err error) {
	err = d.db.View(func(tx *bbolt.Tx) error {
		journaled = tx.Bucket(bucketEventIDsNew).Stats().KeyN
		filed = tx.Bucket(bucketEventIDs).Stats().KeyN
		return nil
	})
	return journaled, filed, err
}

// FileDedupJournal files the whole journal now, as the filer does.
func FileDedupJournal(d *DB) error { return (&filer{d: d}).fileAll() }

// FailFiling makes the filer's transactions fail with err after their work, until it is
// called with nil.
func FailFiling(d *DB, err error) {
	if err == nil {
		d.filer.fault.Store(nil)
		return
	}
	d.filer.fault.Store(&err)
}

// StopFiler stops the dedup journal's filer, so that new keys stay journaled.
func StopFiler(d *DB) {
	d.filer.close()
	d.filer = nil
}

// FailAfterAccept accepts the event id in a write transaction that then fails, so that it
// rolls back after journaling the event's key.
func FailAfterAccept(d *DB, tenant, id string, fail error) error {
	return d.db.Update(failAfterAccept(d, tenant, id, fail))
}

// FailAfterAcceptInGroup is FailAfterAccept through the group commit, whose other writes
// of the moment are committed without it.
func FailAfterAcceptInGroup(d *DB, tenant, id string, fail error) error {
	return d.db.Batch(failAfterAccept(d, tenant, id, fail))
}

func failAfterAccept(d *DB, tenant, id string, fail error) func(*bbolt.Tx) error {
	return func(tx *bbolt.Tx) error {
		p := core.Pending{Event: core.Event{ID: id, Source: "app", Type: "t", SpecVersion: "1.0"}}
		if _, _, err := acceptOne(tx, d.db.idx, tenant, &p, nil, time.Now(), time.Time{}, nil); err != nil {
			return err
		}
		return fail
	}
}
