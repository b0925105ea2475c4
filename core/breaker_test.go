package core_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
)

// breakerRig drives one Circuits with a clock the test moves and records its changes.
type breakerRig struct {
	c       *core.Circuits
	now     time.Time
	changes []core.CircuitChange
}

func newBreakerRig(cfg core.BreakerConfig) *breakerRig {
	r := &breakerRig{now: time.Date(2025, 8, 6, 12, 0, 0, 0, time.UTC)}
	r.c = core.NewCircuits(cfg, func(ch core.CircuitChange) { r.changes = append(r.changes, ch) })
	return r
}

// request lets one request through and reports o; it fails the test when the breaker refuses.
func (r *breakerRig) request(t testing.TB, o core.Outcome) {
	t.Helper()
	tk, err := r.c.Allow("k", r.now)
	if err != nil {
		t.Fatalf("refused at %s: %v", r.now.Format(time.TimeOnly), err)
	}
	r.c.Done(tk, r.now, o)
}

func (r *breakerRig) states() string {
	var s []string
	for _, ch := range r.changes {
		s = append(s, string(ch.To))
	}
	return strings.Join(s, ",")
}

func TestBreakerOpens(t *testing.T) {
	cfg := core.BreakerConfig{FailureRatio: 0.5, MinRequests: 4, Window: 10 * time.Second, TimeoutRun: 3,
		OpenFor: 5 * time.Second, MaxOpenFor: time.Minute}
	tests := []struct {
		name     string
		outcomes []core.Outcome
		open     bool
		reason   string
	}{
		{name: "half of the window failed", outcomes: []core.Outcome{core.OutcomeSuccess, core.OutcomeFailure, core.OutcomeSuccess, core.OutcomeFailure},
			open: true, reason: "2 of 4 requests failed"},
		{name: "too few requests to judge", outcomes: []core.Outcome{core.OutcomeFailure, core.OutcomeFailure, core.OutcomeFailure}},
		{name: "a run of timeouts", outcomes: []core.Outcome{core.OutcomeTimeout, core.OutcomeTimeout, core.OutcomeTimeout},
			open: true, reason: "3 timeouts in a row"},
		{name: "a success breaks the run of timeouts", outcomes: []core.Outcome{core.OutcomeSuccess, core.OutcomeSuccess, core.OutcomeSuccess,
			core.OutcomeTimeout, core.OutcomeTimeout, core.OutcomeSuccess, core.OutcomeTimeout}},
		{name: "mostly successes", outcomes: []core.Outcome{core.OutcomeSuccess, core.OutcomeSuccess, core.OutcomeFailure, core.OutcomeSuccess, core.OutcomeSuccess}},
		{name: "ignored outcomes do not count", outcomes: []core.Outcome{core.OutcomeIgnored, core.OutcomeIgnored, core.OutcomeFailure, core.OutcomeFailure}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newBreakerRig(cfg)
			for _, o := range tc.outcomes {
				r.request(t, o)
				r.now = r.now.Add(100 * time.Millisecond)
			}
			_, err := r.c.Allow("k", r.now)
			var open *core.CircuitOpenError
			if got := errors.As(err, &open); got != tc.open {
				t.Fatalf("open = %v, want %v (changes %s)", got, tc.open, r.states())
			}
			if !tc.open {
				return
			}
			if len(r.changes) != 1 || !strings.Contains(r.changes[0].Reason, tc.reason) {
				t.Fatalf("changes %+v, want one to open saying %q", r.changes, tc.reason)
			}
			if open.RetryAt.Before(r.changes[0].Until) {
				t.Fatalf("retry at %s, before the open period ends at %s", open.RetryAt, r.changes[0].Until)
			}
		})
	}
}

func TestBreakerWindowForgets(t *testing.T) {
	r := newBreakerRig(core.BreakerConfig{FailureRatio: 0.5, MinRequests: 4, Window: 10 * time.Second, OpenFor: 5 * time.Second, MaxOpenFor: time.Minute})
	r.request(t, core.OutcomeFailure)
	r.request(t, core.OutcomeFailure)
	r.request(t, core.OutcomeFailure)
	r.now = r.now.Add(30 * time.Second) // the failures leave the window
	r.request(t, core.OutcomeFailure)
	r.request(t, core.OutcomeSuccess)
	r.request(t, core.OutcomeSuccess)
	r.request(t, core.OutcomeSuccess)
	if len(r.changes) != 0 {
		t.Fatalf("failures outside the window opened the breaker: %+v", r.changes)
	}
}

func TestBreakerProbes(t *testing.T) {
	r := newBreakerRig(core.BreakerConfig{FailureRatio: 1, MinRequests: 1, Window: 10 * time.Second, OpenFor: 4 * time.Second, MaxOpenFor: 10 * time.Second})
	r.request(t, core.OutcomeFailure)
	if st, until := r.c.State("k", r.now); st != core.CircuitOpen || !until.Equal(r.now.Add(4*time.Second)) {
		t.Fatalf("state %s until %s, want open for 4s", st, until)
	}
	// Half-open: one probe, the others refused until it answers.
	r.now = r.now.Add(4 * time.Second)
	probe, err := r.c.Allow("k", r.now)
	if err != nil || !probe.Probe() {
		t.Fatalf("half-open breaker gave no probe: %v", err)
	}
	if _, err := r.c.Allow("k", r.now); err == nil {
		t.Fatal("a second request went while the probe was out")
	}
	// The probe fails: open again for twice as long.
	r.c.Done(probe, r.now, core.OutcomeTimeout)
	if st, until := r.c.State("k", r.now); st != core.CircuitOpen || !until.Equal(r.now.Add(8*time.Second)) {
		t.Fatalf("after a failed probe: %s until %s, want open for 8s", st, until)
	}
	r.now = r.now.Add(8 * time.Second)
	probe, _ = r.c.Allow("k", r.now)
	r.c.Done(probe, r.now, core.OutcomeFailure)
	if _, until := r.c.State("k", r.now); !until.Equal(r.now.Add(10 * time.Second)) {
		t.Fatalf("open until %s, want the 10s cap", until)
	}
	// A probe that succeeds closes it; a stale ticket from before changes nothing.
	r.now = r.now.Add(10 * time.Second)
	probe, _ = r.c.Allow("k", r.now)
	r.c.Done(probe, r.now, core.OutcomeSuccess)
	r.c.Done(core.CircuitTicket{}, r.now, core.OutcomeFailure)
	if st, _ := r.c.State("k", r.now); st != core.CircuitClosed {
		t.Fatalf("after a good probe: %s", st)
	}
	if got, want := r.states(), "open,half_open,open,half_open,open,half_open,closed"; got != want {
		t.Fatalf("changes %s, want %s", got, want)
	}
	last := r.changes[len(r.changes)-1]
	if last.OpenedAt.IsZero() || !last.OpenedAt.Before(last.At) {
		t.Fatalf("the closing change does not say when the outage began: %+v", last)
	}
}

func TestBreakerIgnoredProbeIsHandedBack(t *testing.T) {
	r := newBreakerRig(core.BreakerConfig{FailureRatio: 1, MinRequests: 1, Window: 10 * time.Second, OpenFor: time.Second, MaxOpenFor: time.Minute})
	r.request(t, core.OutcomeFailure)
	r.now = r.now.Add(time.Second)
	probe, _ := r.c.Allow("k", r.now)
	r.c.Done(probe, r.now, core.OutcomeIgnored)
	if next, err := r.c.Allow("k", r.now); err != nil || !next.Probe() {
		t.Fatalf("the probe was not handed back: %v", err)
	}
}

func TestBreakerStaleOutcomesDoNotCount(t *testing.T) {
	r := newBreakerRig(core.BreakerConfig{FailureRatio: 1, MinRequests: 2, Window: 10 * time.Second, OpenFor: time.Second, MaxOpenFor: time.Minute})
	r.request(t, core.OutcomeFailure)
	late, _ := r.c.Allow("k", r.now) // in flight while the breaker opens
	r.request(t, core.OutcomeFailure)
	r.now = r.now.Add(time.Second)
	probe, _ := r.c.Allow("k", r.now)
	r.c.Done(probe, r.now, core.OutcomeSuccess)
	r.c.Done(late, r.now, core.OutcomeFailure)
	r.c.Done(late, r.now, core.OutcomeFailure)
	if st, _ := r.c.State("k", r.now); st != core.CircuitClosed {
		t.Fatalf("outcomes of requests from before the breaker opened reopened it: %s", st)
	}
}

func TestBreakerDisabled(t *testing.T) {
	r := newBreakerRig(core.BreakerConfig{Disabled: true})
	for range 50 {
		r.request(t, core.OutcomeTimeout)
	}
	if len(r.changes) != 0 {
		t.Fatalf("a disabled breaker changed: %+v", r.changes)
	}
}

func TestBreakerConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*core.BreakerConfig)
		field string
	}{
		{name: "defaults", edit: func(*core.BreakerConfig) {}},
		{name: "ratio above 1", edit: func(c *core.BreakerConfig) { c.FailureRatio = 1.5 }, field: "failure_ratio"},
		{name: "no requests", edit: func(c *core.BreakerConfig) { c.MinRequests = -1 }, field: "min_requests"},
		{name: "window too short", edit: func(c *core.BreakerConfig) { c.Window = time.Millisecond }, field: "window"},
		{name: "negative timeout run", edit: func(c *core.BreakerConfig) { c.TimeoutRun = -1 }, field: "timeout_run"},
		{name: "open too short", edit: func(c *core.BreakerConfig) { c.OpenFor = time.Millisecond }, field: "open_for"},
		{name: "cap below open_for", edit: func(c *core.BreakerConfig) { c.MaxOpenFor = time.Second }, field: "max_open_for"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := core.DefaultBreakerConfig()
			tc.edit(&cfg)
			err := cfg.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.field+":") {
				t.Fatalf("error %v, want one naming %s", err, tc.field)
			}
		})
	}
}
