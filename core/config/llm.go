package config

// This file is owned by the content engine (issue 5); extend it there.

import "fmt"

// LLMConfig configures content generation.
type LLMConfig struct {
	// Provider is builtin (an offline template filler, the default) or openai (any
	// OpenAI-compatible server).
	Provider string `koanf:"provider"`
	// BaseURL is the OpenAI-compatible API root, such as https://api.openai.com/v1.
	BaseURL string `koanf:"base_url"`
	// Model is the chat model name.
	Model string `koanf:"model"`
	// APIKey authenticates to the provider; use ${OPENAI_API_KEY}.
	APIKey string `koanf:"api_key"`
}

func (c *LLMConfig) setDefaults() { *c = LLMConfig{Provider: "builtin"} }

func (c LLMConfig) validate(path string) []error {
	if c.Provider != "builtin" && c.Provider != "openai" {
		return []error{fmt.Errorf("%s.provider: must be builtin or openai (got %q)", path, c.Provider)}
	}
	return nil
}

// TenantContent is a tenant's brand voice and content policy.
type TenantContent struct {
	// BrandVoice describes tone and style for generated content.
	BrandVoice string `koanf:"brand_voice"`
	// ProhibitedPhrases fail validation when they appear in generated content.
	ProhibitedPhrases []string `koanf:"prohibited_phrases"`
}

func (c TenantContent) validate(path string) []error { return nil }
