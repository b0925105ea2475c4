package main

import (
	"context"
	"path/filepath"

	"github.com/aquascene/aquahub/internal/config"
	"github.com/aquascene/aquahub/internal/httpapi"
	"github.com/aquascene/aquahub/plugins"
)

// wirePlugins loads the connector catalog and adds the `connector` step kind, the rule
// checker for connector steps, the /api/v1/connectors routes and the directory watcher.
// A module that fails to load stops the hub, naming the file, as a broken rule does.
func wirePlugins(h *hub) error {
	cat, err := plugins.Open(context.Background(), pluginOptions(h.cfg, h))
	if err != nil {
		if cat != nil {
			cat.Close(context.Background())
		}
		return err
	}
	h.executors["connector"] = cat
	h.checker = cat
	h.features = append(h.features, httpapi.ConnectorRoutes(cat))
	cancel := func() {}
	if every := h.cfg.Connectors.WatchInterval; every > 0 {
		h.starters = append(h.starters, func(ctx context.Context) error {
			var wctx context.Context
			wctx, cancel = context.WithCancel(context.WithoutCancel(ctx))
			go cat.Watch(wctx, every)
			return nil
		})
	}
	h.stoppers = append(h.stoppers, func(ctx context.Context) error {
		cancel()
		return cat.Close(ctx)
	})
	return nil
}

// pluginOptions maps configuration onto the host's options; h may be nil outside a hub
// (CLI commands that only inspect or test connectors).
func pluginOptions(cfg config.Config, h *hub) plugins.Options {
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
		opts.DB = h.store.DB()
		opts.Logger = h.log.With("feature", "connectors")
		opts.Registerer = h.metrics.Registry
	}
	return opts
}

// tenantGrants looks a tenant's connector settings up in the configuration.
func tenantGrants(cfg config.Config) func(tenant, connector string) (plugins.Grant, bool) {
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
