package core_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/storage/bolt"
	"github.com/aquascene/aquahub/rules"
)

// scripted is a step executor whose behaviour per call the test decides.
type scripted struct {
	mu    sync.Mutex
	calls map[string]int // by step id
	keys  map[string]string
	fn    func(call core.StepCall, n int) (core.StepResult, error)
}

func (x *scripted) Execute(ctx context.Context, call core.StepCall) (core.StepResult, error) {
	x.mu.Lock()
	if x.calls == nil {
		x.calls, x.keys = map[string]int{}, map[string]string{}
	}
	x.calls[call.StepID]++
	n := x.calls[call.StepID]
	if prev, ok := x.keys[call.StepID]; ok && prev != call.IdempotencyKey {
		x.mu.Unlock()
		return core.StepResult{}, core.Permanent(fmt.Errorf("idempotency key changed between attempts: %s != %s", prev, call.IdempotencyKey))
	}
	x.keys[call.StepID] = call.IdempotencyKey
	x.mu.Unlock()
	return x.fn(call, n)
}

func (x *scripted) count(step string) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.calls[step]
}

type harness struct {
	engine *core.Engine
	store  *bolt.Store
}

func newHarness(t *testing.T, rulesYAML string, x core.StepExecutor) *harness {
	t.Helper()
	set, err := rules.Parse(map[string][]byte{"rules.yaml": []byte(rulesYAML)}, []string{"rules.yaml"}, rules.Options{Kinds: []string{"emit", "log", "test"}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := bolt.Open(filepath.Join(t.TempDir(), "hub.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := core.NewEngine(core.EngineOptions{
		Store: st, Rules: set, Executors: map[string]core.StepExecutor{"test": x},
		Workers: 4, PollInterval: 10 * time.Millisecond, LeaseTTL: 5 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.Drain(ctx)
		st.Close()
	})
	return &harness{engine: e, store: st}
}

func (h *harness) send(t *testing.T, id, typ, data string) core.Accepted {
	t.Helper()
	res, err := h.engine.Ingest(context.Background(), "acme", "", []core.Event{{ID: id, Source: "test", Type: typ, SpecVersion: "1.0", Data: []byte(data)}})
	if err != nil {
		t.Fatal(err)
	}
	return res.Events[0]
}

// waitRun polls until the run reaches status or the test's patience (10s) ends.
func (h *harness) waitRun(t *testing.T, id string, status core.RunStatus) core.Run {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		run, err := h.store.Run(context.Background(), "acme", id)
		if err == nil && run.Status == status {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s did not become %s: %+v (err %v)", id, status, run, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRunSucceedsAndEmitTriggersNextRule(t *testing.T) {
	x := &scripted{fn: func(call core.StepCall, n int) (core.StepResult, error) {
		return core.StepResult{Output: map[string]any{"echo": call.Input["topic"]}}, nil
	}}
	h := newHarness(t, `
rules:
  - id: first
    on: content.requested
    steps:
      - id: work
        test: { topic: "${{ event.data.topic }}" }
      - id: announce
        emit: { type: content.done, data: { topic: "${{ steps.work.echo }}" } }
  - id: second
    on: content.done
    steps:
      - id: log
        log: { message: "${{ 'done: ' + event.data.topic }}" }
`, x)
	acc := h.send(t, "e1", "content.requested", `{"topic":"CO2"}`)
	run := h.waitRun(t, acc.Runs[0], core.RunSucceeded)
	if len(run.Steps) != 2 || string(run.Steps[0].Output) != `{"echo":"CO2"}` {
		t.Fatalf("steps: %+v", run.Steps)
	}
	runs, _ := h.store.Runs(context.Background(), "acme", core.RunFilter{RuleID: "second"})
	if len(runs) != 1 {
		t.Fatalf("the emitted event should start one run of rule second, got %d", len(runs))
	}
	second := h.waitRun(t, runs[0].ID, core.RunSucceeded)
	if !strings.Contains(string(second.Steps[0].Output), "done: CO2") {
		t.Fatalf("second rule saw the wrong data: %s", second.Steps[0].Output)
	}
}

func TestTransientFailureRetriesThenDeadLetters(t *testing.T) {
	x := &scripted{fn: func(call core.StepCall, n int) (core.StepResult, error) {
		return core.StepResult{}, core.Transient(errors.New("vendor timed out"))
	}}
	h := newHarness(t, `
rules:
  - id: flaky
    on: a
    retry: { attempts: 3, initial: 10ms, max: 20ms }
    steps:
      - id: call
        test: {}
`, x)
	acc := h.send(t, "e1", "a", `{}`)
	run := h.waitRun(t, acc.Runs[0], core.RunDead)
	if x.count("call") != 3 || run.Attempts != 3 {
		t.Fatalf("want 3 attempts, executor saw %d, run says %d", x.count("call"), run.Attempts)
	}
	if run.ErrorClass != "transient" || !strings.Contains(run.LastError, "vendor timed out") {
		t.Fatalf("dead run should carry the last error: %q (%s)", run.LastError, run.ErrorClass)
	}
	if run.Steps[0].Attempts != 3 || run.Steps[0].Status != core.StepFailed {
		t.Fatalf("ledger: %+v", run.Steps[0])
	}
}

func TestPermanentFailureDeadLettersAtOnce(t *testing.T) {
	x := &scripted{fn: func(call core.StepCall, n int) (core.StepResult, error) {
		return core.StepResult{}, core.Permanent(errors.New("422 INVALID_VALUE_FOR_COLUMN"))
	}}
	h := newHarness(t, "rules:\n  - id: r\n    on: a\n    steps:\n      - id: call\n        test: {}\n", x)
	acc := h.send(t, "e1", "a", `{}`)
	run := h.waitRun(t, acc.Runs[0], core.RunDead)
	if x.count("call") != 1 || run.ErrorClass != "permanent" {
		t.Fatalf("calls %d, class %s", x.count("call"), run.ErrorClass)
	}
}

func TestFinishedStepIsNeverRepeated(t *testing.T) {
	var effects atomic.Int32
	x := &scripted{fn: func(call core.StepCall, n int) (core.StepResult, error) {
		switch call.StepID {
		case "charge":
			effects.Add(1)
			return core.StepResult{Output: map[string]any{"receipt": "r-1"}}, nil
		default:
			if n == 1 {
				return core.StepResult{}, core.Transient(errors.New("blip"))
			}
			return core.StepResult{Output: map[string]any{"saw": call.Input["receipt"]}}, nil
		}
	}}
	h := newHarness(t, `
rules:
  - id: r
    on: a
    retry: { attempts: 5, initial: 5ms, max: 10ms }
    steps:
      - id: charge
        test: {}
      - id: record
        test: { receipt: "${{ steps.charge.receipt }}" }
`, x)
	acc := h.send(t, "e1", "a", `{}`)
	run := h.waitRun(t, acc.Runs[0], core.RunSucceeded)
	if effects.Load() != 1 {
		t.Fatalf("the first step ran %d times across a retry", effects.Load())
	}
	if string(run.Steps[1].Output) != `{"saw":"r-1"}` {
		t.Fatalf("a resumed run must see earlier outputs from the ledger: %s", run.Steps[1].Output)
	}
}

func TestReplayFromDLQResumesAtFailedStep(t *testing.T) {
	var broken atomic.Bool
	broken.Store(true)
	x := &scripted{fn: func(call core.StepCall, n int) (core.StepResult, error) {
		if call.StepID == "second" && broken.Load() {
			return core.StepResult{}, &core.StepError{Class: core.ClassAuth, Err: errors.New("401 bad key")}
		}
		return core.StepResult{Output: map[string]any{}}, nil
	}}
	h := newHarness(t, "rules:\n  - id: r\n    on: a\n    steps:\n      - id: first\n        test: {}\n      - id: second\n        test: {}\n", x)
	acc := h.send(t, "e1", "a", `{}`)
	h.waitRun(t, acc.Runs[0], core.RunDead)
	broken.Store(false)
	if _, err := h.engine.Replay(context.Background(), "acme", acc.Runs[0]); err != nil {
		t.Fatal(err)
	}
	h.waitRun(t, acc.Runs[0], core.RunSucceeded)
	if x.count("first") != 1 || x.count("second") != 2 {
		t.Fatalf("replay repeated a finished step: first=%d second=%d", x.count("first"), x.count("second"))
	}
}

func TestRateLimitedWaitsRetryAfter(t *testing.T) {
	x := &scripted{fn: func(call core.StepCall, n int) (core.StepResult, error) {
		return core.StepResult{}, core.RateLimited(time.Hour, errors.New("429"))
	}}
	h := newHarness(t, "rules:\n  - id: r\n    on: a\n    retry: { attempts: 5, initial: 1ms, max: 2ms }\n    steps:\n      - id: call\n        test: {}\n", x)
	before := time.Now()
	acc := h.send(t, "e1", "a", `{}`)
	run := h.waitRun(t, acc.Runs[0], core.RunRetrying)
	if run.NextAt.Before(before.Add(time.Hour)) {
		t.Fatalf("next attempt %s ignores retry_after of 1h", run.NextAt)
	}
}

func TestSkippedStepAndIfCondition(t *testing.T) {
	x := &scripted{fn: func(call core.StepCall, n int) (core.StepResult, error) { return core.StepResult{}, nil }}
	h := newHarness(t, `
rules:
  - id: r
    on: a
    steps:
      - id: maybe
        if: event.data.go == true
        test: {}
`, x)
	acc := h.send(t, "e1", "a", `{"go":false}`)
	run := h.waitRun(t, acc.Runs[0], core.RunSucceeded)
	if x.count("maybe") != 0 || run.Steps[0].Status != core.StepSkipped {
		t.Fatalf("step should be skipped: calls %d, %+v", x.count("maybe"), run.Steps)
	}
}

func TestDrainReturnsUnfinishedRunsToQueue(t *testing.T) {
	started := make(chan struct{}, 1)
	blocking := core.StepExecutorFunc(func(ctx context.Context, call core.StepCall) (core.StepResult, error) {
		select {
		case started <- struct{}{}:
		default:
		}
		<-ctx.Done()
		return core.StepResult{}, core.Transient(ctx.Err())
	})
	h := newHarness(t, "rules:\n  - id: r\n    on: a\n    steps:\n      - id: slow\n        test: {}\n", blocking)
	acc := h.send(t, "e1", "a", `{}`)
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := h.engine.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	run, err := h.store.Run(context.Background(), "acme", acc.Runs[0])
	if err != nil || run.Status != core.RunQueued || run.Attempts != 0 {
		t.Fatalf("a run interrupted by shutdown should be queued with its attempt given back: %+v %v", run, err)
	}
	if _, err := h.engine.Ingest(context.Background(), "acme", "", []core.Event{{ID: "e2", Source: "t", Type: "a", SpecVersion: "1.0"}}); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("a drained engine must refuse events, got %v", err)
	}
}

func TestIngestRejectsInvalidEventsAndStoresNothing(t *testing.T) {
	h := newHarness(t, "rules:\n  - id: r\n    on: a\n    steps:\n      - id: l\n        log: { message: hi }\n", &scripted{})
	_, err := h.engine.Ingest(context.Background(), "acme", "", []core.Event{
		{ID: "ok", Source: "s", Type: "a", SpecVersion: "1.0"},
		{ID: "bad", Source: "s", Type: "a", SpecVersion: "0.3"},
	})
	var fe *core.FieldError
	if !errors.As(err, &fe) || fe.Path != "[1].specversion" {
		t.Fatalf("want a field error at [1].specversion, got %v", err)
	}
	if _, err := h.store.Events(context.Background(), "acme", "ok", ""); !errors.Is(err, core.ErrNotFound) {
		t.Fatal("a batch with one invalid event stored the valid one")
	}
}
