package identity

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aquascene/aquahub/core"
)

// Deps are what the identity module needs besides its configuration.
type Deps struct {
	// Store keeps keys, tenants, the audit log and request counts. Nil makes a module that
	// knows the file's tenants and authenticates their keys and JWTs only (rules checks,
	// tests): no stored keys, no tenants API changes, no audit log.
	Store Store
	// CheckConnector and CheckSource validate a tenant's connector settings and inbound
	// source settings as the modules owning them will use them; the tenants API calls them
	// before storing. Nil accepts anything.
	CheckConnector func(id string, g core.ConnectorGrant) error
	CheckSource    func(name string, s core.SourceSettings) error
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// Module is identity and tenancy as a hub feature: it authenticates every credential
// (core.Authenticator), keeps the registry of tenants at run time (core.TenantDirectory),
// enforces tenants' request quotas and ingestion rates (core.Admission and the kernel's
// request admission), writes the audit log (core.Auditor), and serves /api/v1/keys,
// /api/v1/audit and, for the hub's operator, /api/v1/tenants and /api/v1/hub/audit.
//
// Lifecycle: New (reads key files, loads the stored tenants) → Start (loads today's request
// counts; flushes them every 10 s and prunes the audit log hourly) → Stop (flushes).
type Module struct {
	cfg      Config
	deps     Deps
	store    Store
	log      *slog.Logger
	now      func() time.Time
	reg      *registry
	keys     []configKey
	operator []byte
	jwt      *verifier
	limits   *limits
	gate     *failureGate

	mu   sync.Mutex
	stop context.CancelFunc
	done chan struct{}
}

// New builds the module from its configuration and the file's tenants, loading the tenants
// the API stored.
func New(cfg Config, tenants []FileTenant, deps Deps) (*Module, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	m := &Module{cfg: cfg, deps: deps, store: deps.Store, log: deps.Logger, now: deps.Now,
		reg: newRegistry(tenants), keys: configKeys(tenants), limits: newLimits(), gate: newFailureGate(cfg.FailedAuthAuditPerMinute)}
	if cfg.OperatorToken != "" {
		sum := sha256.Sum256([]byte(cfg.OperatorToken))
		m.operator = sum[:]
	}
	var err error
	if m.jwt, err = newVerifier(cfg.JWT, deps.Now); err != nil {
		return nil, err
	}
	if m.store != nil {
		recs, err := m.store.Tenants(context.Background())
		if err != nil {
			return nil, fmt.Errorf("identity: loading tenants: %w", err)
		}
		m.reg.load(recs)
	}
	return m, nil
}

// Name implements core.Module.
func (m *Module) Name() string { return "identity" }

// Tenant implements core.TenantDirectory.
func (m *Module) Tenant(id string) (*core.Tenant, bool) { return m.reg.Tenant(id) }

// TenantIDs implements core.TenantDirectory.
func (m *Module) TenantIDs() []string { return m.reg.TenantIDs() }

// Start implements core.Worker.
func (m *Module) Start(ctx context.Context) error {
	if m.store == nil {
		return nil
	}
	if err := m.loadCounts(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stop != nil {
		return errors.New("identity: already started")
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.stop, m.done = cancel, make(chan struct{})
	go m.background(wctx, m.done)
	return nil
}

func (m *Module) background(ctx context.Context, done chan struct{}) {
	defer close(done)
	flush := time.NewTicker(flushEvery)
	defer flush.Stop()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	m.pruneAudit(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-flush.C:
			if err := m.flushCounts(ctx); err != nil {
				m.log.Warn("storing request counts", "err", err)
			}
		case <-prune.C:
			m.pruneAudit(ctx)
		}
	}
}

// Stop implements core.Worker: it ends the background work and stores the request counts.
func (m *Module) Stop(ctx context.Context) error {
	m.mu.Lock()
	stop, done := m.stop, m.done
	m.stop, m.done = nil, nil
	m.mu.Unlock()
	if stop == nil {
		return nil
	}
	stop()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return m.flushCounts(context.WithoutCancel(ctx))
}

var (
	_ core.Module          = (*Module)(nil)
	_ core.Worker          = (*Module)(nil)
	_ core.Authenticator   = (*Module)(nil)
	_ core.TenantDirectory = (*Module)(nil)
	_ core.Admission       = (*Module)(nil)
	_ core.Auditor         = (*Module)(nil)
)
