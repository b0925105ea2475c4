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
	ID     string
	Tenant string
	RuleID string
	Status RunStatus
	// EventSeq is the hub sequence number of the triggering event; EventID and EventSource
	// are its CloudEvents id and source.
	EventSeq    uint64
	EventID     string
	EventSource string
	EventType   string
	Attempts    int
	// Lane is the lane of the run's next step, kept while it is queued (see Pending.Lanes).
	Lane       string
	NextAt     time.Time
	LastError  string
	ErrorClass string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt time.Time
	// Steps is the effect ledger of the run, filled in by stores when a run is read.
	Steps []StepRecord
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
	StepID     string
	Kind       string
	Status     StepStatus
	Attempts   int
	Output     json.RawMessage
	Error      string
	ErrorClass string
	StartedAt  time.Time
	FinishedAt time.Time
	DurationMS float64
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
