package core

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// StepKind is one kind of rule step: the builtin emit and log, and those feature modules add
// (generate, webhook, connector). The rules loader and the engine know kinds only through the
// StepKinds registry they are both given, so adding a kind is a new type and one registration.
//
// Execute must either succeed or return an error whose class (see Classify) tells the engine
// whether to retry. It may be called again for the same StepCall.IdempotencyKey after a crash
// that happened between the side effect and the ledger write, so kinds pass the key to any
// API that accepts one.
type StepKind interface {
	// Syntax says how a step of this kind is written in a rule.
	Syntax() StepSyntax
	// Check validates a step when the rules load, before any event arrives. Errors name the
	// field relative to the step's input (a *FieldError), or the parameter.
	Check(def StepDef) error
	// Execute runs one step.
	Execute(ctx context.Context, call StepCall) (StepResult, error)
}

// StepSyntax describes how a kind is written in a rule step.
type StepSyntax struct {
	// Name is the key that selects the kind ("generate", "connector").
	Name string
	// Target, when true, makes the Name key's value a string naming what the step addresses
	// (`connector: airtable`), with the input under `with`. Otherwise the Name key's value is
	// the input mapping itself (`generate: {template: …}`).
	Target bool
	// Params are further string keys a targeted step requires (`action` for connector).
	Params []string
}

// ExpressionOpen starts a ${{ }} expression in a rule value.
const ExpressionOpen = "${{"

// StepDef is a step as written in a rule, given to StepKind.Check.
type StepDef struct {
	Kind string
	// Target is the Name key's value of a targeted kind (the connector id).
	Target string
	// Params holds the kind's further keys (action).
	Params map[string]string
	// Input is the step's input as written: a ${{ }} expression arrives as its source string.
	Input map[string]any
}

// Literals returns the input with every value that is or contains a ${{ }} expression
// replaced by nil ("not known until the step runs"), so that checks apply to literals only.
func (d StepDef) Literals() map[string]any {
	m, _ := literals(d.Input).(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m
}

func literals(v any) any {
	switch x := v.(type) {
	case string:
		if strings.Contains(x, ExpressionOpen) {
			return nil
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = literals(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = literals(val)
		}
		return out
	}
	return v
}

// StepCall is one execution of one step.
type StepCall struct {
	Tenant string
	RunID  string
	RuleID string
	StepID string
	Kind   string
	// Target and Params are the step's StepDef.Target and StepDef.Params.
	Target string
	Params map[string]string
	// Input is the step's input with every ${{ }} evaluated.
	Input map[string]any
	// IdempotencyKey is stable for (run, step) across retries, crashes and replays.
	IdempotencyKey string
	// Attempt counts from 1.
	Attempt int
	Event   *Event
	// Released, when set, may be called by the kind once it holds nothing of its lane's
	// resource (a connector instance, say) but still has work before it returns, such as
	// waiting for a write: the engine then gives the lane to the next run at once. Call it
	// from the goroutine running Execute; a second call does nothing. Without it the lane
	// frees when Execute returns.
	Released func()
}

// StepResult is what a successful step produced.
type StepResult struct {
	// Output is visible to later steps as steps.<id>.<key> and kept in the ledger.
	Output map[string]any
	// Emit are new events published into the pipeline, written in the same transaction as
	// the ledger entry so that they are emitted exactly once.
	Emit []Event
}

// StepKinds is a registry of step kinds by name. It is a value built at start (no global
// registry) and read-only once the rules load; the same value goes to the rules loader and
// the engine.
type StepKinds struct {
	byName map[string]StepKind
}

// NewStepKinds returns a registry holding kinds; a name given twice is an error.
func NewStepKinds(kinds ...StepKind) (*StepKinds, error) {
	r := &StepKinds{byName: map[string]StepKind{}}
	for _, k := range kinds {
		if err := r.Add(k); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Add registers k; a name already registered is an error.
func (r *StepKinds) Add(k StepKind) error {
	name := k.Syntax().Name
	if name == "" {
		return fmt.Errorf("step kind %T has no name", k)
	}
	if _, dup := r.byName[name]; dup {
		return fmt.Errorf("step kind %q is registered twice", name)
	}
	r.byName[name] = k
	return nil
}

// Lookup returns the kind with that name.
func (r *StepKinds) Lookup(name string) (StepKind, bool) {
	if r == nil {
		return nil, false
	}
	k, ok := r.byName[name]
	return k, ok
}

// Names lists the registered kinds in order.
func (r *StepKinds) Names() []string {
	if r == nil {
		return nil
	}
	out := make([]string, 0, len(r.byName))
	for n := range r.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Scope is what rule expressions see while a run executes.
type Scope struct {
	Event  *Event
	Steps  map[string]map[string]any
	Tenant string
}

// StepPlan is one compiled step of a rule.
type StepPlan struct {
	ID     string
	Kind   string
	Target string
	Params map[string]string
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
