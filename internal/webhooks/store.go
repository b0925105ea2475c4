package webhooks

import (
	"context"
	"time"
)

// Store is the durable state of outbound webhooks: endpoints, messages with their attempt
// logs, the index of messages by due time, the fan-out cursor and the step keys. Work that
// spans several of them (fan-out writes messages and moves the cursor; an attempt's outcome
// updates the message and its endpoint) runs in one transaction, so a crash neither loses
// nor doubles a message.
type Store interface {
	// View runs fn in a read-only transaction; writes through its Tx fail.
	View(ctx context.Context, fn func(tx Tx) error) error
	// Update runs fn in a read-write transaction, committed when fn returns nil and rolled
	// back otherwise.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// Batch is Update for many concurrent callers that share one commit. When one caller's
	// fn fails, the others are run again in transactions of their own, so fn may run more
	// than once: it must act only through tx and reset whatever it reports on each run.
	Batch(ctx context.Context, fn func(tx Tx) error) error
}

// DueEndpoint is an endpoint with a message due, and when its earliest one is due.
type DueEndpoint struct {
	Tenant, EndpointID string
	At                 time.Time
}

// Tx is one transaction of a Store. Every key is scoped by tenant: another tenant's
// endpoint or message is not found (an error wrapping core.ErrNotFound).
type Tx interface {
	// NextEndpointSeq returns a number greater than every one it returned before, for
	// endpoint ids that sort by creation.
	NextEndpointSeq() (uint64, error)
	// Endpoint returns one endpoint, secrets included.
	Endpoint(tenant, id string) (Endpoint, error)
	// Endpoints returns the tenant's endpoints in id order.
	Endpoints(tenant string) ([]Endpoint, error)
	// PutEndpoint creates or replaces an endpoint.
	PutEndpoint(ep Endpoint) error
	// DeleteEndpoint removes an endpoint; its messages stay until they come due.
	DeleteEndpoint(tenant, id string) error

	// NextDeliverySeq returns a number greater than every one it returned before, for
	// message ids that sort by creation.
	NextDeliverySeq() (uint64, error)
	// Delivery returns one message of an endpoint.
	Delivery(tenant, endpointID, id string) (Delivery, error)
	// PutDelivery creates or replaces a message and moves it in the due index to its
	// DueAt, or out of the index when DueAt is zero.
	PutDelivery(d Delivery) error
	// DeleteDelivery removes a message and its entry in the due index.
	DeleteDelivery(tenant, endpointID, id string) error
	// Deliveries calls fn with the endpoint's messages newest first (by id), starting
	// after the message id before (from the newest when before is empty), until fn returns
	// false. fn must not write through tx.
	Deliveries(tenant, endpointID, before string, fn func(Delivery) bool) error
	// DueEndpoints returns up to limit endpoints, of every tenant, with a message whose
	// DueAt is at or before now, in the order of their earliest such message, passing over
	// those skip (when not nil) reports true. skip must not use tx.
	DueEndpoints(now time.Time, limit int, skip func(tenant, endpointID string) bool) ([]DueEndpoint, error)
	// DueDeliveries returns up to limit of the endpoint's messages whose DueAt is at or
	// before now, earliest first.
	DueDeliveries(tenant, endpointID string, now time.Time, limit int) ([]Delivery, error)
	// NextDue returns the earliest DueAt of any message; ok is false when none is waiting.
	NextDue() (at time.Time, ok bool, err error)

	// FanOutCursor returns the sequence number of the last event fanned out (0 at first).
	FanOutCursor() (uint64, error)
	// SetFanOutCursor stores the fan-out cursor.
	SetFanOutCursor(seq uint64) error

	// StepMessage returns the message a rule step queued under its idempotency key.
	StepMessage(tenant, key string) (id string, ok bool, err error)
	// PutStepMessage remembers the message a rule step queued under its idempotency key.
	PutStepMessage(tenant, key, messageID string) error
}
