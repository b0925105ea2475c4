package webhooks

import (
	"context"
	"errors"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/aquascene/aquahub/core"
)

// Delivery isolation. Each endpoint is a lane: the requests it has in flight and the
// messages claimed for it (leased in the store) waiting to start. A lane runs at most its
// MaxInFlight requests at once and no faster than its RateLimit; its first request never
// waits for the shared workers (Config.Workers bounds the rest), and its breaker defers its
// messages while the endpoint is failing. Claiming reads the endpoints with something due
// in the order of their earliest message and passes over lanes with no room, so one
// endpoint's backlog never stands in front of another endpoint's messages.

// claimEndpoints bounds the endpoints one claim reads, so that a claim's transaction stays
// short; lanes are refilled as they drain.
const claimEndpoints = 256

// leaseSafety is the least lease a waiting message must have left, beyond its request's
// timeout, to be started; with less it goes back to the store instead, so that its lease
// cannot run out while it is in flight and another pass send it twice.
const leaseSafety = 5 * time.Second

// lane is one endpoint's deliveries in this process. Guarded by dispatcher.mu.
type lane struct {
	key         string
	maxInFlight int
	ordered     bool
	inflight    int
	queued      []*claimed
	rate        float64
	limiter     *rate.Limiter
}

// depth is how many messages the lane holds claimed, in flight or waiting: its concurrency
// three times over, so that a request that ends starts the next message without waiting
// for a claim, and a claim fetches a slot's worth at a time rather than a message per
// commit. Waiting messages start within two requests' timeouts, well inside their lease.
func (l *lane) depth() int {
	if l.ordered {
		return 1
	}
	return 3 * l.maxInFlight
}

// slots is how many requests the lane may have in flight.
func (l *lane) slots() int {
	if l.ordered {
		return 1
	}
	return l.maxInFlight
}

// dispatcher is the module's lanes and its shared workers.
type dispatcher struct {
	mu    sync.Mutex
	lanes map[string]*lane
	// pooled counts the requests in flight on a shared worker: every lane's requests but
	// its first.
	pooled   int
	inflight int
	queued   int
	// recording counts attempts whose request ended and whose outcome is being written.
	recording int
	// ended is signalled when a request ends and when its outcome is written.
	ended *sync.Cond
	// next is the lane to serve first on the next pump, so that lanes take turns.
	next int
	// claiming serialises claims: a claim computes each lane's room from the lanes.
	claiming sync.Mutex
	wg       sync.WaitGroup
	attempts atomic.Int64
	// wakeAt is when a lane held back by its rate limit has a token again (zero: none is).
	wakeAt time.Time
}

func newDispatcher() *dispatcher {
	d := &dispatcher{lanes: map[string]*lane{}}
	d.ended = sync.NewCond(&d.mu)
	return d
}

// laneKey is an endpoint's key in the lanes and the breakers.
func laneKey(tenant, endpointID string) string { return tenant + "\x00" + endpointID }

// lane returns ep's lane with ep's settings; mu is held.
func (m *Module) laneLocked(ep *Endpoint) *lane {
	key := laneKey(ep.Tenant, ep.ID)
	l := m.disp.lanes[key]
	if l == nil {
		l = &lane{key: key}
		m.disp.lanes[key] = l
	}
	l.maxInFlight = ep.MaxInFlight
	if l.maxInFlight <= 0 {
		l.maxInFlight = m.cfg.EndpointConcurrency
	}
	l.ordered = ep.Ordered
	if ep.RateLimit != l.rate {
		l.rate, l.limiter = ep.RateLimit, nil
		if ep.RateLimit > 0 {
			l.limiter = rate.NewLimiter(rate.Limit(ep.RateLimit), max(1, int(ep.RateLimit)))
		}
	}
	m.urls.Store(key, ep.URL)
	return l
}

// full reports whether the lane of (tenant, endpoint) can take no message now; a claim
// passes over such endpoints without reading them.
func (m *Module) full(tenant, endpointID string, now time.Time) bool {
	m.disp.mu.Lock()
	defer m.disp.mu.Unlock()
	l := m.disp.lanes[laneKey(tenant, endpointID)]
	return l != nil && m.roomLocked(l, now) == 0
}

// room is how many messages a claim may take for ep now.
func (m *Module) room(ep *Endpoint, now time.Time) int {
	m.disp.mu.Lock()
	defer m.disp.mu.Unlock()
	return m.roomLocked(m.laneLocked(ep), now)
}

func (m *Module) roomLocked(l *lane, now time.Time) int {
	held := l.inflight + len(l.queued)
	room := l.depth() - held
	if room <= 0 || len(l.queued) >= l.slots() {
		return 0 // refilled once less than a slot's worth waits
	}
	switch state, _ := m.circuits.State(l.key, now); state {
	case core.CircuitOpen:
		return 0
	case core.CircuitHalfOpen:
		if held > 0 {
			return 0
		}
		return 1 // the probe
	}
	if l.limiter != nil {
		tokens := int(math.Floor(l.limiter.TokensAt(now))) - len(l.queued)
		room = min(room, max(tokens, 0))
	}
	return room
}

// enqueue hands claimed messages to their lanes.
func (m *Module) enqueue(cs []*claimed) {
	if len(cs) == 0 {
		return
	}
	m.disp.mu.Lock()
	defer m.disp.mu.Unlock()
	for _, c := range cs {
		l := m.laneLocked(&c.ep)
		l.queued = append(l.queued, c)
		m.disp.queued++
	}
}

// pump starts the waiting messages that have a slot, a worker, a token of their endpoint's
// rate limit and a breaker that lets them through; messages whose breaker is open go back
// to the store, deferred to when it lets a probe through. It returns how many it started.
func (m *Module) pump(ctx context.Context) int {
	now := m.clock.Now().UTC()
	var back []released
	started := 0
	m.disp.mu.Lock()
	keys := make([]string, 0, len(m.disp.lanes))
	for k, l := range m.disp.lanes {
		if len(l.queued) > 0 {
			keys = append(keys, k)
		} else if l.inflight == 0 && (l.limiter == nil || l.limiter.TokensAt(now) >= float64(l.limiter.Burst())) {
			delete(m.disp.lanes, k) // idle, and a new lane would behave the same
		}
	}
	sort.Strings(keys)
	m.disp.wakeAt = time.Time{}
	for i := range keys {
		l := m.disp.lanes[keys[(m.disp.next+i)%len(keys)]]
		for len(l.queued) > 0 && l.inflight < l.slots() {
			c := l.queued[0]
			if c.d.LeaseUntil.Before(now.Add(m.timeout(&c.ep) + leaseSafety)) {
				back = append(back, released{c: c, due: now})
				m.dequeueLocked(l)
				continue
			}
			if l.inflight > 0 && m.disp.pooled >= m.cfg.Workers {
				break
			}
			ticket, err := m.circuits.Allow(l.key, now)
			if err != nil {
				retry := now.Add(time.Second)
				var open *core.CircuitOpenError
				if errors.As(err, &open) {
					retry = open.RetryAt
				}
				for len(l.queued) > 0 {
					back = append(back, released{c: l.queued[0], due: retry, deferred: true})
					m.dequeueLocked(l)
				}
				break
			}
			if l.limiter != nil && !l.limiter.AllowN(now, 1) {
				m.circuits.Done(ticket, now, core.OutcomeIgnored)
				wait := time.Duration(float64(time.Second) * (1 - l.limiter.TokensAt(now)) / l.rate)
				if at := now.Add(max(wait, time.Millisecond)); m.disp.wakeAt.IsZero() || at.Before(m.disp.wakeAt) {
					m.disp.wakeAt = at
				}
				break
			}
			m.dequeueLocked(l)
			c.ticket, c.pooled = ticket, l.inflight > 0
			if c.pooled {
				m.disp.pooled++
			}
			l.inflight++
			m.disp.inflight++
			started++
			m.disp.wg.Add(1)
			go m.send(ctx, l, c)
		}
	}
	if len(keys) > 0 {
		m.disp.next = (m.disp.next + 1) % len(keys)
	}
	m.disp.mu.Unlock()
	if len(back) > 0 {
		m.release(context.WithoutCancel(ctx), back)
	}
	return started
}

func (m *Module) dequeueLocked(l *lane) {
	l.queued[0] = nil
	l.queued = l.queued[1:]
	m.disp.queued--
}

// send makes one attempt of c in lane l and records it. The lane's slot frees as soon as
// the request ends: writing the outcome needs nothing of the endpoint, and outcomes written
// together share a commit.
func (m *Module) send(ctx context.Context, l *lane, c *claimed) {
	defer m.disp.wg.Done()
	att, out := m.attempt(ctx, c)
	now := m.clock.Now().UTC()
	stopping := ctx.Err() != nil
	if stopping {
		m.circuits.Done(c.ticket, now, core.OutcomeIgnored)
	} else {
		m.circuits.Done(c.ticket, now, out.circuit)
		m.metrics.attempts.WithLabelValues(out.result()).Inc()
	}
	m.disp.mu.Lock()
	l.inflight--
	m.disp.inflight--
	if c.pooled {
		m.disp.pooled--
	}
	m.disp.recording++
	m.disp.ended.Broadcast()
	m.disp.mu.Unlock()
	m.Notify()
	// Shutting down, the message stays leased: it is sent again, with the same webhook-id,
	// when the lease runs out.
	if !stopping {
		m.recordRetrying(ctx, c, att, out)
	}
	m.disp.attempts.Add(1)
	m.disp.mu.Lock()
	m.disp.recording--
	m.disp.ended.Broadcast()
	m.disp.mu.Unlock()
	m.Notify()
}

// recordRetries bounds the attempts to write one outcome. A storage error that outlasts them
// leaves the message leased, and it is sent again when the lease runs out; retrying first
// spares the receiver that duplicate.
const recordRetries = 10

// recordRetrying writes an attempt's outcome, trying again with backoff while the store
// fails.
func (m *Module) recordRetrying(ctx context.Context, c *claimed, att Attempt, out outcome) {
	wait := 20 * time.Millisecond
	for try := 1; ; try++ {
		err := m.record(ctx, c, att, out)
		if err == nil {
			return
		}
		if try == recordRetries || ctx.Err() != nil {
			m.log.Error("webhook delivery: the outcome was not written; the message is sent again when its lease ends",
				"tenant", c.d.Tenant, "endpoint", c.d.EndpointID, "message", c.d.ID, "err", err)
			return
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		wait = min(2*wait, time.Second)
	}
}

// released is a claimed message going back to the store unsent.
type released struct {
	c   *claimed
	due time.Time
	// deferred is true when its endpoint's breaker is open.
	deferred bool
}

// release returns messages to the store, pending and due at their time, without counting
// an attempt. A message whose lease another pass took over is left alone.
func (m *Module) release(ctx context.Context, rs []released) {
	err := m.store.Batch(ctx, func(tx Tx) error {
		for _, r := range rs {
			d, err := tx.Delivery(r.c.d.Tenant, r.c.d.EndpointID, r.c.d.ID)
			if errors.Is(err, core.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			if d.State != StateSending || !d.LeaseUntil.Equal(r.c.d.LeaseUntil) {
				continue
			}
			d.State, d.LeaseUntil, d.NextAt, d.DueAt = StatePending, time.Time{}, r.due, r.due
			if err := tx.PutDelivery(d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		m.log.Error("returning webhook messages to the queue", "messages", len(rs), "err", err)
		return
	}
	for _, r := range rs {
		if r.deferred {
			m.metrics.deferred.Inc()
		}
	}
}

// releaseQueued returns every waiting message to the store, due now.
func (m *Module) releaseQueued(ctx context.Context) {
	now := m.clock.Now().UTC()
	var back []released
	m.disp.mu.Lock()
	for _, l := range m.disp.lanes {
		for len(l.queued) > 0 {
			back = append(back, released{c: l.queued[0], due: now})
			m.dequeueLocked(l)
		}
	}
	m.disp.mu.Unlock()
	if len(back) > 0 {
		m.release(ctx, back)
	}
}

// timeout is the request timeout of ep.
func (m *Module) timeout(ep *Endpoint) time.Duration {
	if ep.Timeout > 0 && ep.Timeout < m.cfg.Timeout {
		return ep.Timeout
	}
	return m.cfg.Timeout
}

// DeliverDue claims the messages due now that the endpoints' lanes have room for, makes one
// attempt of each, and waits until they are recorded. It returns the number of attempts
// made. Messages a lane could not start (its rate limit) go back to the store.
func (m *Module) DeliverDue(ctx context.Context) (int, error) {
	if m.store == nil {
		return 0, nil
	}
	before := m.disp.attempts.Load()
	if _, err := m.claim(ctx, m.clock.Now().UTC()); err != nil {
		return 0, err
	}
	for {
		started := m.pump(ctx)
		m.disp.mu.Lock()
		for m.disp.inflight > 0 || m.disp.recording > 0 {
			m.disp.ended.Wait()
		}
		queued := m.disp.queued
		m.disp.mu.Unlock()
		if queued == 0 {
			break
		}
		if started == 0 && m.pump(ctx) == 0 {
			m.releaseQueued(context.WithoutCancel(ctx))
			break
		}
	}
	return int(m.disp.attempts.Load() - before), nil
}
