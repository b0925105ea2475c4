package plugins

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/metrics"
	"github.com/aquascene/aquahub/sdk/api"
)

// Module is the connector host as a feature of the hub: the `connector` step kind, the
// directory watcher (a worker), the host's metrics and the /api/v1/connectors routes, over
// one Catalog. Lifecycle: New (loads the connectors) → Start (watches the directory every
// Config.WatchInterval, when set) → Stop → Close (closes every instance and the runtime).
// A Module built with no Deps.KV serves everything but kv calls, which is what checking
// rules needs.
type Module struct {
	cat *Catalog

	mu        sync.Mutex
	stopWatch context.CancelFunc
	watching  chan struct{} // closed when the watcher returns
}

// New loads the connectors of cfg.Dir into a module. tenants holds each tenant's settings by
// connector id (tenants[].connectors in the configuration); they are the grants the
// connectors run with, so deps.Grants must be nil. A module that fails to load is an error
// naming its file, and New then returns no Module.
func New(ctx context.Context, cfg Config, tenants map[string]map[string]TenantConfig, deps Deps) (*Module, error) {
	if deps.Grants != nil {
		return nil, errors.New("plugins: New takes grants from tenants; Deps.Grants must be nil")
	}
	deps.Grants = func(tenant, connector string) (TenantConfig, bool) {
		tc, ok := tenants[tenant][connector]
		return tc, ok
	}
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	warnUnboundSecrets(log, tenants)
	cat, err := Open(ctx, cfg, deps)
	if err != nil {
		if cat != nil {
			cat.Close(context.WithoutCancel(ctx))
		}
		return nil, err
	}
	return &Module{cat: cat}, nil
}

// Catalog returns the module's catalog.
func (m *Module) Catalog() *Catalog { return m.cat }

// Name implements core.Module.
func (m *Module) Name() string { return "connectors" }

// StepKinds implements core.StepKindProvider: the `connector` step kind.
func (m *Module) StepKinds() []core.StepKind { return []core.StepKind{m.cat.StepKind()} }

// Collectors implements metrics.CollectorProvider.
func (m *Module) Collectors() []prometheus.Collector { return m.cat.Collectors() }

// Start implements core.Worker: it watches the connector directory for replaced, added and
// removed modules every Config.WatchInterval, and does nothing when that is zero.
func (m *Module) Start(ctx context.Context) error {
	interval := m.cat.cfg.WatchInterval
	if interval <= 0 {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopWatch != nil {
		return errors.New("plugins: the watcher is already running")
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	m.stopWatch, m.watching = cancel, done
	go func() {
		defer close(done)
		m.cat.Watch(wctx, interval)
	}()
	return nil
}

// Stop implements core.Worker: it ends the watcher, waiting for a reload in progress until
// ctx ends.
func (m *Module) Stop(ctx context.Context) error {
	m.mu.Lock()
	cancel, done := m.stopWatch, m.watching
	m.stopWatch, m.watching = nil, nil
	m.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close implements core.Closer: it stops the watcher if Stop was not called and closes the
// catalog.
func (m *Module) Close(ctx context.Context) error {
	return errors.Join(m.Stop(ctx), m.cat.Close(ctx))
}

// connectorList converts the catalog's listing to the API's; empty lists are [] for the API.
func connectorList(infos []ConnectorInfo) api.ConnectorList {
	out := api.ConnectorList{Connectors: make([]api.Connector, 0, len(infos))}
	for _, i := range infos {
		out.Connectors = append(out.Connectors, api.Connector{
			ID: i.ID, Version: i.Version, Description: i.Description, File: i.File, SHA256: i.SHA256,
			LoadedAt: i.LoadedAt, Actions: nonNil(i.Actions), Egress: i.Egress, Features: i.Features,
			PoolSize: i.PoolSize, Live: i.Live, Idle: i.Idle, Calls: i.Calls, Errors: i.Errors,
		})
	}
	return out
}

// reloadAnswer converts a reload's report and error to the API's answer.
func reloadAnswer(rep ReloadReport, err error) api.ConnectorReload {
	out := api.ConnectorReload{
		Loaded: nonNil(rep.Loaded), Unchanged: nonNil(rep.Unchanged),
		Removed: nonNil(rep.Removed), Failed: nonNil(rep.Failed),
	}
	if err != nil {
		out.Error = err.Error()
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

var (
	_ core.Module               = (*Module)(nil)
	_ core.StepKindProvider     = (*Module)(nil)
	_ core.Worker               = (*Module)(nil)
	_ core.Closer               = (*Module)(nil)
	_ metrics.CollectorProvider = (*Module)(nil)
)
