package bolt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"

	bbolt "go.etcd.io/bbolt"
)

// The helpers every store shares: keys that start with the tenant, one record codec (JSON of
// the store's private record types), and prefix scans.

// key joins parts with zero bytes: tenant\0id\0…. Tenant ids and the ids under them never
// contain a zero byte.
func key(parts ...string) []byte {
	n := len(parts)
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, p...)
	}
	return b
}

// prefix is key(parts...) followed by a zero byte: every key below those parts.
func prefix(parts ...string) []byte { return append(key(parts...), 0) }

// splitKey splits a key at its first zero byte.
func splitKey(k []byte) (head, rest string, ok bool) {
	i := bytes.IndexByte(k, 0)
	if i < 0 {
		return "", "", false
	}
	return string(k[:i]), string(k[i+1:]), true
}

// be64 encodes v so that keys sort numerically.
func be64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

// getRecord decodes the record at k into v; it reports whether the key exists.
func getRecord(b *bbolt.Bucket, k []byte, v any) (bool, error) {
	raw := b.Get(k)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("decoding record %q: %w", k, err)
	}
	return true, nil
}

// putRecord encodes v at k.
func putRecord(b *bbolt.Bucket, k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding record %q: %w", k, err)
	}
	return b.Put(k, raw)
}

// scan calls fn for every key with prefix p, in order, until fn returns false or an error.
func scan(b *bbolt.Bucket, p []byte, fn func(k, v []byte) (bool, error)) error {
	c := b.Cursor()
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		more, err := fn(k, v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// deletePrefix deletes every key with prefix p.
func deletePrefix(b *bbolt.Bucket, p []byte) error {
	var keys [][]byte
	if err := scan(b, p, func(k, _ []byte) (bool, error) {
		keys = append(keys, bytes.Clone(k))
		return true, nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// lastBefore positions c at the last key strictly less than k.
func lastBefore(c *bbolt.Cursor, k []byte) ([]byte, []byte) {
	if found, _ := c.Seek(k); found == nil {
		return c.Last()
	}
	return c.Prev()
}
