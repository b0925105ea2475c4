package api

import "time"

// WebhookEndpoint is a registered receiver of a tenant's events. Its signing secret is not
// part of it: WebhookEndpointSecret shows it once, when created or rotated.
type WebhookEndpoint struct {
	ID  string `json:"id"`
	URL string `json:"url"`
	// Events are event type patterns; * matches any run of characters ("content.*", "*").
	Events []string `json:"events"`
	// Headers are added to every request.
	Headers     map[string]string `json:"headers,omitempty"`
	Description string            `json:"description,omitempty"`
	Enabled     bool              `json:"enabled"`
	// DisabledReason says why the hub disabled the endpoint (410, continuous failure).
	DisabledReason string `json:"disabled_reason,omitempty"`
	// FailingSince is the first failed attempt after the last success; absent while healthy.
	FailingSince time.Time `json:"failing_since,omitzero"`
	// RotationEndsAt is when the previous secret stops signing, during a rotation.
	RotationEndsAt time.Time `json:"rotation_ends_at,omitzero"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	WebhookDeliverySettings
	// Circuit is the endpoint's circuit breaker; absent while it is closed.
	Circuit *WebhookCircuit `json:"circuit,omitempty"`
}

// WebhookDeliverySettings are how the hub delivers to one endpoint; absent or zero fields
// take the hub's defaults.
type WebhookDeliverySettings struct {
	// MaxInFlight caps the endpoint's concurrent requests, 1 to 256; 0 or absent is the
	// hub's webhooks.endpoint_concurrency (default 8).
	MaxInFlight int `json:"max_in_flight,omitempty" jsonschema:"minimum=0,maximum=256"`
	// RateLimit caps the endpoint's requests per second (fractions allowed: 0.5 is one every
	// 2 s), with a burst of its whole part; 0 or absent is no limit.
	RateLimit float64 `json:"rate_limit,omitempty" jsonschema:"minimum=0,maximum=10000"`
	// TimeoutMS bounds one request in milliseconds, at least 100 and at most the hub's
	// webhooks.timeout; 0 or absent is webhooks.timeout (default 15 s).
	TimeoutMS int64 `json:"timeout_ms,omitempty" jsonschema:"minimum=0"`
	// Ordered delivers one message at a time, in the order they were created: a message
	// waits until every earlier one succeeded or died, so a failing message holds the rest
	// back for its whole retry schedule.
	Ordered bool `json:"ordered,omitempty"`
}

// WebhookCircuit is an endpoint's circuit breaker while it is not closed: after repeated
// failures (5xx, timeouts, network errors) the endpoint's messages wait, without counting
// attempts, until a probe succeeds.
type WebhookCircuit struct {
	// State is open (messages deferred until ProbeAt) or half_open (a probe may go or is
	// out).
	State string `json:"state" jsonschema:"enum=open,enum=half_open"`
	// ProbeAt is when an open breaker lets a probe through.
	ProbeAt time.Time `json:"probe_at,omitzero"`
}

// WebhookEndpointInput creates (POST /api/v1/webhooks) or replaces (PUT
// /api/v1/webhooks/{id}) an endpoint.
type WebhookEndpointInput struct {
	// URL is the receiver, https unless the hub allows http; checked against the hub's
	// address policy (no loopback, private or metadata addresses by default).
	URL string `json:"url" jsonschema:"format=uri"`
	// Events are event type patterns, at least one; * matches anything.
	Events []string `json:"events"`
	// Headers are added to every request; the signature headers may not be set.
	Headers     map[string]string `json:"headers,omitempty"`
	Description string            `json:"description,omitempty"`
	// Enabled defaults to true.
	Enabled *bool `json:"enabled,omitempty"`
	// Secret is whsec_ + base64 of 24 to 64 bytes; a new one is generated when absent. On
	// PUT it replaces the current secret at once (rotate keeps an overlap).
	Secret string `json:"secret,omitempty"`
	WebhookDeliverySettings
}

// WebhookEndpointSecret is the answer to creating an endpoint or rotating its secret, the
// only answers that show the secret.
type WebhookEndpointSecret struct {
	WebhookEndpoint
	// Secret signs every request (whsec_…): verify webhook-signature with it.
	Secret string `json:"secret"`
	// WebhookID repeats ID, as the seed integration guide's answer names it.
	WebhookID string `json:"webhook_id"`
	Status    string `json:"status" jsonschema:"enum=registered,enum=rotating"`
}

// WebhookEndpointUpdated is the answer to replacing an endpoint's settings.
type WebhookEndpointUpdated struct {
	WebhookEndpoint
	Status string `json:"status" jsonschema:"enum=updated"`
}

// WebhookEndpointList is a tenant's endpoints in creation order.
type WebhookEndpointList struct {
	Webhooks []WebhookEndpoint `json:"webhooks"`
}

// WebhookEndpointDeleted is the answer to deleting an endpoint.
type WebhookEndpointDeleted struct {
	Status string `json:"status" jsonschema:"enum=deleted"`
}

// WebhookRotate asks for a new signing secret; the previous one keeps signing alongside it
// for the rotation overlap (24h by default).
type WebhookRotate struct {
	// Secret is the new whsec_ secret; generated when absent.
	Secret string `json:"secret,omitempty"`
}

// WebhookDelivery is one message for one endpoint with the log of its attempts.
type WebhookDelivery struct {
	// ID is the webhook-id header: the same on every attempt and replay.
	ID         string `json:"id"`
	EndpointID string `json:"endpoint_id"`
	EventType  string `json:"event_type"`
	EventID    string `json:"event_id,omitempty"`
	EventSeq   uint64 `json:"event_seq,omitempty"`
	State      string `json:"state" jsonschema:"enum=pending,enum=sending,enum=succeeded,enum=dead"`
	Attempts   int    `json:"attempts"`
	// NextAt is when the next attempt is due, while pending.
	NextAt    time.Time        `json:"next_attempt_at,omitzero"`
	LastError string           `json:"last_error,omitempty"`
	CreatedAt time.Time        `json:"created_at"`
	UpdatedAt time.Time        `json:"updated_at"`
	Log       []WebhookAttempt `json:"attempt_log"`
}

// WebhookAttempt is one HTTP request of a delivery.
type WebhookAttempt struct {
	N   int       `json:"n"`
	At  time.Time `json:"at"`
	URL string    `json:"url"`
	// Status is the HTTP status, 0 when no response arrived.
	Status    int     `json:"status"`
	LatencyMS float64 `json:"latency_ms"`
	// Response is the start of the response body.
	Response string `json:"response,omitempty"`
	Error    string `json:"error,omitempty"`
	Trigger  string `json:"trigger" jsonschema:"enum=schedule,enum=replay,enum=recover"`
}

// WebhookDeliveryList is a page of an endpoint's messages, newest first.
type WebhookDeliveryList struct {
	Deliveries []WebhookDelivery `json:"deliveries"`
}

// WebhookRecover asks to send again every dead message created since a time.
type WebhookRecover struct {
	// Since is an RFC 3339 time.
	Since string `json:"since" jsonschema:"format=date-time"`
}

// WebhookRecovered is the answer to recover.
type WebhookRecovered struct {
	// Queued counts the messages queued again.
	Queued int       `json:"queued"`
	Since  time.Time `json:"since"`
}
