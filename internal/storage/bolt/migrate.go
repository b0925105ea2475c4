package bolt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// migrateBatch is how many records one migration transaction rewrites: a large file is
// migrated in many small commits instead of one that would hold every page in memory.
var migrateBatch = 5000

// migrateToV4 brings a format version 2 or 3 file (init has already refiled version 2's
// webhook queue) to version 4: the pipeline's JSON records are rewritten in the binary
// layout, Idempotency-Keys are indexed by time (from now: their first use is not known), and
// each step key is named in the webhook message it queued, or deleted with its message gone.
// Each part records how far it got in the meta bucket, so a migration cut short resumes where
// it stopped; the file is stamped version 4 last. Readers take both layouts, so a
// half-migrated file reads correctly meanwhile.
func (d *DB) migrateToV4() error {
	rewrites := []struct {
		bucket []byte
		fn     func(k, v []byte) ([]byte, error)
	}{
		{bucketEvents, func(k, v []byte) ([]byte, error) {
			ev, err := decodeEventV2(v)
			if err != nil {
				return nil, err
			}
			return encodeEvent(&ev)
		}},
		{bucketRuns, func(k, v []byte) ([]byte, error) {
			run, err := decodeRunV2(k, v)
			return encodeRun(&run), err
		}},
		{bucketLedger, func(k, v []byte) ([]byte, error) {
			s, err := decodeStepV2(k, v)
			return encodeStep(&s), err
		}},
		{bucketEventIDs, func(k, v []byte) ([]byte, error) {
			acc, err := decodeDedup(k, v)
			return encodeDedup(acc.accepted()), err
		}},
	}
	for _, r := range rewrites {
		err := d.migrateEach(r.bucket, func(tx *bbolt.Tx, k, v []byte) error {
			if len(v) == 0 || v[0] != tagJSON {
				return nil
			}
			nv, err := r.fn(k, v)
			if err != nil {
				return err
			}
			return bucket(tx, r.bucket).Put(k, nv)
		})
		if err != nil {
			return fmt.Errorf("opening %s: migrating %s to format version 4: %w", d.path, r.bucket, err)
		}
	}
	now := time.Now()
	err := d.migrateEach(bucketIdem, func(tx *bbolt.Tx, k, _ []byte) error {
		return tx.Bucket(bucketIdemTimes).Put(timeKey(now, k), nil)
	})
	if err != nil {
		return fmt.Errorf("opening %s: indexing idempotency keys: %w", d.path, err)
	}
	if err := d.migrateStepKeys(); err != nil {
		return fmt.Errorf("opening %s: naming step keys in their webhook messages: %w", d.path, err)
	}
	return d.db.Update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		for _, b := range [][]byte{bucketEvents, bucketRuns, bucketLedger, bucketEventIDs, bucketIdem, bucketWebhookStepKeys} {
			if err := meta.Delete(migrateCursorKey(b)); err != nil {
				return err
			}
		}
		return meta.Put(keyFormatVer, []byte("4"))
	})
}

func migrateCursorKey(b []byte) []byte { return append([]byte("migrate3."), b...) }

// migrateEach calls fn for every key of bucket b after the last one a previous call got to,
// in transactions of migrateBatch keys. fn may overwrite the key it is given.
func (d *DB) migrateEach(b []byte, fn func(tx *bbolt.Tx, k, v []byte) error) error {
	ck := migrateCursorKey(b)
	for {
		more := false
		err := d.db.Update(func(tx *bbolt.Tx) error {
			meta := tx.Bucket(bucketMeta)
			after := meta.Get(ck)
			var keys, vals [][]byte
			c := tx.Bucket(b).Cursor()
			var k, v []byte
			if after == nil {
				k, v = c.First()
			} else {
				k, v = c.Seek(after)
				if k != nil && bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for ; k != nil; k, v = c.Next() {
				if len(keys) == migrateBatch {
					more = true
					break
				}
				keys, vals = append(keys, bytes.Clone(k)), append(vals, bytes.Clone(v))
			}
			if len(keys) == 0 {
				return nil
			}
			for i := range keys {
				if err := fn(tx, keys[i], vals[i]); err != nil {
					return fmt.Errorf("record %q: %w", keys[i], err)
				}
			}
			return meta.Put(ck, keys[len(keys)-1])
		})
		if err != nil || !more {
			return err
		}
	}
}

// migrateStepKeys writes each step key into the webhook message it names, so that pruning
// the message forgets the key; a key whose message is gone is deleted.
func (d *DB) migrateStepKeys() error {
	where := map[string][]byte{} // tenant\0message id → the message's key
	err := d.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketWebhookDeliveries).ForEach(func(k, _ []byte) error {
			tenant, rest, ok := splitKey(k)
			if !ok {
				return nil
			}
			if _, id, ok := splitKey([]byte(rest)); ok {
				where[tenant+"\x00"+id] = bytes.Clone(k)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	return d.migrateEach(bucketWebhookStepKeys, func(tx *bbolt.Tx, k, v []byte) error {
		tenant, stepKey, ok := splitKey(k)
		dk := where[tenant+"\x00"+string(v)]
		if !ok || dk == nil {
			return tx.Bucket(bucketWebhookStepKeys).Delete(k)
		}
		deliveries := tx.Bucket(bucketWebhookDeliveries)
		var rec map[string]json.RawMessage
		if found, err := getRecord(deliveries, dk, &rec); err != nil || !found {
			return err
		}
		name, _ := json.Marshal(stepKey)
		rec["step_key"] = name
		return putRecord(deliveries, dk, rec)
	})
}

// migrateToV5 seals the webhook endpoint secrets a file of format version 4 or older keeps
// in plain text and stamps version 5.
func (d *DB) migrateToV5() error {
	return d.db.Update(func(tx *bbolt.Tx) error {
		if err := migrateEndpointSecrets(tx, d.box); err != nil {
			return fmt.Errorf("opening %s: migrating to format version 5: %w", d.path, err)
		}
		return tx.Bucket(bucketMeta).Put(keyFormatVer, []byte("5"))
	})
}

// migrateToV6 stamps version 6. Its one change, the dedup journal, is a bucket that init
// creates; the stamp keeps older releases, which would not read the journal, from opening
// the file.
func (d *DB) migrateToV6() error {
	return d.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyFormatVer, []byte("6"))
	})
}
