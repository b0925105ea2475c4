package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLLMConfig(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr []string
		check   func(t *testing.T, c LLMConfig)
	}{
		{
			name: "defaults",
			yaml: "",
			check: func(t *testing.T, c LLMConfig) {
				if c.Provider != "builtin" || c.Timeout != 60*time.Second || c.MaxRetries != 3 || !c.JSONMode || c.MaxConcurrent != 16 {
					t.Errorf("defaults %+v", c)
				}
			},
		},
		{
			name: "openai",
			yaml: "llm:\n  provider: openai\n  base_url: http://127.0.0.1:11434/v1\n  model: llama3\n  timeout: 5s\n  pricing: {prompt_per_1k: 0.15, completion_per_1k: 0.6}\n  prohibited_phrases: [miracle cure]\n",
			check: func(t *testing.T, c LLMConfig) {
				if c.Provider != "openai" || c.Model != "llama3" || c.Timeout != 5*time.Second || c.Pricing.CompletionPer1K != 0.6 || c.ProhibitedPhrases[0] != "miracle cure" {
					t.Errorf("config %+v", c)
				}
			},
		},
		{name: "bad provider", yaml: "llm: {provider: gpt}\n", wantErr: []string{`llm.provider: must be builtin or openai (got "gpt")`}},
		{name: "bad base url", yaml: "llm: {base_url: x}\n", wantErr: []string{`llm.base_url: must be an http(s) URL (got "x")`}},
		{name: "unknown key", yaml: "llm: {tokens: 3}\n", wantErr: []string{"llm.tokens"}},
		{name: "ranges", yaml: "llm: {max_retries: 99, min_quality_score: 11, temperature: 3}\n", wantErr: []string{"llm.max_retries", "llm.min_quality_score", "llm.temperature"}},
		{name: "tenant policy", yaml: "tenants:\n  - id: aquascene\n    api_keys: [k]\n    content: {min_quality_score: -1, prohibited_phrases: [\" \"]}\n",
			wantErr: []string{"tenants[0].content.min_quality_score", "tenants[0].content.prohibited_phrases[0]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "aquahub.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(path, nil)
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
			tc.check(t, c.LLM)
		})
	}
}
