package content

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/google/uuid"
)

// Event types the content engine emits, with the seed's payloads.
const (
	EventStarted   = "content.generation.started"
	EventCompleted = "content.generation.completed"
	EventFailed    = "content.generation.failed"
	// EventSource is the CloudEvents source of those events.
	EventSource = "aquahub/content"
)

// Service is the content engine with state: it stores content, templates and batches, runs
// asynchronous requests and batches in the background, resumes unfinished work after a
// restart, and publishes content.generation.* events through an outbox, so that an event
// whose state was stored is published even if the process stops in between.
//
// The Module owns its lifecycle: start (publishes what the outbox holds, resumes pending
// work) → use → stop (ends background work; what is unfinished stays pending and resumes at
// the next start).
type Service struct {
	st    Store
	gen   *Generator
	pub   core.Publisher
	log   *slog.Logger
	now   func() time.Time
	slots chan struct{}

	bg     context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	active map[string]bool // tenant\x00batch id of batches being run

	// partners finds registered partners (Deps.Partners); nil without a registry.
	partners Partners

	gaugeMu sync.Mutex
	running int
	maxSeen int
}

// newService returns a service over st generating with gen (whose Templates it replaces
// with itself, so that a tenant's stored templates apply) and running at most maxConcurrent
// generations at once.
func newService(st Store, gen *Generator, pub core.Publisher, log *slog.Logger, now func() time.Time, maxConcurrent int) *Service {
	s := &Service{
		st: st, pub: pub, log: log, now: now,
		slots: make(chan struct{}, maxConcurrent), active: map[string]bool{},
	}
	g := *gen
	g.Templates, g.Now = s, now
	s.gen = &g
	s.bg, s.cancel = context.WithCancel(context.Background())
	return s
}

// Provider returns the provider in use.
func (s *Service) Provider() Provider { return s.gen.Provider }

// start publishes the events a previous process stored but did not publish, and resumes the
// asynchronous requests and batches it left unfinished. The resumed work runs in the
// background.
func (s *Service) start(ctx context.Context) error {
	if err := s.flushOutbox(ctx); err != nil {
		return err
	}
	var pend []Pending
	if err := s.st.View(ctx, func(tx ReadTx) error {
		var err error
		pend, err = tx.Pending()
		return err
	}); err != nil {
		return fmt.Errorf("reading pending work: %w", err)
	}
	for _, p := range pend {
		switch p.Kind {
		case WorkContent:
			if err := s.resumeContent(ctx, p); err != nil {
				return err
			}
		case WorkBatch:
			s.log.Info("resuming content batch", "tenant", p.Tenant, "batch", p.ID)
			s.startBatch(p.Tenant, p.ID)
		default:
			s.log.Warn("unknown pending content work", "tenant", p.Tenant, "id", p.ID, "kind", p.Kind)
		}
	}
	return nil
}

func (s *Service) resumeContent(ctx context.Context, p Pending) error {
	c, err := s.Content(ctx, p.Tenant, p.ID)
	if errors.Is(err, core.ErrNotFound) || (err == nil && (c.Status == StatusCompleted || c.Status == StatusFailed)) {
		return s.st.Update(ctx, func(tx Tx) error { return tx.DeletePending(p.Tenant, p.ID) })
	}
	if err != nil {
		return err
	}
	s.log.Info("resuming content generation", "tenant", p.Tenant, "content", p.ID)
	s.spawn(func(ctx context.Context) { _, _, _ = s.run(ctx, p.Tenant, &c, true) })
	return nil
}

// flushOutbox publishes the stored events in the order they happened, per tenant.
func (s *Service) flushOutbox(ctx context.Context) error {
	var out []OutboxEvent
	if err := s.st.View(ctx, func(tx ReadTx) error {
		var err error
		out, err = tx.Outbox()
		return err
	}); err != nil {
		return fmt.Errorf("reading the event outbox: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Tenant != b.Tenant {
			return a.Tenant < b.Tenant
		}
		if ta, tb := eventTime(a.Event), eventTime(b.Event); !ta.Equal(tb) {
			return ta.Before(tb)
		}
		// A coarse clock may stamp a generation's start and end alike.
		return a.Event.Type == EventStarted && b.Event.Type != EventStarted
	})
	for i := 0; i < len(out); {
		j := i
		var evs []core.Event
		for ; j < len(out) && out[j].Tenant == out[i].Tenant; j++ {
			evs = append(evs, out[j].Event)
		}
		s.log.Info("publishing stored content events", "tenant", out[i].Tenant, "events", len(evs))
		s.publish(ctx, out[i].Tenant, evs...)
		i = j
	}
	return nil
}

func eventTime(e core.Event) time.Time {
	if e.Time == nil {
		return time.Time{}
	}
	return *e.Time
}

// stop ends background work and waits for it until ctx ends. Interrupted work stays pending.
func (s *Service) stop(ctx context.Context) error {
	s.cancel()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("content generation did not stop: %w", ctx.Err())
	}
}

func (s *Service) spawn(fn func(ctx context.Context)) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn(s.bg)
	}()
}

// GenerateOptions modify one generation.
type GenerateOptions struct {
	// IdempotencyKey makes a repeated call return the stored content instead of generating
	// again (a completed generation), or generate again into the same record (a failed or
	// interrupted one).
	IdempotencyKey string
	// Emit, when set, receives the started and completed events instead of the Publisher
	// (the rule step returns them with its result so they are published exactly once).
	// Failure events always go to the Publisher.
	Emit func(evs ...core.Event)
}

// Generate runs one request synchronously and stores the result. On failure it returns the
// stored content (status failed, with findings) and a *GenerationError.
func (s *Service) Generate(ctx context.Context, tenant string, req Request, opts GenerateOptions) (Content, error) {
	if err := s.checkBudget(ctx, tenant); err != nil {
		return Content{}, err
	}
	// A rule step's retries belong to the engine, so its record is not resumed by start.
	c, done, err := s.prepare(ctx, tenant, req, opts.IdempotencyKey, opts.Emit == nil)
	if err != nil {
		return c, err
	}
	if done {
		// A repeat after a crash may have lost the first call's events; the same ids make
		// the repeat a duplicate if they were published.
		if opts.Emit != nil {
			opts.Emit(s.startedEvent(&c, c.CreatedAt), s.completedEvent(&c))
		}
		return c, nil
	}
	out, evs, err := s.run(ctx, tenant, &c, opts.Emit == nil)
	if opts.Emit != nil && len(evs) > 0 {
		opts.Emit(evs...)
	}
	return out, err
}

// GenerateAsync stores the request and runs it in the background; the returned content is
// pending. The work survives a restart.
func (s *Service) GenerateAsync(ctx context.Context, tenant string, req Request, opts GenerateOptions) (Content, error) {
	if err := s.checkBudget(ctx, tenant); err != nil {
		return Content{}, err
	}
	c, done, err := s.prepare(ctx, tenant, req, opts.IdempotencyKey, true)
	if err != nil || done {
		return c, err
	}
	work := c
	s.spawn(func(ctx context.Context) { _, _, _ = s.run(ctx, tenant, &work, true) })
	return c, nil
}

// prepare validates the request and creates (or, with an idempotency key, finds) the
// content record. done is true when a completed record was found.
func (s *Service) prepare(ctx context.Context, tenant string, req Request, key string, resumable bool) (Content, bool, error) {
	if err := req.Validate(""); err != nil {
		return Content{}, false, err
	}
	if err := s.checkPartner(ctx, tenant, "", &req); err != nil {
		return Content{}, false, err
	}
	if _, err := s.Template(ctx, tenant, req.Template); err != nil {
		if errors.Is(err, core.ErrNotFound) {
			return Content{}, false, core.Invalid("template", "no template %q", req.Template)
		}
		return Content{}, false, err
	}
	var c Content
	var done bool
	err := s.st.Update(ctx, func(tx Tx) error {
		done = false
		if key != "" {
			found, err := tx.ContentByIdempotencyKey(tenant, key)
			switch {
			case err == nil && found.Status == StatusCompleted:
				c, done = found, true
				return nil
			case err == nil:
				// A failed or interrupted attempt: generate again into the same record.
				c = found
				if c.Status == StatusFailed {
					c.RetryCount++
				}
				c.Request, c.Template, c.RequestID = req, req.Template, req.RequestID
				c.Status = StatusPending
				return create(tx, tenant, &c, resumable)
			case !errors.Is(err, core.ErrNotFound):
				return err
			}
		}
		now := s.now().UTC()
		c = Content{
			ID: NewContentID(), Status: StatusPending, Request: req, Template: req.Template, RequestID: req.RequestID,
			IdempotencyKey: key, CreatedAt: now, UpdatedAt: now, Findings: []Finding{}, Provider: s.gen.Provider.Name(),
		}
		return create(tx, tenant, &c, resumable)
	})
	if err != nil {
		return Content{}, false, err
	}
	return c, done, nil
}

// create stores a new or restarted content record with its idempotency key and, when
// resumable, a pending entry.
func create(tx Tx, tenant string, c *Content, resumable bool) error {
	if err := tx.PutContent(tenant, c); err != nil {
		return err
	}
	if c.IdempotencyKey != "" {
		if err := tx.PutIdempotencyKey(tenant, c.IdempotencyKey, c.ID); err != nil {
			return err
		}
	}
	if resumable {
		return tx.PutPending(Pending{Tenant: tenant, ID: c.ID, Kind: WorkContent})
	}
	return nil
}

// NewContentID returns a new content id: "gen-" and a time-ordered UUIDv7.
func NewContentID() string { return "gen-" + newUUID() }

func newUUID() string {
	u, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return u.String()
}

// run generates into the record c, stores the result, and publishes (publish) or returns
// the started and completed events. The failure event is always published. When ctx ends
// because the service is stopping, the record stays pending for the next start.
func (s *Service) run(ctx context.Context, tenant string, c *Content, publish bool) (Content, []core.Event, error) {
	return s.runWith(ctx, tenant, c, publish, nil)
}

// runWith is run with a hook that records the outcome in the same transaction as the
// content (a batch's item).
//
// An event to publish is stored in the outbox in the same transaction as the state it
// reports and removed once published, so a crash in between publishes it at the next start.
func (s *Service) runWith(ctx context.Context, tenant string, c *Content, publish bool, also func(tx Tx, c *Content) error) (Content, []core.Event, error) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return *c, nil, ctx.Err()
	}
	s.gauge(+1)
	defer func() {
		s.gauge(-1)
		<-s.slots
	}()

	// A registered partner's guidelines and link (which carries the content id) are written
	// into the stored request, so the record shows what the content was written from.
	req, perr := s.withPartner(ctx, tenant, c.ID, c.Request)
	if perr == nil {
		c.Request = req
	}
	started := s.now().UTC()
	c.Status, c.UpdatedAt = StatusRunning, started
	startedEv := s.startedEvent(c, started)
	if err := s.st.Update(ctx, func(tx Tx) error {
		if err := tx.PutContent(tenant, c); err != nil {
			return err
		}
		if publish && s.pub != nil {
			return tx.PutOutbox(tenant, startedEv)
		}
		return nil
	}); err != nil {
		return *c, nil, err
	}
	if publish && s.pub != nil {
		s.publish(ctx, tenant, startedEv)
	}

	var out Content
	var gerr error
	if perr != nil {
		out, gerr = partnerFailure(c, perr)
	} else {
		out, gerr = s.gen.Generate(ctx, tenant, c.Request)
	}
	var ge *GenerationError
	if gerr != nil && errors.As(gerr, &ge) && ge.Type == ErrTypeInterruptedByStop {
		// The caller or the service is stopping: this is no failure of the content. The
		// record stays pending; start resumes it if it was resumable, a retry of the same
		// idempotency key regenerates it otherwise.
		c.Status = StatusPending
		_ = s.st.Update(context.WithoutCancel(ctx), func(tx Tx) error { return tx.PutContent(tenant, c) })
		return *c, nil, gerr
	}
	// Keep the record's identity; take everything the generation produced.
	out.ID, out.BatchID, out.IdempotencyKey, out.CreatedAt, out.RetryCount = c.ID, c.BatchID, c.IdempotencyKey, c.CreatedAt, c.RetryCount
	out.UpdatedAt = s.now().UTC()
	if out.Status == StatusCompleted {
		out.CompletedAt = out.UpdatedAt
	}
	*c = out
	var outcome []core.Event
	switch {
	case s.pub == nil:
	case gerr != nil:
		outcome = []core.Event{s.failedEvent(c)}
	case publish:
		outcome = []core.Event{s.completedEvent(c)}
	}
	// The outcome is stored even when the caller's context ended meanwhile.
	if err := s.st.Update(context.WithoutCancel(ctx), func(tx Tx) error {
		if err := tx.PutContent(tenant, c); err != nil {
			return err
		}
		if also != nil {
			if err := also(tx, c); err != nil {
				return err
			}
		}
		if err := tx.DeletePending(tenant, c.ID); err != nil {
			return err
		}
		u, err := tx.Usage(tenant)
		if err != nil {
			return err
		}
		if err := tx.PutUsage(tenant, u.add(c)); err != nil {
			return err
		}
		day := c.UpdatedAt.UTC().Format(time.DateOnly)
		d, err := tx.DailyUsage(tenant, day)
		if err != nil {
			return err
		}
		if err := tx.PutDailyUsage(tenant, day, d.add(c)); err != nil {
			return err
		}
		for _, ev := range outcome {
			if err := tx.PutOutbox(tenant, ev); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return *c, nil, err
	}
	s.publish(ctx, tenant, outcome...)
	if gerr != nil {
		return *c, nil, gerr
	}
	if publish {
		return *c, nil, nil
	}
	return *c, []core.Event{startedEv, s.completedEvent(c)}, nil
}

// validationResults is the seed's validation_results object, from the score and findings.
func validationResults(c *Content) map[string]any {
	pii, prohibited := 0, 0
	var issues []string
	for _, f := range c.Findings {
		switch f.Kind {
		case FindingPII:
			pii++
		case FindingProhibited:
			prohibited++
		}
		issues = append(issues, f.Message)
	}
	vr := map[string]any{
		"passed": !HasErrors(c.Findings), "pii_found": pii > 0, "prohibited_phrases": prohibited,
		"issues": nonNilStrings(issues),
	}
	if c.Quality != nil {
		for _, comp := range c.Quality.Breakdown {
			if comp.Name == "readability" {
				vr["readability_score"] = comp.Score
			}
		}
		vr["flesch_reading_ease"] = c.Quality.Readability
		vr["keyword_density"] = c.Quality.KeywordDensity
	}
	return vr
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Event ids derive from the content id and the attempt, so that an event re-sent after a
// crash is deduplicated by the hub's (tenant, source, id) key.
func (s *Service) event(typ, id, contentID string, at time.Time, data map[string]any) core.Event {
	raw, _ := json.Marshal(data)
	t := at.UTC()
	return core.Event{
		ID: id, Source: EventSource, Type: typ, SpecVersion: core.SpecVersion,
		Subject: contentID, Time: &t, DataContentType: "application/json", Data: raw,
	}
}

func (s *Service) startedEvent(c *Content, at time.Time) core.Event {
	est := 2 * time.Second
	if c.Provider != "builtin" {
		est = 30 * time.Second
	}
	return s.event(EventStarted, fmt.Sprintf("%s-started-%d", c.ID, c.RetryCount), c.ID, at, map[string]any{
		"content_id": c.ID, "request_id": c.RequestID, "content_type": c.Template, "topic": c.Request.Topic,
		"llm_provider": c.Provider, "estimated_completion": at.Add(est).UTC().Format(time.RFC3339),
	})
}

func (s *Service) completedEvent(c *Content) core.Event {
	return s.event(EventCompleted, c.ID+"-completed", c.ID, c.UpdatedAt, map[string]any{
		"content_id": c.ID, "request_id": c.RequestID, "status": "success", "content_type": c.Template,
		"title": c.Title, "quality_score": c.QualityScore(), "word_count": c.WordCount,
		"generation_time_seconds": round2(c.GenerationTimeSeconds), "cost_usd": c.Usage.CostUSD,
		"tokens": c.Usage.TotalTokens, "llm_provider": c.Provider, "model": c.Model,
		"validation_results": validationResults(c),
	})
}

func (s *Service) failedEvent(c *Content) core.Event {
	return s.event(EventFailed, fmt.Sprintf("%s-failed-%d", c.ID, c.RetryCount), c.ID, c.UpdatedAt, map[string]any{
		"content_id": c.ID, "request_id": c.RequestID, "error_type": c.ErrorType, "error_message": c.ErrorMessage,
		"retry_possible": c.RetryPossible, "retry_count": c.RetryCount,
		"quality_score": c.QualityScore(), "validation_results": validationResults(c),
	})
}

// publish hands stored outbox events to the Publisher and, once it took them, removes them
// from the outbox. On failure they stay for the next start; their ids make a repeat a
// duplicate. Without a Publisher nothing is stored in the outbox and what an earlier process
// left there is dropped.
func (s *Service) publish(ctx context.Context, tenant string, evs ...core.Event) {
	if len(evs) == 0 {
		return
	}
	// Events are published even if the caller's request was cancelled meanwhile.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if s.pub != nil {
		if _, err := s.pub.Publish(pctx, tenant, evs...); err != nil {
			s.log.Warn("publishing content event; it stays stored and is published at the next start",
				"tenant", tenant, "type", evs[0].Type, "id", evs[0].ID, "err", err)
			return
		}
	}
	// Without a Publisher the outbox holds only what a previous process left: drop it.
	if err := s.st.Update(pctx, func(tx Tx) error {
		for _, ev := range evs {
			if err := tx.DeleteOutbox(tenant, ev.ID); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		s.log.Warn("removing published content events from the outbox", "tenant", tenant, "err", err)
	}
}

func (s *Service) gauge(d int) {
	s.gaugeMu.Lock()
	s.running += d
	if s.running > s.maxSeen {
		s.maxSeen = s.running
	}
	s.gaugeMu.Unlock()
}

// Running returns how many generations run now and the most that ran at once.
func (s *Service) Running() (now, peak int) {
	s.gaugeMu.Lock()
	defer s.gaugeMu.Unlock()
	return s.running, s.maxSeen
}

// Content returns one stored piece of content.
func (s *Service) Content(ctx context.Context, tenant, id string) (Content, error) {
	var c Content
	err := s.st.View(ctx, func(tx ReadTx) error {
		var err error
		c, err = tx.Content(tenant, id)
		return err
	})
	return c, err
}

// List returns a tenant's content, newest first: 50 unless f.Limit says otherwise, at most
// 500.
func (s *Service) List(ctx context.Context, tenant string, f Filter) ([]Content, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 500)
	var out []Content
	err := s.st.View(ctx, func(tx ReadTx) error {
		var err error
		out, err = tx.ListContent(tenant, f)
		return err
	})
	return out, err
}

// checkBudget refuses a generation once the tenant's daily LLM budget (tokens or US
// dollars, from the tenant registry) is spent, until the next UTC day. Generations already
// running finish and count, so a day may end slightly over budget.
func (s *Service) checkBudget(ctx context.Context, tenant string) error {
	pol := s.gen.Policies.For(tenant)
	if pol.DailyTokens <= 0 && pol.DailyUSD <= 0 {
		return nil
	}
	now := s.now().UTC()
	var u TenantUsage
	if err := s.st.View(ctx, func(tx ReadTx) error {
		var err error
		u, err = tx.DailyUsage(tenant, now.Format(time.DateOnly))
		return err
	}); err != nil {
		return err
	}
	after := now.Truncate(24 * time.Hour).Add(24 * time.Hour).Sub(now).Round(time.Second)
	switch {
	case pol.DailyTokens > 0 && u.TotalTokens >= pol.DailyTokens:
		return &core.OverloadError{Limit: "tenants[" + tenant + "].limits.llm_daily_tokens", After: after,
			Detail: fmt.Sprintf("tenant %s has spent its daily LLM budget: %d of %d tokens used today; generation resumes at 00:00 UTC", tenant, u.TotalTokens, pol.DailyTokens)}
	case pol.DailyUSD > 0 && u.CostUSD >= pol.DailyUSD:
		return &core.OverloadError{Limit: "tenants[" + tenant + "].limits.llm_daily_usd", After: after,
			Detail: fmt.Sprintf("tenant %s has spent its daily LLM budget: $%.4f of $%.2f used today; generation resumes at 00:00 UTC", tenant, u.CostUSD, pol.DailyUSD)}
	}
	return nil
}

// DailyUsage returns a tenant's usage on the UTC day of at.
func (s *Service) DailyUsage(ctx context.Context, tenant string, at time.Time) (TenantUsage, error) {
	var u TenantUsage
	err := s.st.View(ctx, func(tx ReadTx) error {
		var err error
		u, err = tx.DailyUsage(tenant, at.UTC().Format(time.DateOnly))
		return err
	})
	return u, err
}

// Usage returns a tenant's accumulated token usage and cost.
func (s *Service) Usage(ctx context.Context, tenant string) (TenantUsage, error) {
	var u TenantUsage
	err := s.st.View(ctx, func(tx ReadTx) error {
		var err error
		u, err = tx.Usage(tenant)
		return err
	})
	return u, err
}

// Template returns the tenant's stored template with that id, or else the builtin one.
func (s *Service) Template(ctx context.Context, tenant, id string) (Template, error) {
	var t Template
	err := s.st.View(ctx, func(tx ReadTx) error {
		var err error
		t, err = tx.Template(tenant, id)
		return err
	})
	if err == nil {
		t.Source = SourceStored
		return t, nil
	}
	if !errors.Is(err, core.ErrNotFound) {
		return Template{}, err
	}
	if t, ok := BuiltinTemplate(id); ok {
		return t, nil
	}
	return Template{}, fmt.Errorf("template %q: %w", id, core.ErrNotFound)
}

// Templates lists the builtin templates and the tenant's own; a stored template with a
// builtin's id replaces it.
func (s *Service) Templates(ctx context.Context, tenant string) ([]Template, error) {
	var stored []Template
	if err := s.st.View(ctx, func(tx ReadTx) error {
		var err error
		stored, err = tx.Templates(tenant)
		return err
	}); err != nil {
		return nil, err
	}
	byID := map[string]Template{}
	for _, t := range BuiltinTemplates() {
		byID[t.ID] = t
	}
	for _, t := range stored {
		t.Source = SourceStored
		byID[t.ID] = t
	}
	out := make([]Template, 0, len(byID))
	for _, t := range byID {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// PutTemplate validates and stores a tenant's template, creating or replacing it.
func (s *Service) PutTemplate(ctx context.Context, tenant string, t Template) (Template, bool, error) {
	t.Source = ""
	if err := t.Validate(); err != nil {
		return Template{}, false, err
	}
	var created bool
	err := s.st.Update(ctx, func(tx Tx) error {
		_, err := tx.Template(tenant, t.ID)
		if err != nil && !errors.Is(err, core.ErrNotFound) {
			return err
		}
		created = err != nil
		return tx.PutTemplate(tenant, &t)
	})
	t.Source = SourceStored
	return t, created, err
}

// DeleteTemplate removes a tenant's stored template. Builtin templates cannot be deleted
// (core.ErrConflict); deleting a stored override brings the builtin back.
func (s *Service) DeleteTemplate(ctx context.Context, tenant, id string) error {
	err := s.st.Update(ctx, func(tx Tx) error { return tx.DeleteTemplate(tenant, id) })
	if !errors.Is(err, core.ErrNotFound) {
		return err
	}
	if _, ok := BuiltinTemplate(id); ok {
		return fmt.Errorf("template %q is builtin and cannot be deleted: %w", id, core.ErrConflict)
	}
	return fmt.Errorf("template %q: %w", id, core.ErrNotFound)
}
