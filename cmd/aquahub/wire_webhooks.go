package main

import (
	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/inbound"
	"github.com/aquascene/aquahub/internal/webhooks"
)

// webhooksModule builds the outbound webhooks module. Without storage (rules lint) it can
// only check webhook steps.
func webhooksModule(h *hub) (core.Module, error) {
	deps := webhooks.Deps{Publisher: h, Logger: h.log.With("feature", "webhooks")}
	if h.db != nil {
		deps.Store, deps.Events = h.db.Webhooks(), h.db.Pipeline()
	}
	m, err := webhooks.New(h.cfg.Webhooks, deps)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// inboundModule builds the inbound sources module from every tenant's sources in the file;
// those the tenants API gives a tenant are read from the registry. Its address
// policy for requests made on a sender's behalf (the Airtable payload fetch) is the outbound
// webhooks' policy.
func inboundModule(h *hub) (core.Module, error) {
	deps := inbound.Deps{Publisher: h, Policy: h.cfg.Webhooks.Policy(), Tenants: h.identity, Logger: h.log.With("feature", "inbound")}
	if h.db != nil {
		deps.Store = h.db.Inbound()
	}
	m, err := inbound.New(perTenant(h.cfg, func(t Tenant) map[string]inbound.SourceConfig { return t.Sources }), deps)
	if err != nil {
		return nil, err
	}
	return m, nil
}
