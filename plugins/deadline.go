package plugins

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// callDeadline is a connector call's context: its parent with the call's state (see stateOf)
// and a deadline, like context.WithDeadline's, whose timer is started only when somebody
// asks for Done.
//
// Most calls never do. The runtime watches a call's context only once the call has run long
// enough to yield to Go, acquiring an instance asks only when the pool is empty, and Err
// compares the clock. A call that makes no request therefore ends without a timer, which
// context.WithDeadline would start and stop on every call: with the allocations of its
// context that was an eighth of the pooled no-op call. A request does ask (net/http watches
// the context), and from then on the context is context.WithDeadline's.
type callDeadline struct {
	parent   context.Context
	deadline time.Time
	// state is the call's, for the host functions; context.WithValue would be an
	// allocation more per call.
	state *callState

	// armed is the stdlib context once Done (or AfterFunc) was asked for; every method then
	// answers from it.
	armed atomic.Pointer[armedDeadline]
	// canceled is set by cancel when nothing was armed.
	canceled atomic.Bool
	mu       sync.Mutex // serialises arming with cancel
}

type armedDeadline struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// newCallDeadline returns ctx with the call's state cs and a deadline d after now (or ctx's
// own, if earlier), as context.WithTimeout does; its cancel method is the CancelFunc
// (called directly, it allocates no closure).
func newCallDeadline(ctx context.Context, cs *callState, now time.Time, d time.Duration) *callDeadline {
	c := &callDeadline{parent: ctx, state: cs, deadline: now.Add(d)}
	if pd, ok := ctx.Deadline(); ok && pd.Before(c.deadline) {
		c.deadline = pd
	}
	return c
}

func (c *callDeadline) arm() *armedDeadline {
	if a := c.armed.Load(); a != nil {
		return a
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if a := c.armed.Load(); a != nil {
		return a
	}
	a := &armedDeadline{}
	a.ctx, a.cancel = context.WithDeadline(c.parent, c.deadline)
	if c.canceled.Load() {
		a.cancel()
	}
	c.armed.Store(a)
	return a
}

func (c *callDeadline) cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.canceled.Store(true)
	if a := c.armed.Load(); a != nil {
		a.cancel()
	}
}

// Deadline implements context.Context.
func (c *callDeadline) Deadline() (time.Time, bool) { return c.deadline, true }

// Done implements context.Context; the first call starts the timer.
func (c *callDeadline) Done() <-chan struct{} { return c.arm().ctx.Done() }

// Err implements context.Context without starting the timer.
func (c *callDeadline) Err() error {
	if a := c.armed.Load(); a != nil {
		return a.ctx.Err()
	}
	if c.canceled.Load() {
		return context.Canceled
	}
	if err := c.parent.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// Value implements context.Context. Before arming it is the parent's: the context package
// asks for its own key (to find the cancelable context below) only after asking for Done.
func (c *callDeadline) Value(key any) any {
	if _, ok := key.(callStateKey); ok && c.state != nil {
		return c.state
	}
	if a := c.armed.Load(); a != nil {
		return a.ctx.Value(key)
	}
	return c.parent.Value(key)
}

// AfterFunc lets context.AfterFunc and the children of this context register with the
// armed context instead of starting a goroutine each.
func (c *callDeadline) AfterFunc(f func()) (stop func() bool) {
	return context.AfterFunc(c.arm().ctx, f)
}
