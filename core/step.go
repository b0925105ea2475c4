package core

import (
	"context"
	"time"
)

// StepExecutor runs one kind of rule step (emit, log, connector, generate, webhook). The
// engine looks executors up by StepPlan.Kind.
//
// Execute must either succeed or return an error whose class (see Classify) tells the engine
// whether to retry. It may be called again for the same StepCall.IdempotencyKey after a crash
// that happened between the side effect and the ledger write, so executors pass the key to
// any API that accepts one.
type StepExecutor interface {
	Execute(ctx context.Context, call StepCall) (StepResult, error)
}

// StepExecutorFunc adapts a function to StepExecutor.
type StepExecutorFunc func(ctx context.Context, call StepCall) (StepResult, error)

// Execute calls f.
func (f StepExecutorFunc) Execute(ctx context.Context, call StepCall) (StepResult, error) {
	return f(ctx, call)
}

// StepCall is one execution of one step.
type StepCall struct {
	Tenant    string
	RunID     string
	RuleID    string
	StepID    string
	Kind      string
	Connector string
	Action    string
	// Input is the step's `with` (or kind block) with every ${{ }} evaluated.
	Input map[string]any
	// IdempotencyKey is stable for (run, step) across retries, crashes and replays.
	IdempotencyKey string
	// Attempt counts from 1.
	Attempt int
	Event   *Event
}

// StepResult is what a successful step produced.
type StepResult struct {
	// Output is visible to later steps as steps.<id>.<key> and kept in the ledger.
	Output map[string]any
	// Emit are new events published into the pipeline, written in the same transaction as
	// the ledger entry so that they are emitted exactly once.
	Emit []Event
}

// Scope is what rule expressions see while a run executes.
type Scope struct {
	Event  *Event
	Steps  map[string]map[string]any
	Tenant string
}

// StepPlan is one compiled step of a rule.
type StepPlan struct {
	ID        string
	Kind      string
	Connector string
	Action    string
	// If, when set, decides whether the step runs; a false result records the step skipped.
	If func(Scope) (bool, error)
	// Render evaluates the step's input.
	Render func(Scope) (map[string]any, error)
	// Retry overrides the rule's policy for this step when non-nil.
	Retry *RetryPolicy
}

// RulePlan is a compiled rule as the engine executes it.
type RulePlan struct {
	ID    string
	Steps []StepPlan
	Retry RetryPolicy
}

// Rules is the compiled rule set. Implementations are immutable and safe for concurrent use;
// a reload swaps the whole set.
type Rules interface {
	// Match returns the ids of the rules the event triggers. A `when` that fails to evaluate
	// counts as no match and is reported through the error alongside the matches.
	Match(ev *Event) ([]string, error)
	// Plan returns the compiled rule with that id.
	Plan(id string) (RulePlan, bool)
	// Schedules lists the rules triggered by cron schedules.
	Schedules() []Schedule
}

// Schedule is a rule triggered by time.
type Schedule struct {
	RuleID string
	// Next returns the first activation strictly after t.
	Next func(t time.Time) time.Time
}
