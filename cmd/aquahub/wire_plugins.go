package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/plugins"
)

// pluginsModule builds the connector host from the connectors section, with each tenant's
// connector settings from the tenant registry and the module digests the configuration file
// pins. Its compilation cache defaults to the data file's directory, and modules are
// compiled first in a child process of this binary. Without storage (checking rules) kv
// calls are unavailable.
func pluginsModule(h *hub) (core.Module, error) {
	deps := plugins.Deps{Logger: h.log.With("feature", "connectors"), DataDir: filepath.Dir(h.cfg.Storage.Path),
		CompileCommand: compileCommand(), Publisher: h, Instances: partnerInstances(h)}
	if h.db != nil {
		deps.KV = h.db.ConnectorKV()
	}
	// Grants are read from the tenant registry at every call, so one the tenants API
	// changes applies to the next call; the revision makes the host rebuild what it built
	// from the old one.
	// Module digests are pinned in the configuration file (tenants[].connectors.<id>.sha256):
	// the load-time check needs them before any call, and a call checks its tenant's pin.
	file := perTenant(h.cfg, func(t Tenant) map[string]plugins.TenantConfig { return t.Connectors })
	deps.Pins = plugins.StaticPins(file)
	dir := h.identity
	deps.Grants = func(tenant, connector string) (plugins.TenantConfig, bool) {
		t, ok := dir.Tenant(tenant)
		if !ok {
			return plugins.TenantConfig{}, false
		}
		g, ok := t.Connectors[connector]
		return plugins.TenantConfig{Config: g.Config, Secrets: g.Secrets, Egress: g.Egress, SecretOrigins: g.SecretOrigins,
			SHA256: file[tenant][connector].SHA256, Revision: t.Revision}, ok
	}
	plugins.WarnUnboundSecrets(deps.Logger, file)
	m, err := plugins.New(context.Background(), h.cfg.Connectors, deps)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// compileCommand is how the connector host runs its compiling child: this binary with
// plugins.CompilerCommand. Nil (compile in process) when the binary cannot be found.
func compileCommand() []string {
	exe, err := os.Executable()
	if err != nil {
		return nil
	}
	return []string{exe, plugins.CompilerCommand}
}
