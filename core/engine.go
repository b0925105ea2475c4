package core

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
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
	// IngestHeld reports an ingestion that waited d for room in a lane (backpressure);
	// timedOut is true when the wait ran out and its runs were stored queued.
	IngestHeld(tenant string, d time.Duration, timedOut bool)
}

type nopObserver struct{}

func (nopObserver) EventsAccepted(string, int, int)                {}
func (nopObserver) RunFinished(string, string, RunStatus)          {}
func (nopObserver) StepFinished(string, StepStatus, time.Duration) {}
func (nopObserver) IngestHeld(string, time.Duration, bool)         {}

// EngineConfig tunes run execution: the `engine` section of the configuration.
type EngineConfig struct {
	// Workers is how many runs execute at once (default 32).
	Workers int `koanf:"workers"`
	// LeaseTTL is how long a leased run stays claimed without a heartbeat (default 60s).
	LeaseTTL time.Duration `koanf:"lease_ttl"`
	// TenantConcurrency caps the steps one tenant runs at once, so that one tenant's backlog
	// cannot take every worker (default 0: half the workers, at least 1).
	TenantConcurrency int `koanf:"tenant_concurrency"`
	// MaxHeld bounds the runs this process keeps in memory, waiting for a lane or running
	// (default 0: 16 per worker). Past it, due runs stay in the store.
	MaxHeld int `koanf:"max_held"`
	// MaxQueuedPerTenant bounds a tenant's unfinished runs (queued, retrying or running);
	// ingestion past it answers 429 with Retry-After instead of growing the queue without
	// bound (default 100000).
	MaxQueuedPerTenant int `koanf:"max_queued_per_tenant"`
	// LaneBacklog bounds the runs one tenant keeps waiting for one lane (a connector, say);
	// more go back to the store, due when the lane is expected to have room, without
	// counting an attempt (default 0: 4 × the lane's capacity, at least 16).
	LaneBacklog int `koanf:"lane_backlog"`
	// BackpressureWait is how long an ingestion from outside the hub waits, before its 202,
	// for room in a lane its runs start in when that lane's backlog for the tenant is full
	// (default 250ms; 0: never waits). Producers that wait for their answer are slowed to the
	// pace the hub delivers at instead of growing a backlog; past the wait the runs are
	// stored queued, as durable as ever. Only the tenant's ingestions into that lane wait.
	// Unlike the other fields, zero in an EngineConfig built by hand means no wait.
	BackpressureWait time.Duration `koanf:"backpressure_wait"`
}

// DefaultEngineConfig returns the engine's defaults.
func DefaultEngineConfig() EngineConfig {
	return EngineConfig{Workers: 64, LeaseTTL: 60 * time.Second, MaxQueuedPerTenant: 100000, BackpressureWait: 250 * time.Millisecond}
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
	if c.TenantConcurrency < 0 || c.TenantConcurrency > c.Workers {
		errs = append(errs, Invalid("tenant_concurrency", "must be between 0 and workers (got %d)", c.TenantConcurrency))
	}
	if c.MaxQueuedPerTenant < 1 {
		errs = append(errs, Invalid("max_queued_per_tenant", "must be at least 1 (got %d)", c.MaxQueuedPerTenant))
	}
	if c.MaxHeld < 0 {
		errs = append(errs, Invalid("max_held", "must not be negative (got %d)", c.MaxHeld))
	}
	if c.LaneBacklog < 0 {
		errs = append(errs, Invalid("lane_backlog", "must not be negative (got %d)", c.LaneBacklog))
	}
	if c.BackpressureWait < 0 || c.BackpressureWait > time.Minute {
		errs = append(errs, Invalid("backpressure_wait", "must be between 0 and 1m (got %s)", c.BackpressureWait))
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
	// Tenants is the registry of tenants at run time: each tenant that is not suspended
	// receives schedule-triggered events, a suspended tenant's runs wait, and a tenant's
	// limits.max_queued_runs replaces Config.MaxQueuedPerTenant. Nil: no schedules fire.
	Tenants TenantDirectory
	// Admission, when set, is asked before events from outside the hub are stored (a
	// tenant's ingestion rate, a suspended tenant); schedule events skip it.
	Admission Admission
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

	kick chan struct{}
	stop chan struct{}
	// jobs hands a step to an idle worker goroutine (see worker).
	jobs    chan job
	started atomic.Bool
	stopped atomic.Bool
	wg      sync.WaitGroup
	// runCtx is cancelled when draining runs out of time.
	runCtx    context.Context
	runCancel context.CancelFunc

	// sched holds the runs this process leased, waiting for a lane or executing; held maps
	// tenant\0run id to each of them (for heartbeats and draining) and reserved counts the
	// slots Ingest claimed for runs it is handing off. All three are guarded by sched.mu.
	sched    *scheduler
	held     map[string]*execution
	reserved int
	// drained is closed once held is empty, after Drain began.
	drained chan struct{}
	// backlog counts each tenant's unfinished runs, for back-pressure at ingestion.
	backlog *backlog
	// firstLanes caches each rule's first lane (rule id → lane key).
	firstLanes sync.Map
	// unavailable holds the last storage failure that refused ingestion, until an accept
	// succeeds again; Health reports it.
	unavailable atomic.Pointer[error]
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
	if opts.Config.MaxQueuedPerTenant == 0 {
		opts.Config.MaxQueuedPerTenant = def.MaxQueuedPerTenant
	}
	if err := opts.Config.Validate(); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	if opts.Config.TenantConcurrency == 0 {
		opts.Config.TenantConcurrency = max(1, opts.Config.Workers/2)
	}
	if opts.Config.MaxHeld == 0 {
		opts.Config.MaxHeld = 16 * opts.Config.Workers
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
		kick: make(chan struct{}, 1), stop: make(chan struct{}), jobs: make(chan job),
		sched: newScheduler(), held: map[string]*execution{}, backlog: newBacklog(),
	}
	e.runCtx, e.runCancel = context.WithCancel(context.Background())
	return e, nil
}

// Health reports why the engine cannot take events now: the storage failure that refused
// the last ingestion, until an ingestion succeeds again. /readyz shows it.
func (e *Engine) Health() error {
	if e.stopped.Load() {
		return ErrClosed
	}
	if p := e.unavailable.Load(); p != nil {
		return *p
	}
	return nil
}

// Rules returns the rule set.
func (e *Engine) Rules() Rules { return e.rules }

// Ingest validates events, matches them against the rules and stores them with their runs
// in one durable write. The returned error wraps ErrInvalid and names the event index when
// an event is malformed; nothing is stored then.
func (e *Engine) Ingest(ctx context.Context, tenant, idempotencyKey string, events []Event) (AcceptResult, error) {
	return e.ingest(ctx, tenant, idempotencyKey, events, true)
}

func (e *Engine) ingest(ctx context.Context, tenant, idempotencyKey string, events []Event, admit bool) (AcceptResult, error) {
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
	newRuns := 0
	for _, p := range pending {
		newRuns += len(p.RuleIDs)
	}
	if admit && e.opts.Admission != nil {
		if err := e.opts.Admission.AdmitEvents(tenant, len(events)); err != nil {
			return AcceptResult{}, err
		}
	}
	limit, name := e.maxQueued(tenant)
	if err := e.backlog.admit(tenant, newRuns, limit, name); err != nil {
		return AcceptResult{}, err
	}
	if admit {
		e.awaitRoom(ctx, tenant, pending)
	}
	req := AcceptRequest{Tenant: tenant, IdempotencyKey: idempotencyKey, Events: pending, Now: e.now()}
	// Runs this process has room for, in lanes that are not saturated, are leased to it in
	// the accepting transaction and go straight to the scheduler: no queue round trip, no
	// separate lease commit. The others are queued.
	lanes, slots := e.handoffLanes(tenant, pending)
	if slots > 0 && e.reserve(slots) {
		req.LeaseTTL, req.LeaseLanes = e.opts.Config.LeaseTTL, lanes
	} else {
		slots = 0
	}
	res, err := e.store.Accept(ctx, req)
	e.handoff(res.Leased, slots, err, acceptedEvents(tenant, req, res))
	if errors.Is(err, ErrUnavailable) {
		e.unavailable.Store(&err)
	} else if err == nil {
		e.unavailable.Store(nil)
	}
	if err != nil {
		return res, err
	}
	if !res.Replayed {
		dups, runs := 0, 0
		for _, a := range res.Events {
			if a.Duplicate {
				dups++
			} else {
				runs += len(a.Runs)
			}
		}
		e.backlog.add(tenant, runs)
		e.obs.EventsAccepted(tenant, len(res.Events)-dups, dups)
		e.wake()
	}
	return res, nil
}

// maxQueued is tenant's limit of unfinished runs, its own or the engine's, and the name of
// the setting.
func (e *Engine) maxQueued(tenant string) (int, string) {
	if e.opts.Tenants != nil {
		if t, ok := e.opts.Tenants.Tenant(tenant); ok && t.Limits.MaxQueuedRuns > 0 {
			return t.Limits.MaxQueuedRuns, "tenants[" + tenant + "].limits.max_queued_runs"
		}
	}
	return e.opts.Config.MaxQueuedPerTenant, "engine.max_queued_per_tenant"
}

// suspended reports whether tenant's runs must wait: it is suspended.
func (e *Engine) suspended(tenant string) bool {
	if e.opts.Tenants == nil {
		return false
	}
	t, ok := e.opts.Tenants.Tenant(tenant)
	return ok && t.Suspended
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
	lanes := make([]string, len(ids))
	for i, id := range ids {
		lanes[i] = e.firstLane(id)
	}
	return Pending{Event: ev, RuleIDs: ids, Lanes: lanes}, nil
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
// heartbeat, the lease reaper and the scheduler of cron rules. It returns at once.
func (e *Engine) Start(ctx context.Context) error {
	// bbolt holds an exclusive file lock, so no other process can own these leases.
	n, err := e.store.RecoverLeases(ctx, e.now())
	if err != nil {
		return fmt.Errorf("recovering leased runs: %w", err)
	}
	if err := e.resyncBacklog(ctx); err != nil {
		return err
	}
	if n > 0 {
		e.log.Info("recovered runs left running by the previous process", "runs", n)
	}
	e.started.Store(true)
	e.wg.Add(4)
	go e.dispatch()
	go e.heartbeat()
	go e.reap()
	go e.schedule()
	return nil
}

// Drain stops leasing new runs and returns waiting ones to the queue, waits for running
// steps until ctx is done, then cancels the rest; runs cancelled mid-step go back to the
// queue with their attempt given back. The engine cannot be restarted.
func (e *Engine) Drain(ctx context.Context) error {
	if e.stopped.Swap(true) {
		return nil
	}
	close(e.stop)
	e.sched.mu.Lock()
	waiting := e.sched.drainWaiting()
	for _, x := range waiting {
		e.forget(x)
	}
	done := e.idleLocked()
	e.sched.mu.Unlock()
	var errs []error
	if len(waiting) > 0 {
		errs = append(errs, e.store.Release(context.Background(), runsOf(waiting), e.now()))
	}
	select {
	case <-done:
	case <-ctx.Done():
		e.runCancel()
		<-done
	}
	e.wg.Wait()
	return errors.Join(errs...)
}

// idleLocked returns a channel closed once no run is held.
func (e *Engine) idleLocked() <-chan struct{} {
	if e.drained == nil {
		e.drained = make(chan struct{})
		if len(e.held) == 0 {
			close(e.drained)
		}
	}
	return e.drained
}

func runsOf(xs []*execution) []Run {
	out := make([]Run, len(xs))
	for i, x := range xs {
		out[i] = x.run
	}
	return out
}

func heldKey(r *Run) string { return r.Tenant + "\x00" + r.ID }

// reserve claims n handoff slots for Ingest when the scheduler has room.
func (e *Engine) reserve(n int) bool {
	e.sched.mu.Lock()
	defer e.sched.mu.Unlock()
	if !e.started.Load() || e.stopped.Load() || len(e.held)+e.reserved+n > e.opts.Config.MaxHeld {
		return false
	}
	e.reserved += n
	return true
}

// handoff takes the runs Accept leased to this process and releases the rest of the
// reservation.
func (e *Engine) handoff(runs []Run, reserved int, acceptErr error, events map[uint64]*Event) {
	if reserved == 0 {
		return
	}
	xs := make([]*execution, 0, len(runs))
	for i := range runs {
		if x := e.prepare(runs[i]); x != nil {
			// The trigger is in memory already: the run need not read it back.
			if ev := events[runs[i].EventSeq]; ev != nil {
				x.event, x.eventLoaded = *ev, true
			}
			xs = append(xs, x)
		}
	}
	e.sched.mu.Lock()
	e.reserved -= reserved
	e.sched.mu.Unlock()
	e.admit(xs...)
	if acceptErr == nil && len(runs) < reserved {
		e.wake() // duplicates and replays left slots free
	}
}

// acceptedEvents maps the sequence numbers of the events Accept stored to the events, as the
// store keeps them (tenant, sequence, reception time).
func acceptedEvents(tenant string, req AcceptRequest, res AcceptResult) map[uint64]*Event {
	if len(res.Leased) == 0 || len(res.Events) != len(req.Events) {
		return nil
	}
	out := make(map[uint64]*Event, len(res.Events))
	for i, a := range res.Events {
		if a.Duplicate {
			continue
		}
		ev := req.Events[i].Event
		ev.Tenant, ev.Seq, ev.ReceivedAt = tenant, a.Seq, req.Now
		if len(ev.Data) > 0 {
			// As stored: encoding/json writes a RawMessage compacted.
			var b bytes.Buffer
			if json.Compact(&b, ev.Data) == nil {
				ev.Data = b.Bytes()
			}
		}
		out[a.Seq] = &ev
	}
	return out
}

// prepare turns a leased run into an execution: its rule's plan and the steps its ledger
// records as done. A run whose rule is gone is finished at once, dead.
func (e *Engine) prepare(run Run) *execution {
	plan, ok := e.rules.Plan(run.RuleID)
	if !ok {
		e.finish(&run, ending{status: RunDead, err: fmt.Errorf("rule %q is no longer loaded", run.RuleID), class: ClassPermanent})
		return nil
	}
	x := &execution{run: run, plan: plan, done: map[string]StepRecord{}, attempts: map[string]int{}}
	for _, rec := range run.Steps {
		x.attempts[rec.StepID] = rec.Attempts
		if rec.Done() {
			x.done[rec.StepID] = rec
		}
	}
	return x
}

// laneOf is the lane of a step: its kind and, for targeted kinds, its target. mu is held.
func (e *Engine) laneOf(sp *StepPlan) *lane {
	key := laneKey(sp)
	l := e.sched.lanes[key]
	if l == nil {
		l = &lane{key: key}
		if k, ok := e.kinds.Lookup(sp.Kind); ok {
			if c, ok := k.(Capacitor); ok {
				l.capacity = c.Capacity(sp.Target)
			}
		}
		e.sched.lanes[key] = l
	}
	return l
}

// admit queues runs for their next step and starts what can start. While draining, runs go
// back to the queue instead.
func (e *Engine) admit(xs ...*execution) {
	if len(xs) == 0 {
		return
	}
	var finished, giveBack []*execution
	e.sched.mu.Lock()
	for _, x := range xs {
		if e.stopped.Load() {
			x.next = x.nextStep()
			if x.next >= 0 {
				x.run.Lane = e.laneOf(&x.plan.Steps[x.next]).key
			}
			giveBack = append(giveBack, x)
			e.forget(x)
			continue
		}
		if _, ok := e.held[heldKey(&x.run)]; !ok {
			e.held[heldKey(&x.run)] = x
		}
		x.next = x.nextStep()
		if x.next < 0 {
			finished = append(finished, x)
			continue
		}
		e.sched.push(x, e.laneOf(&x.plan.Steps[x.next]), 0)
	}
	e.sched.mu.Unlock()
	if len(giveBack) > 0 {
		if err := e.store.Release(context.Background(), runsOf(giveBack), e.now()); err != nil {
			e.log.Error("returning runs to the queue", "runs", len(giveBack), "err", err)
		}
	}
	for _, x := range finished {
		// Every step was already done (a replay after the final write).
		e.finish(&x.run, ending{status: RunSucceeded})
		e.release(x)
	}
	e.pump()
}

// laneLimit is how many runs of one tenant may wait for lane l before the lane counts as
// saturated for that tenant: leasing then leaves the tenant's further runs for l in the
// store, where they cost no memory and stand in no other lane's way.
func (e *Engine) laneLimit(l *lane) int {
	if l.capacity == 0 {
		return 0 // a lane without a capacity waits only for workers
	}
	if e.opts.Config.LaneBacklog > 0 {
		return e.opts.Config.LaneBacklog
	}
	return max(16, 4*l.capacity)
}

// saturated reports whether tenant's runs for lane should stay in the store for now.
func (e *Engine) saturated(tenant, laneKey string) bool {
	e.sched.mu.Lock()
	defer e.sched.mu.Unlock()
	return e.saturatedLocked(tenant, laneKey)
}

func (e *Engine) saturatedLocked(tenant, laneKey string) bool {
	return e.suspended(tenant) || e.laneFullLocked(tenant, laneKey)
}

// laneFullLocked reports whether tenant's backlog for lane is at its limit.
func (e *Engine) laneFullLocked(tenant, laneKey string) bool {
	l := e.sched.lanes[laneKey]
	if l == nil {
		return false
	}
	limit := e.laneLimit(l)
	return limit > 0 && e.sched.waitingFor(tenant, laneKey) >= limit
}

// awaitRoom holds an ingestion from outside the hub, up to BackpressureWait, while a lane
// its runs start in has a full backlog for tenant: the backpressure a producer waiting for
// its 202 feels when the hub cannot deliver as fast as it accepts. A suspended tenant does
// not wait; its runs are stored queued at once.
func (e *Engine) awaitRoom(ctx context.Context, tenant string, pending []Pending) {
	wait := e.opts.Config.BackpressureWait
	if wait <= 0 || e.suspended(tenant) {
		return
	}
	var timer *time.Timer
	var start time.Time
	for {
		e.sched.mu.Lock()
		full := e.fullLaneLocked(tenant, pending)
		if full == "" || !e.started.Load() || e.stopped.Load() {
			e.sched.mu.Unlock()
			if timer != nil {
				e.obs.IngestHeld(tenant, time.Since(start), false)
			}
			return
		}
		room := e.sched.awaitRoom(tenant, full)
		e.sched.mu.Unlock()
		if timer == nil {
			start = time.Now()
			timer = time.NewTimer(wait)
			defer timer.Stop()
		}
		select {
		case <-room:
			continue
		case <-timer.C:
		case <-ctx.Done():
		case <-e.stop:
		}
		e.sched.mu.Lock()
		e.sched.leaveRoom(tenant, full, room)
		e.sched.mu.Unlock()
		e.obs.IngestHeld(tenant, time.Since(start), true)
		return
	}
}

// fullLaneLocked is a lane of pending's runs whose backlog for tenant is full, or "".
func (e *Engine) fullLaneLocked(tenant string, pending []Pending) string {
	for _, p := range pending {
		for _, l := range p.Lanes {
			if e.laneFullLocked(tenant, l) {
				return l
			}
		}
	}
	return ""
}

// handoffLanes is the lanes of pending's runs that are not saturated for tenant, and how
// many runs they hold.
func (e *Engine) handoffLanes(tenant string, pending []Pending) (map[string]bool, int) {
	e.sched.mu.Lock()
	defer e.sched.mu.Unlock()
	lanes, n := map[string]bool{}, 0
	for _, p := range pending {
		for _, lane := range p.Lanes {
			if !e.saturatedLocked(tenant, lane) {
				lanes[lane] = true
				n++
			}
		}
	}
	return lanes, n
}

// firstLane is the lane of a rule's first step.
func (e *Engine) firstLane(ruleID string) string {
	if l, ok := e.firstLanes.Load(ruleID); ok {
		return l.(string)
	}
	plan, ok := e.rules.Plan(ruleID)
	if !ok || len(plan.Steps) == 0 {
		return ""
	}
	key := laneKey(&plan.Steps[0])
	e.firstLanes.Store(ruleID, key)
	return key
}

func laneKey(sp *StepPlan) string {
	if sp.Target != "" {
		return sp.Kind + ":" + sp.Target
	}
	return sp.Kind
}

// forget drops x from the held set; mu is held.
func (e *Engine) forget(x *execution) {
	delete(e.held, heldKey(&x.run))
	if len(e.held) == 0 && e.drained != nil {
		select {
		case <-e.drained:
		default:
			close(e.drained)
		}
	}
}

// release ends x's stay in memory.
func (e *Engine) release(x *execution) {
	e.sched.mu.Lock()
	e.forget(x)
	e.sched.mu.Unlock()
	e.wake()
}

// pump starts waiting steps while workers are free.
func (e *Engine) pump() {
	e.sched.mu.Lock()
	defer e.sched.mu.Unlock()
	for !e.stopped.Load() && e.sched.executing < e.opts.Config.Workers {
		x, l := e.sched.pop(e.opts.Config.TenantConcurrency)
		if x == nil {
			return
		}
		select {
		case e.jobs <- job{x, l}:
		default:
			go e.worker(job{x, l})
		}
	}
}

// job is a step to run in lane l.
type job struct {
	x *execution
	l *lane
}

// workerIdle is how long a worker goroutine waits for another step before it exits.
const workerIdle = 10 * time.Second

// worker runs j, then the steps pump hands it, until none comes for workerIdle. A step
// runs deep (the WebAssembly runtime, JSON, HTTP), so a fresh goroutine per step grew its
// stack by copying, again and again: 4% of the pipeline bench's CPU. A worker's stack stays
// grown. At most Workers steps run at once, so there are at most as many workers.
func (e *Engine) worker(j job) {
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		e.work(j.x, j.l)
		idle.Reset(workerIdle)
		select {
		case j = <-e.jobs:
		case <-idle.C:
			return
		case <-e.stop:
			return
		}
	}
}

// work runs x's next step in lane l, then queues x for the step after it.
func (e *Engine) work(x *execution, l *lane) {
	released := false
	x.executed = func() {
		// The lane frees as soon as the step has run (or its kind says it holds nothing of
		// the lane's resource any more: StepCall.Released); its commit needs none.
		if released {
			return
		}
		e.sched.mu.Lock()
		e.sched.done(x.run.Tenant, l)
		e.sched.mu.Unlock()
		released = true
		e.pump()
	}
	more := e.execute(e.runCtx, x)
	if !released {
		x.executed()
	}
	if more {
		// While draining, admit returns the run to the queue instead.
		e.admit(x)
		return
	}
	e.release(x)
	e.pump()
}

// dispatch leases due runs from the store while the scheduler has room.
func (e *Engine) dispatch() {
	defer e.wg.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-e.stop:
			return
		default:
		}
		e.sched.mu.Lock()
		room := e.opts.Config.MaxHeld - len(e.held) - e.reserved
		e.sched.mu.Unlock()
		if room > 0 {
			runs, err := e.store.Lease(context.Background(), e.now(), min(room, leaseBatch), e.opts.Config.LeaseTTL, e.saturated)
			if err != nil {
				e.log.Error("leasing runs", "err", err)
			}
			xs := make([]*execution, 0, len(runs))
			for i := range runs {
				if x := e.prepare(runs[i]); x != nil {
					xs = append(xs, x)
				}
			}
			e.admit(xs...)
			if len(runs) == min(room, leaseBatch) {
				continue
			}
		}
		wait := e.opts.PollInterval
		if room > 0 {
			if due, ok, err := e.store.NextDue(context.Background(), e.saturated); err == nil && ok {
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

// leaseBatch bounds one Lease call, so that one commit does not grow without bound.
const leaseBatch = 256

// heartbeat extends the leases of every held run, so long waits and long steps keep them.
func (e *Engine) heartbeat() {
	defer e.wg.Done()
	t := time.NewTicker(e.opts.Config.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
		e.sched.mu.Lock()
		// Only the keys: a held run's other fields belong to the worker executing it.
		runs := make([]Run, 0, len(e.held))
		for k := range e.held {
			tenant, id, _ := strings.Cut(k, "\x00")
			runs = append(runs, Run{Tenant: tenant, ID: id})
		}
		e.sched.mu.Unlock()
		if len(runs) == 0 {
			continue
		}
		if err := e.store.ExtendLeases(context.Background(), runs, e.now().Add(e.opts.Config.LeaseTTL)); err != nil {
			e.log.Warn("extending leases", "runs", len(runs), "err", err)
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
			if err := e.resyncBacklog(context.Background()); err != nil {
				e.log.Error("counting unfinished runs", "err", err)
			}
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
		var tenants []string
		if e.opts.Tenants != nil {
			tenants = e.opts.Tenants.TenantIDs()
		}
		for _, s := range due {
			for _, tenant := range tenants {
				if e.suspended(tenant) {
					continue
				}
				data, _ := json.Marshal(map[string]string{"rule": s.RuleID, "scheduled_time": next.UTC().Format(time.RFC3339)})
				t := next.UTC()
				ev := Event{ID: s.RuleID + "@" + t.Format(time.RFC3339), Source: ScheduleSource, Type: ScheduleEventType,
					SpecVersion: SpecVersion, Time: &t, DataContentType: "application/json", Data: data}
				if _, err := e.ingest(context.Background(), tenant, "", []Event{ev}, false); err != nil {
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
	// The bytes of fmt's "%s/%s/%d", appended by hand: this runs for every step.
	b := make([]byte, 0, len(runID)+len(stepID)+24)
	b = append(append(append(append(b, runID...), '/'), stepID...), '/')
	h := sha256.Sum256(strconv.AppendInt(b, int64(i), 10))
	var id [4 + 24]byte
	copy(id[:], "evt_")
	hex.Encode(id[4:], h[:12])
	return string(id[:])
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
		e.backlog.add(tenant, 1)
		e.wake()
	}
	return run, err
}

// resyncBacklog recounts the unfinished runs from the store, correcting any drift of the
// running counts (events deduplicated inside a step's commit, runs discarded).
func (e *Engine) resyncBacklog(ctx context.Context) error {
	counts, err := e.store.Backlog(ctx)
	if err != nil {
		return fmt.Errorf("counting unfinished runs: %w", err)
	}
	e.backlog.reset(counts, e.now())
	return nil
}
