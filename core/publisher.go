package core

import (
	"context"
	"time"
)

// Publisher puts events into the pipeline on behalf of a tenant from outside any run: the
// events of an inbound webhook, the lifecycle events a module announces. *Engine satisfies
// it; the wiring hands modules the engine once it is built.
type Publisher interface {
	Publish(ctx context.Context, tenant string, events ...Event) ([]Accepted, error)
}

// Clock tells the time. Modules take one so that tests can walk through retry schedules,
// leases and signature tolerances with a fake clock.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

var (
	_ Publisher = (*Engine)(nil)
	_ Clock     = SystemClock{}
)
