package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/aquascene/aquahub/internal/config"
	"github.com/spf13/cobra"
)

// serveFlags are the flags serve and dev share.
type serveFlags struct {
	config string
	addr   string
	data   string
}

func (f *serveFlags) register(cmd *cobra.Command, withConfig bool) {
	if withConfig {
		cmd.Flags().StringVarP(&f.config, "config", "c", "", "configuration file (YAML)")
	}
	cmd.Flags().StringVar(&f.addr, "addr", "", "listen address, host:port (overrides server.addr)")
	cmd.Flags().StringVar(&f.data, "data", "", "data directory (overrides storage.path with DIR/aquahub.db)")
}

func (f *serveFlags) overrides() map[string]any {
	o := map[string]any{}
	if f.addr != "" {
		o["server.addr"] = f.addr
	}
	if f.data != "" {
		o["storage.path"] = f.data + "/aquahub.db"
	}
	return o
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the hub",
		Long:  "Run the hub with the configuration file, AQUAHUB_* environment variables and flags, in that order of precedence (flags win).",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(f.config, f.overrides())
			if err != nil {
				return err
			}
			return serve(cmd.Context(), cfg, nil)
		},
	}
	f.register(cmd, true)
	return cmd
}

// serve runs a hub until SIGINT or SIGTERM, then drains it. ready, when not nil, is
// called with the listening address once the hub serves.
func serve(ctx context.Context, cfg config.Config, ready func(addr string)) error {
	if ctx == nil {
		ctx = context.Background()
	}
	log := newLogger(cfg.Log, os.Stderr)
	h, err := buildHub(cfg, log)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	addr, done, err := h.start(ctx)
	if err != nil {
		h.close(context.Background())
		return err
	}
	log.Info("aquahub serving", "addr", addr.String(), "data", cfg.Storage.Path, "rules", h.rules.Len(), "tenants", len(cfg.Tenants))
	if ready != nil {
		ready(addr.String())
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down: no new requests; draining runs", "timeout", cfg.Server.ShutdownTimeout)
	case err := <-done:
		if err != nil {
			h.shutdown()
			return fmt.Errorf("http server: %w", err)
		}
	}
	if err := h.shutdown(); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("aquahub stopped")
	return nil
}
