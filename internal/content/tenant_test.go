package content_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/content"
	"github.com/aquascene/aquahub/internal/content/openaifake"
)

// registry is a core.TenantDirectory of fixed tenants with settings.
type registry map[string]*core.Tenant

func (r registry) Tenant(id string) (*core.Tenant, bool) { t, ok := r[id]; return t, ok }
func (r registry) TenantIDs() []string {
	var ids []string
	for id := range r {
		ids = append(ids, id)
	}
	return ids
}

// TestTenantBrandAndDailyLLMBudget: the tenant registry's brand guidelines open the system
// prompt, and once the tenant's daily LLM budget (tokens or dollars) is spent, generating
// answers 429 naming the limit with a Retry-After until the next UTC day, storing nothing
// and calling no model; another tenant generates on.
func TestTenantBrandAndDailyLLMBudget(t *testing.T) {
	tests := []struct {
		name   string
		limits core.TenantLimits
		limit  string
		detail string
	}{
		{"tokens", core.TenantLimits{LLMDailyTokens: 10}, "tenants[aquascene].limits.llm_daily_tokens", "tokens used today"},
		{"dollars", core.TenantLimits{LLMDailyUSD: 0.0001}, "tenants[aquascene].limits.llm_daily_usd", "used today"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := startFake(t, openaifake.Options{})
			cfg := content.DefaultConfig()
			cfg.Provider, cfg.BaseURL, cfg.APIKey = "openai", fake.URL(), "k"
			cfg.Pricing = content.Pricing{PromptPer1K: 1, CompletionPer1K: 1}
			dir := registry{
				"aquascene": {ID: "aquascene", Limits: tc.limits, Brand: core.BrandGuidelines{
					Voice: "Expert yet approachable", TargetAudience: "Hobbyists with a first tank", KeyMessages: []string{"Nature first", "Patience pays"}}},
				"other": {ID: "other"},
			}
			a := newContentAPI(t, content.Deps{Provider: content.NewOpenAIProvider(cfg), Tenants: dir})
			gen := func(key string, i int) (int, map[string]any, map[string][]string) {
				return a.call(t, "POST", "/api/v1/content/generate", key, map[string]any{"template": "newsletter_article", "topic": fmt.Sprint("CO2 injection ", i)})
			}
			if code, out, _ := gen("dev-key", 1); code != 201 {
				t.Fatalf("the first generation: %d %v", code, out)
			}
			system := fake.Requests()[0].Message("system")
			for _, want := range []string{"Brand guidelines:", "- Voice: Expert yet approachable", "- Target audience: Hobbyists with a first tank", "- Key messages: Nature first, Patience pays"} {
				if !strings.Contains(system, want) {
					t.Errorf("the system prompt lacks %q:\n%s", want, system)
				}
			}
			calls := len(fake.Requests())
			code, out, hdr := gen("dev-key", 2)
			if code != 429 || out["limit"] != tc.limit || !strings.Contains(fmt.Sprint(out["detail"]), "has spent its daily LLM budget") ||
				!strings.Contains(fmt.Sprint(out["detail"]), tc.detail) || len(hdr["Retry-After"]) != 1 {
				t.Fatalf("over budget: %d %v %v, want 429 naming %s with Retry-After", code, out, hdr["Retry-After"], tc.limit)
			}
			if len(fake.Requests()) != calls {
				t.Errorf("a generation over budget called the model")
			}
			if code, list, _ := a.call(t, "GET", "/api/v1/content", "dev-key", nil); code != 200 || len(list["content"].([]any)) != 1 {
				t.Errorf("a refused generation was stored: %v", list)
			}
			if code, out, _ := gen("other-key", 3); code != 201 {
				t.Errorf("another tenant was refused: %d %v", code, out)
			}
		})
	}
}
