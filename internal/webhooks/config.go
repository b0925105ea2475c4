package webhooks

import (
	"errors"
	"fmt"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/netguard"
)

// Config configures outbound webhook delivery: the `webhooks` section of the configuration.
type Config struct {
	// AllowHTTP permits http:// endpoint URLs (default false: https only).
	AllowHTTP bool `koanf:"allow_http"`
	// AllowLoopback permits endpoints on loopback addresses, for local receivers (default
	// false; aquahub dev sets it).
	AllowLoopback bool `koanf:"allow_loopback"`
	// AllowPrivate permits RFC 1918, 100.64/10 and fc00::/7 addresses, for receivers on the
	// operator's private network (default false). Link-local and cloud metadata addresses are
	// never allowed.
	AllowPrivate bool `koanf:"allow_private"`
	// Timeout bounds one delivery request, connection to last byte (default 15s). An
	// endpoint may set a shorter one (timeout_ms); a timeout counts against that endpoint
	// only: its slot, its breaker.
	Timeout time.Duration `koanf:"timeout"`
	// Schedule is the delay before each attempt of a message; its length is the number of
	// attempts before the message is dead (default 0s, 5s, 5m, 30m, 2h, 5h, 10h, 10h).
	Schedule []time.Duration `koanf:"schedule"`
	// DisableAfter disables an endpoint that has failed continuously for this long
	// (default 120h, five days).
	DisableAfter time.Duration `koanf:"disable_after"`
	// RotationOverlap is how long the previous secret keeps signing after a rotation
	// (default 24h).
	RotationOverlap time.Duration `koanf:"rotation_overlap"`
	// Workers bounds the delivery requests in flight beyond each endpoint's first: every
	// endpoint with a message due may always have one request in flight, so a slow
	// endpoint's backlog never delays another endpoint's first attempt, and the others share
	// this many (default 32).
	Workers int `koanf:"workers"`
	// EndpointConcurrency is how many requests one endpoint may have in flight unless it
	// sets max_in_flight itself, so that one slow endpoint holds few of the shared workers
	// (default 8).
	EndpointConcurrency int `koanf:"endpoint_concurrency"`
	// Circuit tunes the breaker each endpoint has: after failure_ratio of the requests in
	// window failed (5xx, timeouts, network errors; at least min_requests of them) or
	// timeout_run timeouts in a row, the endpoint's messages are deferred, not attempted and
	// not counted as attempts, until a probe after open_for (doubling to max_open_for)
	// succeeds (defaults: failure_ratio 0.5, min_requests 10, window 30s, timeout_run 5,
	// open_for 15s, max_open_for 5m; disabled: true turns breakers off).
	Circuit core.BreakerConfig `koanf:"circuit"`
}

// DefaultConfig returns the delivery defaults.
func DefaultConfig() Config {
	return Config{
		Timeout: 15 * time.Second,
		Schedule: []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
			2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour},
		DisableAfter:        5 * 24 * time.Hour,
		RotationOverlap:     24 * time.Hour,
		Workers:             32,
		EndpointConcurrency: 8,
		Circuit:             core.DefaultBreakerConfig(),
	}
}

// withDefaults fills the zero fields of c from DefaultConfig. The address policy's switches
// stay as given: false is their default.
func (c Config) withDefaults() Config {
	def := DefaultConfig()
	if c.Timeout == 0 {
		c.Timeout = def.Timeout
	}
	if len(c.Schedule) == 0 {
		c.Schedule = def.Schedule
	}
	if c.DisableAfter == 0 {
		c.DisableAfter = def.DisableAfter
	}
	if c.RotationOverlap == 0 {
		c.RotationOverlap = def.RotationOverlap
	}
	if c.Workers == 0 {
		c.Workers = def.Workers
	}
	if c.EndpointConcurrency == 0 {
		c.EndpointConcurrency = def.EndpointConcurrency
	}
	c.Circuit = c.Circuit.WithDefaults()
	return c
}

// Validate checks the settings; errors name the field.
func (c Config) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, core.Invalid(field, format, args...))
	}
	if c.Timeout < time.Second || c.Timeout > 5*time.Minute {
		add("timeout", "must be between 1s and 5m (got %s)", c.Timeout)
	}
	if len(c.Schedule) == 0 || len(c.Schedule) > 50 {
		add("schedule", "must list 1 to 50 delays (got %d)", len(c.Schedule))
	}
	for i, d := range c.Schedule {
		if d < 0 || d > 7*24*time.Hour {
			add(fmt.Sprintf("schedule[%d]", i), "must be between 0s and 168h (got %s)", d)
		}
	}
	if c.DisableAfter < time.Minute {
		add("disable_after", "must be at least 1m (got %s)", c.DisableAfter)
	}
	if c.RotationOverlap < 0 || c.RotationOverlap > 30*24*time.Hour {
		add("rotation_overlap", "must be between 0s and 720h (got %s)", c.RotationOverlap)
	}
	if c.Workers < 1 || c.Workers > 1024 {
		add("workers", "must be between 1 and 1024 (got %d)", c.Workers)
	}
	if c.EndpointConcurrency < 1 || c.EndpointConcurrency > maxInFlight {
		add("endpoint_concurrency", "must be between 1 and %d (got %d)", maxInFlight, c.EndpointConcurrency)
	}
	return errors.Join(errs...)
}

// Policy is the destination policy of these settings.
func (c Config) Policy() netguard.Policy {
	return netguard.Policy{AllowHTTP: c.AllowHTTP, AllowLoopback: c.AllowLoopback, AllowPrivate: c.AllowPrivate}
}
