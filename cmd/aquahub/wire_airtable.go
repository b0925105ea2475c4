package main

import (
	"github.com/aquascene/aquahub/internal/config"
	"github.com/aquascene/aquahub/sdk/netguard"
	"github.com/aquascene/aquahub/internal/inbound"
)

// airtableFetch returns the payload-fetch settings of an airtable source that names its
// webhook, or nil (the source then only verifies pings). The fetch obeys the same address
// policy as outbound webhooks: loopback only when webhooks.allow_loopback says so.
func airtableFetch(cfg config.Config, s config.Source) *inbound.AirtableFetch {
	if s.Verifier != inbound.VerifierAirtable || s.WebhookID == "" {
		return nil
	}
	wc := cfg.Webhooks
	return &inbound.AirtableFetch{
		BaseURL: s.BaseURL, Token: s.Token, BaseID: s.BaseID, WebhookID: s.WebhookID,
		Policy: netguard.Policy{AllowHTTP: wc.AllowHTTP, AllowLoopback: wc.AllowLoopback, AllowPrivate: wc.AllowPrivate},
	}
}
