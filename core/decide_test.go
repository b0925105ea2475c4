package core_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	policy := core.RetryPolicy{Attempts: 3, Initial: time.Second, Max: time.Minute, Backoff: "constant"}
	tests := []struct {
		name     string
		in       core.Failure
		status   core.RunStatus
		next     time.Time
		giveBack bool
	}{
		{"transient with attempts left retries after the delay",
			core.Failure{Class: core.ClassTransient, Attempts: 1, Policy: policy, Now: now}, core.RunRetrying, now.Add(time.Second), false},
		{"rate limited waits at least retry-after",
			core.Failure{Class: core.ClassRateLimited, RetryAfter: 30 * time.Second, Attempts: 2, Policy: policy, Now: now}, core.RunRetrying, now.Add(30 * time.Second), false},
		{"transient on the last attempt is dead",
			core.Failure{Class: core.ClassTransient, Attempts: 3, Policy: policy, Now: now}, core.RunDead, time.Time{}, false},
		{"invalid input is dead at once",
			core.Failure{Class: core.ClassInvalidInput, Attempts: 1, Policy: policy, Now: now}, core.RunDead, time.Time{}, false},
		{"auth is dead at once",
			core.Failure{Class: core.ClassAuth, Attempts: 1, Policy: policy, Now: now}, core.RunDead, time.Time{}, false},
		{"our shutdown gives the attempt back, due now",
			core.Failure{Class: core.ClassTransient, Attempts: 3, Policy: policy, ShuttingDown: true, Now: now}, core.RunQueued, now, true},
		{"shutdown wins over a permanent class",
			core.Failure{Class: core.ClassPermanent, Attempts: 1, Policy: policy, ShuttingDown: true, Now: now}, core.RunQueued, now, true},
		{"a zero policy takes the default attempts",
			core.Failure{Class: core.ClassTransient, Attempts: core.DefaultRetry.Attempts - 1, Now: now}, core.RunRetrying, time.Time{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := core.Decide(tc.in, rand.New(rand.NewPCG(1, 2)))
			if d.Status != tc.status || d.GiveBack != tc.giveBack {
				t.Fatalf("got %+v, want status %s give back %v", d, tc.status, tc.giveBack)
			}
			if !tc.next.IsZero() && !d.NextAt.Equal(tc.next) {
				t.Fatalf("next at %s, want %s", d.NextAt, tc.next)
			}
			if tc.status == core.RunRetrying && d.NextAt.Before(tc.in.Now) {
				t.Fatalf("retry scheduled in the past: %s", d.NextAt)
			}
		})
	}
}

func TestDecideExponentialStaysWithinCeiling(t *testing.T) {
	now := time.Unix(0, 0)
	policy := core.RetryPolicy{Attempts: 10, Initial: time.Second, Max: 8 * time.Second}
	rnd := rand.New(rand.NewPCG(7, 7))
	for attempts := 1; attempts < 10; attempts++ {
		ceiling := min(time.Second<<(attempts-1), 8*time.Second)
		for range 50 {
			d := core.Decide(core.Failure{Class: core.ClassTransient, Attempts: attempts, Policy: policy, Now: now}, rnd)
			if wait := d.NextAt.Sub(now); wait < 0 || wait > ceiling {
				t.Fatalf("attempt %d: wait %s outside [0, %s]", attempts, wait, ceiling)
			}
		}
	}
}

func TestBuiltinKindsCheckAtLoad(t *testing.T) {
	tests := []struct {
		name  string
		kind  core.StepKind
		input map[string]any
		want  string
	}{
		{"emit needs a type", core.EmitKind{}, map[string]any{"source": "s"}, "emit.type: required"},
		{"emit refuses unknown fields", core.EmitKind{}, map[string]any{"type": "t", "tipe": "x"}, `emit.tipe: unknown field`},
		{"emit refuses a literal non-string", core.EmitKind{}, map[string]any{"type": 3}, "emit.type: must be a string"},
		{"emit accepts an expression", core.EmitKind{}, map[string]any{"type": "${{ event.type }}"}, ""},
		{"emit accepts an events expression", core.EmitKind{}, map[string]any{"events": "${{ map(steps.a.items, {\"type\": \"x\"}) }}"}, ""},
		{"emit events excludes the single-event fields", core.EmitKind{}, map[string]any{"events": []any{}, "type": "t"}, "emit.type: not allowed with events"},
		{"emit events must be a list", core.EmitKind{}, map[string]any{"events": "t"}, "emit.events: must be a list"},
		{"emit events need a type each", core.EmitKind{}, map[string]any{"events": []any{map[string]any{"type": "a"}, map[string]any{"data": 1}}}, "emit.events[1].type: required"},
		{"emit events refuse unknown fields", core.EmitKind{}, map[string]any{"events": []any{map[string]any{"type": "a", "tipe": 1}}}, "emit.events[0].tipe: unknown field"},
		{"log needs a message", core.LogKind{}, map[string]any{"level": "info"}, "log.message: required"},
		{"log refuses an unknown level", core.LogKind{}, map[string]any{"message": "m", "level": "loud"}, "log.level: want debug"},
		{"log accepts an expression level", core.LogKind{}, map[string]any{"message": "m", "level": "${{ env.LEVEL }}"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.kind.Check(core.StepDef{Kind: tc.kind.Syntax().Name, Input: tc.input})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestEmitEventsFansOut(t *testing.T) {
	items := []any{
		map[string]any{"type": "partner.product.featured", "subject": "GA-1", "data": map[string]any{"product_id": "GA-1"}},
		map[string]any{"type": "partner.product.featured", "id": "given", "data": map[string]any{"product_id": "GA-2"}},
	}
	call := core.StepCall{RunID: "run1", StepID: "fan", Input: map[string]any{"events": items}}
	res, err := core.EmitKind{}.Execute(context.Background(), call)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Emit) != 2 || res.Output["count"] != 2 {
		t.Fatalf("emitted %d, output %v", len(res.Emit), res.Output)
	}
	if res.Emit[0].Subject != "GA-1" || string(res.Emit[0].Data) != `{"product_id":"GA-1"}` || res.Emit[1].ID != "given" {
		t.Fatalf("events %+v", res.Emit)
	}
	again, _ := core.EmitKind{}.Execute(context.Background(), call)
	if res.Emit[0].ID == "" || again.Emit[0].ID != res.Emit[0].ID || res.Emit[0].ID == res.Emit[1].ID {
		t.Fatalf("ids %q, %q on a retry: derived ids must be stable per run, step and position", res.Emit[0].ID, again.Emit[0].ID)
	}
	empty, err := core.EmitKind{}.Execute(context.Background(), core.StepCall{RunID: "r", StepID: "s", Input: map[string]any{"events": []any{}}})
	if err != nil || len(empty.Emit) != 0 || empty.Output["count"] != 0 {
		t.Fatalf("an empty list: %v %v", empty, err)
	}
	tooMany := make([]any, core.MaxEmitEvents+1)
	for i := range tooMany {
		tooMany[i] = map[string]any{"type": "x"}
	}
	if _, err := (core.EmitKind{}).Execute(context.Background(), core.StepCall{Input: map[string]any{"events": tooMany}}); err == nil || !strings.Contains(err.Error(), "at most 1000") {
		t.Fatalf("1001 events: %v", err)
	}
}
