package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/internal/content"
	"github.com/aquascene/aquahub/internal/content/openaifake"
)

func runAquahub(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestContentGenerateCommand(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    []string
		wantErr string
	}{
		{
			name: "builtin newsletter",
			args: []string{"content", "generate", "--template", "newsletter_article", "--topic", "Beginner aquascaping guide", "--audience", "beginners", "--keywords", "planted aquarium,aquascaping"},
			want: []string{"# Beginner Aquascaping Guide", "## Practical Tips", "quality score:", "readability", "keyword_density", "section_coverage", "findings: none", "builtin-template-filler"},
		},
		{
			name: "instagram caption with hashtags",
			args: []string{"content", "generate", "--template", "instagram_caption", "--topic", "Iwagumi showcase", "--keywords", "iwagumi"},
			want: []string{"#iwagumi", "hashtags"},
		},
		{
			name: "partner guide carries the affiliate link",
			args: []string{"content", "generate", "--template", "partner_product_guide", "--topic", "CO2 diffusers", "--partner", "Green Aqua", "--product", "Green Aqua Diffuser", "--affiliate-link", "https://greenaqua.hu/d?ref=aq"},
			want: []string{"(https://greenaqua.hu/d?ref=aq)", "Green Aqua"},
		},
		{name: "topic required", args: []string{"content", "generate"}, wantErr: "topic"},
		{name: "unknown template", args: []string{"content", "generate", "--template", "ode", "--topic", "x"}, wantErr: "no template"},
		{name: "bad affiliate link", args: []string{"content", "generate", "--topic", "x", "--partner", "P", "--affiliate-link", "ftp://x"}, wantErr: "affiliate_link"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runAquahub(t, tc.args...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q", w)
				}
			}
		})
	}
}

func TestContentGenerateCommandOpenAIAndFailure(t *testing.T) {
	fake, err := openaifake.Start(openaifake.Options{APIKey: "sk-cli"})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	cfg := filepath.Join(t.TempDir(), "aquahub.yaml")
	yaml := "llm:\n  provider: openai\n  base_url: " + fake.URL() + "\n  api_key: ${TEST_OPENAI_KEY}\n  pricing: {prompt_per_1k: 0.5, completion_per_1k: 1.5}\n" +
		"tenants:\n  - id: aquascene\n    api_keys: [cli-test-key]\n    content: {prohibited_phrases: [guaranteed results]}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_OPENAI_KEY", "sk-cli")
	out, err := runAquahub(t, "content", "generate", "-c", cfg, "--topic", "Shrimp care", "--keywords", "shrimp", "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var c content.Content
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if c.Provider != "openai" || c.Usage.CostUSD <= 0 || c.Status != content.StatusCompleted || fake.Total() != 1 {
		t.Errorf("content %+v", c)
	}

	fake.Enqueue(openaifake.Reply{Content: `{"title":"x","meta_description":"m","body_markdown":"Guaranteed results in a week, stay safe."}`})
	out, err = runAquahub(t, "content", "generate", "-c", cfg, "--topic", "Shrimp care")
	if err == nil || !strings.Contains(err.Error(), "validation_failed") || !strings.Contains(out, "prohibited phrase") {
		t.Errorf("err = %v\n%s", err, out)
	}
}
