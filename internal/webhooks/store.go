package webhooks

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aquascene/aquahub/core"
	bbolt "go.etcd.io/bbolt"
)

// Buckets owned by this package. Keys start with tenant + "\x00", except the due index
// (ordered by time first, so one cursor finds the next due message of every tenant) and the
// fan-out cursor, which belongs to no tenant.
var (
	bucketEndpoints  = []byte("webhooks.endpoints")  // tenant\0endpoint → endpointRecord
	bucketDeliveries = []byte("webhooks.deliveries") // tenant\0endpoint\0message → deliveryRecord
	bucketDue        = []byte("webhooks.due")        // be64(unix nanos) tenant\0endpoint\0message → ""
	bucketMeta       = []byte("webhooks.meta")       // "fanout.cursor" → be64(seq)
	bucketStepKeys   = []byte("webhooks.stepkeys")   // tenant\0idempotency key → message id
	bucketInbound    = []byte("webhooks.inbound")    // tenant\0source\0message id → be64(expiry nanos)
)

var keyCursor = []byte("fanout.cursor")

// AllBuckets lists every bucket the package creates, for tools that inspect the file.
var AllBuckets = [][]byte{bucketEndpoints, bucketDeliveries, bucketDue, bucketMeta, bucketStepKeys, bucketInbound}

// ensureBuckets creates the package's buckets.
func ensureBuckets(db *bbolt.DB) error {
	return db.Update(func(tx *bbolt.Tx) error {
		for _, b := range AllBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("creating bucket %s: %w", b, err)
			}
		}
		return nil
	})
}

func key(parts ...string) []byte {
	var b []byte
	for i, p := range parts {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, p...)
	}
	return b
}

func prefix(parts ...string) []byte { return append(key(parts...), 0) }

func be64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

func dueKey(at time.Time, tenant, endpoint, msg string) []byte {
	n := at.UnixNano()
	if n < 0 {
		n = 0
	}
	return append(be64(uint64(n)), key(tenant, endpoint, msg)...)
}

// newMessageID returns "msg_" + 16 hex digits of a per-file sequence (so ids sort by
// creation within an endpoint) + 8 random hex digits (so ids from different files differ).
func newMessageID(b *bbolt.Bucket) (string, error) {
	seq, err := b.NextSequence()
	if err != nil {
		return "", err
	}
	var r [4]byte
	_, _ = rand.Read(r[:])
	return fmt.Sprintf("msg_%016x%s", seq, hex.EncodeToString(r[:])), nil
}

// newEndpointID returns "ep_" + 16 hex digits of sequence + 8 random hex digits.
func newEndpointID(b *bbolt.Bucket) (string, error) {
	seq, err := b.NextSequence()
	if err != nil {
		return "", err
	}
	var r [4]byte
	_, _ = rand.Read(r[:])
	return fmt.Sprintf("ep_%016x%s", seq, hex.EncodeToString(r[:])), nil
}

func getEndpoint(tx *bbolt.Tx, tenant, id string) (*endpointRecord, error) {
	v := tx.Bucket(bucketEndpoints).Get(key(tenant, id))
	if v == nil {
		return nil, fmt.Errorf("webhook endpoint %q: %w", id, core.ErrNotFound)
	}
	var r endpointRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("decoding endpoint %q: %w", id, err)
	}
	return &r, nil
}

func putEndpoint(tx *bbolt.Tx, r *endpointRecord) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketEndpoints).Put(key(r.Tenant, r.ID), v)
}

// tenantEndpoints returns every endpoint of tenant.
func tenantEndpoints(tx *bbolt.Tx, tenant string) ([]*endpointRecord, error) {
	var out []*endpointRecord
	p := prefix(tenant)
	c := tx.Bucket(bucketEndpoints).Cursor()
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		var r endpointRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return nil, fmt.Errorf("decoding endpoint %q: %w", k, err)
		}
		out = append(out, &r)
	}
	return out, nil
}

func getDelivery(tx *bbolt.Tx, tenant, endpoint, msg string) (*deliveryRecord, error) {
	v := tx.Bucket(bucketDeliveries).Get(key(tenant, endpoint, msg))
	if v == nil {
		return nil, fmt.Errorf("delivery %q: %w", msg, core.ErrNotFound)
	}
	var r deliveryRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("decoding delivery %q: %w", msg, err)
	}
	return &r, nil
}

func putDelivery(tx *bbolt.Tx, r *deliveryRecord) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketDeliveries).Put(key(r.Tenant, r.EndpointID, r.ID), v)
}

// schedule puts r in the due index at at, replacing its previous index entry.
func schedule(tx *bbolt.Tx, r *deliveryRecord, at time.Time) error {
	due := tx.Bucket(bucketDue)
	if !r.DueAt.IsZero() {
		if err := due.Delete(dueKey(r.DueAt, r.Tenant, r.EndpointID, r.ID)); err != nil {
			return err
		}
	}
	r.DueAt = at
	return due.Put(dueKey(at, r.Tenant, r.EndpointID, r.ID), nil)
}

// unschedule removes r from the due index.
func unschedule(tx *bbolt.Tx, r *deliveryRecord) error {
	if r.DueAt.IsZero() {
		return nil
	}
	err := tx.Bucket(bucketDue).Delete(dueKey(r.DueAt, r.Tenant, r.EndpointID, r.ID))
	r.DueAt = time.Time{}
	return err
}

// enqueue creates a pending message for ep, due at now.
func enqueue(tx *bbolt.Tx, ep *endpointRecord, ev *core.Event, body []byte, now time.Time) (*deliveryRecord, error) {
	id, err := newMessageID(tx.Bucket(bucketDeliveries))
	if err != nil {
		return nil, err
	}
	r := &deliveryRecord{
		Delivery: Delivery{
			ID: id, EndpointID: ep.ID, EventType: ev.Type, EventID: ev.ID, EventSeq: ev.Seq,
			State: StatePending, NextAt: now, CreatedAt: now, UpdatedAt: now, Log: []Attempt{},
		},
		Tenant: ep.Tenant,
		Body:   body,
	}
	if err := schedule(tx, r, now); err != nil {
		return nil, err
	}
	return r, putDelivery(tx, r)
}

func readCursor(tx *bbolt.Tx) uint64 {
	v := tx.Bucket(bucketMeta).Get(keyCursor)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}
