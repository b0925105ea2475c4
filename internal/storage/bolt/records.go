package bolt

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/aquascene/aquahub/core"
)

// The pipeline's records on disk. They are private: the domain types in core may change
// shape without changing the file, and a change of these is a change of FormatVersion.

// eventRecord is an event: the CloudEvent as received, plus the hub's attributes.
type eventRecord struct {
	Event      json.RawMessage `json:"event"`
	Tenant     string          `json:"tenant"`
	Seq        uint64          `json:"seq"`
	ReceivedAt time.Time       `json:"received_at"`
}

func encodeEvent(e *core.Event) ([]byte, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	return json.Marshal(eventRecord{Event: body, Tenant: e.Tenant, Seq: e.Seq, ReceivedAt: e.ReceivedAt})
}

func decodeEvent(b []byte) (core.Event, error) {
	var r eventRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return core.Event{}, fmt.Errorf("decoding stored event: %w", err)
	}
	ev, err := core.DecodeEvent(r.Event)
	if err != nil {
		return core.Event{}, fmt.Errorf("decoding stored event: %w", err)
	}
	ev.Tenant, ev.Seq, ev.ReceivedAt = r.Tenant, r.Seq, r.ReceivedAt
	return ev, nil
}

// acceptedRecord is the deduplication record of an event, naming the runs it started; a
// list of them is an Idempotency-Key's first answer.
type acceptedRecord struct {
	ID        string   `json:"id"`
	Source    string   `json:"source"`
	Seq       uint64   `json:"seq"`
	Runs      []string `json:"runs,omitempty"`
	Duplicate bool     `json:"duplicate,omitempty"`
}

type acceptResultRecord struct {
	Events []acceptedRecord `json:"events"`
}

func toAcceptedRecord(a core.Accepted) acceptedRecord {
	return acceptedRecord{ID: a.ID, Source: a.Source, Seq: a.Seq, Runs: a.Runs, Duplicate: a.Duplicate}
}

func (r acceptedRecord) accepted() core.Accepted {
	return core.Accepted{ID: r.ID, Source: r.Source, Seq: r.Seq, Runs: r.Runs, Duplicate: r.Duplicate}
}

// runRecord is a run without its ledger.
type runRecord struct {
	ID          string    `json:"id"`
	Tenant      string    `json:"tenant"`
	RuleID      string    `json:"rule"`
	Status      string    `json:"status"`
	EventSeq    uint64    `json:"event_seq"`
	EventID     string    `json:"event_id"`
	EventSource string    `json:"event_source"`
	EventType   string    `json:"event_type"`
	Attempts    int       `json:"attempts"`
	Lane        string    `json:"lane,omitempty"`
	NextAt      time.Time `json:"next_attempt_at,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	ErrorClass  string    `json:"error_class,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	FinishedAt  time.Time `json:"finished_at,omitzero"`
}

func toRunRecord(r *core.Run) runRecord {
	return runRecord{
		ID: r.ID, Tenant: r.Tenant, RuleID: r.RuleID, Status: string(r.Status),
		EventSeq: r.EventSeq, EventID: r.EventID, EventSource: r.EventSource, EventType: r.EventType,
		Attempts: r.Attempts, Lane: r.Lane, NextAt: r.NextAt, LastError: r.LastError, ErrorClass: r.ErrorClass,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, FinishedAt: r.FinishedAt,
	}
}

func (r runRecord) run() core.Run {
	return core.Run{
		ID: r.ID, Tenant: r.Tenant, RuleID: r.RuleID, Status: core.RunStatus(r.Status),
		EventSeq: r.EventSeq, EventID: r.EventID, EventSource: r.EventSource, EventType: r.EventType,
		Attempts: r.Attempts, Lane: r.Lane, NextAt: r.NextAt, LastError: r.LastError, ErrorClass: r.ErrorClass,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, FinishedAt: r.FinishedAt,
	}
}

// stepRecord is one ledger entry.
type stepRecord struct {
	StepID     string          `json:"id"`
	Kind       string          `json:"kind"`
	Status     string          `json:"status"`
	Attempts   int             `json:"attempts"`
	Output     json.RawMessage `json:"output,omitempty"`
	Error      string          `json:"error,omitempty"`
	ErrorClass string          `json:"error_class,omitempty"`
	StartedAt  time.Time       `json:"started_at"`
	FinishedAt time.Time       `json:"finished_at"`
	DurationMS float64         `json:"duration_ms"`
}

func toStepRecord(s *core.StepRecord) stepRecord {
	return stepRecord{
		StepID: s.StepID, Kind: s.Kind, Status: string(s.Status), Attempts: s.Attempts, Output: s.Output,
		Error: s.Error, ErrorClass: s.ErrorClass, StartedAt: s.StartedAt, FinishedAt: s.FinishedAt, DurationMS: s.DurationMS,
	}
}

func (r stepRecord) step() core.StepRecord {
	return core.StepRecord{
		StepID: r.StepID, Kind: r.Kind, Status: core.StepStatus(r.Status), Attempts: r.Attempts, Output: r.Output,
		Error: r.Error, ErrorClass: r.ErrorClass, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, DurationMS: r.DurationMS,
	}
}
