package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aquascene/aquahub/core"
)

// StepExecutor runs rule steps of kind webhook:
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
type StepExecutor struct{ svc *Service }

// NewStepExecutor returns the webhook step executor of svc.
func NewStepExecutor(svc *Service) *StepExecutor { return &StepExecutor{svc: svc} }

var _ core.StepExecutor = (*StepExecutor)(nil)

// Execute implements core.StepExecutor.
func (x *StepExecutor) Execute(ctx context.Context, call core.StepCall) (core.StepResult, error) {
	typ, _ := call.Input["type"].(string)
	if typ == "" {
		return core.StepResult{}, core.Invalid("webhook.type", "required: the event type of the message")
	}
	for k := range call.Input {
		switch k {
		case "type", "endpoint", "subject", "data":
		default:
			return core.StepResult{}, core.Invalid("webhook."+k, "unknown field (known: type, endpoint, subject, data)")
		}
	}
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
		eps, err := x.svc.List(ctx, call.Tenant)
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
		d, err := x.svc.Send(ctx, call.Tenant, t, ev, call.IdempotencyKey+"/"+t)
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
