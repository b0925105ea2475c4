package main

import (
	"context"
	"fmt"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/inbound"
	"github.com/aquascene/aquahub/internal/webhooks"
)

// transitional: the webhooks and inbound modules move into their packages.
type webhooksMod struct {
	svc    *webhooks.Service
	cancel context.CancelFunc
	done   chan struct{}
}

func (m *webhooksMod) Name() string { return "webhooks" }
func (m *webhooksMod) StepKinds() []core.StepKind {
	return []core.StepKind{webhooks.NewStepKind(m.svc)}
}
func (m *webhooksMod) Start(ctx context.Context) error {
	var runCtx context.Context
	runCtx, m.cancel = context.WithCancel(context.WithoutCancel(ctx))
	m.done = make(chan struct{})
	go func() { defer close(m.done); _ = m.svc.Run(runCtx) }()
	return nil
}
func (m *webhooksMod) Stop(ctx context.Context) error {
	if m.cancel == nil {
		return nil
	}
	m.cancel()
	select {
	case <-m.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("webhook delivery did not stop: %w", ctx.Err())
	}
}

func webhooksModule(h *hub) (core.Module, error) {
	if h.db == nil {
		return &webhooksMod{}, nil
	}
	wc := h.cfg.Webhooks
	svc, err := webhooks.New(webhooks.Options{
		DB: h.db.Bolt(), Events: h.db.Pipeline(), Publisher: h, Logger: h.log.With("feature", "webhooks"),
		Policy: wc.Policy(), Schedule: wc.Schedule, Timeout: wc.Timeout, DisableAfter: wc.DisableAfter,
		RotationOverlap: wc.RotationOverlap, Workers: wc.Workers,
	})
	if err != nil {
		return nil, err
	}
	return &webhooksMod{svc: svc}, nil
}

type inboundMod struct{ recv *inbound.Receiver }

func (m *inboundMod) Name() string { return "inbound" }

func inboundModule(h *hub) (core.Module, error) {
	if h.db == nil {
		return &inboundMod{}, nil
	}
	var sources []*inbound.Source
	for i, t := range h.cfg.Tenants {
		for _, name := range sortedKeys(t.Sources) {
			s := t.Sources[name]
			spec := inbound.Spec{
				Verifier: s.Verifier, Secret: s.Secret, Header: s.Header, Algorithm: s.Algorithm,
				Encoding: s.Encoding, Prefix: s.Prefix, Tolerance: s.Tolerance,
				Type: s.Type, ID: s.ID, Subject: s.Subject, Data: s.Data,
			}
			if s.Verifier == inbound.VerifierAirtable && s.WebhookID != "" {
				spec.Airtable = &inbound.AirtableFetch{BaseURL: s.BaseURL, Token: s.Token, BaseID: s.BaseID, WebhookID: s.WebhookID, Policy: h.cfg.Webhooks.Policy()}
			}
			src, err := inbound.NewSource(t.ID, name, spec)
			if err != nil {
				return nil, fmt.Errorf("tenants[%d].sources.%s.%w", i, name, err)
			}
			sources = append(sources, src)
		}
	}
	recv, err := inbound.NewReceiver(inbound.ReceiverOptions{DB: h.db.Bolt(), Publisher: h}, sources...)
	if err != nil {
		return nil, err
	}
	return &inboundMod{recv: recv}, nil
}
