package webhooks

import (
	"encoding/json"
	"testing"

	"github.com/aquascene/aquahub/core"
)

func TestStepExecutor(t *testing.T) {
	h := newHarness(t, nil)
	rc := newReceiver(t, nil)
	partner, _ := h.create(t, rc.URL+"/partner", "partner.*")
	h.create(t, rc.URL+"/other", "newsletter.*")
	x := NewStepExecutor(h.svc)
	trigger := &core.Event{ID: "e1", Type: "content.updated", Data: json.RawMessage(`{"content_id":"gen-1"}`)}
	call := core.StepCall{Tenant: "aquascene", RunID: "run1", RuleID: "announce", StepID: "notify", Kind: "webhook",
		IdempotencyKey: "run1/notify", Event: trigger, Input: map[string]any{"type": "partner.content.approved", "subject": "gen-1"}}

	res, err := x.Execute(t.Context(), call)
	if err != nil || res.Output["endpoints"] != 1 {
		t.Fatalf("Execute = %+v, %v; want one matching endpoint", res, err)
	}
	if _, err := x.Execute(t.Context(), call); err != nil { // a retried step
		t.Fatal(err)
	}
	h.pass(t)
	reqs := rc.requests()
	if len(reqs) != 1 || reqs[0].path != "/partner" {
		t.Fatalf("%d requests (want 1 to /partner)", len(reqs))
	}
	var ev map[string]any
	_ = json.Unmarshal(reqs[0].body, &ev)
	if ev["type"] != "partner.content.approved" || ev["subject"] != "gen-1" || ev["source"] != "aquahub/rules/announce" {
		t.Fatalf("message = %v", ev)
	}
	if d, _ := ev["data"].(map[string]any); d["content_id"] != "gen-1" {
		t.Fatalf("data = %v, want the trigger's data", ev["data"])
	}

	tests := []struct {
		name  string
		input map[string]any
		class core.ErrorClass
	}{
		{name: "missing type", input: map[string]any{}, class: core.ClassInvalidInput},
		{name: "unknown field", input: map[string]any{"type": "x", "url": "http://x"}, class: core.ClassInvalidInput},
		{name: "unknown endpoint", input: map[string]any{"type": "x", "endpoint": "ep_nope"}, class: core.ClassNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := call
			c.Input, c.IdempotencyKey = tt.input, "k-"+tt.name
			_, err := x.Execute(t.Context(), c)
			if got := core.Classify(err); err == nil || got.Class != tt.class {
				t.Fatalf("Execute = %v, want class %s", err, tt.class)
			}
		})
	}
	c := call
	c.Input, c.IdempotencyKey = map[string]any{"type": "anything", "endpoint": partner.ID, "data": map[string]any{"n": 1}}, "run2/notify"
	if res, err := x.Execute(t.Context(), c); err != nil || res.Output["endpoints"] != 1 {
		t.Fatalf("explicit endpoint = %+v, %v", res, err)
	}
}
