package identity

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/aquascene/aquahub/core"
)

// Audit implements core.Auditor: it stores the entry, filling its time and address from the
// request. A store failure is logged; it never fails the request being audited.
func (m *Module) Audit(ctx context.Context, e core.AuditEntry) {
	if m.store == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = m.now()
	}
	if e.RemoteAddr == "" {
		e.RemoteAddr = core.RequestInfoFrom(ctx).RemoteAddr
	}
	if _, err := m.store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		m.log.Error("writing the audit log", "action", e.Action, "tenant", e.Tenant, "err", err)
	}
}

// AuditLog returns audit entries newest first.
func (m *Module) AuditLog(ctx context.Context, f AuditFilter) ([]core.AuditEntry, error) {
	if m.store == nil {
		return nil, errNoStore
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 1000)
	return m.store.Audit(ctx, f)
}

// failureGate bounds the audit entries of failed credentials per client address, so that a
// flood of bad credentials cannot fill the disk: past the rate, failures are counted and the
// next entry says how many were left out.
type failureGate struct {
	mu      sync.Mutex
	perMin  int
	byAddr  map[string]*gateEntry
	cleaned time.Time
}

type gateEntry struct {
	lim        *rate.Limiter
	suppressed int
	seen       time.Time
}

func newFailureGate(perMinute int) *failureGate {
	return &failureGate{perMin: perMinute, byAddr: map[string]*gateEntry{}}
}

// admit reports whether a failure from addr is recorded now, and how many before it were
// not.
func (g *failureGate) admit(addr string, now time.Time) (bool, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if now.Sub(g.cleaned) > time.Minute || len(g.byAddr) > 10000 {
		for a, e := range g.byAddr {
			if now.Sub(e.seen) > 2*time.Minute {
				delete(g.byAddr, a)
			}
		}
		g.cleaned = now
	}
	e := g.byAddr[addr]
	if e == nil {
		e = &gateEntry{lim: rate.NewLimiter(rate.Limit(float64(g.perMin)/60), g.perMin)}
		g.byAddr[addr] = e
	}
	e.seen = now
	if !e.lim.AllowN(now, 1) {
		e.suppressed++
		return false, 0
	}
	n := e.suppressed
	e.suppressed = 0
	return true, n
}

// auditFailure records a credential that failed, within the per-address budget.
func (m *Module) auditFailure(ctx context.Context, f *authFailure) {
	info := core.RequestInfoFrom(ctx)
	ok, left := m.gate.admit(info.RemoteAddr, m.now())
	if !ok {
		return
	}
	detail := f.reason
	if left > 0 {
		detail += fmt.Sprintf(" (%d earlier failures from this address were not recorded)", left)
	}
	target := ""
	if info.Method != "" {
		target = info.Method + " " + info.Path
	}
	m.Audit(ctx, core.AuditEntry{Tenant: f.tenant, Actor: f.actor, Action: "auth.failed", Target: target, Outcome: "denied", Detail: detail, RemoteAddr: info.RemoteAddr})
}

// pruneAudit deletes entries past retention, in bounded transactions.
func (m *Module) pruneAudit(ctx context.Context) {
	before := m.now().Add(-m.cfg.AuditRetention)
	for {
		n, err := m.store.PruneAudit(ctx, before, 1000)
		if err != nil {
			m.log.Warn("pruning the audit log", "err", err)
			return
		}
		if n < 1000 {
			return
		}
	}
}
