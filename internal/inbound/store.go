package inbound

import (
	"context"
	"time"
)

// Store is what inbound sources keep: the message ids senders signed, for replay
// protection, and the cursor of a vendor's payload feed (an Airtable webhook's). Keys are
// scoped by tenant and source. Every method is safe for concurrent use.
type Store interface {
	// MessageSeen reports whether the message id was remembered for the source and its
	// memory has not expired at now.
	MessageSeen(ctx context.Context, tenant, source, id string, now time.Time) (bool, error)
	// RememberMessage remembers the message id until expires. Concurrent calls may share a
	// commit.
	RememberMessage(ctx context.Context, tenant, source, id string, expires time.Time) error
	// ForgetMessages deletes up to limit message ids whose memory expired at or before now,
	// of every tenant, and returns how many it deleted.
	ForgetMessages(ctx context.Context, now time.Time, limit int) (int, error)
	// PayloadCursor returns the stored cursor of the source's payload feed, ok false when
	// none is stored.
	PayloadCursor(ctx context.Context, tenant, source, feed string) (cursor uint64, ok bool, err error)
	// SetPayloadCursor stores the cursor of the source's payload feed.
	SetPayloadCursor(ctx context.Context, tenant, source, feed string, cursor uint64) error
}
