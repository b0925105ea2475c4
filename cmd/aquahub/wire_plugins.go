package main

import (
	"context"
	"path/filepath"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/plugins"
)

// transitional: the connector host module moves into its package.
type pluginsMod struct {
	cat    *plugins.Catalog
	every  func() bool
	cancel context.CancelFunc
	watch  bool
}

func (m *pluginsMod) Name() string               { return "connectors" }
func (m *pluginsMod) StepKinds() []core.StepKind { return []core.StepKind{m.cat.StepKind()} }
func (m *pluginsMod) Close(ctx context.Context) error {
	if m.cancel != nil {
		m.cancel()
	}
	return m.cat.Close(ctx)
}

func pluginsModule(h *hub) (core.Module, error) {
	cat, err := plugins.Open(context.Background(), pluginOptions(h.cfg, h))
	if err != nil {
		if cat != nil {
			cat.Close(context.Background())
		}
		return nil, err
	}
	m := &pluginsMod{cat: cat}
	if every := h.cfg.Connectors.WatchInterval; every > 0 && h.db != nil {
		var wctx context.Context
		wctx, m.cancel = context.WithCancel(context.Background())
		go cat.Watch(wctx, every)
	}
	return m, nil
}

// pluginOptions maps configuration onto the host's options; h may be nil outside a hub
// (CLI commands that only inspect or test connectors).
func pluginOptions(cfg Config, h *hub) plugins.Options {
	cc := cfg.Connectors
	cache := cc.CacheDir
	if cache == "" {
		cache = filepath.Join(filepath.Dir(cfg.Storage.Path), "wazero-cache")
	}
	opts := plugins.Options{
		Dir: cc.Dir, CacheDir: cache, PoolSize: cc.PoolSize, CallTimeout: cc.CallTimeout,
		MemoryLimitPages: uint32(cc.MemoryLimitPages), MaxResponseBytes: int64(cc.MaxResponseBytes),
		MaxKVValueBytes: int(cc.MaxKVValueBytes), RecycleAfterCalls: cc.RecycleAfterCalls,
		RecycleMemoryPages: uint32(cc.RecycleMemoryPages),
		Grants:             tenantGrants(cfg),
	}
	if h != nil {
		if h.db != nil {
			opts.DB = h.db.Bolt()
		}
		opts.Logger = h.log.With("feature", "connectors")
		if h.metrics != nil {
			opts.Registerer = h.metrics.Registry
		}
	}
	return opts
}

// tenantGrants looks a tenant's connector settings up in the configuration.
func tenantGrants(cfg Config) func(tenant, connector string) (plugins.Grant, bool) {
	grants := map[string]plugins.Grant{}
	for _, t := range cfg.Tenants {
		for id, tc := range t.Connectors {
			grants[t.ID+"\x00"+id] = plugins.Grant{Config: tc.Config, Secrets: tc.Secrets, Egress: tc.Egress}
		}
	}
	return func(tenant, connector string) (plugins.Grant, bool) {
		g, ok := grants[tenant+"\x00"+connector]
		return g, ok
	}
}
