package core

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
)

var randRead = rand.Read

// BuiltinStepKinds returns the kinds every hub has: emit and log (logging to logger).
func BuiltinStepKinds(logger *slog.Logger) []StepKind {
	return []StepKind{EmitKind{}, LogKind{Logger: logger}}
}

// EmitKind is the `emit` step: it publishes a new event into the pipeline. Input:
// type (required), source, subject, id, data. The event is written together with the step's
// ledger entry, so it is emitted exactly once; its id defaults to one derived from the run
// and step.
//
// Instead of those fields, `events` takes a list of such objects (at most MaxEmitEvents),
// one event each: a rule fans out over a list an earlier step returned, for instance
// `events: ${{ map(steps.list.products, {"type": "product.featured", "data": #}) }}`.
// The output is the ids and the count.
type EmitKind struct{}

// MaxEmitEvents bounds the events one emit step publishes.
const MaxEmitEvents = 1000

var emitFields = []string{"type", "source", "subject", "id", "data"}

// Syntax implements StepKind.
func (EmitKind) Syntax() StepSyntax { return StepSyntax{Name: "emit"} }

// Check implements StepKind: unknown fields, and literal attributes that are not strings.
func (EmitKind) Check(def StepDef) error {
	lits := def.Literals()
	if _, many := def.Input["events"]; many {
		_, err := emitEvents(lits, false)
		return err
	}
	_, err := emitEvent(lits, "emit.", false)
	return err
}

// Execute implements StepKind.
func (EmitKind) Execute(ctx context.Context, call StepCall) (StepResult, error) {
	if _, many := call.Input["events"]; many {
		evs, err := emitEvents(call.Input, true)
		if err != nil {
			return StepResult{}, &StepError{Class: ClassInvalidInput, Err: err}
		}
		ids := make([]any, len(evs))
		for i := range evs {
			if evs[i].ID == "" {
				evs[i].ID = stableID(call.RunID, call.StepID, i)
			}
			ids[i] = evs[i].ID
		}
		return StepResult{Output: map[string]any{"ids": ids, "count": len(evs)}, Emit: evs}, nil
	}
	ev, err := emitEvent(call.Input, "emit.", true)
	if err != nil {
		return StepResult{}, &StepError{Class: ClassInvalidInput, Err: err}
	}
	if ev.ID == "" {
		ev.ID = stableID(call.RunID, call.StepID, 0)
	}
	return StepResult{Output: map[string]any{"id": ev.ID, "type": ev.Type}, Emit: []Event{ev}}, nil
}

// emitEvents builds the events of an emit step's `events` list. A nil list is not known
// yet (load time) and passes; so does a nil element.
func emitEvents(in map[string]any, complete bool) ([]Event, error) {
	for k := range in {
		if k != "events" {
			return nil, Invalid("emit."+k, "not allowed with events (each event of the list carries its own)")
		}
	}
	raw := in["events"]
	if raw == nil && !complete {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, Invalid("emit.events", "must be a list of events (got %T)", raw)
	}
	if len(list) > MaxEmitEvents {
		return nil, Invalid("emit.events", "at most %d events (got %d)", MaxEmitEvents, len(list))
	}
	evs := make([]Event, 0, len(list))
	for i, item := range list {
		path := fmt.Sprintf("emit.events[%d].", i)
		if item == nil && !complete {
			continue
		}
		m, ok := item.(map[string]any)
		if !ok {
			return nil, Invalid(strings.TrimSuffix(path, "."), "must be an object with type, source, subject, id, data (got %T)", item)
		}
		ev, err := emitEvent(m, path, complete)
		if err != nil {
			return nil, err
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// emitEvent builds the event an emit step's input describes; errors name fields under
// path. Nil values are not known yet (load time) and pass; complete requires the type.
func emitEvent(in map[string]any, path string, complete bool) (Event, error) {
	ev := Event{SpecVersion: SpecVersion}
	for _, k := range sortedKeys(in) {
		v := in[k]
		if k == "data" {
			b, err := json.Marshal(v)
			if err != nil {
				return ev, Invalid(path+"data", "not JSON: %v", err)
			}
			ev.Data, ev.DataContentType = b, "application/json"
			continue
		}
		if !contains(emitFields, k) {
			return ev, Invalid(path+k, "unknown field (want type, source, subject, id, data, or a list of them in events)")
		}
		if v == nil && !complete {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return ev, Invalid(path+k, "must be a string")
		}
		switch k {
		case "type":
			ev.Type = s
		case "source":
			ev.Source = s
		case "subject":
			ev.Subject = s
		case "id":
			ev.ID = s
		}
	}
	if _, given := in["type"]; !given || (complete && ev.Type == "") {
		return ev, Invalid(path+"type", "required")
	}
	return ev, nil
}

// LogKind is the `log` step: it writes a structured log line. Input: message
// (required), level (debug, info, warn, error; default info), and any other keys as fields.
type LogKind struct{ Logger *slog.Logger }

// Syntax implements StepKind.
func (LogKind) Syntax() StepSyntax { return StepSyntax{Name: "log"} }

// Check implements StepKind: the message is required and a literal level must be known.
func (LogKind) Check(def StepDef) error {
	_, err := logLevel(def.Literals(), false)
	return err
}

// Execute implements StepKind.
func (x LogKind) Execute(ctx context.Context, call StepCall) (StepResult, error) {
	level, err := logLevel(call.Input, true)
	if err != nil {
		return StepResult{}, &StepError{Class: ClassInvalidInput, Err: err}
	}
	msg, _ := call.Input["message"].(string)
	attrs := []any{"tenant", call.Tenant, "run", call.RunID, "rule", call.RuleID, "step", call.StepID}
	for _, k := range sortedKeys(call.Input) {
		if k != "message" && k != "level" {
			attrs = append(attrs, k, call.Input[k])
		}
	}
	logger := x.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger.Log(ctx, level, msg, attrs...)
	return StepResult{Output: map[string]any{"message": msg, "level": fmt.Sprint(level)}}, nil
}

// logLevel checks a log step's input and returns its level. Nil values are not known yet.
func logLevel(in map[string]any, complete bool) (slog.Level, error) {
	level := slog.LevelInfo
	msg, given := in["message"]
	if !given || (complete || msg != nil) && !isNonEmptyString(msg) {
		return level, Invalid("log.message", "required string")
	}
	if l, ok := in["level"]; ok && (complete || l != nil) {
		s, _ := l.(string)
		if err := level.UnmarshalText([]byte(s)); err != nil {
			return level, Invalid("log.level", "want debug, info, warn or error (got %v)", l)
		}
	}
	return level, nil
}

func isNonEmptyString(v any) bool {
	s, ok := v.(string)
	return ok && s != ""
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var (
	_ StepKind = EmitKind{}
	_ StepKind = LogKind{}
)
