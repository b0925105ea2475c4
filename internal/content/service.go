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
	bbolt "go.etcd.io/bbolt"
)

// Publisher puts events into the pipeline. *core.Engine satisfies it.
type Publisher interface {
	Publish(ctx context.Context, tenant string, events ...core.Event) ([]core.Accepted, error)
}

// The engine is the Publisher the hub wires in.
var _ Publisher = (*core.Engine)(nil)

// Event types the content engine emits, with the seed's payloads.
const (
	EventStarted   = "content.generation.started"
	EventCompleted = "content.generation.completed"
	EventFailed    = "content.generation.failed"
	// EventSource is the CloudEvents source of those events.
	EventSource = "aquahub/content"
)

// ServiceOptions configure a Service.
type ServiceOptions struct {
	// DB is the hub's bbolt database; the service owns the content.* buckets (required).
	DB *bbolt.DB
	// Provider writes drafts (default BuiltinProvider).
	Provider Provider
	// Policies give each tenant's brand voice, prohibited phrases and minimum score.
	Policies Policies
	// Publisher receives content.generation.* events; nil drops them.
	Publisher Publisher
	// MaxConcurrent caps generations running at once across all callers (default 16).
	MaxConcurrent int
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// Service is the content engine with state: it stores content, templates and batches in
// bbolt, runs asynchronous requests and batches in the background, resumes unfinished work
// after a restart (Start), and publishes content.generation.* events.
//
// Lifecycle: NewService → Start (resumes pending work) → use → Close (stops background
// work; what is unfinished stays pending and resumes at the next Start).
type Service struct {
	st    *store
	gen   *Generator
	pub   Publisher
	log   *slog.Logger
	now   func() time.Time
	slots chan struct{}

	bg     context.Context
	stop   context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	active map[string]bool // tenant\x00batch id of batches being run

	gaugeMu  sync.Mutex
	running  int
	maxSeen  int
	observer func(running int)
}

// NewService creates the buckets and returns a service. Call Start to resume work.
func NewService(opts ServiceOptions) (*Service, error) {
	if opts.DB == nil {
		return nil, errors.New("content: ServiceOptions.DB is required")
	}
	st, err := newStore(opts.DB)
	if err != nil {
		return nil, err
	}
	if opts.Provider == nil {
		opts.Provider = BuiltinProvider{}
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 16
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Service{
		st: st, pub: opts.Publisher, log: opts.Logger, now: opts.Now,
		slots: make(chan struct{}, opts.MaxConcurrent), active: map[string]bool{},
	}
	s.gen = &Generator{Provider: opts.Provider, Templates: s, Policies: opts.Policies, Now: opts.Now}
	s.bg, s.stop = context.WithCancel(context.Background())
	return s, nil
}

// Provider returns the provider in use.
func (s *Service) Provider() Provider { return s.gen.Provider }

// Start resumes the asynchronous requests and batches a previous process left unfinished.
// It returns at once; the work runs in the background.
func (s *Service) Start(ctx context.Context) error {
	pend, err := s.st.pending()
	if err != nil {
		return fmt.Errorf("content: reading pending work: %w", err)
	}
	for _, p := range pend[pendingContent] {
		tenant, id := p[0], p[1]
		c, err := s.st.content(tenant, id)
		if errors.Is(err, core.ErrNotFound) {
			_ = s.st.dropPending(tenant, id)
			continue
		}
		if err != nil {
			return err
		}
		if c.Status == StatusCompleted || c.Status == StatusFailed {
			_ = s.st.dropPending(tenant, id)
			continue
		}
		s.log.Info("resuming content generation", "tenant", tenant, "content", id)
		s.spawn(func(ctx context.Context) { _, _, _ = s.run(ctx, tenant, &c, true) })
	}
	for _, p := range pend[pendingBatch] {
		tenant, id := p[0], p[1]
		s.log.Info("resuming content batch", "tenant", tenant, "batch", id)
		s.startBatch(tenant, id)
	}
	return nil
}

// Close stops background work and waits for it. Interrupted work stays pending.
func (s *Service) Close() error {
	s.stop()
	s.wg.Wait()
	return nil
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
	// A rule step's retries belong to the engine, so its record is not resumed by Start.
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
	if _, err := s.Template(ctx, tenant, req.Template); err != nil {
		if errors.Is(err, core.ErrNotFound) {
			return Content{}, false, core.Invalid("template", "no template %q", req.Template)
		}
		return Content{}, false, err
	}
	if key != "" {
		c, found, err := s.st.contentByKey(tenant, key)
		if err != nil {
			return Content{}, false, err
		}
		if found && c.Status == StatusCompleted {
			return c, true, nil
		}
		if found {
			// A failed or interrupted attempt: generate again into the same record.
			if c.Status == StatusFailed {
				c.RetryCount++
			}
			c.Request, c.Template, c.RequestID = req, req.Template, req.RequestID
			c.Status = StatusPending
			if err := s.st.createContent(tenant, []*Content{&c}, resumable); err != nil {
				return Content{}, false, err
			}
			return c, false, nil
		}
	}
	now := s.now().UTC()
	c := Content{
		ID: NewContentID(), Status: StatusPending, Request: req, Template: req.Template, RequestID: req.RequestID,
		IdempotencyKey: key, CreatedAt: now, UpdatedAt: now, Findings: []Finding{}, Provider: s.gen.Provider.Name(),
	}
	if err := s.st.createContent(tenant, []*Content{&c}, resumable); err != nil {
		return Content{}, false, err
	}
	return c, false, nil
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
// because the service is stopping, the record stays pending for the next Start.
func (s *Service) run(ctx context.Context, tenant string, c *Content, publish bool) (Content, []core.Event, error) {
	return s.runWith(ctx, tenant, c, publish, nil)
}

// runWith is run with a hook that records the outcome in the same transaction as the
// content (a batch's item).
func (s *Service) runWith(ctx context.Context, tenant string, c *Content, publish bool, also func(tx *bbolt.Tx, c *Content) error) (Content, []core.Event, error) {
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

	var evs []core.Event
	started := s.now().UTC()
	c.Status, c.UpdatedAt = StatusRunning, started
	if err := s.st.saveContent(tenant, c, false, nil); err != nil {
		return *c, nil, err
	}
	evs = append(evs, s.startedEvent(c, started))
	if publish {
		s.publish(ctx, tenant, evs[0])
	}

	out, gerr := s.gen.Generate(ctx, tenant, c.Request)
	var ge *GenerationError
	if gerr != nil && errors.As(gerr, &ge) && ge.Type == ErrTypeInterruptedByStop {
		// The caller or the service is stopping: this is no failure of the content. The
		// record stays pending; Start resumes it if it was resumable, a retry of the same
		// idempotency key regenerates it otherwise.
		c.Status = StatusPending
		_ = s.st.saveContent(tenant, c, false, nil)
		return *c, nil, gerr
	}
	// Keep the record's identity; take everything the generation produced.
	out.ID, out.BatchID, out.IdempotencyKey, out.CreatedAt, out.RetryCount = c.ID, c.BatchID, c.IdempotencyKey, c.CreatedAt, c.RetryCount
	out.UpdatedAt = s.now().UTC()
	if out.Status == StatusCompleted {
		out.CompletedAt = out.UpdatedAt
	}
	*c = out
	var hook func(tx *bbolt.Tx) error
	if also != nil {
		hook = func(tx *bbolt.Tx) error { return also(tx, c) }
	}
	if err := s.st.saveContent(tenant, c, true, hook); err != nil {
		return *c, nil, err
	}
	if gerr != nil {
		s.publish(ctx, tenant, s.failedEvent(c))
		return *c, nil, gerr
	}
	done := s.completedEvent(c)
	if publish {
		s.publish(ctx, tenant, done)
		return *c, nil, nil
	}
	return *c, append(evs, done), nil
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

func (s *Service) publish(ctx context.Context, tenant string, evs ...core.Event) {
	if s.pub == nil {
		return
	}
	// Events are published even if the caller's request was cancelled meanwhile.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := s.pub.Publish(pctx, tenant, evs...); err != nil {
		s.log.Warn("publishing content event", "tenant", tenant, "type", evs[0].Type, "err", err)
	}
}

func (s *Service) gauge(d int) {
	s.gaugeMu.Lock()
	s.running += d
	if s.running > s.maxSeen {
		s.maxSeen = s.running
	}
	obs, n := s.observer, s.running
	s.gaugeMu.Unlock()
	if obs != nil {
		obs(n)
	}
}

// Running returns how many generations run now and the most that ran at once.
func (s *Service) Running() (now, peak int) {
	s.gaugeMu.Lock()
	defer s.gaugeMu.Unlock()
	return s.running, s.maxSeen
}

// Content returns one stored piece of content.
func (s *Service) Content(_ context.Context, tenant, id string) (Content, error) {
	return s.st.content(tenant, id)
}

// List returns a tenant's content, newest first.
func (s *Service) List(_ context.Context, tenant string, f Filter) ([]Content, error) {
	if f.Limit > 500 {
		f.Limit = 500
	}
	return s.st.listContent(tenant, f)
}

// Usage returns a tenant's accumulated token usage and cost.
func (s *Service) Usage(_ context.Context, tenant string) (TenantUsage, error) {
	return s.st.usage(tenant)
}

// Template returns the tenant's stored template with that id, or else the builtin one.
func (s *Service) Template(_ context.Context, tenant, id string) (Template, error) {
	t, ok, err := s.st.template(tenant, id)
	if err != nil {
		return Template{}, err
	}
	if ok {
		t.Source = "stored"
		return t, nil
	}
	if t, ok := BuiltinTemplate(id); ok {
		return t, nil
	}
	return Template{}, fmt.Errorf("template %q: %w", id, core.ErrNotFound)
}

// Templates lists the builtin templates and the tenant's own; a stored template with a
// builtin's id replaces it.
func (s *Service) Templates(_ context.Context, tenant string) ([]Template, error) {
	stored, err := s.st.templates(tenant)
	if err != nil {
		return nil, err
	}
	byID := map[string]Template{}
	for _, t := range BuiltinTemplates() {
		byID[t.ID] = t
	}
	for _, t := range stored {
		t.Source = "stored"
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
func (s *Service) PutTemplate(_ context.Context, tenant string, t Template) (Template, bool, error) {
	t.Source = ""
	if err := t.Validate(); err != nil {
		return Template{}, false, err
	}
	created, err := s.st.putTemplate(tenant, &t)
	t.Source = "stored"
	return t, created, err
}

// DeleteTemplate removes a tenant's stored template. Builtin templates cannot be deleted
// (core.ErrConflict); deleting a stored override brings the builtin back.
func (s *Service) DeleteTemplate(_ context.Context, tenant, id string) error {
	found, err := s.st.deleteTemplate(tenant, id)
	if err != nil {
		return err
	}
	if found {
		return nil
	}
	if _, ok := BuiltinTemplate(id); ok {
		return fmt.Errorf("template %q is builtin and cannot be deleted: %w", id, core.ErrConflict)
	}
	return fmt.Errorf("template %q: %w", id, core.ErrNotFound)
}
