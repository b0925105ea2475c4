package config

// This file is owned by the content engine (issue 5); extend it there.

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// LLMConfig configures content generation.
type LLMConfig struct {
	// Provider is builtin (an offline template filler, the default) or openai (any
	// OpenAI-compatible server).
	Provider string `koanf:"provider"`
	// BaseURL is the OpenAI-compatible API root, such as https://api.openai.com/v1 (the
	// default), http://127.0.0.1:11434/v1 for Ollama or a vLLM / llama.cpp server.
	BaseURL string `koanf:"base_url"`
	// Model is the chat model name (default gpt-4o-mini).
	Model string `koanf:"model"`
	// APIKey authenticates to the provider; use ${OPENAI_API_KEY}. When empty the
	// OPENAI_API_KEY environment variable is used; local servers may need none.
	APIKey string `koanf:"api_key"`
	// Organization is sent as the OpenAI-Organization header when set.
	Organization string `koanf:"organization"`
	// Timeout bounds one HTTP attempt (default 60s).
	Timeout time.Duration `koanf:"timeout"`
	// MaxRetries is how many times a 429, 5xx, timeout or connection failure is retried
	// within one generation, honouring Retry-After and x-ratelimit-reset-* (default 3;
	// -1 disables).
	MaxRetries int `koanf:"max_retries"`
	// MaxWait is the longest rate-limit wait honoured in-process (default 30s); a longer one
	// hands the step back to the engine's retry schedule.
	MaxWait time.Duration `koanf:"max_wait"`
	// MaxTokens caps one completion (default 4096).
	MaxTokens int `koanf:"max_tokens"`
	// Temperature is sent when positive (0 leaves the server's default).
	Temperature float64 `koanf:"temperature"`
	// Stream reads answers as server-sent events (default false).
	Stream bool `koanf:"stream"`
	// JSONMode sends response_format json_object (default true; turn off for servers that
	// reject it).
	JSONMode bool `koanf:"json_mode"`
	// Pricing prices token usage, recorded per tenant and reported as cost_usd.
	Pricing LLMPricing `koanf:"pricing"`
	// MinQualityScore fails generations scoring below it, 0–10 (default 0: off). A tenant's
	// content.min_quality_score overrides it.
	MinQualityScore float64 `koanf:"min_quality_score"`
	// ProhibitedPhrases fail validation for every tenant, in addition to each tenant's own.
	ProhibitedPhrases []string `koanf:"prohibited_phrases"`
	// BrandVoice is the default brand voice for tenants that configure none.
	BrandVoice string `koanf:"brand_voice"`
	// MaxConcurrent caps the generations running at once across batches and asynchronous
	// requests (default 16).
	MaxConcurrent int `koanf:"max_concurrent"`
}

// LLMPricing is the price of 1,000 tokens in US dollars.
type LLMPricing struct {
	// PromptPer1K prices prompt (input) tokens.
	PromptPer1K float64 `koanf:"prompt_per_1k"`
	// CompletionPer1K prices completion (output) tokens.
	CompletionPer1K float64 `koanf:"completion_per_1k"`
}

func (c *LLMConfig) setDefaults() {
	*c = LLMConfig{
		Provider: "builtin", Model: "gpt-4o-mini", Timeout: 60 * time.Second, MaxRetries: 3,
		MaxWait: 30 * time.Second, MaxTokens: 4096, JSONMode: true, MaxConcurrent: 16,
	}
}

func (c LLMConfig) validate(path string) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: "+format, append([]any{path, field}, args...)...))
	}
	if c.Provider != "builtin" && c.Provider != "openai" {
		bad("provider", "must be builtin or openai (got %q)", c.Provider)
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("base_url", "must be an http(s) URL (got %q)", c.BaseURL)
		}
	}
	if c.Provider == "openai" && strings.TrimSpace(c.Model) == "" {
		bad("model", "required with provider openai")
	}
	if c.Timeout < 0 {
		bad("timeout", "may not be negative (got %s)", c.Timeout)
	}
	if c.MaxWait < 0 {
		bad("max_wait", "may not be negative (got %s)", c.MaxWait)
	}
	if c.MaxRetries < -1 || c.MaxRetries > 20 {
		bad("max_retries", "must be -1 to 20 (got %d)", c.MaxRetries)
	}
	if c.MaxTokens < 0 {
		bad("max_tokens", "may not be negative (got %d)", c.MaxTokens)
	}
	if c.Temperature < 0 || c.Temperature > 2 {
		bad("temperature", "must be 0 to 2 (got %v)", c.Temperature)
	}
	if c.Pricing.PromptPer1K < 0 || c.Pricing.CompletionPer1K < 0 {
		bad("pricing", "prices may not be negative")
	}
	if c.MinQualityScore < 0 || c.MinQualityScore > 10 {
		bad("min_quality_score", "must be 0 to 10 (got %v)", c.MinQualityScore)
	}
	if c.MaxConcurrent < 0 || c.MaxConcurrent > 256 {
		bad("max_concurrent", "must be 0 to 256 (got %d)", c.MaxConcurrent)
	}
	for i, p := range c.ProhibitedPhrases {
		if strings.TrimSpace(p) == "" {
			bad(fmt.Sprintf("prohibited_phrases[%d]", i), "may not be empty")
		}
	}
	return errs
}

// TenantContent is a tenant's brand voice and content policy.
type TenantContent struct {
	// BrandVoice describes tone and style for generated content; it opens every system
	// prompt for this tenant.
	BrandVoice string `koanf:"brand_voice"`
	// ProhibitedPhrases fail validation when they appear in generated content.
	ProhibitedPhrases []string `koanf:"prohibited_phrases"`
	// MinQualityScore overrides llm.min_quality_score for this tenant (0 keeps the global).
	MinQualityScore float64 `koanf:"min_quality_score"`
}

func (c TenantContent) validate(path string) []error {
	var errs []error
	if c.MinQualityScore < 0 || c.MinQualityScore > 10 {
		errs = append(errs, fmt.Errorf("%s.min_quality_score: must be 0 to 10 (got %v)", path, c.MinQualityScore))
	}
	for i, p := range c.ProhibitedPhrases {
		if strings.TrimSpace(p) == "" {
			errs = append(errs, fmt.Errorf("%s.prohibited_phrases[%d]: may not be empty", path, i))
		}
	}
	if len(c.BrandVoice) > 4000 {
		errs = append(errs, fmt.Errorf("%s.brand_voice: longer than 4000 characters", path))
	}
	return errs
}
