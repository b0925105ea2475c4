package bolt

import (
	"bytes"
	"context"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/plugins"
)

// bucketConnectorKV holds connectors' kv values: tenant\0connector\0key → the value's bytes
// as the connector gave them (no record envelope: the layout predates this package).
var bucketConnectorKV = []byte("plugins.kv")

// ConnectorKV is plugins.KVStore on the hub's bbolt file.
type ConnectorKV struct {
	db *bbolt.DB
}

var _ plugins.KVStore = (*ConnectorKV)(nil)

// ConnectorKV returns the store of connectors' kv values.
func (d *DB) ConnectorKV() *ConnectorKV { return &ConnectorKV{db: d.db} }

// kvKey is the key of one value; the connector's key may hold any bytes, zero included,
// since nothing follows it.
func kvKey(scope plugins.KVScope, k []byte) ([]byte, error) {
	if err := scope.Check(); err != nil {
		return nil, err
	}
	if len(k) == 0 {
		return nil, core.Invalid("key", "must not be empty")
	}
	return append(prefix(scope.Tenant, scope.Connector), k...), nil
}

// Get implements plugins.KVStore.
func (s *ConnectorKV) Get(ctx context.Context, scope plugins.KVScope, k []byte) ([]byte, error) {
	full, err := kvKey(scope, k)
	if err != nil {
		return nil, err
	}
	var out []byte
	err = s.db.View(func(tx *bbolt.Tx) error {
		if v := tx.Bucket(bucketConnectorKV).Get(full); v != nil {
			out = bytes.Clone(v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, fmt.Errorf("kv key %q of connector %q: %w", k, scope.Connector, core.ErrNotFound)
	}
	return out, nil
}

// Set implements plugins.KVStore. Writers share commits through DB.Batch.
func (s *ConnectorKV) Set(ctx context.Context, scope plugins.KVScope, k, value []byte) error {
	full, err := kvKey(scope, k)
	if err != nil {
		return err
	}
	if len(value) == 0 {
		return core.Invalid("value", "must not be empty (delete the key instead)")
	}
	v := bytes.Clone(value)
	return s.db.Batch(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketConnectorKV).Put(full, v)
	})
}

// Delete implements plugins.KVStore.
func (s *ConnectorKV) Delete(ctx context.Context, scope plugins.KVScope, k []byte) error {
	full, err := kvKey(scope, k)
	if err != nil {
		return err
	}
	return s.db.Batch(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketConnectorKV).Delete(full)
	})
}

// Usage implements plugins.KVStore by scanning the scope's keys in one read transaction.
func (s *ConnectorKV) Usage(ctx context.Context, scope plugins.KVScope) (plugins.KVUsage, error) {
	var u plugins.KVUsage
	if err := scope.Check(); err != nil {
		return u, err
	}
	p := prefix(scope.Tenant, scope.Connector)
	err := s.db.View(func(tx *bbolt.Tx) error {
		return scan(tx.Bucket(bucketConnectorKV), p, func(k, v []byte) (bool, error) {
			u.Keys++
			u.Bytes += int64(len(k)-len(p)) + int64(len(v))
			return true, nil
		})
	})
	return u, err
}
