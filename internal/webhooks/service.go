package webhooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/textproto"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/netguard"
	bbolt "go.etcd.io/bbolt"
)

// DefaultSchedule is the delay before each attempt of a message: immediately, then 5 s,
// 5 min, 30 min, 2 h, 5 h, 10 h and 10 h; after the last one the message is dead.
var DefaultSchedule = []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// EventEndpointDisabled is the type of the event published when the hub disables an endpoint.
const EventEndpointDisabled = "webhook.endpoint.disabled"

// EventSourceName is the CloudEvents source of the events this package publishes.
const EventSourceName = "aquahub/webhooks"

// Options configures a Service. Zero fields take the defaults given.
type Options struct {
	// DB is the bbolt file; the service creates its webhooks.* buckets. Required.
	DB *bbolt.DB
	// Events is read from for fan-out (a core.Store). Without it only step and replayed
	// messages are delivered.
	Events EventSource
	// Publisher receives webhook.endpoint.disabled events (the *core.Engine). Optional.
	Publisher Publisher
	// Clock defaults to the wall clock.
	Clock Clock
	// Policy decides which URLs and addresses are allowed (default: https, public only).
	Policy netguard.Policy
	// Schedule is the delay before each attempt (default DefaultSchedule); its length is
	// the number of attempts.
	Schedule []time.Duration
	// Timeout bounds one request, connection to last byte (default 15s).
	Timeout time.Duration
	// DisableAfter disables an endpoint that has failed continuously for this long
	// (default 5 days).
	DisableAfter time.Duration
	// RotationOverlap is how long the previous secret keeps signing after a rotation
	// (default 24h).
	RotationOverlap time.Duration
	// Workers bounds concurrent requests (default 32).
	Workers int
	// Lease is how long a claimed message is reserved for its sender before another pass
	// may claim it again (default Timeout + 45s). It is what redelivers after a crash.
	Lease time.Duration
	// PollInterval is how often Run looks for new events and due messages when nothing
	// woke it (default 250ms).
	PollInterval time.Duration
	// Transport overrides the HTTP transport (tests). The default dials through Policy.
	Transport http.RoundTripper
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Service manages endpoints and delivers messages. Its methods are safe for concurrent use.
type Service struct {
	db        *bbolt.DB
	events    EventSource
	publisher Publisher
	clock     Clock
	policy    netguard.Policy
	schedule  []time.Duration
	timeout   time.Duration
	disable   time.Duration
	overlap   time.Duration
	workers   int
	lease     time.Duration
	poll      time.Duration
	client    *http.Client
	log       *slog.Logger
	wake      chan struct{}
	fanMu     sync.Mutex
}

// New checks opts, creates the buckets and returns a Service.
func New(opts Options) (*Service, error) {
	if opts.DB == nil {
		return nil, errors.New("webhooks: Options.DB is required")
	}
	s := &Service{
		db: opts.DB, events: opts.Events, publisher: opts.Publisher, clock: opts.Clock,
		policy: opts.Policy, schedule: opts.Schedule, timeout: opts.Timeout,
		disable: opts.DisableAfter, overlap: opts.RotationOverlap, workers: opts.Workers,
		lease: opts.Lease, poll: opts.PollInterval, log: opts.Logger, wake: make(chan struct{}, 1),
	}
	if s.clock == nil {
		s.clock = SystemClock{}
	}
	if len(s.schedule) == 0 {
		s.schedule = DefaultSchedule
	}
	for i, d := range s.schedule {
		if d < 0 {
			return nil, fmt.Errorf("webhooks: schedule[%d]: negative delay %s", i, d)
		}
	}
	if s.timeout <= 0 {
		s.timeout = 15 * time.Second
	}
	if s.disable <= 0 {
		s.disable = 5 * 24 * time.Hour
	}
	if s.overlap <= 0 {
		s.overlap = 24 * time.Hour
	}
	if s.workers <= 0 {
		s.workers = 32
	}
	if s.lease <= 0 {
		s.lease = s.timeout + 45*time.Second
	}
	if s.poll <= 0 {
		s.poll = 250 * time.Millisecond
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	transport := opts.Transport
	if transport == nil {
		transport = &http.Transport{
			Proxy:                 nil, // a proxy would dial on our behalf, past the guard
			DialContext:           s.policy.Dialer(s.timeout).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          256,
			MaxIdleConnsPerHost:   8,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: s.timeout,
		}
	}
	s.client = &http.Client{
		Transport: transport,
		Timeout:   s.timeout,
		// A redirect is a failed attempt: following it would let a receiver steer the
		// hub's signed request to an address it never registered.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if err := ensureBuckets(s.db); err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	return s, nil
}

// Policy returns the destination policy endpoints are checked against.
func (s *Service) Policy() netguard.Policy { return s.policy }

// reservedHeaders may not be set through Endpoint.Headers.
var reservedHeaders = map[string]bool{
	"Webhook-Id": true, "Webhook-Timestamp": true, "Webhook-Signature": true,
	"X-Signature-256": true, "Content-Type": true, "Content-Length": true, "Host": true,
	"Transfer-Encoding": true, "Connection": true,
}

// validate checks in and returns the normalised endpoint fields.
func (s *Service) validate(in EndpointInput) (EndpointInput, error) {
	if strings.TrimSpace(in.URL) == "" {
		return in, core.Invalid("url", "required")
	}
	if _, err := s.policy.CheckURL(in.URL); err != nil {
		return in, core.Invalid("url", "%v", err)
	}
	if len(in.Events) == 0 {
		return in, core.Invalid("events", `at least one event type pattern is required (use "*" for every event)`)
	}
	if len(in.Events) > 64 {
		return in, core.Invalid("events", "at most 64 patterns")
	}
	for i, p := range in.Events {
		if p == "" || len(p) > 200 || strings.ContainsAny(p, " \t\r\n") {
			return in, core.Invalid(fmt.Sprintf("events[%d]", i), "must be a non-empty type pattern without spaces (got %q)", p)
		}
	}
	if len(in.Headers) > 32 {
		return in, core.Invalid("headers", "at most 32 headers")
	}
	norm := make(map[string]string, len(in.Headers))
	for name, v := range in.Headers {
		if !validHeaderName(name) {
			return in, core.Invalid("headers."+name, "not a valid header name")
		}
		canon := textproto.CanonicalMIMEHeaderKey(name)
		if reservedHeaders[canon] {
			return in, core.Invalid("headers."+name, "is set by the hub and may not be overridden")
		}
		if strings.ContainsAny(v, "\r\n\x00") || len(v) > 4096 {
			return in, core.Invalid("headers."+name, "value must be one line of at most 4096 bytes")
		}
		norm[canon] = v
	}
	in.Headers = norm
	if len(in.Description) > 1000 {
		return in, core.Invalid("description", "at most 1000 characters")
	}
	if in.Secret != "" {
		if _, err := Secret(in.Secret).Key(); err != nil {
			return in, core.Invalid("secret", "%v", err)
		}
	}
	return in, nil
}

func validHeaderName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// Create registers an endpoint and returns it with its secret, which is not shown again.
func (s *Service) Create(ctx context.Context, tenant string, in EndpointInput) (Endpoint, Secret, error) {
	in, err := s.validate(in)
	if err != nil {
		return Endpoint{}, "", err
	}
	secret := Secret(in.Secret)
	if secret == "" {
		secret = NewSecret()
	}
	now := s.clock.Now().UTC()
	rec := &endpointRecord{Tenant: tenant, Secret: secret, Endpoint: Endpoint{
		URL: in.URL, Events: in.Events, Headers: in.Headers, Description: in.Description,
		Enabled: in.Enabled == nil || *in.Enabled, CreatedAt: now, UpdatedAt: now,
	}}
	err = s.db.Update(func(tx *bbolt.Tx) error {
		id, err := newEndpointID(tx.Bucket(bucketEndpoints))
		if err != nil {
			return err
		}
		rec.ID = id
		return putEndpoint(tx, rec)
	})
	if err != nil {
		return Endpoint{}, "", fmt.Errorf("creating webhook endpoint: %w", err)
	}
	return rec.Endpoint, secret, nil
}

// Get returns one endpoint.
func (s *Service) Get(ctx context.Context, tenant, id string) (Endpoint, error) {
	var ep Endpoint
	err := s.db.View(func(tx *bbolt.Tx) error {
		r, err := getEndpoint(tx, tenant, id)
		if err == nil {
			ep = r.Endpoint
		}
		return err
	})
	return ep, err
}

// List returns the tenant's endpoints in creation order.
func (s *Service) List(ctx context.Context, tenant string) ([]Endpoint, error) {
	out := []Endpoint{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		recs, err := tenantEndpoints(tx, tenant)
		for _, r := range recs {
			out = append(out, r.Endpoint)
		}
		return err
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, err
}

// Update replaces an endpoint's settings. A secret in the input replaces the current one at
// once (use Rotate for an overlap). Enabling an endpoint clears its failure state.
func (s *Service) Update(ctx context.Context, tenant, id string, in EndpointInput) (Endpoint, error) {
	in, err := s.validate(in)
	if err != nil {
		return Endpoint{}, err
	}
	var ep Endpoint
	err = s.db.Update(func(tx *bbolt.Tx) error {
		r, err := getEndpoint(tx, tenant, id)
		if err != nil {
			return err
		}
		enabled := in.Enabled == nil || *in.Enabled
		if enabled && !r.Enabled {
			r.DisabledReason, r.FailingSince = "", time.Time{}
		}
		r.URL, r.Events, r.Headers, r.Description, r.Enabled = in.URL, in.Events, in.Headers, in.Description, enabled
		if in.Secret != "" {
			r.Secret, r.PreviousSecret, r.RotationEndsAt = Secret(in.Secret), "", time.Time{}
		}
		r.UpdatedAt = s.clock.Now().UTC()
		ep = r.Endpoint
		return putEndpoint(tx, r)
	})
	return ep, err
}

// Delete removes an endpoint; its queued messages are dropped when they come due.
func (s *Service) Delete(ctx context.Context, tenant, id string) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		if _, err := getEndpoint(tx, tenant, id); err != nil {
			return err
		}
		return tx.Bucket(bucketEndpoints).Delete(key(tenant, id))
	})
}

// Rotate replaces the endpoint's secret with next (generated when empty). The previous
// secret keeps signing alongside the new one for RotationOverlap. It returns the new secret
// and the endpoint.
func (s *Service) Rotate(ctx context.Context, tenant, id string, next string) (Endpoint, Secret, error) {
	if next != "" {
		if _, err := Secret(next).Key(); err != nil {
			return Endpoint{}, "", core.Invalid("secret", "%v", err)
		}
	}
	secret := Secret(next)
	if secret == "" {
		secret = NewSecret()
	}
	var ep Endpoint
	err := s.db.Update(func(tx *bbolt.Tx) error {
		r, err := getEndpoint(tx, tenant, id)
		if err != nil {
			return err
		}
		now := s.clock.Now().UTC()
		r.PreviousSecret, r.Secret, r.RotationEndsAt, r.UpdatedAt = r.Secret, secret, now.Add(s.overlap), now
		ep = r.Endpoint
		return putEndpoint(tx, r)
	})
	return ep, secret, err
}

// Notify wakes Run: new events or messages are waiting.
func (s *Service) Notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run fans out events and delivers messages until ctx is cancelled.
func (s *Service) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-s.wake:
		}
		busy := false
		if n, err := s.FanOut(ctx); err != nil {
			s.log.Error("webhook fan-out", "err", err)
		} else if n > 0 {
			busy = true
		}
		if n, err := s.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("webhook delivery", "err", err)
		} else if n > 0 {
			busy = true
		}
		wait := s.poll
		if busy {
			wait = 0
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}
