package plugins

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// The call's context behaves as context.WithTimeout's whether or not Done was asked for.
func TestCallDeadlineIsAContextWithTimeout(t *testing.T) {
	withCallDeadline := func(ctx context.Context, now time.Time, d time.Duration) (context.Context, context.CancelFunc) {
		dl := newCallDeadline(ctx, nil, now, d)
		return dl, dl.cancel
	}
	type key struct{}
	parent := context.WithValue(context.Background(), key{}, "v")

	t.Run("expires without Done", func(t *testing.T) {
		ctx, cancel := withCallDeadline(parent, time.Now(), 20*time.Millisecond)
		defer cancel()
		if err := ctx.Err(); err != nil {
			t.Fatalf("fresh: %v", err)
		}
		if ctx.Value(key{}) != "v" {
			t.Fatal("the parent's values are not seen")
		}
		time.Sleep(30 * time.Millisecond)
		if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("after the deadline: %v", err)
		}
		if err := context.Cause(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("cause after the deadline: %v", err)
		}
		select {
		case <-ctx.Done(): // asked for late, it is closed at once
		case <-time.After(time.Second):
			t.Fatal("Done asked for after the deadline did not close")
		}
	})

	t.Run("Done closes at the deadline", func(t *testing.T) {
		ctx, cancel := withCallDeadline(parent, time.Now(), 20*time.Millisecond)
		defer cancel()
		start := time.Now()
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("Done did not close")
		}
		if took := time.Since(start); took < 20*time.Millisecond {
			t.Fatalf("closed after %s, before the deadline", took)
		}
		if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Err: %v", err)
		}
	})

	t.Run("the parent's cancellation", func(t *testing.T) {
		p, stop := context.WithCancel(parent)
		ctx, cancel := withCallDeadline(p, time.Now(), time.Minute)
		defer cancel()
		stop()
		if err := ctx.Err(); !errors.Is(err, context.Canceled) {
			t.Fatalf("unarmed: %v", err)
		}
		p, stop = context.WithCancel(parent)
		ctx, cancel = withCallDeadline(p, time.Now(), time.Minute)
		defer cancel()
		done := ctx.Done()
		stop()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("the parent's cancel did not close Done")
		}
	})

	t.Run("the parent's earlier deadline", func(t *testing.T) {
		p, stop := context.WithTimeout(parent, time.Second)
		defer stop()
		pd, _ := p.Deadline()
		ctx, cancel := withCallDeadline(p, time.Now(), time.Hour)
		defer cancel()
		if d, ok := ctx.Deadline(); !ok || !d.Equal(pd) {
			t.Fatalf("deadline %v %v, want the parent's %v", d, ok, pd)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := withCallDeadline(parent, time.Now(), time.Minute)
		cancel()
		if err := ctx.Err(); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled unarmed: %v", err)
		}
		select {
		case <-ctx.Done():
		default:
			t.Fatal("Done asked for after cancel is open")
		}
		ctx, cancel = withCallDeadline(parent, time.Now(), time.Minute)
		done := ctx.Done()
		cancel()
		select {
		case <-done:
		default:
			t.Fatal("cancel did not close an armed Done")
		}
	})

	t.Run("children and AfterFunc", func(t *testing.T) {
		ctx, cancel := withCallDeadline(parent, time.Now(), 20*time.Millisecond)
		defer cancel()
		child, stop := context.WithCancel(ctx)
		defer stop()
		fired := make(chan struct{})
		context.AfterFunc(ctx, func() { close(fired) })
		for name, ch := range map[string]<-chan struct{}{"child": child.Done(), "AfterFunc": fired} {
			select {
			case <-ch:
			case <-time.After(5 * time.Second):
				t.Fatalf("%s: not told of the deadline", name)
			}
		}
	})
}

// call_timeout alone, with no deadline from the caller, stops a guest that never returns:
// the runtime's watcher is what asks for Done then.
func TestInfiniteLoopStopsAtCallTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	c, _ := openCatalog(t, Config{CallTimeout: timeout, PoolSize: 1}, Deps{}, map[string]string{"hostile.wasm": hostileGuest(t)}, false)
	stillServes(t, c, "hostile", "noop")
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := c.Execute(context.Background(), ActionCall{Tenant: "t1", RunID: "run-1", StepID: "s1", Connector: "hostile", Action: "loop", Input: map[string]any{}})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
			t.Fatalf("loop: want a deadline error, got %v", err)
		}
		if took := time.Since(start); took < timeout {
			t.Fatalf("stopped after %s, before the %s timeout", took, timeout)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the loop was not stopped at call_timeout")
	}
	stillServes(t, c, "hostile", "noop")
}
