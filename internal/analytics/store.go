package analytics

import (
	"context"
	"time"
)

// Store keeps targets and observations. Every key is scoped by tenant: another tenant's
// target is not found (an error wrapping core.ErrNotFound). The storage package implements
// it; storetest is its contract.
type Store interface {
	// UpdateTarget runs fn on the stored target of contentID (zero with exists false when
	// there is none) and stores what fn leaves in t, in one transaction; an error from fn
	// stores nothing.
	UpdateTarget(ctx context.Context, tenant, contentID string, fn func(t *Target, exists bool) error) (Target, error)
	// Target returns one target.
	Target(ctx context.Context, tenant, contentID string) (Target, error)
	// Targets returns the tenant's targets ordered by content id.
	Targets(ctx context.Context, tenant string) ([]Target, error)
	// Record stores observations in one transaction, merging each into the stored one of
	// its (content, source, day): the metrics it carries replace the stored ones, the others
	// stay, and Cumulative and RecordedAt are the new observation's.
	Record(ctx context.Context, tenant string, obs []Observation) error
	// Observations returns the observations of the content pieces (every piece when
	// contentIDs is empty) on or before to, ordered by content, source and day.
	Observations(ctx context.Context, tenant string, contentIDs []string, to time.Time) ([]Observation, error)
}
