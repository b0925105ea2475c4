package bolt

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/aquascene/aquahub/internal/inbound"
	bbolt "go.etcd.io/bbolt"
)

// The inbound sources' buckets. Their names are those the sources used when they kept their
// state beside the outbound webhooks', so existing files read unchanged.
var (
	bucketInboundSeen    = []byte("webhooks.inbound")          // tenant\0source\0message id → be64(expiry unix ns)
	bucketInboundCursors = []byte("webhooks.inbound.airtable") // tenant\0source\0feed → be64(cursor)
)

// Inbound is the inbound sources' store (inbound.Store) on the hub's file.
type Inbound struct {
	db handle
}

// Inbound returns the inbound sources' store.
func (d *DB) Inbound() *Inbound { return &Inbound{db: d.db} }

// readBE64 decodes an 8-byte big-endian value; ok is false for anything else.
func readBE64(v []byte) (uint64, bool) {
	if len(v) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(v), true
}

// MessageSeen implements inbound.Store.
func (s *Inbound) MessageSeen(ctx context.Context, tenant, source, id string, now time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	var seen bool
	err := s.db.View(func(tx *bbolt.Tx) error {
		exp, ok := readBE64(tx.Bucket(bucketInboundSeen).Get(key(tenant, source, id)))
		seen = ok && int64(exp) > now.UnixNano()
		return nil
	})
	return seen, err
}

// RememberMessage implements inbound.Store; concurrent calls share commits.
func (s *Inbound) RememberMessage(ctx context.Context, tenant, source, id string, expires time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Batch(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketInboundSeen).Put(key(tenant, source, id), be64(uint64(max(expires.UnixNano(), 0))))
	})
}

// ForgetMessages implements inbound.Store.
func (s *Inbound) ForgetMessages(ctx context.Context, now time.Time, limit int) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n := 0
	err := s.db.Update(func(tx *bbolt.Tx) error {
		n = 0
		c := tx.Bucket(bucketInboundSeen).Cursor()
		for k, v := c.First(); k != nil && n < limit; k, v = c.Next() {
			if exp, ok := readBE64(v); ok && int64(exp) <= now.UnixNano() {
				if err := c.Delete(); err != nil {
					return err
				}
				n++
			}
		}
		return nil
	})
	return n, err
}

// PayloadCursor implements inbound.Store.
func (s *Inbound) PayloadCursor(ctx context.Context, tenant, source, feed string) (uint64, bool, error) {
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	var cur uint64
	var ok bool
	err := s.db.View(func(tx *bbolt.Tx) error {
		// A value that is not 8 bytes counts as no cursor: the feed is read from its start
		// and what was published before is deduplicated by the pipeline.
		cur, ok = readBE64(tx.Bucket(bucketInboundCursors).Get(key(tenant, source, feed)))
		return nil
	})
	return cur, ok, err
}

// SetPayloadCursor implements inbound.Store; concurrent calls share commits.
func (s *Inbound) SetPayloadCursor(ctx context.Context, tenant, source, feed string, cursor uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Batch(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketInboundCursors).Put(key(tenant, source, feed), be64(cursor))
	})
}

var _ inbound.Store = (*Inbound)(nil)
