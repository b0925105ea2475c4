package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/plugins"
)

var (
	// bucketConnectorKV holds connectors' kv values: tenant\0connector\0key → the value's
	// bytes as the connector gave them (no record envelope: the layout predates this
	// package).
	bucketConnectorKV = []byte("plugins.kv")
	// bucketConnectorKVUsage holds each scope's totals, kept with every write so that a
	// quota check costs one read: tenant\0connector → kvUsageRecord. A scope without keys
	// has no record.
	bucketConnectorKVUsage = []byte("plugins.kv.usage")
)

// kvUsageRecord is one scope's totals on disk.
type kvUsageRecord struct {
	V     int   `json:"v"`
	Keys  int   `json:"keys"`
	Bytes int64 `json:"bytes"`
}

const kvUsageRecordVersion = 1

// ConnectorKV is plugins.KVStore on the hub's bbolt file.
type ConnectorKV struct {
	db handle
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

// Set implements plugins.KVStore: the quota check, the value and the scope's new totals are
// one transaction. Writers share commits through DB.Batch; a refused write ends its
// function without error, so that it does not make the batch it shares fail and run again.
func (s *ConnectorKV) Set(ctx context.Context, scope plugins.KVScope, k, value []byte, quota plugins.KVQuota) error {
	full, err := kvKey(scope, k)
	if err != nil {
		return err
	}
	if len(value) == 0 {
		return core.Invalid("value", "must not be empty (delete the key instead)")
	}
	v := bytes.Clone(value)
	var refused error
	err = s.db.Batch(func(tx *bbolt.Tx) error {
		refused = nil
		b := tx.Bucket(bucketConnectorKV)
		before, err := kvUsage(tx, scope)
		if err != nil {
			return err
		}
		after := plugins.UsageAfterSet(before, k, b.Get(full), v)
		if refused = plugins.CheckQuota(scope, before, after, quota); refused != nil {
			return nil
		}
		if err := b.Put(full, v); err != nil {
			return err
		}
		return putKVUsage(tx, scope, after)
	})
	if err != nil {
		return err
	}
	return refused
}

// Delete implements plugins.KVStore.
func (s *ConnectorKV) Delete(ctx context.Context, scope plugins.KVScope, k []byte) error {
	full, err := kvKey(scope, k)
	if err != nil {
		return err
	}
	return s.db.Batch(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketConnectorKV)
		old := b.Get(full)
		if old == nil {
			return nil
		}
		u, err := kvUsage(tx, scope)
		if err != nil {
			return err
		}
		u.Keys--
		u.Bytes -= int64(len(k) + len(old))
		if err := b.Delete(full); err != nil {
			return err
		}
		return putKVUsage(tx, scope, u)
	})
}

// Usage implements plugins.KVStore from the scope's totals.
func (s *ConnectorKV) Usage(ctx context.Context, scope plugins.KVScope) (plugins.KVUsage, error) {
	var u plugins.KVUsage
	if err := scope.Check(); err != nil {
		return u, err
	}
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		u, err = kvUsage(tx, scope)
		return err
	})
	return u, err
}

// Usages implements plugins.KVStore from every scope's totals.
func (s *ConnectorKV) Usages(ctx context.Context) (map[plugins.KVScope]plugins.KVUsage, error) {
	out := map[plugins.KVScope]plugins.KVUsage{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketConnectorKVUsage).ForEach(func(k, v []byte) error {
			tenant, connector, ok := splitKey(k)
			if !ok {
				return nil
			}
			var r kvUsageRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decoding kv usage %q: %w", k, err)
			}
			out[plugins.KVScope{Tenant: tenant, Connector: connector}] = plugins.KVUsage{Keys: r.Keys, Bytes: r.Bytes}
			return nil
		})
	})
	return out, err
}

// kvUsage reads scope's totals.
func kvUsage(tx *bbolt.Tx, scope plugins.KVScope) (plugins.KVUsage, error) {
	var r kvUsageRecord
	if _, err := getRecord(tx.Bucket(bucketConnectorKVUsage), key(scope.Tenant, scope.Connector), &r); err != nil {
		return plugins.KVUsage{}, err
	}
	return plugins.KVUsage{Keys: r.Keys, Bytes: r.Bytes}, nil
}

// putKVUsage writes scope's totals, removing the record of a scope left without keys.
func putKVUsage(tx *bbolt.Tx, scope plugins.KVScope, u plugins.KVUsage) error {
	b, k := tx.Bucket(bucketConnectorKVUsage), key(scope.Tenant, scope.Connector)
	if u.Keys <= 0 {
		return b.Delete(k)
	}
	return putRecord(b, k, kvUsageRecord{V: kvUsageRecordVersion, Keys: u.Keys, Bytes: u.Bytes})
}

// countKVUsage writes the totals of every scope from the values, for a file written before
// totals were kept.
func countKVUsage(tx *bbolt.Tx) error {
	totals := map[plugins.KVScope]plugins.KVUsage{}
	err := tx.Bucket(bucketConnectorKV).ForEach(func(k, v []byte) error {
		tenant, rest, ok := splitKey(k)
		if !ok {
			return nil
		}
		connector, name, ok := splitKey([]byte(rest))
		if !ok {
			return nil
		}
		scope := plugins.KVScope{Tenant: tenant, Connector: connector}
		u := totals[scope]
		u.Keys++
		u.Bytes += int64(len(name) + len(v))
		totals[scope] = u
		return nil
	})
	if err != nil {
		return err
	}
	for scope, u := range totals {
		if err := putKVUsage(tx, scope, u); err != nil {
			return err
		}
	}
	return nil
}
