package core

import (
	"math/rand/v2"
	"time"
)

// RetryPolicy decides when a failed run is attempted again.
type RetryPolicy struct {
	// Attempts is the total number of attempts before the run is dead-lettered (default 8).
	Attempts int `json:"attempts"`
	// Initial is the first delay (default 5s); Max caps every delay (default 2h).
	Initial time.Duration `json:"initial"`
	Max     time.Duration `json:"max"`
	// Backoff is "exponential" (default) or "constant".
	Backoff string `json:"backoff"`
}

// DefaultRetry is used when a rule names no policy.
var DefaultRetry = RetryPolicy{Attempts: 8, Initial: 5 * time.Second, Max: 2 * time.Hour, Backoff: "exponential"}

// WithDefaults fills zero fields from DefaultRetry.
func (p RetryPolicy) WithDefaults() RetryPolicy {
	if p.Attempts <= 0 {
		p.Attempts = DefaultRetry.Attempts
	}
	if p.Initial <= 0 {
		p.Initial = DefaultRetry.Initial
	}
	if p.Max <= 0 {
		p.Max = DefaultRetry.Max
	}
	if p.Backoff == "" {
		p.Backoff = DefaultRetry.Backoff
	}
	return p
}

// Delay returns the wait before attempt number next (2 for the first retry), using full
// jitter: a uniform draw from [0, min(max, initial·2^(next-2))]. A positive retryAfter from
// the failing step is a floor. rnd may be nil.
func (p RetryPolicy) Delay(next int, retryAfter time.Duration, rnd *rand.Rand) time.Duration {
	p = p.WithDefaults()
	ceiling := p.Initial
	if p.Backoff != "constant" {
		for i := 2; i < next && ceiling < p.Max; i++ {
			ceiling *= 2
		}
	}
	ceiling = min(ceiling, p.Max)
	var d time.Duration
	if p.Backoff == "constant" {
		d = ceiling
	} else if rnd != nil {
		d = time.Duration(rnd.Int64N(int64(ceiling) + 1))
	} else {
		d = time.Duration(rand.Int64N(int64(ceiling) + 1))
	}
	if retryAfter > d {
		d = retryAfter
	}
	return d
}
