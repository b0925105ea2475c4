package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aquascene/aquahub/core"
)

// stepKind runs rule steps of kind webhook:
//
//   - id: notify
//     webhook:
//     type: partner.content.ready        # required: the message's event type
//     endpoint: ep_…                     # optional: one endpoint; default every endpoint whose patterns match type
//     subject: ${{ steps.draft.content_id }}
//     data: { content_id: ${{ steps.draft.content_id }} }   # default: the trigger's data
//
// The message is a CloudEvent queued on the durable delivery queue, not published into the
// pipeline, so no rule sees it. The step's idempotency key names the message, so a retried
// step queues nothing twice.
type stepKind struct{ m *Module }

var _ core.StepKind = (*stepKind)(nil)

// Syntax implements core.StepKind.
func (x *stepKind) Syntax() core.StepSyntax { return core.StepSyntax{Name: "webhook"} }

// Check implements core.StepKind: the type is required, fields are known, and literal
// strings are strings.
func (x *stepKind) Check(def core.StepDef) error {
	return checkStepInput(def.Literals(), false)
}

// checkStepInput checks a webhook step's input; nil values are not known yet unless
// complete (the rendered input of a running step).
func checkStepInput(in map[string]any, complete bool) error {
	for k, v := range in {
		switch k {
		case "type", "endpoint", "subject":
			if v == nil {
				continue // not known yet, or (endpoint, subject) rendered as nothing
			}
			if _, ok := v.(string); !ok {
				return core.Invalid("webhook."+k, "must be a string")
			}
		case "data":
		default:
			return core.Invalid("webhook."+k, "unknown field (known: type, endpoint, subject, data)")
		}
	}
	typ, given := in["type"]
	if s, _ := typ.(string); !given || (complete && s == "") {
		return core.Invalid("webhook.type", "required: the event type of the message")
	}
	return nil
}

// Execute implements core.StepKind.
func (x *stepKind) Execute(ctx context.Context, call core.StepCall) (core.StepResult, error) {
	if err := checkStepInput(call.Input, true); err != nil {
		return core.StepResult{}, err
	}
	typ, _ := call.Input["type"].(string)
	endpoint, _ := call.Input["endpoint"].(string)
	subject, _ := call.Input["subject"].(string)
	ev := core.Event{
		ID: call.IdempotencyKey, Source: "aquahub/rules/" + call.RuleID, Type: typ,
		SpecVersion: core.SpecVersion, Subject: subject, DataContentType: "application/json",
	}
	if call.Event != nil {
		ev.Time = call.Event.Time
		ev.Data = call.Event.Data
	}
	if d, ok := call.Input["data"]; ok {
		b, err := json.Marshal(d)
		if err != nil {
			return core.StepResult{}, core.Invalid("webhook.data", "not JSON: %v", err)
		}
		ev.Data = b
	}
	var targets []string
	if endpoint != "" {
		targets = []string{endpoint}
	} else {
		eps, err := x.m.List(ctx, call.Tenant)
		if err != nil {
			return core.StepResult{}, core.Transient(err)
		}
		for _, ep := range eps {
			if ep.Enabled && matchesAny(ep.Events, typ) {
				targets = append(targets, ep.ID)
			}
		}
	}
	ids := []any{}
	for _, t := range targets {
		d, err := x.m.Send(ctx, call.Tenant, t, ev, call.IdempotencyKey+"/"+t)
		switch {
		case errors.Is(err, core.ErrNotFound):
			return core.StepResult{}, &core.StepError{Class: core.ClassNotFound, Err: fmt.Errorf("webhook endpoint %q: %w", t, err)}
		case errors.Is(err, core.ErrConflict):
			return core.StepResult{}, core.Permanent(err)
		case err != nil:
			return core.StepResult{}, core.Transient(err)
		}
		ids = append(ids, d.ID)
	}
	return core.StepResult{Output: map[string]any{"messages": ids, "endpoints": len(ids)}}, nil
}
