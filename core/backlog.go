package core

import (
	"fmt"
	"sync"
	"time"
)

// backlog counts each tenant's unfinished runs and how fast they finish, so that ingestion
// can refuse work past a tenant's limit with a useful Retry-After.
type backlog struct {
	mu     sync.Mutex
	counts map[string]int
	// done counts runs finished per tenant since since, for the finishing rate.
	done  map[string]int
	since time.Time
	rate  map[string]float64
}

func newBacklog() *backlog {
	return &backlog{counts: map[string]int{}, done: map[string]int{}, rate: map[string]float64{}}
}

// add changes tenant's count by n; a negative n is runs finishing.
func (b *backlog) add(tenant string, n int) {
	b.mu.Lock()
	b.counts[tenant] += n
	if n < 0 {
		b.done[tenant] -= n
	}
	b.mu.Unlock()
}

// reset replaces the counts with a fresh count from the store and updates the rates.
func (b *backlog) reset(counts map[string]int, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.since.IsZero() {
		if secs := now.Sub(b.since).Seconds(); secs > 0 {
			for tenant, n := range b.done {
				b.rate[tenant] = float64(n) / secs
			}
		}
	}
	b.counts, b.done, b.since = counts, map[string]int{}, now
}

// admit refuses n new runs for tenant when they would take it past limit, the setting
// named name.
func (b *backlog) admit(tenant string, n, limit int, name string) error {
	if n == 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	have := b.counts[tenant]
	if have+n <= limit {
		return nil
	}
	// Wait until a tenth of the limit has drained, at the rate runs have been finishing.
	wait := time.Minute
	if r := b.rate[tenant]; r > 0 {
		wait = time.Duration(float64(have+n-limit+limit/10) / r * float64(time.Second))
	}
	return &OverloadError{
		Limit:  name,
		Detail: fmt.Sprintf("tenant %s has %d unfinished runs; %d more would pass its limit of %d", tenant, have, n, limit),
		After:  min(max(wait, time.Second), 5*time.Minute).Round(time.Second),
	}
}
