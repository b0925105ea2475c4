package content_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/config"
	"github.com/aquascene/aquahub/internal/content"
	"github.com/aquascene/aquahub/internal/content/openaifake"
)

func TestDefaultConfig(t *testing.T) {
	c := content.DefaultConfig()
	if c.Provider != "builtin" || c.Model != "gpt-4o-mini" || c.Timeout != 60*time.Second || c.MaxRetries != 3 ||
		c.MaxWait != 30*time.Second || c.MaxTokens != 4096 || !c.JSONMode || c.MaxConcurrent != 16 {
		t.Errorf("defaults %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *content.Config)
		path string
	}{
		{"provider", func(c *content.Config) { c.Provider = "gpt" }, "provider"},
		{"base url", func(c *content.Config) { c.BaseURL = "x" }, "base_url"},
		{"openai without a model", func(c *content.Config) { c.Provider, c.Model = "openai", " " }, "model"},
		{"negative timeout", func(c *content.Config) { c.Timeout = -time.Second }, "timeout"},
		{"negative max wait", func(c *content.Config) { c.MaxWait = -time.Second }, "max_wait"},
		{"max retries", func(c *content.Config) { c.MaxRetries = 99 }, "max_retries"},
		{"max tokens", func(c *content.Config) { c.MaxTokens = -1 }, "max_tokens"},
		{"temperature", func(c *content.Config) { c.Temperature = 3 }, "temperature"},
		{"pricing", func(c *content.Config) { c.Pricing.PromptPer1K = -1 }, "pricing"},
		{"min quality score", func(c *content.Config) { c.MinQualityScore = 11 }, "min_quality_score"},
		{"max concurrent", func(c *content.Config) { c.MaxConcurrent = 300 }, "max_concurrent"},
		{"empty prohibited phrase", func(c *content.Config) { c.ProhibitedPhrases = []string{"ok", " "} }, "prohibited_phrases[1]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := content.DefaultConfig()
			tc.edit(&c)
			var fe *core.FieldError
			if err := c.Validate(); !errors.As(err, &fe) || fe.Path != tc.path {
				t.Errorf("err %v, want one naming %s", err, tc.path)
			}
		})
	}
}

func TestTenantConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		c    content.TenantConfig
		path string
	}{
		{"valid", content.TenantConfig{BrandVoice: "Calm", ProhibitedPhrases: []string{"miracle cure"}, MinQualityScore: 6}, ""},
		{"min quality score", content.TenantConfig{MinQualityScore: -1}, "min_quality_score"},
		{"empty prohibited phrase", content.TenantConfig{ProhibitedPhrases: []string{""}}, "prohibited_phrases[0]"},
		{"long brand voice", content.TenantConfig{BrandVoice: strings.Repeat("x", 4001)}, "brand_voice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate()
			var fe *core.FieldError
			if tc.path == "" && err != nil || tc.path != "" && (!errors.As(err, &fe) || fe.Path != tc.path) {
				t.Errorf("err %v, want path %q", err, tc.path)
			}
		})
	}
}

// hubConfig is the part of the hub's configuration the content module owns.
type hubConfig struct {
	LLM     content.Config `koanf:"llm"`
	Tenants []struct {
		ID      string               `koanf:"id"`
		Content content.TenantConfig `koanf:"content"`
	} `koanf:"tenants"`
}

func TestConfigLoads(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr []string
		check   func(t *testing.T, c hubConfig)
	}{
		{
			name: "defaults", yaml: "",
			check: func(t *testing.T, c hubConfig) {
				if c.LLM.Provider != "builtin" || c.LLM.MaxConcurrent != 16 || !c.LLM.JSONMode {
					t.Errorf("defaults %+v", c.LLM)
				}
			},
		},
		{
			name: "openai",
			yaml: "llm:\n  provider: openai\n  base_url: http://127.0.0.1:11434/v1\n  model: llama3\n  timeout: 5s\n  pricing: {prompt_per_1k: 0.15, completion_per_1k: 0.6}\n  prohibited_phrases: [miracle cure]\n",
			check: func(t *testing.T, c hubConfig) {
				l := c.LLM
				if l.Provider != "openai" || l.Model != "llama3" || l.Timeout != 5*time.Second || l.Pricing.CompletionPer1K != 0.6 || l.ProhibitedPhrases[0] != "miracle cure" {
					t.Errorf("config %+v", l)
				}
			},
		},
		{name: "bad provider", yaml: "llm: {provider: gpt}\n", wantErr: []string{`llm.provider: must be builtin or openai (got "gpt")`}},
		{name: "bad base url", yaml: "llm: {base_url: x}\n", wantErr: []string{`llm.base_url: must be an http(s) URL (got "x")`}},
		{name: "unknown key", yaml: "llm: {tokens: 3}\n", wantErr: []string{"llm.tokens"}},
		{name: "ranges", yaml: "llm: {max_retries: 99, min_quality_score: 11, temperature: 3}\n", wantErr: []string{"llm.max_retries", "llm.min_quality_score", "llm.temperature"}},
		{name: "tenant policy", yaml: "tenants:\n  - id: aquascene\n    content: {min_quality_score: -1, prohibited_phrases: [\" \"]}\n",
			wantErr: []string{"tenants[0].content.min_quality_score", "tenants[0].content.prohibited_phrases[0]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "aquahub.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			c := hubConfig{LLM: content.DefaultConfig()}
			err := config.Load(path, nil, &c, config.Options{EnvPrefix: "AQUAHUB_CONTENT_TEST_"})
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestNewProvider(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-from-env")
	if p := content.NewProvider(content.DefaultConfig()); p.Name() != "builtin" {
		t.Errorf("default provider %s", p.Name())
	}
	fake := startFake(t, openaifake.Options{APIKey: "sk-from-env"})
	cfg := content.DefaultConfig()
	cfg.Provider, cfg.BaseURL = "openai", fake.URL()
	g := &content.Generator{Provider: content.NewProvider(cfg), Templates: content.BuiltinTemplateSource{}}
	if _, err := g.Generate(t.Context(), "aquascene", newsletterRequest()); err != nil {
		t.Fatalf("the OPENAI_API_KEY fallback did not authenticate: %v", err)
	}
	if h := fake.Headers(); len(h) != 1 || h[0].Get("Authorization") != "Bearer sk-from-env" {
		t.Errorf("headers %v", h)
	}
}
