package main

import (
	"context"
	"os"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/content"
)

// transitional: the content module moves into its package.
type contentMod struct{ svc *content.Service }

func (m *contentMod) Name() string { return "content" }
func (m *contentMod) StepKinds() []core.StepKind {
	return []core.StepKind{content.StepKind{Service: m.svc}}
}
func (m *contentMod) Start(ctx context.Context) error {
	if m.svc == nil {
		return nil
	}
	return m.svc.Start(ctx)
}
func (m *contentMod) Stop(context.Context) error {
	if m.svc == nil {
		return nil
	}
	return m.svc.Close()
}

func contentModule(h *hub) (core.Module, error) {
	if h.db == nil {
		return &contentMod{}, nil
	}
	svc, err := content.NewService(content.ServiceOptions{
		DB: h.db.Bolt(), Provider: newContentProvider(h.cfg.LLM), Policies: contentPolicies(h.cfg),
		Publisher: h, MaxConcurrent: h.cfg.LLM.MaxConcurrent, Logger: h.log.With("feature", "content"),
	})
	if err != nil {
		return nil, err
	}
	return &contentMod{svc: svc}, nil
}

// newContentProvider builds the configured provider. An empty api_key falls back to the
// OPENAI_API_KEY environment variable.
func newContentProvider(c content.Config) content.Provider {
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
func contentPolicies(cfg Config) content.Policies {
	p := content.Policies{
		Default:   content.Policy{BrandVoice: cfg.LLM.BrandVoice, Prohibited: cfg.LLM.ProhibitedPhrases, MinQualityScore: cfg.LLM.MinQualityScore},
		PerTenant: map[string]content.Policy{},
	}
	for _, t := range cfg.Tenants {
		p.PerTenant[t.ID] = content.Policy{BrandVoice: t.Content.BrandVoice, Prohibited: t.Content.ProhibitedPhrases, MinQualityScore: t.Content.MinQualityScore}
	}
	return p
}
