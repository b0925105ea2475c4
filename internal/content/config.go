package content

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aquascene/aquahub/core"
)

// Config configures content generation: the `llm` section of the configuration.
type Config struct {
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
	// Pricing prices token usage, recorded per tenant and reported as cost_usd (default
	// free).
	Pricing Pricing `koanf:"pricing"`
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

// DefaultConfig returns the content engine's defaults. It is the one place they are
// written: constructors fill zero settings from it.
func DefaultConfig() Config {
	return Config{
		Provider: "builtin", Model: "gpt-4o-mini", Timeout: 60 * time.Second, MaxRetries: 3,
		MaxWait: 30 * time.Second, MaxTokens: 4096, JSONMode: true, MaxConcurrent: 16,
	}
}

// withDefaults fills zero settings from DefaultConfig. Booleans and settings whose zero means
// "off" (temperature, pricing, min_quality_score) are taken as given.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Provider == "" {
		c.Provider = d.Provider
	}
	if c.Model == "" {
		c.Model = d.Model
	}
	if c.Timeout <= 0 {
		c.Timeout = d.Timeout
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = d.MaxRetries
	}
	if c.MaxWait <= 0 {
		c.MaxWait = d.MaxWait
	}
	if c.MaxTokens <= 0 {
		c.MaxTokens = d.MaxTokens
	}
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = d.MaxConcurrent
	}
	return c
}

// Validate checks the settings; errors name the field.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, core.Invalid(field, format, args...))
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
	return errors.Join(errs...)
}

// TenantConfig is a tenant's brand voice and content policy (tenants[].content).
type TenantConfig struct {
	// BrandVoice describes tone and style for generated content; it opens every system
	// prompt for this tenant.
	BrandVoice string `koanf:"brand_voice"`
	// ProhibitedPhrases fail validation when they appear in generated content.
	ProhibitedPhrases []string `koanf:"prohibited_phrases"`
	// MinQualityScore overrides llm.min_quality_score for this tenant (0 keeps the global).
	MinQualityScore float64 `koanf:"min_quality_score"`
}

// Validate checks the settings; errors name the field.
func (c TenantConfig) Validate() error {
	var errs []error
	if c.MinQualityScore < 0 || c.MinQualityScore > 10 {
		errs = append(errs, core.Invalid("min_quality_score", "must be 0 to 10 (got %v)", c.MinQualityScore))
	}
	for i, p := range c.ProhibitedPhrases {
		if strings.TrimSpace(p) == "" {
			errs = append(errs, core.Invalid(fmt.Sprintf("prohibited_phrases[%d]", i), "may not be empty"))
		}
	}
	if len(c.BrandVoice) > 4000 {
		errs = append(errs, core.Invalid("brand_voice", "longer than 4000 characters"))
	}
	return errors.Join(errs...)
}

// Pricing is what a provider charges per 1,000 tokens, in US dollars.
type Pricing struct {
	// PromptPer1K prices prompt (input) tokens.
	PromptPer1K float64 `koanf:"prompt_per_1k"`
	// CompletionPer1K prices completion (output) tokens.
	CompletionPer1K float64 `koanf:"completion_per_1k"`
}

// Cost prices prompt and completion tokens.
func (p Pricing) Cost(prompt, completion int) float64 {
	return float64(prompt)/1000*p.PromptPer1K + float64(completion)/1000*p.CompletionPer1K
}

// NewProvider returns the provider cfg names: the builtin writer, or an OpenAI-compatible
// server. An empty api_key falls back to the OPENAI_API_KEY environment variable.
func NewProvider(cfg Config) Provider {
	cfg = cfg.withDefaults()
	if cfg.Provider != "openai" {
		return BuiltinProvider{}
	}
	if cfg.APIKey == "" {
		cfg.APIKey = os.Getenv("OPENAI_API_KEY")
	}
	return NewOpenAIProvider(cfg)
}

// NewPolicies maps the llm settings and each tenant's content settings onto the policies
// generations apply.
func NewPolicies(cfg Config, tenants map[string]TenantConfig) Policies {
	p := Policies{
		Default:   Policy{BrandVoice: cfg.BrandVoice, Prohibited: cfg.ProhibitedPhrases, MinQualityScore: cfg.MinQualityScore},
		PerTenant: make(map[string]Policy, len(tenants)),
	}
	for id, t := range tenants {
		p.PerTenant[id] = Policy{BrandVoice: t.BrandVoice, Prohibited: t.ProhibitedPhrases, MinQualityScore: t.MinQualityScore}
	}
	return p
}

// NewGenerator returns a generator with the provider and policies cfg and tenants give and
// the builtin templates: generation without storage, as `aquahub content generate` does.
func NewGenerator(cfg Config, tenants map[string]TenantConfig) *Generator {
	return &Generator{Provider: NewProvider(cfg), Templates: BuiltinTemplateSource{}, Policies: NewPolicies(cfg, tenants)}
}
