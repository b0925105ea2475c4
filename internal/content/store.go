package content

import (
	"context"

	"github.com/aquascene/aquahub/core"
)

// Store is what the content engine keeps: content records, their idempotency keys, tenants'
// templates, batches, usage totals, the work to resume after a restart and the events still
// to publish. Every access happens in a transaction, so that a generation's outcome, its
// usage, its batch's progress and its events are recorded together or not at all. The
// storage package implements it; storetest is its contract.
type Store interface {
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(tx ReadTx) error) error
	// Update runs fn in a read-write transaction that commits when fn returns nil.
	// Concurrent updates may share one commit, and fn may then run more than once, so it
	// must not change anything outside tx except by assignment.
	Update(ctx context.Context, fn func(tx Tx) error) error
}

// ReadTx reads within a transaction. Errors for a missing record wrap core.ErrNotFound.
// Records of one tenant are invisible to every other.
type ReadTx interface {
	// Content returns a content record.
	Content(tenant, id string) (Content, error)
	// ContentByIdempotencyKey returns the record an idempotency key points to.
	ContentByIdempotencyKey(tenant, key string) (Content, error)
	// ListContent returns a tenant's records newest first (content ids are time-ordered),
	// those matching f, at most f.Limit of them (0: all), after f.After when set.
	ListContent(tenant string, f Filter) ([]Content, error)
	// Usage returns a tenant's totals, zero when it has none.
	Usage(tenant string) (TenantUsage, error)
	// DailyUsage returns a tenant's totals of one UTC day (YYYY-MM-DD), zero when none.
	DailyUsage(tenant, day string) (TenantUsage, error)
	// Template returns a tenant's stored template (never a builtin one).
	Template(tenant, id string) (Template, error)
	// Templates returns a tenant's stored templates ordered by id.
	Templates(tenant string) ([]Template, error)
	// Batch returns a batch with its items.
	Batch(tenant, id string) (Batch, error)
	// Pending lists the unfinished work of every tenant.
	Pending() ([]Pending, error)
	// Outbox lists the events of every tenant stored to be published, ordered by tenant and
	// event id.
	Outbox() ([]OutboxEvent, error)
}

// Tx reads and writes within a transaction.
type Tx interface {
	ReadTx
	// PutContent creates or replaces a content record.
	PutContent(tenant string, c *Content) error
	// PutIdempotencyKey points key at a content record.
	PutIdempotencyKey(tenant, key, contentID string) error
	// PutUsage replaces a tenant's totals.
	PutUsage(tenant string, u TenantUsage) error
	// PutDailyUsage replaces a tenant's totals of one UTC day.
	PutDailyUsage(tenant, day string, u TenantUsage) error
	// PutTemplate creates or replaces a tenant's template.
	PutTemplate(tenant string, t *Template) error
	// DeleteTemplate removes a tenant's template.
	DeleteTemplate(tenant, id string) error
	// PutBatch creates or replaces a batch.
	PutBatch(tenant string, b *Batch) error
	// PutPending marks work to resume; DeletePending unmarks it (absent is no error).
	PutPending(p Pending) error
	DeletePending(tenant, id string) error
	// PutOutbox stores an event to publish; DeleteOutbox removes it once published (absent
	// is no error).
	PutOutbox(tenant string, ev core.Event) error
	DeleteOutbox(tenant, eventID string) error
}

// WorkKind says what a pending entry resumes.
type WorkKind string

// Kinds of pending work.
const (
	// WorkContent is an asynchronous generation.
	WorkContent WorkKind = "content"
	// WorkBatch is a batch with unfinished items.
	WorkBatch WorkKind = "batch"
)

// Pending is work a process left unfinished: Start resumes it.
type Pending struct {
	Tenant string
	// ID is the content id or the batch id.
	ID   string
	Kind WorkKind
}

// OutboxEvent is an event stored in the same transaction as the state it reports, and kept
// until the Publisher took it, so that a crash between the two loses no event. Its id is
// derived from the content, so publishing it twice is deduplicated by the pipeline.
type OutboxEvent struct {
	Tenant string
	Event  core.Event
}

// Filter selects content in listings. Empty fields do not filter.
type Filter struct {
	Status   string
	Template string
	BatchID  string
	// Partner matches the partnership's partner_id, or its partner name.
	Partner string
	// After continues a listing after this content id (exclusive), newest first.
	After string
	// Limit caps the answer: List defaults to 50 and allows at most 500.
	Limit int
}

// TenantUsage is what a tenant's generations used and cost.
type TenantUsage struct {
	Generations      int
	Failures         int
	PromptTokens     int
	CompletionTokens int
	TotalTokens      int
	CostUSD          float64
}

// add counts one finished generation.
func (u TenantUsage) add(c *Content) TenantUsage {
	u.Generations++
	if c.Status == StatusFailed {
		u.Failures++
	}
	u.PromptTokens += c.Usage.PromptTokens
	u.CompletionTokens += c.Usage.CompletionTokens
	u.TotalTokens += c.Usage.TotalTokens
	u.CostUSD += c.Usage.CostUSD
	return u
}
