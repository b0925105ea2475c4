package webhooks

import (
	"context"
	"time"

	"github.com/aquascene/aquahub/core"
)

// Clock tells the time. Tests pass a fake one to walk through the retry schedule.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Publisher puts events into the pipeline; *core.Engine satisfies it.
type Publisher interface {
	Publish(ctx context.Context, tenant string, events ...core.Event) ([]core.Accepted, error)
}

// EventSource reads the hub's global event sequence; core.Store satisfies it.
type EventSource interface {
	EventsAfter(ctx context.Context, after uint64, limit int) ([]core.Event, error)
}
