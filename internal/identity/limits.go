package identity

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/aquascene/aquahub/core"
)

// limits enforces each tenant's daily request quota and ingestion rate. Request counts are
// kept in memory and added to the store every flushEvery, so a restart forgets at most that
// much.
type limits struct {
	mu      sync.Mutex
	day     string
	counts  map[string]int // today's, stored and not
	pending map[string]int // not stored yet
	rates   map[string]*tenantRate
}

// tenantRate is one tenant's ingestion limiter, rebuilt when its limit changes.
type tenantRate struct {
	rate  float64
	burst int
	lim   *rate.Limiter
}

const flushEvery = 10 * time.Second

func newLimits() *limits {
	return &limits{counts: map[string]int{}, pending: map[string]int{}, rates: map[string]*tenantRate{}}
}

func utcDay(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// untilMidnight is how long until the next UTC day.
func untilMidnight(now time.Time) time.Duration {
	next := now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	return next.Sub(now)
}

// AdmitRequest implements the HTTP kernel's RequestAdmission: a tenant's daily request
// quota, as the seed's TenantLimitExceeded.
func (m *Module) AdmitRequest(ctx context.Context, p core.Principal) error {
	if p.Operator || p.Tenant == "" {
		return nil
	}
	t, ok := m.reg.Tenant(p.Tenant)
	now := m.now()
	l := m.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rollover(now)
	limit := 0
	if ok {
		limit = t.Limits.DailyRequests
	}
	if limit > 0 && l.counts[p.Tenant] >= limit {
		return &core.OverloadError{
			Limit:  "tenants[" + p.Tenant + "].limits.daily_requests",
			Detail: fmt.Sprintf("Daily limit of %d requests exceeded for tenant %s", limit, p.Tenant),
			After:  untilMidnight(now).Round(time.Second),
		}
	}
	l.counts[p.Tenant]++
	l.pending[p.Tenant]++
	return nil
}

// rollover starts a new day's counts; mu is held. Counts of the old day not flushed yet are
// dropped: they no longer count against any quota.
func (l *limits) rollover(now time.Time) {
	if d := utcDay(now); d != l.day {
		l.day, l.counts, l.pending = d, map[string]int{}, map[string]int{}
	}
}

// AdmitEvents implements core.Admission: a suspended tenant may not ingest, and a tenant's
// ingestion rate bounds how many events it stores per second.
func (m *Module) AdmitEvents(tenant string, n int) error {
	t, ok := m.reg.Tenant(tenant)
	if !ok {
		return core.Forbidden("tenant %q does not exist", tenant)
	}
	if t.Suspended {
		return core.Forbidden("tenant %s is suspended", tenant)
	}
	r := t.Limits.IngestRate
	if r <= 0 || n == 0 {
		return nil
	}
	burst := t.Limits.IngestBurst
	if burst <= 0 {
		burst = int(math.Ceil(r))
	}
	limit := "tenants[" + tenant + "].limits.ingest_rate"
	if n > burst {
		return &core.OverloadError{Limit: limit, After: time.Second,
			Detail: fmt.Sprintf("a batch of %d events exceeds tenant %s's ingestion burst of %d; send smaller batches", n, tenant, burst)}
	}
	now := m.now()
	l := m.limits
	l.mu.Lock()
	tr := l.rates[tenant]
	if tr == nil || tr.rate != r || tr.burst != burst {
		tr = &tenantRate{rate: r, burst: burst, lim: rate.NewLimiter(rate.Limit(r), burst)}
		l.rates[tenant] = tr
	}
	l.mu.Unlock()
	res := tr.lim.ReserveN(now, n)
	if delay := res.DelayFrom(now); delay > 0 {
		res.CancelAt(now)
		return &core.OverloadError{Limit: limit, After: max(delay, time.Second).Round(time.Second),
			Detail: fmt.Sprintf("tenant %s is over its ingestion rate of %g events/s", tenant, r)}
	}
	return nil
}

// loadCounts reads today's stored counts (at start).
func (m *Module) loadCounts(ctx context.Context) error {
	if m.store == nil {
		return nil
	}
	now := m.now()
	day := utcDay(now)
	counts, err := m.store.RequestCounts(ctx, day)
	if err != nil {
		return fmt.Errorf("reading request counts: %w", err)
	}
	l := m.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	l.day, l.counts, l.pending = day, counts, map[string]int{}
	return nil
}

// flushCounts adds the counts not stored yet to the store.
func (m *Module) flushCounts(ctx context.Context) error {
	if m.store == nil {
		return nil
	}
	l := m.limits
	l.mu.Lock()
	day, pending := l.day, l.pending
	l.pending = map[string]int{}
	l.mu.Unlock()
	if len(pending) == 0 || day == "" {
		return nil
	}
	keepFrom := utcDay(m.now().AddDate(0, 0, -7))
	if err := m.store.AddRequests(ctx, day, pending, keepFrom); err != nil {
		l.mu.Lock()
		if l.day == day {
			for t, n := range pending {
				l.pending[t] += n
			}
		}
		l.mu.Unlock()
		return err
	}
	return nil
}
