package wasmtest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit"
	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/plugins"
)

// StepFunc runs action on input as step id of one run; calling it again with the same id
// is a retry of that step, as the engine makes one (same idempotency key).
type StepFunc func(id, action string, input map[string]any) (map[string]any, error)

// Step returns a StepFunc that executes connector's actions for tenant in run "run1".
// Tests that check what a retry of a step does use it; Steps numbers the steps itself.
func Step(cat *plugins.Catalog, tenant, connector string) StepFunc {
	return func(id, action string, input map[string]any) (map[string]any, error) {
		res, err := cat.Execute(context.Background(), plugins.ActionCall{
			Tenant: tenant, RunID: "run1", StepID: id, Connector: connector,
			Action: action, Input: input, IdempotencyKey: "run1/" + id, Attempt: 1,
		})
		return res.Output, err
	}
}

// Class returns the class of the *core.StepError in err's chain, or "" when there is none
// (err is nil or not a step error).
func Class(err error) core.ErrorClass {
	var se *core.StepError
	if !errors.As(err, &se) {
		return ""
	}
	return se.Class
}

// Fault is one failure a simulator answers a step with, the class the host must give the
// step's error, and whether a retry of the same step succeeds once the fault is gone.
type Fault struct {
	// Name names the subtest.
	Name string
	// Inject is the status the simulator answers the next request with; 0 for none.
	Inject int
	// Latency delays every answer while the first attempt runs; 0 for none.
	Latency time.Duration
	// Input is the action's input.
	Input map[string]any
	// WantClass is the class the first attempt must fail with.
	WantClass core.ErrorClass
	// RetryOK says a retry of the step must then succeed.
	RetryOK bool
}

// RunFaults runs each fault as a subtest: fault i is step "case<i>" of action, run once with
// the fault set on in and, when RetryOK, once more without it.
func RunFaults(t *testing.T, in *simkit.Injector, step StepFunc, action string, faults []Fault) {
	t.Helper()
	for i, f := range faults {
		t.Run(f.Name, func(t *testing.T) {
			id := fmt.Sprint("case", i)
			if f.Inject != 0 {
				in.Inject(f.Inject, 1)
			}
			in.Set(simkit.Faults{Latency: f.Latency})
			_, err := step(id, action, f.Input)
			if got := Class(err); got != f.WantClass {
				t.Fatalf("error %v has class %q, want %q", err, got, f.WantClass)
			}
			in.Set(simkit.Faults{})
			if f.RetryOK {
				if _, err := step(id, action, f.Input); err != nil {
					t.Fatalf("retry: %v", err)
				}
			}
		})
	}
}
