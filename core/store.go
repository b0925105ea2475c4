package core

import (
	"context"
	"time"
)

// Pending is an event on its way into the store with the rules it matched.
type Pending struct {
	Event   Event
	RuleIDs []string
	// Lanes, when set, names the lane of each rule's first step (parallel to RuleIDs): the
	// queue keeps it so that leasing can pass over runs whose lane is saturated.
	Lanes []string
}

// Accepted is the store's answer for one event.
type Accepted struct {
	ID     string
	Source string
	Seq    uint64
	Runs   []string
	// Duplicate is true when (tenant, source, id) was already stored; the other fields then
	// describe the original.
	Duplicate bool
}

// AcceptRequest is one durable write of a batch of events.
type AcceptRequest struct {
	Tenant string
	// IdempotencyKey, when set, makes the whole request answer with the first result.
	IdempotencyKey string
	Events         []Pending
	Now            time.Time
	// LeaseTTL, when positive, leases the new runs to the caller until Now+LeaseTTL instead
	// of queueing them (their first attempt counted), and returns them in Leased; with
	// LeaseLanes set, only runs whose lane it holds are leased, the others queued.
	LeaseTTL   time.Duration
	LeaseLanes map[string]bool
}

// AcceptResult is the answer to an AcceptRequest.
type AcceptResult struct {
	Events []Accepted
	// Replayed is true when the IdempotencyKey had been seen and Events is the first answer.
	Replayed bool
	// Leased are the runs created leased to the caller (AcceptRequest.LeaseTTL).
	Leased []Run
}

// QueueStats counts runs by state.
type QueueStats struct {
	Queued  int
	Leased  int
	Dead    int
	Events  int
	Pending int
}

// Store is the durable state of the pipeline: events, runs, the queue, the effect ledger
// and the dead-letter queue. Every method is safe for concurrent use; every key is scoped
// by tenant.
type Store interface {
	Queue
	// Accept stores events, their deduplication keys and one queued run per matched rule in
	// one transaction. It returns only after the data is on disk.
	Accept(ctx context.Context, req AcceptRequest) (AcceptResult, error)
	// Events returns the events with that client id, optionally from one source.
	Events(ctx context.Context, tenant, id, source string) ([]Event, error)
	// EventBySeq returns one event by its hub sequence number.
	EventBySeq(ctx context.Context, tenant string, seq uint64) (Event, error)
	// EventsAfter returns events of every tenant with Seq > after, in order. Subscribers
	// such as webhook fan-out keep their own cursor.
	EventsAfter(ctx context.Context, after uint64, limit int) ([]Event, error)
	// Run returns a run with its ledger.
	Run(ctx context.Context, tenant, id string) (Run, error)
	// Runs lists a tenant's runs, newest first, without ledgers.
	Runs(ctx context.Context, tenant string, f RunFilter) ([]Run, error)
	// Replay moves a dead run back to the queue, due now, keeping its ledger.
	Replay(ctx context.Context, tenant, id string, now time.Time) (Run, error)
	// Discard deletes a dead run.
	Discard(ctx context.Context, tenant, id string) error
	// Close releases the store.
	Close() error
}

// Queue is the run queue with leases and the effect ledger.
type Queue interface {
	// Lease claims up to max runs due at or before now for ttl, tenants in turn, passing over
	// (and leaving queued) runs whose tenant and lane skip reports saturated; skip may be nil.
	Lease(ctx context.Context, now time.Time, max int, ttl time.Duration, skip func(tenant, lane string) bool) ([]Run, error)
	// NextDue returns the due time of the earliest queued run whose lane skip does not
	// report true; skip may be nil.
	NextDue(ctx context.Context, skip func(tenant, lane string) bool) (time.Time, bool, error)
	// RecordStep writes a step's ledger entry and, in the same transaction, accepts the
	// events the step emitted.
	RecordStep(ctx context.Context, run *Run, rec StepRecord, emitted []Pending) ([]Accepted, error)
	// Finish ends a leased run: succeeded, retrying (queued again at run.NextAt) or dead.
	// When last is not nil, its ledger entry and the emitted events are written in the same
	// transaction, saving a commit for the run's final step.
	Finish(ctx context.Context, run *Run, last *StepRecord, emitted []Pending) error
	// Release returns leased runs to the queue, due at due, giving back the attempt their
	// lease counted (used when draining and when a run is deferred).
	Release(ctx context.Context, runs []Run, due time.Time) error
	// RequeueExpired queues again every run whose lease ran out before now.
	RequeueExpired(ctx context.Context, now time.Time) (int, error)
	// RecoverLeases queues again, due now, every leased run whatever its expiry: at start,
	// no worker of this process holds a lease, so all of them belong to a dead process.
	RecoverLeases(ctx context.Context, now time.Time) (int, error)
	// ExtendLeases pushes the leases of runs to until, so held runs keep them; runs whose
	// lease is gone are skipped.
	ExtendLeases(ctx context.Context, runs []Run, until time.Time) error
	// Stats counts what is queued, leased and dead.
	Stats(ctx context.Context) (QueueStats, error)
	// Backlog counts each tenant's runs not finished: queued, retrying or leased.
	Backlog(ctx context.Context) (map[string]int, error)
}

// StorageStats describes a store's data file and the pruning of data past its retention.
type StorageStats struct {
	// FileBytes is the data file's size; UsedBytes the part of it that holds data (the rest
	// is free pages, reused before the file grows).
	FileBytes int64
	UsedBytes int64
	// HighWaterBytes is the part of the file up to its last page: it grows only when no
	// freed page can be reused (the file is extended past it in steps, ahead of need).
	HighWaterBytes int64
	// Events counts the events kept (received and not pruned).
	Events int64
	// Pruned counts what the pruner deleted since the process started.
	Pruned PruneCounts
	// LastPrune is when the last pruning pass ended (zero before the first). PruneLag is how
	// long ago the pruner last had nothing left past retention (since it started, before its
	// first pass ends): about the pruning interval when it keeps up, growing when it does not.
	LastPrune time.Time
	PruneLag  time.Duration
	// PruneErrors counts pruning passes that failed.
	PruneErrors int64
	// DedupJournal counts the dedup keys accepted and not yet filed in the dedup index (they
	// are found all the same); DedupFileErrors the filings that failed.
	DedupJournal    int64
	DedupFileErrors int64
}

// PruneCounts counts pruned data by kind.
type PruneCounts struct {
	Runs            int64
	Events          int64
	DedupKeys       int64
	IdempotencyKeys int64
	Deliveries      int64
}

// Add adds o to c.
func (c *PruneCounts) Add(o PruneCounts) {
	c.Runs += o.Runs
	c.Events += o.Events
	c.DedupKeys += o.DedupKeys
	c.IdempotencyKeys += o.IdempotencyKeys
	c.Deliveries += o.Deliveries
}

// Total is the sum of the counts.
func (c PruneCounts) Total() int64 {
	return c.Runs + c.Events + c.DedupKeys + c.IdempotencyKeys + c.Deliveries
}
