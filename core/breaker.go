package core

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// BreakerConfig tunes circuit breakers: the `circuit` sections of the connector host and of
// outbound webhooks. A breaker watches the outcomes of the requests to one destination (a
// tenant's connector talking to one origin, one webhook endpoint). Failures are server errors,
// timeouts and network errors; a client error (4xx) is an answer and counts as a success. It
// opens when FailureRatio of the requests in Window failed (with at least MinRequests of them)
// or after TimeoutRun timeouts in a row. While open, requests fail at once without reaching
// the destination and their work is deferred, not failed. After OpenFor it is half-open: one
// probe goes; success closes it, failure opens it again for twice as long (up to MaxOpenFor).
type BreakerConfig struct {
	// Disabled turns breakers off: every request goes to the destination (default false).
	Disabled bool `koanf:"disabled"`
	// FailureRatio is the share of failed requests in Window, above 0 and at most 1, that
	// opens the breaker (default 0.5).
	FailureRatio float64 `koanf:"failure_ratio"`
	// MinRequests is how many outcomes Window must hold before FailureRatio applies, so that
	// the first failure of a quiet destination does not open it (default 10).
	MinRequests int `koanf:"min_requests"`
	// Window is the span of recent outcomes FailureRatio looks at (default 30s).
	Window time.Duration `koanf:"window"`
	// TimeoutRun opens the breaker after this many timeouts in a row, however few requests
	// Window holds: a destination that hangs is found before it has used many requests'
	// worth of waiting (default 5; 0 turns the rule off).
	TimeoutRun int `koanf:"timeout_run"`
	// OpenFor is how long a breaker stays open before it lets a probe through (default 15s).
	OpenFor time.Duration `koanf:"open_for"`
	// MaxOpenFor caps OpenFor as it doubles after each failed probe (default 5m).
	MaxOpenFor time.Duration `koanf:"max_open_for"`
}

// DefaultBreakerConfig returns the breaker defaults.
func DefaultBreakerConfig() BreakerConfig {
	return BreakerConfig{FailureRatio: 0.5, MinRequests: 10, Window: 30 * time.Second, TimeoutRun: 5,
		OpenFor: 15 * time.Second, MaxOpenFor: 5 * time.Minute}
}

// WithDefaults fills the zero fields from DefaultBreakerConfig; TimeoutRun's zero is kept
// only when the configuration sets anything else, since 0 turns that rule off.
func (c BreakerConfig) WithDefaults() BreakerConfig {
	d := DefaultBreakerConfig()
	if c == (BreakerConfig{}) {
		return d
	}
	if c.FailureRatio == 0 {
		c.FailureRatio = d.FailureRatio
	}
	if c.MinRequests == 0 {
		c.MinRequests = d.MinRequests
	}
	if c.Window == 0 {
		c.Window = d.Window
	}
	if c.OpenFor == 0 {
		c.OpenFor = d.OpenFor
	}
	if c.MaxOpenFor == 0 {
		c.MaxOpenFor = max(d.MaxOpenFor, c.OpenFor)
	}
	return c
}

// Validate checks the settings; errors name the field.
func (c BreakerConfig) Validate() error {
	var errs []error
	if c.FailureRatio <= 0 || c.FailureRatio > 1 {
		errs = append(errs, Invalid("failure_ratio", "must be above 0 and at most 1 (got %g)", c.FailureRatio))
	}
	if c.MinRequests < 1 || c.MinRequests > 100000 {
		errs = append(errs, Invalid("min_requests", "must be between 1 and 100000 (got %d)", c.MinRequests))
	}
	if c.Window < time.Second || c.Window > time.Hour {
		errs = append(errs, Invalid("window", "must be between 1s and 1h (got %s)", c.Window))
	}
	if c.TimeoutRun < 0 || c.TimeoutRun > 100000 {
		errs = append(errs, Invalid("timeout_run", "must be between 0 and 100000 (got %d)", c.TimeoutRun))
	}
	if c.OpenFor < 100*time.Millisecond || c.OpenFor > 24*time.Hour {
		errs = append(errs, Invalid("open_for", "must be between 100ms and 24h (got %s)", c.OpenFor))
	}
	if c.MaxOpenFor < c.OpenFor || c.MaxOpenFor > 24*time.Hour {
		errs = append(errs, Invalid("max_open_for", "must be between open_for and 24h (got %s)", c.MaxOpenFor))
	}
	return errors.Join(errs...)
}

// CircuitState is where a breaker is.
type CircuitState string

// The states of a breaker.
const (
	// CircuitClosed lets every request through and counts the outcomes.
	CircuitClosed CircuitState = "closed"
	// CircuitOpen refuses every request until its open period ends.
	CircuitOpen CircuitState = "open"
	// CircuitHalfOpen lets one probe through and refuses the rest until the probe's outcome
	// is known.
	CircuitHalfOpen CircuitState = "half_open"
)

// Outcome is what became of one request a breaker let through.
type Outcome int

// The outcomes a breaker counts.
const (
	// OutcomeSuccess: an answer arrived that is not a server error (2xx, 3xx, 4xx).
	OutcomeSuccess Outcome = iota
	// OutcomeFailure: a server error (5xx), a network or connection error.
	OutcomeFailure
	// OutcomeTimeout: no answer in time. A failure that also counts towards TimeoutRun.
	OutcomeTimeout
	// OutcomeIgnored: the request ended for a reason that says nothing about the
	// destination (the hub cancelled it); a probe's ticket is handed back.
	OutcomeIgnored
)

// CircuitChange is a breaker's change of state, as Circuits reports it.
type CircuitChange struct {
	Key      string
	From, To CircuitState
	At       time.Time
	// Until is, when To is open, when a probe may go.
	Until time.Time
	// OpenedAt is when the breaker last opened from closed: the start of the outage that a
	// change to closed ends.
	OpenedAt time.Time
	// Reason says, when To is open, what opened it.
	Reason string
	// Failures and Requests are the counts in the window when the breaker opened.
	Failures, Requests int
}

// CircuitTicket is a request a breaker let through; give it back with Circuits.Done.
type CircuitTicket struct {
	key   string
	gen   uint64
	probe bool
}

// Probe reports whether the ticket is the half-open breaker's probe.
func (t CircuitTicket) Probe() bool { return t.probe }

// CircuitOpenError is a request a breaker refused.
type CircuitOpenError struct {
	Key string
	// State is open or half_open (a probe is out).
	State CircuitState
	// RetryAt is when the breaker may let a request through again.
	RetryAt time.Time
}

func (e *CircuitOpenError) Error() string {
	return fmt.Sprintf("circuit %s is %s until %s", e.Key, e.State, e.RetryAt.UTC().Format(time.RFC3339))
}

// breakerSlots divide a breaker's window into this many buckets of outcomes.
const breakerSlots = 10

// maxCircuits bounds a Circuits' memory: past it, closed breakers with nothing in their
// window, which are no different from new ones, are dropped.
const maxCircuits = 10000

type slot struct {
	n          int64 // which Window/breakerSlots period the counts belong to
	ok, failed int
}

type circuit struct {
	state    CircuitState
	slots    [breakerSlots]slot
	timeouts int
	until    time.Time
	openFor  time.Duration
	openedAt time.Time
	probeAt  time.Time // when the probe out went; zero when none is
	gen      uint64
}

// Circuits is a set of circuit breakers by key, safe for concurrent use. The connector host
// keys them by tenant, connector and origin; outbound webhooks by endpoint.
type Circuits struct {
	cfg      BreakerConfig
	onChange func(CircuitChange)
	mu       sync.Mutex
	m        map[string]*circuit
}

// NewCircuits returns an empty set of breakers; onChange, when not nil, is told about every
// change of state, outside the set's lock and in the order they happened for one key.
// cfg's zero fields take DefaultBreakerConfig's values.
func NewCircuits(cfg BreakerConfig, onChange func(CircuitChange)) *Circuits {
	return &Circuits{cfg: cfg.WithDefaults(), onChange: onChange, m: map[string]*circuit{}}
}

// Config returns the set's settings.
func (c *Circuits) Config() BreakerConfig { return c.cfg }

// Allow asks whether a request under key may go at now. When it may, the ticket must be given
// back to Done with the outcome. When it may not, the error is a *CircuitOpenError saying
// when to ask again.
func (c *Circuits) Allow(key string, now time.Time) (CircuitTicket, error) {
	if c == nil || c.cfg.Disabled {
		return CircuitTicket{}, nil
	}
	c.mu.Lock()
	b := c.m[key]
	if b == nil {
		c.mu.Unlock()
		return CircuitTicket{key: key}, nil
	}
	var changes []CircuitChange
	if b.state == CircuitOpen && !now.Before(b.until) {
		changes = append(changes, c.move(key, b, CircuitHalfOpen, now))
	}
	t, err := CircuitTicket{key: key, gen: b.gen}, error(nil)
	switch b.state {
	case CircuitOpen:
		err = &CircuitOpenError{Key: key, State: CircuitOpen, RetryAt: b.until.Add(c.jitter(b.openFor))}
	case CircuitHalfOpen:
		// A probe whose outcome never came (its caller vanished) does not hold the breaker
		// half-open for ever.
		if !b.probeAt.IsZero() && now.Sub(b.probeAt) < max(b.openFor, time.Minute) {
			err = &CircuitOpenError{Key: key, State: CircuitHalfOpen, RetryAt: now.Add(c.probeWait(b)).Add(c.jitter(b.openFor))}
		} else {
			b.probeAt, t.probe = now, true
		}
	}
	c.mu.Unlock()
	c.report(changes)
	return t, err
}

// probeWait is how long a request refused while a probe is out waits before asking again:
// long enough for the probe's answer, short enough that a recovered destination is not kept
// waiting much.
func (c *Circuits) probeWait(b *circuit) time.Duration {
	return min(max(b.openFor/4, 250*time.Millisecond), 30*time.Second)
}

// jitter spreads the refused requests' retries over a tenth of d, so that a backlog deferred
// to the same moment does not return at once.
func (c *Circuits) jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d)/10 + 1))
}

// Done reports the outcome of a request Allow let through.
func (c *Circuits) Done(t CircuitTicket, now time.Time, o Outcome) {
	if c == nil || c.cfg.Disabled || t.key == "" {
		return
	}
	c.mu.Lock()
	b := c.m[t.key]
	if b == nil {
		if o == OutcomeIgnored {
			c.mu.Unlock()
			return
		}
		if len(c.m) >= maxCircuits {
			c.prune(now)
		}
		b = &circuit{state: CircuitClosed, openFor: c.cfg.OpenFor}
		c.m[t.key] = b
	}
	if t.gen != b.gen {
		// The request was let through before the breaker last changed state: its outcome
		// belongs to a period that is over.
		c.mu.Unlock()
		return
	}
	var changes []CircuitChange
	switch b.state {
	case CircuitHalfOpen:
		if !t.probe {
			break
		}
		switch o {
		case OutcomeIgnored:
			b.probeAt = time.Time{}
		case OutcomeSuccess:
			changes = append(changes, c.move(t.key, b, CircuitClosed, now))
		default:
			b.openFor = min(2*b.openFor, c.cfg.MaxOpenFor)
			ch := c.move(t.key, b, CircuitOpen, now)
			ch.Reason = "the probe failed"
			changes = append(changes, ch)
		}
	case CircuitClosed:
		if o == OutcomeIgnored {
			break
		}
		s := c.slotAt(b, now)
		if o == OutcomeSuccess {
			s.ok++
			b.timeouts = 0
			break
		}
		s.failed++
		if o == OutcomeTimeout {
			b.timeouts++
		} else {
			b.timeouts = 0
		}
		failed, total := c.counts(b, now)
		reason := ""
		switch {
		case c.cfg.TimeoutRun > 0 && b.timeouts >= c.cfg.TimeoutRun:
			reason = fmt.Sprintf("%d timeouts in a row", b.timeouts)
		case total >= c.cfg.MinRequests && float64(failed) >= c.cfg.FailureRatio*float64(total):
			reason = fmt.Sprintf("%d of %d requests failed in %s", failed, total, c.cfg.Window)
		}
		if reason != "" {
			b.openFor = c.cfg.OpenFor
			b.openedAt = now
			ch := c.move(t.key, b, CircuitOpen, now)
			ch.Reason, ch.Failures, ch.Requests = reason, failed, total
			changes = append(changes, ch)
		}
	}
	c.mu.Unlock()
	c.report(changes)
}

// move changes b's state; mu is held.
func (c *Circuits) move(key string, b *circuit, to CircuitState, now time.Time) CircuitChange {
	ch := CircuitChange{Key: key, From: b.state, To: to, At: now, OpenedAt: b.openedAt}
	b.state = to
	b.gen++
	b.probeAt = time.Time{}
	switch to {
	case CircuitOpen:
		b.until = now.Add(b.openFor)
		ch.Until = b.until
	case CircuitClosed:
		b.slots, b.timeouts, b.openFor = [breakerSlots]slot{}, 0, c.cfg.OpenFor
	}
	return ch
}

func (c *Circuits) report(changes []CircuitChange) {
	if c.onChange == nil {
		return
	}
	for _, ch := range changes {
		c.onChange(ch)
	}
}

func (c *Circuits) slotLen() time.Duration { return max(c.cfg.Window/breakerSlots, time.Millisecond) }

// slotAt returns the bucket counting outcomes at now, emptied when it last counted an
// earlier period.
func (c *Circuits) slotAt(b *circuit, now time.Time) *slot {
	n := now.UnixNano() / int64(c.slotLen())
	s := &b.slots[n%breakerSlots]
	if s.n != n {
		*s = slot{n: n}
	}
	return s
}

// counts sums the outcomes within the window.
func (c *Circuits) counts(b *circuit, now time.Time) (failed, total int) {
	n := now.UnixNano() / int64(c.slotLen())
	for _, s := range b.slots {
		if s.n > n-breakerSlots && s.n <= n {
			failed += s.failed
			total += s.ok + s.failed
		}
	}
	return failed, total
}

// prune drops closed breakers with an empty window; mu is held.
func (c *Circuits) prune(now time.Time) {
	for k, b := range c.m {
		if b.state != CircuitClosed {
			continue
		}
		if _, total := c.counts(b, now); total == 0 {
			delete(c.m, k)
		}
	}
}

// State returns key's state and, when open, when a probe may go.
func (c *Circuits) State(key string, now time.Time) (CircuitState, time.Time) {
	if c == nil {
		return CircuitClosed, time.Time{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.m[key]
	switch {
	case b == nil:
		return CircuitClosed, time.Time{}
	case b.state == CircuitOpen && !now.Before(b.until):
		return CircuitHalfOpen, time.Time{}
	case b.state == CircuitOpen:
		return CircuitOpen, b.until
	}
	return b.state, time.Time{}
}

// Forget drops key's breaker (its destination is gone).
func (c *Circuits) Forget(key string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.m, key)
	c.mu.Unlock()
}
