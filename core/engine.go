package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Observer receives the engine's measurements; the Prometheus adapter implements it.
// Methods must be cheap and safe for concurrent use.
type Observer interface {
	EventsAccepted(tenant string, accepted, duplicates int)
	RunFinished(tenant, rule string, status RunStatus)
	StepFinished(kind string, status StepStatus, d time.Duration)
}

type nopObserver struct{}

func (nopObserver) EventsAccepted(string, int, int)                {}
func (nopObserver) RunFinished(string, string, RunStatus)          {}
func (nopObserver) StepFinished(string, StepStatus, time.Duration) {}

// EngineConfig tunes run execution: the `engine` section of the configuration.
type EngineConfig struct {
	// Workers is how many runs execute at once (default 32).
	Workers int `koanf:"workers"`
	// LeaseTTL is how long a leased run stays claimed without a heartbeat (default 60s).
	LeaseTTL time.Duration `koanf:"lease_ttl"`
}

// DefaultEngineConfig returns the engine's defaults.
func DefaultEngineConfig() EngineConfig {
	return EngineConfig{Workers: 32, LeaseTTL: 60 * time.Second}
}

// Validate checks the settings; errors name the field.
func (c EngineConfig) Validate() error {
	var errs []error
	if c.Workers < 1 || c.Workers > 1024 {
		errs = append(errs, Invalid("workers", "must be between 1 and 1024 (got %d)", c.Workers))
	}
	if c.LeaseTTL < time.Second {
		errs = append(errs, Invalid("lease_ttl", "must be at least 1s (got %s)", c.LeaseTTL))
	}
	return errors.Join(errs...)
}

// EngineOptions configures an Engine. Store and Rules are required.
type EngineOptions struct {
	// Config tunes execution; zero fields take DefaultEngineConfig's values.
	Config EngineConfig
	Store  Store
	Rules  Rules
	// Kinds executes steps; the rules must have been loaded with the same registry. Nil means
	// the builtin kinds only.
	Kinds *StepKinds
	// Tenants receive schedule-triggered events.
	Tenants []string
	// PollInterval bounds how long an idle dispatcher sleeps before looking at the queue
	// again (default 1s); new events wake it at once.
	PollInterval time.Duration
	Logger       *slog.Logger
	Observer     Observer
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Engine matches events to rules, stores them durably and executes the resulting runs.
type Engine struct {
	store Store
	rules Rules
	kinds *StepKinds
	opts  EngineOptions
	log   *slog.Logger
	obs   Observer
	now   func() time.Time

	kick    chan struct{}
	stop    chan struct{}
	stopped atomic.Bool
	wg      sync.WaitGroup
	runWG   sync.WaitGroup
	// runCtx is cancelled when draining runs out of time.
	runCtx    context.Context
	runCancel context.CancelFunc
	mu        sync.Mutex
	active    map[string]Run
}

// NewEngine returns an engine; call Start to begin executing runs.
func NewEngine(opts EngineOptions) (*Engine, error) {
	if opts.Store == nil || opts.Rules == nil {
		return nil, errors.New("engine: Store and Rules are required")
	}
	def := DefaultEngineConfig()
	if opts.Config.Workers == 0 {
		opts.Config.Workers = def.Workers
	}
	if opts.Config.LeaseTTL == 0 {
		opts.Config.LeaseTTL = def.LeaseTTL
	}
	if err := opts.Config.Validate(); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Observer == nil {
		opts.Observer = nopObserver{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Kinds == nil {
		kinds, err := NewStepKinds(BuiltinStepKinds(opts.Logger)...)
		if err != nil {
			return nil, err
		}
		opts.Kinds = kinds
	}
	e := &Engine{
		store: opts.Store, rules: opts.Rules, kinds: opts.Kinds, opts: opts, log: opts.Logger, obs: opts.Observer, now: opts.Now,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), active: map[string]Run{},
	}
	e.runCtx, e.runCancel = context.WithCancel(context.Background())
	return e, nil
}

// Rules returns the rule set.
func (e *Engine) Rules() Rules { return e.rules }

// Ingest validates events, matches them against the rules and stores them with their runs
// in one durable write. The returned error wraps ErrInvalid and names the event index when
// an event is malformed; nothing is stored then.
func (e *Engine) Ingest(ctx context.Context, tenant, idempotencyKey string, events []Event) (AcceptResult, error) {
	if e.stopped.Load() {
		return AcceptResult{}, ErrClosed
	}
	pending := make([]Pending, len(events))
	for i := range events {
		p, err := e.pending(events[i])
		if err != nil {
			if len(events) > 1 {
				var fe *FieldError
				if errors.As(err, &fe) {
					return AcceptResult{}, &FieldError{Path: joinPath(fmt.Sprintf("[%d]", i), fe.Path), Reason: fe.Reason}
				}
			}
			return AcceptResult{}, err
		}
		pending[i] = p
	}
	res, err := e.store.Accept(ctx, AcceptRequest{Tenant: tenant, IdempotencyKey: idempotencyKey, Events: pending, Now: e.now()})
	if err != nil {
		return res, err
	}
	if !res.Replayed {
		dups := 0
		for _, a := range res.Events {
			if a.Duplicate {
				dups++
			}
		}
		e.obs.EventsAccepted(tenant, len(res.Events)-dups, dups)
		e.wake()
	}
	return res, nil
}

func joinPath(a, b string) string {
	if b == "" {
		return a
	}
	if b[0] == '[' {
		return a + b
	}
	return a + "." + b
}

// pending validates ev and matches it against the rules.
func (e *Engine) pending(ev Event) (Pending, error) {
	if err := ev.Validate(); err != nil {
		return Pending{}, err
	}
	ids, err := e.Rules().Match(&ev)
	if err != nil {
		e.log.Warn("rule condition failed; treated as no match", "event", ev.ID, "type", ev.Type, "err", err)
	}
	return Pending{Event: ev, RuleIDs: ids}, nil
}

// Publish puts events into the pipeline on behalf of tenant, from outside any run (API
// handlers, inbound webhooks, lifecycle events). Events without an id get a random one;
// without specversion, "1.0".
func (e *Engine) Publish(ctx context.Context, tenant string, events ...Event) ([]Accepted, error) {
	for i := range events {
		fillEvent(&events[i], newID(), "aquahub", e.now())
	}
	res, err := e.Ingest(ctx, tenant, "", events)
	return res.Events, err
}

func fillEvent(ev *Event, id, source string, now time.Time) {
	if ev.ID == "" {
		ev.ID = id
	}
	if ev.Source == "" {
		ev.Source = source
	}
	if ev.SpecVersion == "" {
		ev.SpecVersion = SpecVersion
	}
	if ev.Time == nil {
		t := now.UTC()
		ev.Time = &t
	}
	if ev.DataContentType == "" && len(ev.Data) > 0 {
		ev.DataContentType = "application/json"
	}
}

func (e *Engine) wake() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// Start recovers runs left leased by a previous process and starts the dispatcher, the
// lease reaper and the scheduler. It returns at once.
func (e *Engine) Start(ctx context.Context) error {
	// bbolt holds an exclusive file lock, so no other process can own these leases.
	n, err := e.store.RecoverLeases(ctx, e.now())
	if err != nil {
		return fmt.Errorf("recovering leased runs: %w", err)
	}
	if n > 0 {
		e.log.Info("recovered runs left running by the previous process", "runs", n)
	}
	e.wg.Add(3)
	go e.dispatch()
	go e.reap()
	go e.schedule()
	return nil
}

// Drain stops leasing new runs, waits for running ones until ctx is done, then cancels the
// rest and returns their leases to the queue. The engine cannot be restarted.
func (e *Engine) Drain(ctx context.Context) error {
	if e.stopped.Swap(true) {
		return nil
	}
	close(e.stop)
	e.wg.Wait()
	done := make(chan struct{})
	go func() { e.runWG.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	e.runCancel()
	<-done
	// Runs whose steps were cancelled have already finished as retrying; anything still
	// marked active lost its chance to finish and goes back to the queue untouched.
	e.mu.Lock()
	var left []Run
	for _, r := range e.active {
		left = append(left, r)
	}
	e.mu.Unlock()
	if len(left) > 0 {
		return e.store.Release(context.Background(), left, e.now())
	}
	return nil
}

func (e *Engine) dispatch() {
	defer e.wg.Done()
	sem := make(chan struct{}, e.opts.Config.Workers)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-e.stop:
			return
		default:
		}
		free := cap(sem) - len(sem)
		if free > 0 {
			runs, err := e.store.Lease(context.Background(), e.now(), free, e.opts.Config.LeaseTTL)
			if err != nil {
				e.log.Error("leasing runs", "err", err)
			}
			for _, r := range runs {
				sem <- struct{}{}
				e.runWG.Add(1)
				e.mu.Lock()
				e.active[r.Tenant+"\x00"+r.ID] = r
				e.mu.Unlock()
				go func(r Run) {
					defer e.runWG.Done()
					e.execute(e.runCtx, r)
					e.mu.Lock()
					delete(e.active, r.Tenant+"\x00"+r.ID)
					e.mu.Unlock()
					<-sem
					e.wake()
				}(r)
			}
			if len(runs) == free {
				continue
			}
		}
		wait := e.opts.PollInterval
		if free > 0 {
			if due, ok, err := e.store.NextDue(context.Background()); err == nil && ok {
				wait = min(wait, max(due.Sub(e.now()), time.Millisecond))
			}
		}
		timer.Reset(wait)
		select {
		case <-e.stop:
			return
		case <-e.kick:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

func (e *Engine) reap() {
	defer e.wg.Done()
	t := time.NewTicker(e.opts.Config.LeaseTTL / 2)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			if n, err := e.store.RequeueExpired(context.Background(), e.now()); err != nil {
				e.log.Error("re-queueing expired leases", "err", err)
			} else if n > 0 {
				e.log.Warn("re-queued runs whose lease expired", "runs", n)
				e.wake()
			}
		}
	}
}

// schedule publishes one "aquahub.schedule.fired" event per tenant at each activation of a
// schedule rule. The event id is the rule and the activation time, so a restart that fires
// the same activation again is deduplicated by the store.
func (e *Engine) schedule() {
	defer e.wg.Done()
	for {
		scheds := e.Rules().Schedules()
		now := e.now()
		var next time.Time
		var due []Schedule
		for _, s := range scheds {
			t := s.Next(now)
			switch {
			case t.IsZero():
			case next.IsZero() || t.Before(next):
				next, due = t, []Schedule{s}
			case t.Equal(next):
				due = append(due, s)
			}
		}
		wait := time.Minute
		if !next.IsZero() {
			wait = min(wait, next.Sub(now))
		}
		select {
		case <-e.stop:
			return
		case <-time.After(wait):
		}
		if next.IsZero() || e.now().Before(next) {
			continue
		}
		for _, s := range due {
			for _, tenant := range e.opts.Tenants {
				data, _ := json.Marshal(map[string]string{"rule": s.RuleID, "scheduled_time": next.UTC().Format(time.RFC3339)})
				t := next.UTC()
				ev := Event{ID: s.RuleID + "@" + t.Format(time.RFC3339), Source: ScheduleSource, Type: ScheduleEventType,
					SpecVersion: SpecVersion, Time: &t, DataContentType: "application/json", Data: data}
				if _, err := e.Ingest(context.Background(), tenant, "", []Event{ev}); err != nil {
					e.log.Error("publishing schedule event", "rule", s.RuleID, "tenant", tenant, "err", err)
				}
			}
		}
	}
}

// The event a schedule rule fires on.
const (
	ScheduleSource    = "aquahub/schedule"
	ScheduleEventType = "aquahub.schedule.fired"
)

// stableID derives an id from a run and step that is the same on every attempt.
func stableID(runID, stepID string, i int) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s/%s/%d", runID, stepID, i))
	return "evt_" + hex.EncodeToString(h[:12])
}

func newID() string {
	var b [12]byte
	if _, err := randRead(b[:]); err != nil {
		panic(err)
	}
	return "evt_" + hex.EncodeToString(b[:])
}

// Replay queues a dead run again; steps it finished are not repeated.
func (e *Engine) Replay(ctx context.Context, tenant, id string) (Run, error) {
	run, err := e.store.Replay(ctx, tenant, id, e.now())
	if err == nil {
		e.wake()
	}
	return run, err
}
