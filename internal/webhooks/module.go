package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/netguard"
)

// The events the module publishes on behalf of the endpoint's tenant.
const (
	// EventEndpointDisabled: the hub disabled an endpoint (410, continuous failure).
	EventEndpointDisabled = "webhook.endpoint.disabled"
	// EventCircuitOpened: an endpoint failed repeatedly; its messages are deferred until a
	// probe succeeds.
	EventCircuitOpened = "webhook.endpoint.circuit.opened"
	// EventCircuitClosed: a probe succeeded; the endpoint's messages go again.
	EventCircuitClosed = "webhook.endpoint.circuit.closed"
)

// EventSourceName is the CloudEvents source of the events this package publishes.
const EventSourceName = "aquahub/webhooks"

// leaseMargin is how much longer than two requests' timeout a claimed message stays
// reserved for its sender (it may wait for one request of its endpoint to end before its
// own starts); after that another pass may claim it again, which is what redelivers after a
// crash.
const leaseMargin = 45 * time.Second

// pollInterval is how often the worker looks for new events and due messages when nothing
// woke it.
const pollInterval = 250 * time.Millisecond

// EventReader reads the hub's global event sequence for fan-out; core.Store satisfies it.
type EventReader interface {
	EventsAfter(ctx context.Context, after uint64, limit int) ([]core.Event, error)
}

// Deps are what the module needs besides its Config.
type Deps struct {
	// Store keeps endpoints and messages. Without it the module can only check rule steps
	// (rules lint).
	Store Store
	// Events is read from for fan-out (the pipeline's core.Store). Without it only rule
	// steps' and replayed messages are delivered.
	Events EventReader
	// Publisher receives webhook.endpoint.disabled and webhook.endpoint.circuit.* events
	// (the engine). Optional.
	Publisher core.Publisher
	// Clock defaults to the wall clock.
	Clock core.Clock
	// Transport overrides the HTTP transport (tests). The default dials through the
	// configuration's address policy.
	Transport http.RoundTripper
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Module delivers a tenant's events to its registered endpoints, signed, durably and with
// retries: the `webhook` rule step kind, the delivery worker and the /api/v1/webhooks
// operations. Its methods are safe for concurrent use.
//
// Lifecycle: New → StepKinds and Routes collected by the wiring → Start runs fan-out and
// delivery in the background → Stop ends it, waiting for requests in flight.
type Module struct {
	cfg       Config
	store     Store
	events    EventReader
	publisher core.Publisher
	clock     core.Clock
	policy    netguard.Policy
	lease     time.Duration
	client    *http.Client
	log       *slog.Logger
	wake      chan struct{}
	fanMu     sync.Mutex
	disp      *dispatcher
	// circuits are the endpoints' breakers, by laneKey; urls holds each endpoint's URL for
	// their events.
	circuits *core.Circuits
	urls     sync.Map
	metrics  *deliveryMetrics

	runMu  sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// New returns the module. Zero fields of cfg take DefaultConfig's values; the result must
// pass Config.Validate.
func New(cfg Config, deps Deps) (*Module, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	if err := cfg.Circuit.Validate(); err != nil {
		return nil, fmt.Errorf("webhooks: circuit: %w", err)
	}
	m := &Module{
		cfg: cfg, store: deps.Store, events: deps.Events, publisher: deps.Publisher, clock: deps.Clock,
		policy: cfg.Policy(), lease: 2*cfg.Timeout + leaseMargin, log: deps.Logger, wake: make(chan struct{}, 1),
		disp: newDispatcher(), metrics: newMetrics(),
	}
	m.circuits = core.NewCircuits(cfg.Circuit, m.circuitChanged)
	if m.clock == nil {
		m.clock = core.SystemClock{}
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	transport := deps.Transport
	if transport == nil {
		transport = &http.Transport{
			Proxy:                 nil, // a proxy would dial on our behalf, past the guard
			DialContext:           m.policy.Dialer(cfg.Timeout).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          256,
			MaxIdleConnsPerHost:   8,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: cfg.Timeout,
		}
	}
	m.client = &http.Client{
		Transport: transport,
		Timeout:   cfg.Timeout,
		// A redirect is a failed attempt: following it would let a receiver steer the
		// hub's signed request to an address it never registered.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return m, nil
}

// Name implements core.Module.
func (m *Module) Name() string { return "webhooks" }

// StepKinds implements core.StepKindProvider: the webhook step.
func (m *Module) StepKinds() []core.StepKind { return []core.StepKind{&stepKind{m: m}} }

// errNoStore is returned by every operation of a module built without a store.
var errNoStore = fmt.Errorf("webhooks: built without storage (rules check only): %w", core.ErrClosed)

func (m *Module) view(ctx context.Context, fn func(tx Tx) error) error {
	if m.store == nil {
		return errNoStore
	}
	return m.store.View(ctx, fn)
}

func (m *Module) update(ctx context.Context, fn func(tx Tx) error) error {
	if m.store == nil {
		return errNoStore
	}
	return m.store.Update(ctx, fn)
}

// Start implements core.Worker: fan-out and delivery run until Stop.
func (m *Module) Start(ctx context.Context) error {
	if m.store == nil {
		return nil
	}
	m.runMu.Lock()
	defer m.runMu.Unlock()
	if m.cancel != nil {
		return fmt.Errorf("webhooks: already started")
	}
	var runCtx context.Context
	runCtx, m.cancel = context.WithCancel(context.WithoutCancel(ctx))
	m.done = make(chan struct{})
	go func() { defer close(m.done); m.Run(runCtx) }()
	return nil
}

// Stop implements core.Worker: it ends the worker and waits for the requests in flight to be
// recorded, until ctx ends. A message whose outcome was not recorded is sent again, with the
// same webhook-id, when its lease runs out.
func (m *Module) Stop(ctx context.Context) error {
	m.runMu.Lock()
	cancel, done := m.cancel, m.done
	m.cancel, m.done = nil, nil
	m.runMu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("webhook delivery did not stop: %w", ctx.Err())
	}
}

// Notify wakes the worker: new events or messages are waiting.
func (m *Module) Notify() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Run fans out events and delivers messages until ctx is cancelled, then waits for the
// requests in flight and returns the messages still waiting to the store. Start runs it in
// the background; tests and the benchmark may drive FanOut and DeliverDue themselves
// instead. Requests run alongside the loop: a request that ends wakes it to start the next.
func (m *Module) Run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	defer func() {
		m.disp.wg.Wait()
		m.releaseQueued(context.WithoutCancel(ctx))
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-m.wake:
		}
		busy := false
		if n, err := m.FanOut(ctx); err != nil {
			m.log.Error("webhook fan-out", "err", err)
		} else if n > 0 {
			busy = true
		}
		m.pump(ctx)
		if n, err := m.claim(ctx, m.clock.Now().UTC()); err != nil && ctx.Err() == nil {
			m.log.Error("webhook delivery", "err", err)
		} else if n > 0 {
			busy = true
			m.pump(ctx)
		}
		wait := pollInterval
		m.disp.mu.Lock()
		if at := m.disp.wakeAt; !at.IsZero() {
			wait = min(wait, max(at.Sub(m.clock.Now()), time.Millisecond))
		}
		m.disp.mu.Unlock()
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

// newID returns prefix + 16 hex digits of seq (so ids sort by creation) + 8 random hex digits
// (so ids from different files differ).
func newID(prefix string, seq uint64) string {
	var r [4]byte
	_, _ = rand.Read(r[:])
	return fmt.Sprintf("%s%016x%s", prefix, seq, hex.EncodeToString(r[:]))
}

var (
	_ core.Module           = (*Module)(nil)
	_ core.Worker           = (*Module)(nil)
	_ core.StepKindProvider = (*Module)(nil)
)
