package main

import (
	"context"
	"path/filepath"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/plugins"
)

// pluginsModule builds the connector host from the connectors section and each tenant's
// connectors. Its compilation cache defaults to the data file's directory. Without storage
// (checking rules) kv calls are unavailable.
func pluginsModule(h *hub) (core.Module, error) {
	deps := plugins.Deps{Logger: h.log.With("feature", "connectors"), DataDir: filepath.Dir(h.cfg.Storage.Path), Publisher: h,
		Instances: partnerInstances(h)}
	if h.db != nil {
		deps.KV = h.db.ConnectorKV()
	}
	tenants := perTenant(h.cfg, func(t Tenant) map[string]plugins.TenantConfig { return t.Connectors })
	m, err := plugins.New(context.Background(), h.cfg.Connectors, tenants, deps)
	if err != nil {
		return nil, err
	}
	return m, nil
}
