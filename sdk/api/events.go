package api

import (
	"encoding/json"
	"time"
)

// Accepted is the hub's answer for one ingested event.
type Accepted struct {
	ID     string `json:"id"`
	Source string `json:"source"`
	// Seq is the hub's sequence number of the stored event.
	Seq uint64 `json:"seq"`
	// Runs are the runs the event started, one per matching rule.
	Runs []string `json:"runs,omitempty"`
	// Duplicate is true when (tenant, source, id) was already stored; the other fields then
	// describe the original.
	Duplicate bool `json:"duplicate,omitempty"`
}

// AcceptedBatch is the answer to a batch of events.
type AcceptedBatch struct {
	Events []Accepted `json:"events"`
}

// StoredEvent is an event as GET /api/v1/events/{id} returns it.
type StoredEvent struct {
	// Event is the CloudEvent in structured mode, extensions included.
	Event      json.RawMessage `json:"event"`
	Seq        uint64          `json:"seq"`
	ReceivedAt time.Time       `json:"received_at"`
	Runs       []string        `json:"runs,omitempty"`
}

// Event is a CloudEvent a client sends in structured mode (application/cloudevents+json).
// The hub also accepts extension attributes and binary mode; see the operation's schema.
type Event struct {
	ID              string    `json:"id"`
	Source          string    `json:"source"`
	Type            string    `json:"type"`
	SpecVersion     string    `json:"specversion"`
	Subject         string    `json:"subject,omitempty"`
	Time            time.Time `json:"time,omitzero"`
	DataContentType string    `json:"datacontenttype,omitempty"`
	Data            any       `json:"data,omitempty"`
}
