package plugins

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
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

// New loads the connectors of cfg.Dir into a module. deps.Grants gives each tenant's settings
// for a connector, the grants the connectors run with; the hub reads them from the tenant
// registry at every call, so a grant changed at run time applies to the next call. A module
// that fails to load is an error naming its file, and New then returns no Module.
func New(ctx context.Context, cfg Config, deps Deps) (*Module, error) {
	cat, err := Open(ctx, cfg, deps)
	if err != nil {
		if cat != nil {
			cat.Close(context.WithoutCancel(ctx))
		}
		return nil, err
	}
	return &Module{cat: cat}, nil
}

// StaticGrants returns Deps.Grants for fixed settings by tenant and connector id.
func StaticGrants(tenants map[string]map[string]TenantConfig) func(tenant, connector string) (TenantConfig, bool) {
	return func(tenant, connector string) (TenantConfig, bool) {
		tc, ok := tenants[tenant][connector]
		return tc, ok
	}
}

// StaticPins returns Deps.Pins for fixed settings by tenant and connector id: the module
// digests (TenantConfig.SHA256) tenants pin, by connector.
func StaticPins(tenants map[string]map[string]TenantConfig) func(connector string) map[string]string {
	pins := map[string]map[string]string{}
	for tenant, conns := range tenants {
		for name, tc := range conns {
			if tc.SHA256 == "" {
				continue
			}
			if pins[name] == nil {
				pins[name] = map[string]string{}
			}
			pins[name][tenant] = tc.SHA256
		}
	}
	return func(connector string) map[string]string { return pins[connector] }
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
func connectorList(infos []ConnectorInfo, refused []Refusal) api.ConnectorList {
	out := api.ConnectorList{Connectors: make([]api.Connector, 0, len(infos)), Refused: refusals(refused)}
	for _, i := range infos {
		c := api.Connector{
			ID: i.ID, Version: i.Version, Description: i.Description, File: i.File, SHA256: i.SHA256,
			LoadedAt: i.LoadedAt, Actions: nonNil(i.Actions), Egress: i.Egress, Features: i.Features,
			PoolSize: i.PoolSize, Live: i.Live, Idle: i.Idle, Calls: i.Calls, Errors: i.Errors,
		}
		for _, u := range i.KV {
			c.KV = append(c.KV, api.ConnectorKV{Tenant: u.Tenant, Keys: u.Keys, Bytes: u.Bytes, QuotaKeys: u.Quota.Keys, QuotaBytes: u.Quota.Bytes})
		}
		out.Connectors = append(out.Connectors, c)
	}
	return out
}

func refusals(rs []Refusal) []api.ConnectorRefusal {
	out := make([]api.ConnectorRefusal, 0, len(rs))
	for _, r := range rs {
		out = append(out, api.ConnectorRefusal{File: r.File, Connector: r.Connector, Reason: r.Reason, Since: r.Since})
	}
	return out
}

// reloadAnswer converts a reload's report to the API's answer. Its Error names every
// refused file, whether this reload or an earlier one refused it.
func reloadAnswer(rep ReloadReport, err error) api.ConnectorReload {
	out := api.ConnectorReload{
		Loaded: nonNil(rep.Loaded), Unchanged: nonNil(rep.Unchanged),
		Removed: nonNil(rep.Removed), Failed: nonNil(rep.Failed), Refused: refusals(rep.Refused),
	}
	var lines []string
	for _, r := range rep.Refused {
		lines = append(lines, fmt.Sprintf("connector file %s: refused: %s", r.File, r.Reason))
	}
	if err != nil {
		// Errors besides refusals (a directory that cannot be read).
		for _, line := range strings.Split(err.Error(), "\n") {
			if !slices.Contains(lines, line) {
				lines = append(lines, line)
			}
		}
	}
	out.Error = strings.Join(lines, "\n")
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
