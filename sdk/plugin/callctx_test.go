package plugin

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestDeadlineContextBehavesAsWithDeadline: the lazy deadline context ends as
// context.WithDeadline's does, whether an action asks for Done, for Err or for neither.
func TestDeadlineContextBehavesAsWithDeadline(t *testing.T) {
	tests := []struct {
		name string
		in   time.Duration // deadline from now
		// run uses the context before the call returns and reports its error.
		run  func(ctx context.Context) error
		want error
	}{
		{"Err before the deadline", time.Hour, func(ctx context.Context) error { return ctx.Err() }, nil},
		{"Err past the deadline", -time.Second, func(ctx context.Context) error { return ctx.Err() }, context.DeadlineExceeded},
		{"Done past the deadline is closed", -time.Second, func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		}, context.DeadlineExceeded},
		{"Done closes at the deadline", 20 * time.Millisecond, func(ctx context.Context) error {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Second):
				return errors.New("Done never closed")
			}
		}, context.DeadlineExceeded},
		{"a child context ends with it", 20 * time.Millisecond, func(ctx context.Context) error {
			child, cancel := context.WithTimeout(ctx, time.Hour)
			defer cancel()
			<-child.Done()
			return child.Err()
		}, context.DeadlineExceeded},
		{"Done before the deadline is open", time.Hour, func(ctx context.Context) error {
			select {
			case <-ctx.Done():
				return ctx.Err()
			default:
				return nil
			}
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			deadline := time.Now().Add(tc.in)
			for _, impl := range []struct {
				name string
				with func(context.Context, time.Time) (context.Context, func())
			}{
				{"lazy", withDeadline},
				{"context.WithDeadline", func(ctx context.Context, d time.Time) (context.Context, func()) { return context.WithDeadline(ctx, d) }},
			} {
				ctx, cancel := impl.with(context.Background(), deadline)
				if d, ok := ctx.Deadline(); !ok || !d.Equal(deadline) {
					t.Fatalf("%s: deadline %v %v, want %v", impl.name, d, ok, deadline)
				}
				if err := tc.run(ctx); !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
					t.Fatalf("%s: got %v, want %v", impl.name, err, tc.want)
				}
				cancel()
				<-ctx.Done()
				want := tc.want
				if want == nil {
					want = context.Canceled
				}
				if ctx.Err() != want {
					t.Fatalf("%s: after cancel got %v, want %v", impl.name, ctx.Err(), want)
				}
			}
		})
	}
}

// TestActionContextFollowsItsParent: with a parent that can end, the action's context ends
// with it, and the SDK's values are found through contexts an action derives.
func TestActionContextFollowsItsParent(t *testing.T) {
	parent, cancelParent := context.WithCancel(context.Background())
	ctx, cancel := withDeadline(parent, time.Now().Add(time.Hour))
	defer cancel()
	actx := &actionContext{Context: ctx, call: callInfo{key: "k"}}
	type otherKey struct{}
	derived := context.WithValue(actx, otherKey{}, 1)
	if IdempotencyKey(derived) != "k" {
		t.Fatalf("idempotency key %q through a derived context", IdempotencyKey(derived))
	}
	cancelParent()
	<-actx.Done()
	if !errors.Is(actx.Err(), context.Canceled) {
		t.Fatalf("got %v", actx.Err())
	}
}
