package webhooks

import (
	"time"

	"github.com/aquascene/aquahub/sdk/signature"
)

// Endpoint is a registered receiver of a tenant's events, with its signing secrets. The API
// shows it without them (sdk/api.WebhookEndpoint): a secret is shown once, in the answer
// that created or rotated it.
type Endpoint struct {
	Tenant string
	ID     string
	URL    string
	// Events are event type patterns; * matches any run of characters ("content.*", "*").
	Events []string
	// Headers are added to every request (reserved signature headers excepted).
	Headers     map[string]string
	Description string
	Enabled     bool
	// DisabledReason says why the hub disabled the endpoint (410, continuous failure).
	DisabledReason string
	// FailingSince is the first failed attempt after the last success; zero while healthy.
	FailingSince time.Time
	// RotationEndsAt is when PreviousSecret stops being used for signing.
	RotationEndsAt time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// Secret signs every request; PreviousSecret signs alongside it until RotationEndsAt.
	Secret         signature.Secret
	PreviousSecret signature.Secret
	// Delivery settings: see EndpointSettings.
	EndpointSettings
	// OrderedHead is, for an ordered endpoint, the message being delivered or waiting for
	// its next attempt: no later message is sent before it succeeds or dies.
	OrderedHead string
}

// EndpointSettings are how the hub delivers to one endpoint. Zero values take the module's
// defaults.
type EndpointSettings struct {
	// MaxInFlight caps the endpoint's concurrent requests (0: Config.EndpointConcurrency).
	MaxInFlight int
	// RateLimit caps the endpoint's requests per second, with a burst of its whole part (at
	// least 1); 0 is no limit.
	RateLimit float64
	// Timeout bounds one request to the endpoint (0: Config.Timeout, which also caps it).
	Timeout time.Duration
	// Ordered delivers one message at a time, in the order the messages were created: a
	// message waits until every earlier one succeeded or died. A failing message holds the
	// rest back for its whole retry schedule.
	Ordered bool
}

// maxInFlight caps MaxInFlight and Config.EndpointConcurrency.
const maxInFlight = 256

// maxRateLimit caps RateLimit.
const maxRateLimit = 10000

// signingSecrets returns the secrets to sign with at now: the current one, and the previous
// one while a rotation is in progress.
func (e *Endpoint) signingSecrets(now time.Time) []signature.Secret {
	if e.PreviousSecret != "" && now.Before(e.RotationEndsAt) {
		return []signature.Secret{e.Secret, e.PreviousSecret}
	}
	return []signature.Secret{e.Secret}
}

// EndpointInput is what a client sends to create or replace an endpoint.
type EndpointInput struct {
	URL         string
	Events      []string
	Headers     map[string]string
	Description string
	// Enabled defaults to true when nil.
	Enabled *bool
	// Secret, when set, is used instead of a generated one (whsec_ + base64 of 24–64 bytes).
	Secret string
	// Delivery settings; zero values take the module's defaults.
	EndpointSettings
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
	Tenant string
	// ID is the webhook-id header: stable across attempts and replays.
	ID         string
	EndpointID string
	EventType  string
	EventID    string
	EventSeq   uint64
	State      DeliveryState
	Attempts   int
	NextAt     time.Time
	LastError  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Log        []Attempt
	// Body is the request body, the event's JSON, identical on every attempt.
	Body []byte
	// Round counts attempts since the message was created or last replayed; it picks the
	// schedule slot.
	Round int
	// LeaseUntil is when a claimed message becomes claimable again if its sender vanished.
	LeaseUntil time.Time
	// DueAt is when the message is next taken for an attempt (Tx.Due); zero when it is not
	// waiting for one (succeeded, dead).
	DueAt time.Time
	// Trigger says what queued the next attempt: "schedule", "replay" or "recover".
	Trigger string
	// StepKey is the idempotency key of the rule step that queued the message (empty for
	// fan-out), so that the store forgets the key when it prunes the message.
	StepKey string
}

// Attempt is one HTTP request of a delivery.
type Attempt struct {
	N   int
	At  time.Time
	URL string
	// Status is the HTTP status, 0 when no response arrived.
	Status    int
	LatencyMS float64
	// Response is the start of the response body.
	Response string
	Error    string
	// Trigger is "schedule", "replay" or "recover".
	Trigger string
}

// DeliveryFilter selects messages in a listing.
type DeliveryFilter struct {
	// State keeps only messages in that state when set.
	State DeliveryState
	// Before continues a listing: only messages created before this message id.
	Before string
	// Limit caps the result (default 50, at most 500).
	Limit int
}

// maxLogged bounds the attempt log kept per message.
const maxLogged = 50

// maxSnippet bounds the response body kept per attempt.
const maxSnippet = 1024
