package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/webhooks"
	"github.com/aquascene/aquahub/sdk/signature"
	bbolt "go.etcd.io/bbolt"
)

// The outbound webhooks' buckets. Keys start with the tenant except in the ready index,
// ordered by time first so that one cursor finds the endpoints with a message due, earliest
// first, and in meta, which belongs to no tenant. Messages wait in a queue per endpoint
// (ordered by due time) and each endpoint's earliest due time is in the ready index, so
// that claiming is fair between endpoints: one endpoint's backlog is one entry of the ready
// index, not thousands ahead of everyone else's.
var (
	bucketWebhookEndpoints  = []byte("webhooks.endpoints")  // tenant\0endpoint → endpointRecord
	bucketWebhookDeliveries = []byte("webhooks.deliveries") // tenant\0endpoint\0message → deliveryRecord
	bucketWebhookQueue      = []byte("webhooks.queue")      // tenant\0endpoint\0 be64(due unix ns) message → empty
	bucketWebhookReady      = []byte("webhooks.ready")      // be64(earliest due) tenant\0endpoint → empty
	bucketWebhookHeads      = []byte("webhooks.heads")      // tenant\0endpoint → be64(earliest due), the ready entry
	bucketWebhookMeta       = []byte("webhooks.meta")       // "fanout.cursor" → be64(event seq)
	bucketWebhookStepKeys   = []byte("webhooks.stepkeys")   // tenant\0idempotency key → message id
	// bucketWebhookDueV2 is format version 2's due index, be64(due) tenant\0endpoint\0message,
	// refiled into the queues when a file is opened (migrateWebhookDueV2).
	bucketWebhookDueV2 = []byte("webhooks.due")
)

var keyFanOutCursor = []byte("fanout.cursor")

// Webhooks is the outbound webhooks' store (webhooks.Store) on the hub's file.
type Webhooks struct {
	db  handle
	box core.SecretBox
}

// Webhooks returns the outbound webhooks' store. Endpoint secrets are sealed with the DB's
// SecretBox.
func (d *DB) Webhooks() *Webhooks { return &Webhooks{db: d.db, box: d.box} }

// View implements webhooks.Store.
func (s *Webhooks) View(ctx context.Context, fn func(tx webhooks.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(func(tx *bbolt.Tx) error { return fn(webhookTx{tx, s.box}) })
}

// Update implements webhooks.Store.
func (s *Webhooks) Update(ctx context.Context, fn func(tx webhooks.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bbolt.Tx) error { return fn(webhookTx{tx, s.box}) })
}

// Batch implements webhooks.Store with bbolt's group commit.
func (s *Webhooks) Batch(ctx context.Context, fn func(tx webhooks.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Batch(func(tx *bbolt.Tx) error { return fn(webhookTx{tx, s.box}) })
}

// webhookTx is webhooks.Tx on one bbolt transaction.
type webhookTx struct {
	tx  *bbolt.Tx
	box core.SecretBox
}

func (t webhookTx) NextEndpointSeq() (uint64, error) {
	return t.tx.Bucket(bucketWebhookEndpoints).NextSequence()
}

func (t webhookTx) Endpoint(tenant, id string) (webhooks.Endpoint, error) {
	var r endpointRecord
	ok, err := getRecord(t.tx.Bucket(bucketWebhookEndpoints), key(tenant, id), &r)
	if err != nil {
		return webhooks.Endpoint{}, err
	}
	if !ok {
		return webhooks.Endpoint{}, fmt.Errorf("webhook endpoint %q: %w", id, core.ErrNotFound)
	}
	return r.endpoint(t.tx, t.box)
}

func (t webhookTx) Endpoints(tenant string) ([]webhooks.Endpoint, error) {
	var out []webhooks.Endpoint
	err := scan(t.tx.Bucket(bucketWebhookEndpoints), prefix(tenant), func(k, v []byte) (bool, error) {
		var r endpointRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return false, fmt.Errorf("decoding endpoint %q: %w", k, err)
		}
		ep, err := r.endpoint(t.tx, t.box)
		if err != nil {
			return false, err
		}
		out = append(out, ep)
		return true, nil
	})
	return out, err
}

func (t webhookTx) PutEndpoint(ep webhooks.Endpoint) error {
	r, err := toEndpointRecord(t.tx, t.box, ep)
	if err != nil {
		return fmt.Errorf("webhook endpoint %q: %w", ep.ID, err)
	}
	return putRecord(t.tx.Bucket(bucketWebhookEndpoints), key(ep.Tenant, ep.ID), r)
}

func (t webhookTx) DeleteEndpoint(tenant, id string) error {
	return t.tx.Bucket(bucketWebhookEndpoints).Delete(key(tenant, id))
}

func (t webhookTx) NextDeliverySeq() (uint64, error) {
	return t.tx.Bucket(bucketWebhookDeliveries).NextSequence()
}

func (t webhookTx) Delivery(tenant, endpointID, id string) (webhooks.Delivery, error) {
	var r deliveryRecord
	ok, err := getRecord(t.tx.Bucket(bucketWebhookDeliveries), key(tenant, endpointID, id), &r)
	if err != nil {
		return webhooks.Delivery{}, err
	}
	if !ok {
		return webhooks.Delivery{}, fmt.Errorf("delivery %q: %w", id, core.ErrNotFound)
	}
	return r.delivery(), nil
}

// webhookQueueKey is a message's key in its endpoint's queue.
func webhookQueueKey(at time.Time, tenant, endpoint, msg string) []byte {
	k := prefix(tenant, endpoint)
	k = append(k, be64(uint64(max(at.UnixNano(), 0)))...)
	return append(k, msg...)
}

// refreshHead moves the endpoint's entry in the ready index to the due time of the first
// message in its queue, or removes it when the queue is empty.
func (t webhookTx) refreshHead(tenant, endpoint string) error {
	queue, ready, heads := t.tx.Bucket(bucketWebhookQueue), t.tx.Bucket(bucketWebhookReady), t.tx.Bucket(bucketWebhookHeads)
	p := prefix(tenant, endpoint)
	var head []byte
	if k, _ := queue.Cursor().Seek(p); k != nil && bytes.HasPrefix(k, p) && len(k) >= len(p)+8 {
		head = append([]byte(nil), k[len(p):len(p)+8]...)
	}
	hk := key(tenant, endpoint)
	old := heads.Get(hk)
	if bytes.Equal(old, head) {
		return nil
	}
	if old != nil {
		if err := ready.Delete(append(append([]byte(nil), old...), hk...)); err != nil {
			return err
		}
	}
	if head == nil {
		return heads.Delete(hk)
	}
	if err := heads.Put(hk, head); err != nil {
		return err
	}
	return ready.Put(append(head, hk...), nil)
}

// storedDueAt reads the due time of the stored message at k, zero when there is none.
func storedDueAt(b *bbolt.Bucket, k []byte) (time.Time, error) {
	var r struct {
		DueAt time.Time `json:"due_at"`
	}
	if _, err := getRecord(b, k, &r); err != nil {
		return time.Time{}, err
	}
	return r.DueAt, nil
}

func (t webhookTx) PutDelivery(d webhooks.Delivery) error {
	b, queue := t.tx.Bucket(bucketWebhookDeliveries), t.tx.Bucket(bucketWebhookQueue)
	k := key(d.Tenant, d.EndpointID, d.ID)
	prev, err := storedDueAt(b, k)
	if err != nil {
		return err
	}
	if !prev.Equal(d.DueAt) {
		if !prev.IsZero() {
			if err := queue.Delete(webhookQueueKey(prev, d.Tenant, d.EndpointID, d.ID)); err != nil {
				return err
			}
		}
		if !d.DueAt.IsZero() {
			if err := queue.Put(webhookQueueKey(d.DueAt, d.Tenant, d.EndpointID, d.ID), nil); err != nil {
				return err
			}
		}
		if err := t.refreshHead(d.Tenant, d.EndpointID); err != nil {
			return err
		}
	}
	return putRecord(b, k, toDeliveryRecord(d))
}

func (t webhookTx) DeleteDelivery(tenant, endpointID, id string) error {
	b := t.tx.Bucket(bucketWebhookDeliveries)
	k := key(tenant, endpointID, id)
	prev, err := storedDueAt(b, k)
	if err != nil {
		return err
	}
	if !prev.IsZero() {
		if err := t.tx.Bucket(bucketWebhookQueue).Delete(webhookQueueKey(prev, tenant, endpointID, id)); err != nil {
			return err
		}
		if err := t.refreshHead(tenant, endpointID); err != nil {
			return err
		}
	}
	return b.Delete(k)
}

func (t webhookTx) Deliveries(tenant, endpointID, before string, fn func(webhooks.Delivery) bool) error {
	p := prefix(tenant, endpointID)
	start := append(append([]byte(nil), p...), 0xff)
	if before != "" {
		start = key(tenant, endpointID, before)
	}
	c := t.tx.Bucket(bucketWebhookDeliveries).Cursor()
	for k, v := lastBefore(c, start); k != nil && bytes.HasPrefix(k, p); k, v = c.Prev() {
		var r deliveryRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decoding delivery %q: %w", k, err)
		}
		if !fn(r.delivery()) {
			return nil
		}
	}
	return nil
}

// DueEndpoints reads the ready index from its start.
func (t webhookTx) DueEndpoints(now time.Time, limit int, skip func(tenant, endpointID string) bool) ([]webhooks.DueEndpoint, error) {
	upTo := uint64(max(now.UnixNano(), 0))
	var out []webhooks.DueEndpoint
	c := t.tx.Bucket(bucketWebhookReady).Cursor()
	for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
		if len(k) < 8 {
			continue
		}
		at := binary.BigEndian.Uint64(k[:8])
		if at > upTo {
			break
		}
		tenant, endpoint, ok := splitKey(k[8:])
		if !ok || (skip != nil && skip(tenant, endpoint)) {
			continue
		}
		out = append(out, webhooks.DueEndpoint{Tenant: tenant, EndpointID: endpoint, At: time.Unix(0, int64(at)).UTC()})
	}
	return out, nil
}

// DueDeliveries reads the endpoint's queue from its start. Entries whose message is gone
// are dropped when the transaction is writable.
func (t webhookTx) DueDeliveries(tenant, endpointID string, now time.Time, limit int) ([]webhooks.Delivery, error) {
	queue, deliveries := t.tx.Bucket(bucketWebhookQueue), t.tx.Bucket(bucketWebhookDeliveries)
	upTo := uint64(max(now.UnixNano(), 0))
	p := prefix(tenant, endpointID)
	var out []webhooks.Delivery
	var stale [][]byte
	c := queue.Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p) && len(out) < limit; k, _ = c.Next() {
		if len(k) < len(p)+8 {
			stale = append(stale, append([]byte(nil), k...))
			continue
		}
		if binary.BigEndian.Uint64(k[len(p):len(p)+8]) > upTo {
			break
		}
		var r deliveryRecord
		ok, err := getRecord(deliveries, key(tenant, endpointID, string(k[len(p)+8:])), &r)
		if err != nil {
			return nil, err
		}
		if !ok {
			stale = append(stale, append([]byte(nil), k...))
			continue
		}
		out = append(out, r.delivery())
	}
	if t.tx.Writable() && len(stale) > 0 {
		for _, k := range stale {
			if err := queue.Delete(k); err != nil {
				return nil, err
			}
		}
		if err := t.refreshHead(tenant, endpointID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// NextDue reads the first entry of the ready index.
func (t webhookTx) NextDue() (time.Time, bool, error) {
	k, _ := t.tx.Bucket(bucketWebhookReady).Cursor().First()
	if len(k) < 8 {
		return time.Time{}, false, nil
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(k[:8]))).UTC(), true, nil
}

// migrateWebhookDueV2 refiles format version 2's due index (be64(due) tenant\0endpoint\0
// message) into the endpoints' queues and the ready index.
func migrateWebhookDueV2(tx *bbolt.Tx) error {
	old := tx.Bucket(bucketWebhookDueV2)
	if old == nil {
		return nil
	}
	t := webhookTx{tx: tx}
	queue := tx.Bucket(bucketWebhookQueue)
	touched := map[[2]string]bool{}
	err := old.ForEach(func(k, _ []byte) error {
		if len(k) < 8 {
			return nil
		}
		parts := strings.SplitN(string(k[8:]), "\x00", 3)
		if len(parts) != 3 {
			return nil
		}
		due := time.Unix(0, int64(binary.BigEndian.Uint64(k[:8])))
		touched[[2]string{parts[0], parts[1]}] = true
		return queue.Put(webhookQueueKey(due, parts[0], parts[1], parts[2]), nil)
	})
	if err != nil {
		return err
	}
	for ep := range touched {
		if err := t.refreshHead(ep[0], ep[1]); err != nil {
			return err
		}
	}
	return tx.DeleteBucket(bucketWebhookDueV2)
}

func (t webhookTx) FanOutCursor() (uint64, error) {
	v := t.tx.Bucket(bucketWebhookMeta).Get(keyFanOutCursor)
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("fan-out cursor: %d bytes, want 8", len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

func (t webhookTx) SetFanOutCursor(seq uint64) error {
	return t.tx.Bucket(bucketWebhookMeta).Put(keyFanOutCursor, be64(seq))
}

func (t webhookTx) StepMessage(tenant, k string) (string, bool, error) {
	v := t.tx.Bucket(bucketWebhookStepKeys).Get(key(tenant, k))
	return string(v), v != nil, nil
}

func (t webhookTx) PutStepMessage(tenant, k, messageID string) error {
	if messageID == "" {
		return errors.New("step message: empty message id")
	}
	return t.tx.Bucket(bucketWebhookStepKeys).Put(key(tenant, k), []byte(messageID))
}

// The outbound webhooks' records. Their JSON names are those the webhooks package wrote
// before it moved behind webhooks.Store, so existing files read unchanged.

// endpointRecord is an endpoint with its secrets, sealed with the tenant's data key since
// format version 5. Secret and PreviousSecret are the older versions' plaintext, read only
// while migrating.
type endpointRecord struct {
	ID                   string            `json:"id"`
	URL                  string            `json:"url"`
	Events               []string          `json:"events"`
	Headers              map[string]string `json:"headers,omitempty"`
	Description          string            `json:"description,omitempty"`
	Enabled              bool              `json:"enabled"`
	DisabledReason       string            `json:"disabled_reason,omitempty"`
	FailingSince         time.Time         `json:"failing_since,omitzero"`
	RotationEndsAt       time.Time         `json:"rotation_ends_at,omitzero"`
	CreatedAt            time.Time         `json:"created_at"`
	UpdatedAt            time.Time         `json:"updated_at"`
	Tenant               string            `json:"tenant"`
	Secret               string            `json:"secret,omitempty"`
	PreviousSecret       string            `json:"previous_secret,omitempty"`
	SealedSecret         []byte            `json:"sealed_secret,omitempty"`
	SealedPreviousSecret []byte            `json:"sealed_previous_secret,omitempty"`
	MaxInFlight          int               `json:"max_in_flight,omitempty"`
	RateLimit            float64           `json:"rate_limit,omitempty"`
	TimeoutMS            int64             `json:"timeout_ms,omitempty"`
	Ordered              bool              `json:"ordered,omitempty"`
	OrderedHead          string            `json:"ordered_head,omitempty"`
}

func toEndpointRecord(tx *bbolt.Tx, box core.SecretBox, e webhooks.Endpoint) (endpointRecord, error) {
	r := endpointRecord{
		ID: e.ID, URL: e.URL, Events: e.Events, Headers: e.Headers, Description: e.Description, Enabled: e.Enabled,
		DisabledReason: e.DisabledReason, FailingSince: e.FailingSince, RotationEndsAt: e.RotationEndsAt,
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt, Tenant: e.Tenant,
		MaxInFlight: e.MaxInFlight, RateLimit: e.RateLimit, TimeoutMS: e.Timeout.Milliseconds(), Ordered: e.Ordered,
		OrderedHead: e.OrderedHead,
	}
	var err error
	if r.SealedSecret, err = seal(box, tx, e.Tenant, string(e.Secret)); err != nil {
		return r, fmt.Errorf("sealing the secret: %w", err)
	}
	if r.SealedPreviousSecret, err = seal(box, tx, e.Tenant, string(e.PreviousSecret)); err != nil {
		return r, fmt.Errorf("sealing the previous secret: %w", err)
	}
	return r, nil
}

func (r endpointRecord) endpoint(tx *bbolt.Tx, box core.SecretBox) (webhooks.Endpoint, error) {
	e := webhooks.Endpoint{
		Tenant: r.Tenant, ID: r.ID, URL: r.URL, Events: r.Events, Headers: r.Headers, Description: r.Description,
		Enabled: r.Enabled, DisabledReason: r.DisabledReason, FailingSince: r.FailingSince, RotationEndsAt: r.RotationEndsAt,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		EndpointSettings: webhooks.EndpointSettings{MaxInFlight: r.MaxInFlight, RateLimit: r.RateLimit,
			Timeout: time.Duration(r.TimeoutMS) * time.Millisecond, Ordered: r.Ordered},
		OrderedHead: r.OrderedHead,
	}
	secret, err := unseal(box, tx, r.Tenant, r.SealedSecret)
	if err != nil {
		return e, fmt.Errorf("webhook endpoint %q: %w", r.ID, err)
	}
	previous, err := unseal(box, tx, r.Tenant, r.SealedPreviousSecret)
	if err != nil {
		return e, fmt.Errorf("webhook endpoint %q: %w", r.ID, err)
	}
	e.Secret, e.PreviousSecret = signature.Secret(secret), signature.Secret(previous)
	return e, nil
}

// migrateEndpointSecrets seals the plaintext endpoint secrets of format version 4 and older. It needs the box
// only when there is a secret to seal.
func migrateEndpointSecrets(tx *bbolt.Tx, box core.SecretBox) error {
	b := tx.Bucket(bucketWebhookEndpoints)
	type kv struct {
		k []byte
		r endpointRecord
	}
	var todo []kv
	err := b.ForEach(func(k, v []byte) error {
		var r endpointRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decoding endpoint %q: %w", k, err)
		}
		if r.Secret != "" || r.PreviousSecret != "" {
			todo = append(todo, kv{bytes.Clone(k), r})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(todo) > 0 && box == nil {
		return fmt.Errorf("%d webhook endpoints hold plaintext secrets to seal: %w", len(todo), errNoSecretBox)
	}
	for _, e := range todo {
		r := e.r
		if r.SealedSecret, err = seal(box, tx, r.Tenant, r.Secret); err != nil {
			return fmt.Errorf("endpoint %q: %w", r.ID, err)
		}
		if r.SealedPreviousSecret, err = seal(box, tx, r.Tenant, r.PreviousSecret); err != nil {
			return fmt.Errorf("endpoint %q: %w", r.ID, err)
		}
		r.Secret, r.PreviousSecret = "", ""
		if err := putRecord(b, e.k, r); err != nil {
			return err
		}
	}
	return nil
}

// deliveryRecord is a message with its body, attempt log and scheduling state.
type deliveryRecord struct {
	ID         string          `json:"id"`
	EndpointID string          `json:"endpoint_id"`
	EventType  string          `json:"event_type"`
	EventID    string          `json:"event_id,omitempty"`
	EventSeq   uint64          `json:"event_seq,omitempty"`
	State      string          `json:"state"`
	Attempts   int             `json:"attempts"`
	NextAt     time.Time       `json:"next_attempt_at,omitzero"`
	LastError  string          `json:"last_error,omitempty"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
	Log        []attemptRecord `json:"attempt_log"`
	Tenant     string          `json:"tenant"`
	Body       json.RawMessage `json:"body"`
	Round      int             `json:"round"`
	LeaseUntil time.Time       `json:"lease_until,omitzero"`
	DueAt      time.Time       `json:"due_at,omitzero"`
	Trigger    string          `json:"trigger,omitempty"`
	StepKey    string          `json:"step_key,omitempty"`
}

// attemptRecord is one request of a message.
type attemptRecord struct {
	N         int       `json:"n"`
	At        time.Time `json:"at"`
	URL       string    `json:"url"`
	Status    int       `json:"status"`
	LatencyMS float64   `json:"latency_ms"`
	Response  string    `json:"response,omitempty"`
	Error     string    `json:"error,omitempty"`
	Trigger   string    `json:"trigger"`
}

func toDeliveryRecord(d webhooks.Delivery) deliveryRecord {
	r := deliveryRecord{
		ID: d.ID, EndpointID: d.EndpointID, EventType: d.EventType, EventID: d.EventID, EventSeq: d.EventSeq,
		State: string(d.State), Attempts: d.Attempts, NextAt: d.NextAt, LastError: d.LastError,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, Log: make([]attemptRecord, 0, len(d.Log)),
		Tenant: d.Tenant, Body: d.Body, Round: d.Round, LeaseUntil: d.LeaseUntil, DueAt: d.DueAt, Trigger: d.Trigger, StepKey: d.StepKey,
	}
	for _, a := range d.Log {
		r.Log = append(r.Log, attemptRecord{N: a.N, At: a.At, URL: a.URL, Status: a.Status, LatencyMS: a.LatencyMS,
			Response: a.Response, Error: a.Error, Trigger: a.Trigger})
	}
	return r
}

func (r deliveryRecord) delivery() webhooks.Delivery {
	d := webhooks.Delivery{
		Tenant: r.Tenant, ID: r.ID, EndpointID: r.EndpointID, EventType: r.EventType, EventID: r.EventID, EventSeq: r.EventSeq,
		State: webhooks.DeliveryState(r.State), Attempts: r.Attempts, NextAt: r.NextAt, LastError: r.LastError,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Log: make([]webhooks.Attempt, 0, len(r.Log)),
		Body: r.Body, Round: r.Round, LeaseUntil: r.LeaseUntil, DueAt: r.DueAt, Trigger: r.Trigger, StepKey: r.StepKey,
	}
	for _, a := range r.Log {
		d.Log = append(d.Log, webhooks.Attempt{N: a.N, At: a.At, URL: a.URL, Status: a.Status, LatencyMS: a.LatencyMS,
			Response: a.Response, Error: a.Error, Trigger: a.Trigger})
	}
	return d
}

var (
	_ webhooks.Store = (*Webhooks)(nil)
	_ webhooks.Tx    = webhookTx{}
)
