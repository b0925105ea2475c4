package main

import (
	"context"
	"os"

	"github.com/aquascene/aquahub/internal/config"
	"github.com/aquascene/aquahub/internal/content"
	"github.com/aquascene/aquahub/internal/httpapi"
)

// wireContent adds the content engine: the generate step kind, the /api/v1/content and
// /api/v1/templates routes, and the resumption of unfinished asynchronous work and batches.
func wireContent(h *hub) error {
	svc, err := content.NewService(content.ServiceOptions{
		DB: h.store.DB(), Provider: newContentProvider(h.cfg.LLM), Policies: contentPolicies(h.cfg),
		Publisher: h, MaxConcurrent: h.cfg.LLM.MaxConcurrent, Logger: h.log.With("feature", "content"),
	})
	if err != nil {
		return err
	}
	h.executors["generate"] = content.StepExecutor{Service: svc}
	h.kindCheckers["generate"] = content.CheckStepInput
	h.features = append(h.features, httpapi.ContentRoutes(svc))
	// Resumed work publishes events, so it starts after the engine.
	h.starters = append(h.starters, func(ctx context.Context) error { return svc.Start(ctx) })
	h.stoppers = append(h.stoppers, func(context.Context) error { return svc.Close() })
	return nil
}

// newContentProvider builds the configured provider. An empty api_key falls back to the
// OPENAI_API_KEY environment variable.
func newContentProvider(c config.LLMConfig) content.Provider {
	if c.Provider != "openai" {
		return content.BuiltinProvider{}
	}
	key := c.APIKey
	if key == "" {
		key = os.Getenv("OPENAI_API_KEY")
	}
	return content.NewOpenAIProvider(content.OpenAIOptions{
		BaseURL: c.BaseURL, Model: c.Model, APIKey: key, Organization: c.Organization,
		Timeout: c.Timeout, MaxRetries: c.MaxRetries, MaxWait: c.MaxWait, MaxTokens: c.MaxTokens,
		Temperature: float32(c.Temperature), Stream: c.Stream, JSONMode: c.JSONMode,
		Pricing: content.Pricing{PromptPer1K: c.Pricing.PromptPer1K, CompletionPer1K: c.Pricing.CompletionPer1K},
	})
}

// contentPolicies maps llm.* and tenants[].content onto the content engine's policies.
func contentPolicies(cfg config.Config) content.Policies {
	p := content.Policies{
		Default: content.Policy{
			BrandVoice: cfg.LLM.BrandVoice, Prohibited: cfg.LLM.ProhibitedPhrases, MinQualityScore: cfg.LLM.MinQualityScore,
		},
		PerTenant: map[string]content.Policy{},
	}
	for _, t := range cfg.Tenants {
		p.PerTenant[t.ID] = content.Policy{
			BrandVoice: t.Content.BrandVoice, Prohibited: t.Content.ProhibitedPhrases, MinQualityScore: t.Content.MinQualityScore,
		}
	}
	return p
}
