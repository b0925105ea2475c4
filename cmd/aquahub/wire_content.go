package main

import (
	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/content"
)

// contentModule builds the content engine from llm and tenants[].content; without storage it
// can only check generate steps.
func contentModule(h *hub) (core.Module, error) {
	deps := content.Deps{Publisher: h, Tenants: h.identity, Logger: h.log.With("feature", "content"), Partners: partnerGuides{h}}
	if h.db != nil {
		deps.Store = h.db.Content()
	}
	m, err := content.New(h.cfg.LLM, contentTenants(h.cfg), deps)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// contentTenants gives each tenant's content settings.
func contentTenants(cfg Config) map[string]content.TenantConfig {
	return perTenant(cfg, func(t Tenant) content.TenantConfig { return t.Content })
}
