package core

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
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
type EmitKind struct{}

var emitFields = []string{"type", "source", "subject", "id", "data"}

// Syntax implements StepKind.
func (EmitKind) Syntax() StepSyntax { return StepSyntax{Name: "emit"} }

// Check implements StepKind: unknown fields, and literal attributes that are not strings.
func (EmitKind) Check(def StepDef) error {
	_, err := emitEvent(def.Literals(), false)
	return err
}

// Execute implements StepKind.
func (EmitKind) Execute(ctx context.Context, call StepCall) (StepResult, error) {
	ev, err := emitEvent(call.Input, true)
	if err != nil {
		return StepResult{}, &StepError{Class: ClassInvalidInput, Err: err}
	}
	if ev.ID == "" {
		ev.ID = stableID(call.RunID, call.StepID, 0)
	}
	return StepResult{Output: map[string]any{"id": ev.ID, "type": ev.Type}, Emit: []Event{ev}}, nil
}

// emitEvent builds the event an emit step's input describes. Nil values are not known yet
// (load time) and pass; complete requires the type.
func emitEvent(in map[string]any, complete bool) (Event, error) {
	ev := Event{SpecVersion: SpecVersion}
	for _, k := range sortedKeys(in) {
		v := in[k]
		if k == "data" {
			b, err := json.Marshal(v)
			if err != nil {
				return ev, Invalid("emit.data", "not JSON: %v", err)
			}
			ev.Data, ev.DataContentType = b, "application/json"
			continue
		}
		if !contains(emitFields, k) {
			return ev, Invalid("emit."+k, "unknown field (want type, source, subject, id, data)")
		}
		if v == nil && !complete {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return ev, Invalid("emit."+k, "must be a string")
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
		return ev, Invalid("emit.type", "required")
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
