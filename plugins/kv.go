package plugins

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/aquascene/aquahub/core"
)

// KVScope is whose values a kv call reaches: one tenant's, for one connector. A connector
// never reaches another connector's values, nor a tenant another tenant's.
type KVScope struct {
	// Tenant and Connector are both required and never contain a zero byte.
	Tenant    string
	Connector string
}

// Check reports a scope a store must refuse: an empty part, or a zero byte, which would let
// one scope's keys run into another's.
func (s KVScope) Check() error {
	switch {
	case s.Tenant == "" || bytes.IndexByte([]byte(s.Tenant), 0) >= 0:
		return core.Invalid("tenant", "must be non-empty without zero bytes (got %q)", s.Tenant)
	case s.Connector == "" || bytes.IndexByte([]byte(s.Connector), 0) >= 0:
		return core.Invalid("connector", "must be non-empty without zero bytes (got %q)", s.Connector)
	}
	return nil
}

// KVUsage is what one scope holds, the measure per-scope quotas are set against.
type KVUsage struct {
	// Keys is the number of keys.
	Keys int
	// Bytes is the sum of the lengths of the keys and their values.
	Bytes int64
}

// KVQuota bounds what one scope may hold. A zero field is no bound.
type KVQuota struct {
	// Keys bounds the number of keys.
	Keys int
	// Bytes bounds the sum of the lengths of the keys and their values.
	Bytes int64
}

// exceededBy reports whether u is over the quota.
func (q KVQuota) exceededBy(u KVUsage) bool {
	return (q.Keys > 0 && u.Keys > q.Keys) || (q.Bytes > 0 && u.Bytes > q.Bytes)
}

// ErrKVQuota is wrapped by the error of a Set that would take its scope over its quota.
var ErrKVQuota = errors.New("kv quota exceeded")

// QuotaError returns the error a store's Set returns when storing would take the scope to
// usage, over quota; it wraps ErrKVQuota.
func QuotaError(scope KVScope, usage KVUsage, quota KVQuota) error {
	return fmt.Errorf("connector %q of tenant %q: storing would make %d keys and %d bytes (quota %d keys, %d bytes): %w",
		scope.Connector, scope.Tenant, usage.Keys, usage.Bytes, quota.Keys, quota.Bytes, ErrKVQuota)
}

// UsageAfterSet is a scope's usage once key holds value, from its usage before and the
// key's old value (nil when it had none).
func UsageAfterSet(before KVUsage, key, old, value []byte) KVUsage {
	after := before
	if old != nil {
		after.Bytes += int64(len(value) - len(old))
	} else {
		after.Keys++
		after.Bytes += int64(len(key) + len(value))
	}
	return after
}

// CheckQuota returns QuotaError when after, the scope's usage once a Set is done, is over
// quota and larger than before (a Set that shrinks a value stays allowed over a lowered
// quota), else nil. Stores call it inside the transaction that writes.
func CheckQuota(scope KVScope, before, after KVUsage, quota KVQuota) error {
	if quota.exceededBy(after) && (after.Keys > before.Keys || after.Bytes > before.Bytes) {
		return QuotaError(scope, after, quota)
	}
	return nil
}

// KVStore keeps the values connectors store with kv_set and read with kv_get: durable,
// scoped by tenant and connector. Implementations are safe for concurrent use. Keys are
// non-empty byte strings (the host bounds them at abi.MaxKVKeyBytes and values at
// Config.MaxKVValueBytes before calling); a store refuses an empty key or an invalid
// scope with an error wrapping core.ErrInvalid.
type KVStore interface {
	// Get returns a copy of the value of key, or an error wrapping core.ErrNotFound.
	Get(ctx context.Context, scope KVScope, key []byte) ([]byte, error)
	// Set stores value under key, replacing what was there; the value must not be empty
	// (kv_set with an empty value deletes, through Delete). It returns once the value is
	// durable. When the write would take the scope's usage over quota it writes nothing and
	// returns an error wrapping ErrKVQuota (CheckQuota decides); the check and the write are
	// one atomic step, so concurrent writers cannot pass the quota together.
	Set(ctx context.Context, scope KVScope, key, value []byte, quota KVQuota) error
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, scope KVScope, key []byte) error
	// Usage counts the keys and bytes of scope.
	Usage(ctx context.Context, scope KVScope) (KVUsage, error)
	// Usages returns the usage of every scope that holds at least one key.
	Usages(ctx context.Context) (map[KVScope]KVUsage, error)
}

// errNoKV is why kv calls fail when the catalog has no store (checking rules needs none).
var errNoKV = errors.New("no kv store")

// kvGet reads a value for the call's connector; ok is false when the key has none.
func (c *Catalog) kvGet(ctx context.Context, scope KVScope, key []byte) (value []byte, ok bool, err error) {
	if c.deps.KV == nil {
		return nil, false, errNoKV
	}
	v, err := c.deps.KV.Get(ctx, scope, key)
	if errors.Is(err, core.ErrNotFound) {
		return nil, false, nil
	}
	return v, err == nil, err
}

// kvSetAsync stores value for the call under the catalog's quota, and returns before the
// value is durable: the guest goes on while the write waits for its commit, and the call
// settles (callState.settleKV) before it reads the store, sends a request or ends, so that
// nothing the call does can be seen before its writes are on disk. The write holds no
// instance once the guest has returned (Call.Released). A write that would take the scope
// over its quota is refused here, as a write that waited would be; the store checks again
// when it writes. An empty value deletes the key, as the ABI says, before returning.
func (c *Catalog) kvSetAsync(ctx context.Context, cs *callState, key, value []byte) error {
	if c.deps.KV == nil {
		return errNoKV
	}
	scope := cs.kvScope()
	if len(value) == 0 {
		return c.deps.KV.Delete(ctx, scope, key)
	}
	quota := c.kvQuota()
	if quota != (KVQuota{}) {
		before, err := c.deps.KV.Usage(ctx, scope)
		if err != nil {
			return err
		}
		old, _, err := c.kvGet(ctx, scope, key)
		if err != nil {
			return err
		}
		if err := CheckQuota(scope, before, UsageAfterSet(before, key, old, value), quota); err != nil {
			return err
		}
	}
	p := &pendingKV{done: make(chan struct{})}
	key, value = bytes.Clone(key), bytes.Clone(value) // they are in guest memory
	go func() {
		defer close(p.done)
		p.err = c.deps.KV.Set(context.WithoutCancel(ctx), scope, key, value, quota)
	}()
	cs.kv = p
	return nil
}

func (c *Catalog) kvQuota() KVQuota {
	return KVQuota{Keys: c.cfg.KVQuotaKeys, Bytes: int64(c.cfg.KVQuotaBytes)}
}
