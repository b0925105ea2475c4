package main

import (
	"context"
	"fmt"
	"sort"

	"github.com/aquascene/aquahub/internal/config"
	"github.com/aquascene/aquahub/internal/httpapi"
	"github.com/aquascene/aquahub/sdk/netguard"
	"github.com/aquascene/aquahub/internal/webhooks"
	"github.com/aquascene/aquahub/internal/inbound"
)

// wireWebhooks adds outbound delivery (the /api/v1/webhooks API, fan-out of every event,
// the webhook step kind) and the inbound sources of every tenant (/hooks/{tenant}/{source}).
func wireWebhooks(h *hub) error {
	wc := h.cfg.Webhooks
	svc, err := webhooks.New(webhooks.Options{
		DB: h.store.DB(), Events: h.store, Publisher: h, Logger: h.log.With("feature", "webhooks"),
		Policy:   netguard.Policy{AllowHTTP: wc.AllowHTTP, AllowLoopback: wc.AllowLoopback, AllowPrivate: wc.AllowPrivate},
		Schedule: wc.Schedule, Timeout: wc.Timeout, DisableAfter: wc.DisableAfter,
		RotationOverlap: wc.RotationOverlap, Workers: wc.Workers,
	})
	if err != nil {
		return err
	}
	sources, err := inboundSources(h.cfg)
	if err != nil {
		return err
	}
	recv, err := inbound.NewReceiver(inbound.ReceiverOptions{DB: h.store.DB(), Publisher: h}, sources...)
	if err != nil {
		return err
	}
	h.executors["webhook"] = webhooks.NewStepExecutor(svc)
	h.features = append(h.features, httpapi.WebhookRoutes(svc))
	h.public = append(h.public, httpapi.HookRoutes(recv))

	var cancel context.CancelFunc
	done := make(chan struct{})
	h.starters = append(h.starters, func(ctx context.Context) error {
		var runCtx context.Context
		runCtx, cancel = context.WithCancel(context.WithoutCancel(ctx))
		go func() {
			defer close(done)
			_ = svc.Run(runCtx)
		}()
		return nil
	})
	h.stoppers = append(h.stoppers, func(ctx context.Context) error {
		if cancel == nil {
			return nil
		}
		cancel()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("webhook delivery did not stop: %w", ctx.Err())
		}
	})
	return nil
}

// inboundSources compiles the configured sources; errors name the config path.
func inboundSources(cfg config.Config) ([]*inbound.Source, error) {
	var out []*inbound.Source
	for i, t := range cfg.Tenants {
		names := make([]string, 0, len(t.Sources))
		for name := range t.Sources {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			s := t.Sources[name]
			src, err := inbound.NewSource(t.ID, name, inbound.Spec{
				Verifier: s.Verifier, Secret: s.Secret, Header: s.Header, Algorithm: s.Algorithm,
				Encoding: s.Encoding, Prefix: s.Prefix, Tolerance: s.Tolerance,
				Type: s.Type, ID: s.ID, Subject: s.Subject, Data: s.Data,
				Airtable: airtableFetch(cfg, s),
			})
			if err != nil {
				return nil, fmt.Errorf("tenants[%d].sources.%s.%w", i, name, err)
			}
			out = append(out, src)
		}
	}
	return out, nil
}
