package webhooks

import (
	"encoding/json"
	"time"
)

// Endpoint is a registered receiver of a tenant's events. Its secrets are never part of its
// JSON form: they are shown once, when created or rotated.
type Endpoint struct {
	ID  string `json:"id"`
	URL string `json:"url"`
	// Events are event type patterns; * matches any run of characters ("content.*", "*").
	Events []string `json:"events"`
	// Headers are added to every request (reserved signature headers excepted).
	Headers     map[string]string `json:"headers,omitempty"`
	Description string            `json:"description,omitempty"`
	Enabled     bool              `json:"enabled"`
	// DisabledReason says why the hub disabled the endpoint (410, continuous failure).
	DisabledReason string `json:"disabled_reason,omitempty"`
	// FailingSince is the first failed attempt after the last success; zero while healthy.
	FailingSince time.Time `json:"failing_since,omitzero"`
	// RotationEndsAt is when the previous secret stops being used for signing.
	RotationEndsAt time.Time `json:"rotation_ends_at,omitzero"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// endpointRecord is the stored form of an Endpoint, secrets included.
type endpointRecord struct {
	Endpoint
	Tenant         string `json:"tenant"`
	Secret         Secret `json:"secret"`
	PreviousSecret Secret `json:"previous_secret,omitempty"`
}

// signingSecrets returns the secrets to sign with at now: the current one, and the previous
// one while a rotation is in progress.
func (r *endpointRecord) signingSecrets(now time.Time) []Secret {
	if r.PreviousSecret != "" && now.Before(r.RotationEndsAt) {
		return []Secret{r.Secret, r.PreviousSecret}
	}
	return []Secret{r.Secret}
}

// EndpointInput is what a client sends to create or replace an endpoint.
type EndpointInput struct {
	URL         string            `json:"url"`
	Events      []string          `json:"events"`
	Headers     map[string]string `json:"headers,omitempty"`
	Description string            `json:"description,omitempty"`
	// Enabled defaults to true when absent.
	Enabled *bool `json:"enabled,omitempty"`
	// Secret, when set, is used instead of a generated one (whsec_ + base64 of 24–64 bytes).
	Secret string `json:"secret,omitempty"`
}

// DeliveryState is where a message is in its life.
type DeliveryState string

// Delivery states. pending → sending → succeeded, or back to pending for the next slot of
// the schedule, or dead once the schedule is exhausted (or the endpoint is gone or disabled).
// Replay and recover move dead (or succeeded) messages back to pending.
const (
	StatePending   DeliveryState = "pending"
	StateSending   DeliveryState = "sending"
	StateSucceeded DeliveryState = "succeeded"
	StateDead      DeliveryState = "dead"
)

// Delivery is one message for one endpoint with the log of its attempts.
type Delivery struct {
	// ID is the webhook-id header: stable across attempts and replays.
	ID         string        `json:"id"`
	EndpointID string        `json:"endpoint_id"`
	EventType  string        `json:"event_type"`
	EventID    string        `json:"event_id,omitempty"`
	EventSeq   uint64        `json:"event_seq,omitempty"`
	State      DeliveryState `json:"state"`
	Attempts   int           `json:"attempts"`
	NextAt     time.Time     `json:"next_attempt_at,omitzero"`
	LastError  string        `json:"last_error,omitempty"`
	CreatedAt  time.Time     `json:"created_at"`
	UpdatedAt  time.Time     `json:"updated_at"`
	Log        []Attempt     `json:"attempt_log"`
}

// deliveryRecord is the stored form of a Delivery.
type deliveryRecord struct {
	Delivery
	Tenant string          `json:"tenant"`
	Body   json.RawMessage `json:"body"`
	// Round counts attempts since the message was created or last replayed; it picks the
	// schedule slot.
	Round int `json:"round"`
	// LeaseUntil is when a claimed message becomes claimable again if its sender vanished.
	LeaseUntil time.Time `json:"lease_until,omitzero"`
	// DueAt is the time part of the message's key in the due index (zero when not queued).
	DueAt time.Time `json:"due_at,omitzero"`
	// Trigger says what queued the next attempt: "schedule", "replay" or "recover".
	Trigger string `json:"trigger,omitempty"`
}

// Attempt is one HTTP request of a delivery.
type Attempt struct {
	N   int       `json:"n"`
	At  time.Time `json:"at"`
	URL string    `json:"url"`
	// Status is the HTTP status, 0 when no response arrived.
	Status    int     `json:"status"`
	LatencyMS float64 `json:"latency_ms"`
	// Response is the start of the response body.
	Response string `json:"response,omitempty"`
	Error    string `json:"error,omitempty"`
	// Trigger is "schedule", "replay" or "recover".
	Trigger string `json:"trigger"`
}

// maxLogged bounds the attempt log kept per message.
const maxLogged = 50

// maxSnippet bounds the response body kept per attempt.
const maxSnippet = 1024
