package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/identity"
)

// tempHub is what the benches and their tests run against: a hub on an ephemeral loopback
// port whose data, rules and connector modules live in a temporary directory.
type tempHub struct {
	h    *hub
	url  string // http://127.0.0.1:port
	cfg  Config
	stop func() // shuts the hub down and removes its directory
}

// tempHubSpec is what a tempHub runs.
type tempHubSpec struct {
	// prefix names the temporary directory.
	prefix string
	rules  string
	// modules maps connector file names (sendgrid.wasm) to the files copied there.
	modules map[string]string
	// log is the least level logged (to nowhere: the benches print their own figures).
	log slog.Level
	// configure adjusts the configuration before the hub is built: the dev tenant has an
	// admin key (DevAPIKey) and nothing else; connectors compile into the shared cache.
	configure func(*Config)
}

// startTempHub builds and starts the hub of spec.
func startTempHub(ctx context.Context, spec tempHubSpec) (*tempHub, error) {
	dir, err := os.MkdirTemp("", spec.prefix)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*tempHub, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(spec.rules), 0o644); err != nil {
		return fail(err)
	}
	conns := filepath.Join(dir, "connectors")
	if err := os.MkdirAll(conns, 0o755); err != nil {
		return fail(err)
	}
	for name, src := range spec.modules {
		raw, err := os.ReadFile(src)
		if err != nil {
			return fail(fmt.Errorf("%w (run make connectors first, from the repository root)", err))
		}
		if err := os.WriteFile(filepath.Join(conns, name), raw, 0o644); err != nil {
			return fail(err)
		}
	}
	cfg := DefaultConfig()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Storage.Path = filepath.Join(dir, "aquahub.db")
	cfg.Rules.Paths = []string{filepath.Join(dir, "rules.yaml")}
	cfg.Connectors.Dir = conns
	cfg.Connectors.WatchInterval = 0
	cfg.Connectors.CacheDir = sharedCompileCache()
	cfg.Tenants = []Tenant{{ID: DevTenant, TenantConfig: identity.TenantConfig{APIKeys: []identity.ConfigKey{{Key: DevAPIKey, Role: core.RoleAdmin}}}}}
	if spec.configure != nil {
		spec.configure(&cfg)
	}
	h, err := buildHub(cfg, slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: spec.log})))
	if err != nil {
		return fail(err)
	}
	addr, _, err := h.start(ctx)
	if err != nil {
		h.close(context.Background())
		return fail(err)
	}
	return &tempHub{h: h, url: "http://" + addr.String(), cfg: cfg, stop: func() {
		if err := h.shutdown(); err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "bench: shutdown:", err)
		}
		os.RemoveAll(dir)
	}}, nil
}
