package main

import (
	"fmt"

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
