package core

import (
	"math/rand/v2"
	"time"
)

// Failure is what the engine knows when a step of a run has failed.
type Failure struct {
	// Class and RetryAfter come from the step's error (see Classify).
	Class      ErrorClass
	RetryAfter time.Duration
	// Attempts is how many attempts the run has made, this one included.
	Attempts int
	// Policy is the step's retry policy (the rule's unless the step overrides it).
	Policy RetryPolicy
	// ShuttingDown is true when the hub cancelled the step while draining.
	ShuttingDown bool
	Now          time.Time
}

// Decision is where a failed run goes next.
type Decision struct {
	// Status is RunRetrying (queued at NextAt), RunQueued (due now, the attempt given back)
	// or RunDead (the dead-letter queue).
	Status RunStatus
	NextAt time.Time
	// GiveBack is true when the attempt does not count: the failure was our shutdown, not
	// the step's.
	GiveBack bool
}

// Decide is the retry decision after a failed step. It is a pure function of its input
// (rnd, which may be nil, draws the backoff jitter):
//   - a step cancelled by the hub's own shutdown is queued again at once, its attempt given
//     back;
//   - a deferred step (its resource is saturated or its circuit is open: nothing was tried)
//     is queued again after RetryAfter, its attempt given back;
//   - a retryable class (transient, rate_limited) with attempts left is retried after the
//     policy's delay, never sooner than RetryAfter;
//   - anything else is dead-lettered.
func Decide(f Failure, rnd *rand.Rand) Decision {
	policy := f.Policy.WithDefaults()
	switch {
	case f.ShuttingDown:
		return Decision{Status: RunQueued, NextAt: f.Now, GiveBack: true}
	case f.Class == ClassDeferred:
		return Decision{Status: RunQueued, NextAt: f.Now.Add(max(f.RetryAfter, 0)), GiveBack: true}
	case f.Class.Retryable() && f.Attempts < policy.Attempts:
		return Decision{Status: RunRetrying, NextAt: f.Now.Add(policy.Delay(f.Attempts+1, f.RetryAfter, rnd))}
	default:
		return Decision{Status: RunDead}
	}
}
