package content

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aquascene/aquahub/core"
)

// Deps are what the content module needs from the hub.
type Deps struct {
	// Store keeps content, templates, batches, pending work and the event outbox. Nil makes
	// a module that can only check rule steps (rules lint, rules test): it has no Service,
	// no routes and no background work.
	Store Store
	// Publisher receives the content.generation.* events; nil drops them.
	Publisher core.Publisher
	// Provider writes drafts; nil uses the one the configuration names (NewProvider).
	Provider Provider
	// Tenants, when set, is the tenant registry: each tenant's brand guidelines go into its
	// prompts and its daily LLM budget is enforced.
	Tenants core.TenantDirectory
	// Partners finds the registered partners requests name by partnership.partner_id; nil
	// makes such a request invalid.
	Partners Partners
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// Module is the content engine as a hub feature: the `generate` step kind, the content and
// template routes, and the background work of asynchronous requests and batches.
//
// Lifecycle: New → Start (publishes the events a previous process stored but did not
// publish, resumes its unfinished work) → use → Stop (ends background work; what is
// unfinished stays pending for the next Start).
type Module struct {
	svc *Service
}

// New builds the module from the llm settings, each tenant's content settings and deps.
// Zero settings take DefaultConfig's values.
func New(cfg Config, tenants map[string]TenantConfig, deps Deps) (*Module, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("content: %w", err)
	}
	if deps.Store == nil {
		return &Module{}, nil
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	gen := NewGenerator(cfg, tenants)
	gen.Policies.Tenants = deps.Tenants
	if deps.Provider != nil {
		gen.Provider = deps.Provider
	}
	svc := newService(deps.Store, gen, deps.Publisher, deps.Logger, deps.Now, cfg.MaxConcurrent)
	svc.partners = deps.Partners
	return &Module{svc: svc}, nil
}

// Service returns the engine: generation, storage and batches. It is nil in a module built
// without a Store.
func (m *Module) Service() *Service { return m.svc }

// Name implements core.Module.
func (m *Module) Name() string { return "content" }

// StepKinds implements core.StepKindProvider: the `generate` step.
func (m *Module) StepKinds() []core.StepKind { return []core.StepKind{StepKind{Service: m.svc}} }

// Start implements core.Worker.
func (m *Module) Start(ctx context.Context) error {
	if m.svc == nil {
		return nil
	}
	if err := m.svc.start(ctx); err != nil {
		return fmt.Errorf("content: %w", err)
	}
	return nil
}

// Stop implements core.Worker.
func (m *Module) Stop(ctx context.Context) error {
	if m.svc == nil {
		return nil
	}
	return m.svc.stop(ctx)
}

var (
	_ core.Module           = (*Module)(nil)
	_ core.StepKindProvider = (*Module)(nil)
	_ core.Worker           = (*Module)(nil)
)
