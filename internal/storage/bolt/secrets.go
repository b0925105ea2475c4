package bolt

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/aquascene/aquahub/core"
	bbolt "go.etcd.io/bbolt"
)

// bucketDataKeys holds each tenant's data key, wrapped by the master key: tenant → wrapped.
var bucketDataKeys = []byte("secrets.datakeys")

// errNoSecretBox is returned when a record with a secret is written or read by a DB opened
// without Options.Secrets.
var errNoSecretBox = errors.New("storage: opened without a secret box (the master key); secrets cannot be stored or read")

// dataKeys is core.DataKeys inside one transaction.
type dataKeys struct{ tx *bbolt.Tx }

func (k dataKeys) DataKey(tenant string) ([]byte, error) {
	v := k.tx.Bucket(bucketDataKeys).Get([]byte(tenant))
	if v == nil {
		return nil, nil
	}
	return bytes.Clone(v), nil
}

func (k dataKeys) PutDataKey(tenant string, wrapped []byte) error {
	if !k.tx.Writable() {
		return errors.New("storage: a data key cannot be created in a read-only transaction")
	}
	return k.tx.Bucket(bucketDataKeys).Put([]byte(tenant), wrapped)
}

// seal seals a secret of tenant in tx; the empty secret stays empty.
func seal(box core.SecretBox, tx *bbolt.Tx, tenant, secret string) ([]byte, error) {
	if secret == "" {
		return nil, nil
	}
	if box == nil {
		return nil, errNoSecretBox
	}
	return box.Seal(dataKeys{tx}, tenant, []byte(secret))
}

// unseal opens what seal returned; nil stays empty.
func unseal(box core.SecretBox, tx *bbolt.Tx, tenant string, sealed []byte) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	if box == nil {
		return "", errNoSecretBox
	}
	b, err := box.Open(dataKeys{tx}, tenant, sealed)
	return string(b), err
}

// DataKeys returns every tenant's wrapped data key, for the check at start that the
// configured master key wrapped them.
func (d *DB) DataKeys() (map[string][]byte, error) {
	out := map[string][]byte{}
	err := d.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketDataKeys).ForEach(func(k, v []byte) error {
			out[string(k)] = bytes.Clone(v)
			return nil
		})
	})
	return out, err
}

// RewrapDataKeys replaces every tenant's wrapped data key with what rewrap returns, in one
// transaction: all or none. It is a master key rotation; the sealed values stay as they
// are. It returns how many keys it rewrapped.
func (d *DB) RewrapDataKeys(rewrap func(tenant string, wrapped []byte) ([]byte, error)) (int, error) {
	n := 0
	err := d.db.Update(func(tx *bbolt.Tx) error {
		n = 0
		b := tx.Bucket(bucketDataKeys)
		type kv struct{ k, v []byte }
		var all []kv
		if err := b.ForEach(func(k, v []byte) error {
			all = append(all, kv{bytes.Clone(k), bytes.Clone(v)})
			return nil
		}); err != nil {
			return err
		}
		for _, e := range all {
			next, err := rewrap(string(e.k), e.v)
			if err != nil {
				return fmt.Errorf("tenant %q: %w", e.k, err)
			}
			if err := b.Put(e.k, next); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
