package main

import (
	"context"
	"path/filepath"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/plugins"
)

// pluginsModule builds the connector host from the connectors section, with each tenant's
// connector settings from the tenant registry. Its compilation cache defaults to the data file's directory. Without storage
// (checking rules) kv calls are unavailable.
func pluginsModule(h *hub) (core.Module, error) {
	deps := plugins.Deps{Logger: h.log.With("feature", "connectors"), DataDir: filepath.Dir(h.cfg.Storage.Path), Publisher: h,
		Instances: partnerInstances(h)}
	if h.db != nil {
		deps.KV = h.db.ConnectorKV()
	}
	// Grants are read from the tenant registry at every call, so one the tenants API
	// changes applies to the next call; the revision makes the host rebuild what it built
	// from the old one.
	dir := h.identity
	deps.Grants = func(tenant, connector string) (plugins.TenantConfig, bool) {
		t, ok := dir.Tenant(tenant)
		if !ok {
			return plugins.TenantConfig{}, false
		}
		g, ok := t.Connectors[connector]
		return plugins.TenantConfig{Config: g.Config, Secrets: g.Secrets, Egress: g.Egress, SecretOrigins: g.SecretOrigins, Revision: t.Revision}, ok
	}
	plugins.WarnUnboundSecrets(deps.Logger, perTenant(h.cfg, func(t Tenant) map[string]plugins.TenantConfig { return t.Connectors }))
	m, err := plugins.New(context.Background(), h.cfg.Connectors, deps)
	if err != nil {
		return nil, err
	}
	return m, nil
}
