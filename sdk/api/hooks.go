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
