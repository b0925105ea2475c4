package api

import (
	"encoding/json"
	"time"
)

// Run is one rule applied to one event.
type Run struct {
	ID     string `json:"id"`
	Tenant string `json:"tenant"`
	RuleID string `json:"rule"`
	Status string `json:"status" jsonschema:"enum=queued,enum=running,enum=retrying,enum=succeeded,enum=dead"`
	// EventSeq is the hub sequence number of the triggering event; EventID and EventSource
	// are its CloudEvents id and source.
	EventSeq    uint64    `json:"event_seq"`
	EventID     string    `json:"event_id"`
	EventSource string    `json:"event_source"`
	EventType   string    `json:"event_type"`
	Attempts    int       `json:"attempts"`
	NextAt      time.Time `json:"next_attempt_at,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	ErrorClass  string    `json:"error_class,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	FinishedAt  time.Time `json:"finished_at,omitzero"`
	// Steps is the run's effect ledger; listings leave it out.
	Steps []Step `json:"steps,omitempty"`
}

// Step is one entry of a run's effect ledger.
type Step struct {
	ID         string          `json:"id"`
	Kind       string          `json:"kind"`
	Status     string          `json:"status" jsonschema:"enum=succeeded,enum=skipped,enum=failed"`
	Attempts   int             `json:"attempts"`
	Output     json.RawMessage `json:"output,omitempty"`
	Error      string          `json:"error,omitempty"`
	ErrorClass string          `json:"error_class,omitempty"`
	StartedAt  time.Time       `json:"started_at"`
	FinishedAt time.Time       `json:"finished_at"`
	DurationMS float64         `json:"duration_ms"`
}

// RunList is a page of runs, newest first.
type RunList struct {
	Runs []Run `json:"runs"`
}
