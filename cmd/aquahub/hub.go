package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sort"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/config"
	"github.com/aquascene/aquahub/internal/httpapi"
	"github.com/aquascene/aquahub/internal/metrics"
	"github.com/aquascene/aquahub/internal/storage/bolt"
	"github.com/aquascene/aquahub/rules"
	bbolt "go.etcd.io/bbolt"
)

// hub is one wired aquahub: store, rules, engine, features and HTTP server. Features wire
// themselves in wire_<feature>.go through the fields below.
type hub struct {
	cfg     config.Config
	log     *slog.Logger
	store   *bolt.Store
	metrics *metrics.Metrics
	engine  *core.Engine
	rules   *rules.Set
	server  *httpapi.Server

	// Filled by features before the engine and server are built.
	executors map[string]core.StepExecutor
	features  []httpapi.Routes
	public    []httpapi.Routes
	checker   rules.StepChecker
	// kindCheckers validate other step kinds' input when the rules load.
	kindCheckers map[string]func(with map[string]any) error
	// starters run after the engine starts; stoppers run in reverse order at shutdown.
	starters []func(ctx context.Context) error
	stoppers []func(ctx context.Context) error
}

// features wire themselves into a hub in this order; each may add executors, routes,
// a rule checker, starters and stoppers.
var features = []func(h *hub) error{wireWebhooks, wirePlugins, wireContent}

// Publish lets features put events into the pipeline; it satisfies their Publisher
// interfaces and is valid once the hub is built.
func (h *hub) Publish(ctx context.Context, tenant string, events ...core.Event) ([]core.Accepted, error) {
	if h.engine == nil {
		return nil, errors.New("hub is not built yet")
	}
	return h.engine.Publish(ctx, tenant, events...)
}

func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// buildHub opens the store, wires every feature, loads the rules and builds the engine
// and the server. Nothing runs until start.
func buildHub(cfg config.Config, log *slog.Logger) (*hub, error) {
	st, err := bolt.Open(cfg.Storage.Path, bolt.Options{MaxBatchSize: cfg.Storage.MaxBatchSize, MaxBatchDelay: cfg.Storage.MaxBatchDelay})
	if err != nil {
		return nil, err
	}
	h := &hub{cfg: cfg, log: log, store: st, metrics: metrics.New(), executors: map[string]core.StepExecutor{}, kindCheckers: map[string]func(map[string]any) error{}}
	ok := false
	defer func() {
		if !ok {
			h.close(context.Background())
		}
	}()
	for _, wire := range features {
		if err := wire(h); err != nil {
			return nil, err
		}
	}
	kinds := []string{"emit", "log"}
	for k := range h.executors {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	env := map[string]string{}
	for _, name := range cfg.Rules.Env {
		env[name] = os.Getenv(name)
	}
	set, err := rules.Load(cfg.Rules.Paths, rules.Options{Kinds: kinds, Checker: h.checker, KindCheckers: h.kindCheckers, Env: env})
	if err != nil {
		return nil, fmt.Errorf("loading rules:\n%w", err)
	}
	h.rules = set
	h.engine, err = core.NewEngine(core.EngineOptions{
		Store: st, Rules: set, Executors: h.executors, Tenants: cfg.TenantIDs(),
		Workers: cfg.Engine.Workers, LeaseTTL: cfg.Engine.LeaseTTL, Logger: log, Observer: h.metrics,
	})
	if err != nil {
		return nil, err
	}
	h.metrics.WatchQueue(st)
	keys := httpapi.NewAPIKeys()
	for _, t := range cfg.Tenants {
		for _, k := range t.APIKeys {
			keys.Add(k, t.ID, "admin")
		}
	}
	h.server = httpapi.New(httpapi.Options{
		Engine: h.engine, Auth: keys, BodyLimit: int(cfg.Server.BodyLimit), Metrics: h.metrics, Logger: log,
		Features: h.features, Public: h.public, Version: version,
		Ready: func() error { return h.store.DB().View(func(_ *bbolt.Tx) error { return nil }) },
	})
	ok = true
	return h, nil
}

// start starts the engine, the features and the HTTP listener. It returns the address
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
	for _, s := range h.starters {
		if err := s(ctx); err != nil {
			ln.Close()
			return nil, nil, err
		}
	}
	done := make(chan error, 1)
	go func() { done <- h.server.Serve(ln) }()
	return ln.Addr(), done, nil
}

// shutdown stops accepting requests, drains the engine and closes everything, within
// the configured timeout.
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

func (h *hub) close(ctx context.Context) error {
	var errs []error
	for i := len(h.stoppers) - 1; i >= 0; i-- {
		errs = append(errs, h.stoppers[i](ctx))
	}
	errs = append(errs, h.store.Close())
	return errors.Join(errs...)
}
