package api

// HookAccepted is the answer to an inbound webhook, POST /hooks/{tenant}/{source}.
type HookAccepted struct {
	// Status is "duplicate" when the request published nothing new (the sender's message id
	// was already received, or every event it became was a duplicate).
	Status string `json:"status" jsonschema:"enum=accepted,enum=duplicate"`
	// Event is the published event; the last one when the request became several.
	Event Accepted `json:"event"`
	// Events lists every event published when one request becomes several (an Airtable
	// ping's changed records, a SendGrid batch's items).
	Events []Accepted `json:"events,omitempty"`
}

// HookHandshake is the answer, 200, to a sender's handshake on an inbound webhook source:
// WooCommerce's ping when a webhook is created. Nothing is published.
type HookHandshake struct {
	// Status is "handshake".
	Status string `json:"status" jsonschema:"enum=handshake"`
	// Source is the CloudEvents source the sender's deliveries are published under.
	Source string `json:"source"`
}
