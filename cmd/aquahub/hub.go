package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/httpapi"
	"github.com/aquascene/aquahub/internal/identity"
	"github.com/aquascene/aquahub/internal/metrics"
	"github.com/aquascene/aquahub/internal/pipeline"
	"github.com/aquascene/aquahub/internal/secrets"
	"github.com/aquascene/aquahub/internal/storage/bolt"
	"github.com/aquascene/aquahub/rules"
)

// hub is one wired aquahub: the storage file, the feature modules, the rules, the engine
// and the HTTP server. This is where modules are composed; no module knows another.
type hub struct {
	cfg   Config
	log   *slog.Logger
	db    *bolt.DB
	vault *secrets.Vault
	// identity is the first module built: the others read the tenant registry it keeps.
	identity *identity.Module
	metrics  *metrics.Metrics
	modules  []core.Module
	kinds    *core.StepKinds
	rules    *rules.Set
	engine   *core.Engine
	server   *httpapi.Server
	// control answers local commands on the socket beside the data file (aquahub backup).
	control *control
	// started are the workers Start ran, stopped in reverse order.
	started []core.Worker
}

// moduleBuilders build the feature modules in order. A builder sees the hub being built:
// its configuration, logger, storage (nil when only checking rules) and Publish.
var moduleBuilders = []func(h *hub) (core.Module, error){
	identityModule, webhooksModule, inboundModule, pluginsModule, contentModule, analyticsModule, partnersModule,
}

// Publish lets modules put events into the pipeline; it is valid once the hub is built.
func (h *hub) Publish(ctx context.Context, tenant string, events ...core.Event) ([]core.Accepted, error) {
	if h.engine == nil {
		return nil, errors.New("hub is not built yet")
	}
	return h.engine.Publish(ctx, tenant, events...)
}

func newLogger(cfg LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// buildModules builds every feature module and the step kind registry they make up, and
// loads the rules against it. With h.db nil the modules can only check rules.
func (h *hub) buildModules() error {
	kinds, err := core.NewStepKinds(core.BuiltinStepKinds(h.log)...)
	if err != nil {
		return err
	}
	for _, build := range moduleBuilders {
		m, err := build(h)
		if err != nil {
			return err
		}
		h.modules = append(h.modules, m)
		if p, ok := m.(core.StepKindProvider); ok {
			for _, k := range p.StepKinds() {
				if err := kinds.Add(k); err != nil {
					return fmt.Errorf("module %s: %w", m.Name(), err)
				}
			}
		}
	}
	h.kinds = kinds
	env := map[string]string{}
	for _, name := range h.cfg.Rules.Env {
		env[name] = os.Getenv(name)
	}
	set, err := rules.Load(h.cfg.Rules.Paths, rules.Options{Kinds: kinds, Env: env})
	if err != nil {
		return fmt.Errorf("loading rules:\n%w", err)
	}
	h.rules = set
	return nil
}

// checkRules builds the modules without storage, enough to load and check the rules as
// serve would (rules lint and rules test).
func checkRules(cfg Config, log *slog.Logger) (*hub, error) {
	h := &hub{cfg: cfg, log: log}
	if err := h.buildModules(); err != nil {
		h.close(context.Background())
		return nil, err
	}
	return h, nil
}

// buildHub opens the storage, builds every module, loads the rules and builds the engine and
// the server. Nothing runs until start.
func buildHub(cfg Config, log *slog.Logger) (*hub, error) {
	vault, err := openVault(cfg, log)
	if err != nil {
		return nil, err
	}
	db, err := bolt.OpenWith(cfg.Storage, bolt.Options{Secrets: vault, Log: log})
	if err != nil {
		return nil, err
	}
	h := &hub{cfg: cfg, log: log, db: db, vault: vault, metrics: metrics.New()}
	ok := false
	defer func() {
		if !ok {
			h.close(context.Background())
		}
	}()
	if err := checkDataKeys(db, vault); err != nil {
		return nil, err
	}
	if err := h.buildModules(); err != nil {
		return nil, err
	}
	store := db.Pipeline()
	h.engine, err = core.NewEngine(core.EngineOptions{
		Config: cfg.Engine, Store: store, Rules: h.rules, Kinds: h.kinds, Tenants: h.identity, Admission: h.identity,
		Logger: log, Observer: h.metrics,
	})
	if err != nil {
		return nil, err
	}
	h.metrics.WatchQueue(store)
	h.metrics.WatchStorage(db)
	if err := h.metrics.Collect(h.modules...); err != nil {
		return nil, err
	}
	routes := []httpapi.RouteModule{pipeline.New(h.engine, store), h.metrics}
	for _, m := range h.modules {
		if r, ok := m.(httpapi.RouteModule); ok {
			routes = append(routes, r)
		}
	}
	h.server, err = httpapi.New(cfg.Server, httpapi.Options{
		Auth: h.identity, Admission: h.identity, Audit: h.identity, Observer: h.metrics, Logger: log, Version: version,
		Ready: func() error { return errors.Join(db.Ping(), h.engine.Health()) },
	}, routes...)
	if err != nil {
		return nil, err
	}
	ok = true
	return h, nil
}

// openVault loads the master key (secrets.master_key, secrets.master_key_file, or
// master.key beside the storage file, created on the first start) into the vault that seals
// secrets at rest.
func openVault(cfg Config, log *slog.Logger) (*secrets.Vault, error) {
	key, created, err := secrets.LoadMasterKey(cfg.Secrets, filepath.Join(filepath.Dir(cfg.Storage.Path), "master.key"))
	if err != nil {
		return nil, err
	}
	v, err := secrets.NewVault(key)
	if err != nil {
		return nil, err
	}
	if created {
		log.Warn("created a master key beside the data file; secrets at rest are sealed with it. Keep it out of backups of the data file, or set secrets.master_key from a secret manager",
			"file", filepath.Join(filepath.Dir(cfg.Storage.Path), "master.key"), "key_id", v.KeyID())
	}
	return v, nil
}

// checkDataKeys refuses to start when a tenant's data key was not wrapped by the configured
// master key: the hub would fail at the first secret it reads.
func checkDataKeys(db *bolt.DB, v *secrets.Vault) error {
	keys, err := db.DataKeys()
	if err != nil {
		return err
	}
	for tenant, wrapped := range keys {
		if err := v.CheckDataKey(tenant, wrapped); err != nil {
			return fmt.Errorf("secrets: %w; configure the master key that sealed this data (secrets.master_key or secrets.master_key_file), or rotate with `aquahub secrets rotate-master-key`", err)
		}
	}
	return nil
}

// start starts the engine, the modules' workers and the HTTP listener. It returns the address
// actually listened on and a channel that reports the server's end.
func (h *hub) start(ctx context.Context) (net.Addr, <-chan error, error) {
	ln, err := net.Listen("tcp", h.cfg.Server.Addr)
	if err != nil {
		return nil, nil, fmt.Errorf("server.addr: %w", err)
	}
	if err := h.engine.Start(ctx); err != nil {
		ln.Close()
		return nil, nil, err
	}
	// The pruner starts with the engine and stops after the modules' workers, before the
	// file closes.
	pruner := h.db.Pruner(h.log)
	if err := pruner.Start(ctx); err != nil {
		ln.Close()
		return nil, nil, err
	}
	h.started = append(h.started, pruner)
	if h.control, err = startControl(h.db, h.cfg.Storage.Path, h.log); err != nil {
		ln.Close()
		return nil, nil, err
	}
	for _, m := range h.modules {
		if w, ok := m.(core.Worker); ok {
			if err := w.Start(ctx); err != nil {
				ln.Close()
				return nil, nil, fmt.Errorf("starting %s: %w", m.Name(), err)
			}
			h.started = append(h.started, w)
		}
	}
	done := make(chan error, 1)
	go func() { done <- h.server.Serve(ln) }()
	return ln.Addr(), done, nil
}

// shutdown stops accepting requests, drains the engine and closes everything, within the
// configured timeout.
func (h *hub) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.Server.ShutdownTimeout)
	defer cancel()
	var errs []error
	if h.server != nil {
		httpCtx, c2 := context.WithTimeout(ctx, 5*time.Second)
		errs = append(errs, h.server.Shutdown(httpCtx))
		c2()
	}
	if h.engine != nil {
		errs = append(errs, h.engine.Drain(ctx))
	}
	errs = append(errs, h.close(ctx))
	return errors.Join(errs...)
}

// close stops the workers in reverse order, closes modules that hold resources and closes
// the storage file.
func (h *hub) close(ctx context.Context) error {
	var errs []error
	for i := len(h.started) - 1; i >= 0; i-- {
		errs = append(errs, h.started[i].Stop(ctx))
	}
	h.started = nil
	for i := len(h.modules) - 1; i >= 0; i-- {
		if c, ok := h.modules[i].(core.Closer); ok {
			errs = append(errs, c.Close(ctx))
		}
	}
	if h.control != nil {
		errs = append(errs, h.control.Close())
		h.control = nil
	}
	if h.db != nil {
		errs = append(errs, h.db.Close())
	}
	return errors.Join(errs...)
}
