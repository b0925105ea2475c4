package plugin

import (
	"context"
	"sync"
	"time"
)

// actionContext is the context an action runs in: it carries the call and the host for
// the SDK's functions, in one value rather than two context.WithValue layers.
type actionContext struct {
	context.Context
	call callInfo
	host Host
}

func (c *actionContext) Value(key any) any {
	switch key.(type) {
	case callKey:
		return &c.call
	case hostKey:
		return c.host
	}
	return c.Context.Value(key)
}

// deadlineContext ends at an invoke request's deadline, as context.WithDeadline would,
// but starts its timer only when Done is first asked for: almost no action waits on its
// context, and a timer set and stopped on every call cost the wasm guest's scheduler
// more than the rest of the context. Err looks at the clock instead. Its parent must
// never be done (Done returns nil), which is the wasm build's context.Background.
type deadlineContext struct {
	context.Context
	deadline time.Time

	mu    sync.Mutex
	done  chan struct{}
	err   error
	timer *time.Timer
}

func (c *deadlineContext) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *deadlineContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		switch d := time.Until(c.deadline); {
		case c.err != nil:
			close(c.done)
		case d <= 0:
			c.endLocked(context.DeadlineExceeded)
		default:
			c.timer = time.AfterFunc(d, func() { c.end(context.DeadlineExceeded) })
		}
	}
	return c.done
}

func (c *deadlineContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil && !time.Now().Before(c.deadline) {
		c.endLocked(context.DeadlineExceeded)
	}
	return c.err
}

// end ends the context with err unless it has ended already; Invoke ends it with
// context.Canceled when the call returns, as WithDeadline's cancel function does.
func (c *deadlineContext) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.endLocked(err)
}

func (c *deadlineContext) endLocked(err error) {
	if c.err != nil {
		return
	}
	c.err = err
	if c.done != nil {
		close(c.done)
	}
	if c.timer != nil {
		c.timer.Stop()
	}
}

// withDeadline returns ctx ending at deadline and its cancel function.
func withDeadline(ctx context.Context, deadline time.Time) (context.Context, func()) {
	if ctx.Done() != nil {
		return context.WithDeadline(ctx, deadline)
	}
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c := &deadlineContext{Context: ctx, deadline: deadline}
	return c, func() { c.end(context.Canceled) }
}
