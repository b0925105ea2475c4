package core

import (
	"encoding/json"
	"time"
)

// RunStatus is where a Run is in its life.
type RunStatus string

// Run statuses. A run moves queued → running → succeeded, or through retrying back to
// running, or to dead (the dead-letter queue), from which a replay queues it again.
const (
	RunQueued    RunStatus = "queued"
	RunRunning   RunStatus = "running"
	RunRetrying  RunStatus = "retrying"
	RunSucceeded RunStatus = "succeeded"
	RunDead      RunStatus = "dead"
)

// Run is one rule applied to one event.
type Run struct {
	ID     string    `json:"id"`
	Tenant string    `json:"tenant"`
	RuleID string    `json:"rule"`
	Status RunStatus `json:"status"`
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
	// Steps is the effect ledger of the run, filled in by stores when a run is read.
	Steps []StepRecord `json:"steps,omitempty"`
}

// StepStatus is the outcome of one step.
type StepStatus string

// Step statuses in the effect ledger. Only succeeded and skipped are final: a step with
// either is never executed again for the same run.
const (
	StepSucceeded StepStatus = "succeeded"
	StepSkipped   StepStatus = "skipped"
	StepFailed    StepStatus = "failed"
)

// StepRecord is the ledger entry for (run id, step id).
type StepRecord struct {
	StepID     string          `json:"id"`
	Kind       string          `json:"kind"`
	Status     StepStatus      `json:"status"`
	Attempts   int             `json:"attempts"`
	Output     json.RawMessage `json:"output,omitempty"`
	Error      string          `json:"error,omitempty"`
	ErrorClass string          `json:"error_class,omitempty"`
	StartedAt  time.Time       `json:"started_at"`
	FinishedAt time.Time       `json:"finished_at"`
	DurationMS float64         `json:"duration_ms"`
}

// Done reports whether the step is finished for good.
func (r StepRecord) Done() bool { return r.Status == StepSucceeded || r.Status == StepSkipped }

// RunFilter selects runs in listings. Empty fields do not filter.
type RunFilter struct {
	Status  RunStatus
	RuleID  string
	EventID string
	// After is a run id to continue a listing from (exclusive), newest first.
	After string
	Limit int
}
