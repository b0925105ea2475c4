package bolt

import (
	"time"

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
