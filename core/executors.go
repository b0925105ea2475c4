package core

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
)

var randRead = rand.Read

// EmitExecutor is the `emit` step: it publishes a new event into the pipeline. Input:
// type (required), source, subject, id, data. The event is written together with the step's
// ledger entry, so it is emitted exactly once; its id defaults to one derived from the run
// and step.
type EmitExecutor struct{}

// Execute implements StepExecutor.
func (EmitExecutor) Execute(ctx context.Context, call StepCall) (StepResult, error) {
	ev := Event{SpecVersion: SpecVersion}
	for k, v := range call.Input {
		s, isString := v.(string)
		switch k {
		case "type", "source", "subject", "id":
			if !isString {
				return StepResult{}, &StepError{Class: ClassInvalidInput, Err: Invalid("emit."+k, "must be a string")}
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
		case "data":
			b, err := json.Marshal(v)
			if err != nil {
				return StepResult{}, &StepError{Class: ClassInvalidInput, Err: Invalid("emit.data", "not JSON: %v", err)}
			}
			ev.Data, ev.DataContentType = b, "application/json"
		default:
			return StepResult{}, &StepError{Class: ClassInvalidInput, Err: Invalid("emit."+k, "unknown field (want type, source, subject, id, data)")}
		}
	}
	if ev.Type == "" {
		return StepResult{}, &StepError{Class: ClassInvalidInput, Err: Invalid("emit.type", "required")}
	}
	if ev.ID == "" {
		ev.ID = stableID(call.RunID, call.StepID, 0)
	}
	return StepResult{Output: map[string]any{"id": ev.ID, "type": ev.Type}, Emit: []Event{ev}}, nil
}

// LogExecutor is the `log` step: it writes a structured log line. Input: message
// (required), level (debug, info, warn, error; default info), and any other keys as fields.
type LogExecutor struct{ Logger *slog.Logger }

// Execute implements StepExecutor.
func (x LogExecutor) Execute(ctx context.Context, call StepCall) (StepResult, error) {
	msg, _ := call.Input["message"].(string)
	if msg == "" {
		return StepResult{}, &StepError{Class: ClassInvalidInput, Err: Invalid("log.message", "required string")}
	}
	level := slog.LevelInfo
	if l, ok := call.Input["level"]; ok {
		s, _ := l.(string)
		if err := level.UnmarshalText([]byte(s)); err != nil {
			return StepResult{}, &StepError{Class: ClassInvalidInput, Err: Invalid("log.level", "want debug, info, warn or error (got %v)", l)}
		}
	}
	attrs := []any{"tenant", call.Tenant, "run", call.RunID, "rule", call.RuleID, "step", call.StepID}
	for k, v := range call.Input {
		if k != "message" && k != "level" {
			attrs = append(attrs, k, v)
		}
	}
	logger := x.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger.Log(ctx, level, msg, attrs...)
	return StepResult{Output: map[string]any{"message": msg, "level": fmt.Sprint(level)}}, nil
}
