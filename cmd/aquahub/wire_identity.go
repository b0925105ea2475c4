package main

import (
	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/identity"
	"github.com/aquascene/aquahub/internal/inbound"
	"github.com/aquascene/aquahub/plugins"
)

// identityModule builds identity and tenancy from the identity section and the file's
// tenants. It is built first: the other modules read the tenant registry it keeps. Without
// storage it knows the file's tenants only.
func identityModule(h *hub) (core.Module, error) {
	deps := identity.Deps{
		Logger: h.log.With("feature", "identity"),
		CheckConnector: func(_ string, g core.ConnectorGrant) error {
			return plugins.TenantConfig{Config: g.Config, Secrets: g.Secrets, Egress: g.Egress, SecretOrigins: g.SecretOrigins}.Validate()
		},
		CheckSource: inbound.CheckSettings,
	}
	if h.db != nil {
		deps.Store = h.db.Identity()
	}
	m, err := identity.New(h.cfg.Identity, fileTenants(h.cfg), deps)
	if err != nil {
		return nil, err
	}
	h.identity = m
	return m, nil
}
