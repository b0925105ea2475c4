package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// execution is one leased run held by this process: the compiled rule, the trigger once
// loaded, and what the run's finished steps produced.
type execution struct {
	run  Run
	plan RulePlan
	// next is the index of the step to run next, -1 when none is left.
	next int
	// done holds the ledger entries of steps finished for good; attempts counts the
	// attempts the ledger records for every step.
	done     map[string]StepRecord
	attempts map[string]int
	// loaded is true once the trigger and the outputs of finished steps are in scope.
	loaded bool
	// eventLoaded is true when event was handed over with the run (accepted by this process).
	eventLoaded bool
	event       Event
	scope       Scope
	// log is the run's logger, made on first use: building one formats its attributes,
	// and most runs never log.
	log *slog.Logger
	// executed, when set, is called once the step's kind has returned, before its outcome is
	// committed: the lane's resource (a connector instance) is free again by then.
	executed func()
}

// nextStep is the index of the first step not done for good, or -1.
func (x *execution) nextStep() int {
	for i := range x.plan.Steps {
		if _, ok := x.done[x.plan.Steps[i].ID]; !ok {
			return i
		}
	}
	return -1
}

// execute runs x's next step and commits its outcome. It reports whether the run goes on to
// another step; the last step and any failure finish the run instead.
func (e *Engine) execute(ctx context.Context, x *execution) bool {
	if !x.loaded {
		if err := e.load(x); err != nil {
			e.finish(&x.run, ending{status: RunDead, err: err, class: ClassPermanent})
			return false
		}
	}
	sp := x.plan.Steps[x.next]
	return e.step(ctx, x, sp, x.next == len(x.plan.Steps)-1)
}

// load reads x's trigger and the outputs of the steps its ledger records as finished, which
// later steps see as steps.<id>.
func (e *Engine) load(x *execution) error {
	if !x.eventLoaded {
		ev, err := e.store.EventBySeq(context.Background(), x.run.Tenant, x.run.EventSeq)
		if err != nil {
			return fmt.Errorf("loading event: %w", err)
		}
		x.event, x.eventLoaded = ev, true
	}
	x.scope = Scope{Event: &x.event, Steps: map[string]map[string]any{}, Tenant: x.run.Tenant}
	for id, rec := range x.done {
		out, err := decodeOutput(rec.Output)
		if err != nil {
			return fmt.Errorf("ledger entry of step %q: %w", id, err)
		}
		x.scope.Steps[id] = out
	}
	x.run.Steps = nil
	x.loaded = true
	return nil
}

// runLog is the logger of x's run.
func (e *Engine) runLog(x *execution) *slog.Logger {
	if x.log == nil {
		x.log = e.log.With("run", x.run.ID, "rule", x.run.RuleID, "tenant", x.run.Tenant)
	}
	return x.log
}

// decodeOutput reads a step output back from the ledger, exactly as later steps see it.
func decodeOutput(raw json.RawMessage) (map[string]any, error) {
	out := map[string]any{}
	if len(raw) == 0 {
		return out, nil
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("output is not a JSON object: %w", err)
	}
	return out, nil
}

// step runs one step and commits its outcome. It reports whether the run goes on to its next
// step; the last step, and any failure, finish the run instead.
func (e *Engine) step(ctx context.Context, x *execution, sp StepPlan, last bool) bool {
	started := e.now()
	rec := StepRecord{StepID: sp.ID, Kind: sp.Kind, StartedAt: started, Attempts: x.attempts[sp.ID] + 1}
	res, err := e.invoke(ctx, x, sp, rec.Attempts)
	if x.executed != nil {
		x.executed()
		x.executed = nil
	}
	rec.FinishedAt = e.now()
	rec.DurationMS = float64(rec.FinishedAt.Sub(started).Microseconds()) / 1000
	rec.Status = StepSucceeded
	if errors.Is(err, errSkipped) {
		rec.Status, err = StepSkipped, nil
		res = StepResult{Output: map[string]any{"skipped": true}}
	}
	if err != nil {
		e.fail(ctx, x, sp, rec, err)
		return false
	}
	if res.Output == nil {
		res.Output = map[string]any{}
	}
	out, err := json.Marshal(res.Output)
	if err != nil {
		rec.Status, rec.Error = StepFailed, "output is not JSON: "+err.Error()
		e.finish(&x.run, ending{status: RunDead, err: fmt.Errorf("step %q: output is not JSON: %w", sp.ID, err), class: ClassPermanent, last: &rec})
		return false
	}
	rec.Output = out
	emitted, err := e.emitted(x, sp, res.Emit)
	if err != nil {
		rec.Status, rec.Error, rec.Output = StepFailed, err.Error(), nil
		e.finish(&x.run, ending{status: RunDead, err: fmt.Errorf("step %q: %w", sp.ID, err), class: ClassInvalidInput, last: &rec})
		return false
	}
	e.obs.StepFinished(sp.Kind, rec.Status, rec.FinishedAt.Sub(started))
	if len(emitted) > 0 {
		e.obs.EventsAccepted(x.run.Tenant, len(emitted), 0)
		for _, p := range emitted {
			e.backlog.add(x.run.Tenant, len(p.RuleIDs))
		}
		defer e.wake()
	}
	if last {
		e.finish(&x.run, ending{status: RunSucceeded, last: &rec, emitted: emitted})
		return false
	}
	if _, err := e.store.RecordStep(context.Background(), &x.run, rec, emitted); err != nil {
		e.runLog(x).Error("recording step", "step", sp.ID, "err", err)
		return false
	}
	// Later steps see the output re-read through JSON, exactly as a resumed run would.
	seen, err := decodeOutput(out)
	if err != nil {
		e.runLog(x).Error("re-reading step output", "step", sp.ID, "err", err)
		return false
	}
	x.scope.Steps[sp.ID] = seen
	x.done[sp.ID] = rec
	x.attempts[sp.ID] = rec.Attempts
	return true
}

// emitted validates the events a step emitted and matches them against the rules; their ids
// derive from the run and step, so a repeated step emits the same events.
func (e *Engine) emitted(x *execution, sp StepPlan, events []Event) ([]Pending, error) {
	pending := make([]Pending, 0, len(events))
	for j := range events {
		ev := events[j]
		fillEvent(&ev, stableID(x.run.ID, sp.ID, j), "aquahub/rules/"+x.run.RuleID, e.now())
		p, err := e.pending(ev)
		if err != nil {
			return nil, fmt.Errorf("emitted event %d: %w", j, err)
		}
		pending = append(pending, p)
	}
	return pending, nil
}

// fail records a failed step and finishes the attempt as Decide says.
func (e *Engine) fail(ctx context.Context, x *execution, sp StepPlan, rec StepRecord, err error) {
	se := Classify(err)
	rec.Status, rec.Error, rec.ErrorClass = StepFailed, err.Error(), string(se.Class)
	e.obs.StepFinished(sp.Kind, StepFailed, rec.FinishedAt.Sub(rec.StartedAt))
	policy := x.plan.Retry
	if sp.Retry != nil {
		policy = *sp.Retry
	}
	d := Decide(Failure{
		Class: se.Class, RetryAfter: se.RetryAfter, Attempts: x.run.Attempts, Policy: policy,
		ShuttingDown: ctx.Err() != nil, Now: e.now(),
	}, nil)
	last := &rec
	switch {
	case d.Status == RunRetrying:
		e.runLog(x).Warn("step failed; will retry", "step", sp.ID, "class", se.Class, "attempt", x.run.Attempts, "next", d.NextAt, "err", err)
	case d.Status == RunDead:
		e.runLog(x).Error("step failed; run dead-lettered", "step", sp.ID, "class", se.Class, "attempts", x.run.Attempts, "err", err)
	case se.Class == ClassDeferred:
		// Not an attempt of the step: nothing was tried, so the ledger keeps no entry.
		last = nil
	}
	if d.GiveBack {
		x.run.Attempts--
	}
	x.run.Lane = laneKey(&sp)
	e.finish(&x.run, ending{status: d.Status, err: fmt.Errorf("step %q: %w", sp.ID, err), class: se.Class, next: d.NextAt, last: last})
}

var errSkipped = errors.New("step skipped")

// invoke evaluates the step's condition and input and runs its kind.
func (e *Engine) invoke(ctx context.Context, x *execution, sp StepPlan, attempt int) (res StepResult, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = Transient(fmt.Errorf("step kind %q panicked: %v", sp.Kind, p))
		}
	}()
	if sp.If != nil {
		ok, err := sp.If(x.scope)
		if err != nil {
			return res, &StepError{Class: ClassInvalidInput, Err: fmt.Errorf("evaluating if: %w", err)}
		}
		if !ok {
			return res, errSkipped
		}
	}
	var input map[string]any
	if sp.Render != nil {
		if input, err = sp.Render(x.scope); err != nil {
			return res, &StepError{Class: ClassInvalidInput, Err: fmt.Errorf("rendering input: %w", err)}
		}
	}
	kind, ok := e.kinds.Lookup(sp.Kind)
	if !ok {
		return res, Permanent(fmt.Errorf("no step kind %q in this hub (is the feature configured?)", sp.Kind))
	}
	return kind.Execute(ctx, StepCall{
		Tenant: x.run.Tenant, RunID: x.run.ID, RuleID: x.run.RuleID, StepID: sp.ID, Kind: sp.Kind,
		Target: sp.Target, Params: sp.Params, Input: input,
		IdempotencyKey: stableID(x.run.ID, sp.ID, -1), Attempt: attempt, Event: &x.event,
		Released: x.executed,
	})
}

// ending is how an attempt of a run ends.
type ending struct {
	status RunStatus
	err    error
	class  ErrorClass
	// next is when a retrying or deferred run is due.
	next time.Time
	// last, when set, is the ledger entry of the step that ended the attempt; it and the
	// events that step emitted are written in the same transaction as the run's state.
	last    *StepRecord
	emitted []Pending
}

// finish writes the run's new state.
func (e *Engine) finish(run *Run, end ending) {
	now := e.now()
	run.Status, run.UpdatedAt, run.NextAt = end.status, now, end.next
	run.Steps = nil
	run.LastError, run.ErrorClass = "", ""
	if end.err != nil {
		run.LastError, run.ErrorClass = end.err.Error(), string(end.class)
	}
	if end.status == RunSucceeded || end.status == RunDead {
		run.FinishedAt = now
	}
	if err := e.store.Finish(context.Background(), run, end.last, end.emitted); err != nil {
		e.log.Error("finishing run", "run", run.ID, "tenant", run.Tenant, "err", err)
		return
	}
	if end.status == RunSucceeded || end.status == RunDead {
		e.backlog.add(run.Tenant, -1)
	}
	e.obs.RunFinished(run.Tenant, run.RuleID, end.status)
}
