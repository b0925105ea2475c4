package pipeline

import (
	"context"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/httpapi"
	"github.com/aquascene/aquahub/sdk/api"
)

// Engine is what the module needs of core.Engine.
type Engine interface {
	Ingest(ctx context.Context, tenant, idempotencyKey string, events []core.Event) (core.AcceptResult, error)
	Replay(ctx context.Context, tenant, id string) (core.Run, error)
}

// Module serves the pipeline API.
type Module struct {
	engine Engine
	store  core.Store
}

// New returns the module over engine and the store it writes to.
func New(engine Engine, store core.Store) *Module {
	return &Module{engine: engine, store: store}
}

// Name implements core.Module.
func (m *Module) Name() string { return "pipeline" }

var (
	_ core.Module         = (*Module)(nil)
	_ httpapi.RouteModule = (*Module)(nil)
)

// accepted converts the store's answer for one event.
func accepted(a core.Accepted) api.Accepted {
	return api.Accepted{ID: a.ID, Source: a.Source, Seq: a.Seq, Runs: a.Runs, Duplicate: a.Duplicate}
}

// run converts a run and its ledger.
func run(r core.Run) api.Run {
	out := api.Run{
		ID: r.ID, Tenant: r.Tenant, RuleID: r.RuleID, Status: string(r.Status),
		EventSeq: r.EventSeq, EventID: r.EventID, EventSource: r.EventSource, EventType: r.EventType,
		Attempts: r.Attempts, NextAt: r.NextAt, LastError: r.LastError, ErrorClass: r.ErrorClass,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, FinishedAt: r.FinishedAt,
	}
	for _, s := range r.Steps {
		out.Steps = append(out.Steps, api.Step{
			ID: s.StepID, Kind: s.Kind, Status: string(s.Status), Attempts: s.Attempts, Output: s.Output,
			Error: s.Error, ErrorClass: s.ErrorClass, StartedAt: s.StartedAt, FinishedAt: s.FinishedAt, DurationMS: s.DurationMS,
		})
	}
	return out
}

func runList(runs []core.Run) api.RunList {
	out := api.RunList{Runs: make([]api.Run, 0, len(runs))}
	for _, r := range runs {
		out.Runs = append(out.Runs, run(r))
	}
	return out
}

// storedEvent is an event as the API shows it.
func storedEvent(body []byte, seq uint64, received time.Time, runs []string) api.StoredEvent {
	return api.StoredEvent{Event: body, Seq: seq, ReceivedAt: received, Runs: runs}
}
