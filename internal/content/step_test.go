package content_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/content"
	"github.com/aquascene/aquahub/internal/content/openaifake"
)

func TestStepKind(t *testing.T) {
	prov := &countingProvider{inner: content.BuiltinProvider{}}
	pub := &recorder{}
	svc := newService(t, tempDB(t), prov, pub, nil)
	x := content.StepKind{Service: svc}
	call := core.StepCall{
		Tenant: "aquascene", RunID: "run-1", RuleID: "scheduled-newsletter", StepID: "draft", Kind: "generate",
		IdempotencyKey: "run-1/draft", Attempt: 1,
		Input: map[string]any{
			"template": "instagram_caption", "topic": "Iwagumi layout", "target_audience": "beginners",
			"keywords": []any{"iwagumi", "aquascaping"},
		},
	}
	res, err := x.Execute(context.Background(), call)
	if err != nil {
		t.Fatal(err)
	}
	out := res.Output
	for _, k := range []string{"content_id", "title", "body_markdown", "body_html", "meta_description", "quality_score", "word_count", "hashtags", "caption"} {
		if _, ok := out[k]; !ok {
			t.Errorf("output lacks %s", k)
		}
	}
	if tags, _ := out["hashtags"].([]any); len(tags) < 8 || tags[0] != "iwagumi" {
		t.Errorf("hashtags %v", out["hashtags"])
	}
	if len(res.Emit) != 2 || res.Emit[0].Type != content.EventStarted || res.Emit[1].Type != content.EventCompleted {
		t.Errorf("emit %v", res.Emit)
	}
	if len(pub.types()) != 0 {
		t.Errorf("step published directly: %v", pub.types())
	}

	// The engine retries the step after a crash between generation and ledger write.
	call.Attempt = 2
	again, err := x.Execute(context.Background(), call)
	if err != nil {
		t.Fatal(err)
	}
	if again.Output["content_id"] != out["content_id"] || prov.calls.Load() != 1 {
		t.Errorf("retry generated again: %v vs %v, %d writes", again.Output["content_id"], out["content_id"], prov.calls.Load())
	}
	if len(again.Emit) != 2 || again.Emit[1].ID != res.Emit[1].ID {
		t.Errorf("retry events must repeat the same ids: %v", again.Emit)
	}
}

func TestStepKindErrors(t *testing.T) {
	fake := startFake(t, openaifake.Options{})
	svc := newService(t, tempDB(t), content.NewOpenAIProvider(content.Config{BaseURL: fake.URL(), APIKey: "k", MaxRetries: -1}), &recorder{}, nil)
	x := content.StepKind{Service: svc}
	tests := []struct {
		name   string
		input  map[string]any
		script []openaifake.Reply
		class  core.ErrorClass
	}{
		{"missing topic", map[string]any{"template": "newsletter_article"}, nil, core.ClassInvalidInput},
		{"unknown field", map[string]any{"template": "newsletter_article", "topic": "x", "colour": "red"}, nil, core.ClassInvalidInput},
		{"unknown template", map[string]any{"template": "ode", "topic": "x"}, nil, core.ClassInvalidInput},
		{"server error is transient", map[string]any{"template": "newsletter_article", "topic": "x"}, []openaifake.Reply{{Status: 500}}, core.ClassTransient},
		{"rate limit keeps the wait", map[string]any{"template": "newsletter_article", "topic": "y"}, []openaifake.Reply{{Status: 429, Header: map[string]string{"Retry-After": "90"}}}, core.ClassRateLimited},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake.Enqueue(tc.script...)
			_, err := x.Execute(context.Background(), core.StepCall{Tenant: "aquascene", RunID: "r", StepID: "s", IdempotencyKey: string(rune('a' + i)), Input: tc.input})
			var se *core.StepError
			if !errors.As(err, &se) || se.Class != tc.class {
				t.Fatalf("err %v, want class %s", err, tc.class)
			}
			if tc.class == core.ClassRateLimited && se.RetryAfter.Seconds() != 90 {
				t.Errorf("retry after %v", se.RetryAfter)
			}
		})
	}
}

func TestStepKindCheck(t *testing.T) {
	x := content.StepKind{}
	tests := []struct {
		name  string
		input map[string]any
		path  string // empty: accepted
	}{
		{"literal request", map[string]any{"template": "newsletter_article", "topic": "CO2", "keywords": []any{"co2"}}, ""},
		{"seed names", map[string]any{"content_type": "newsletter_article", "topic": "CO2", "target_audience": "beginners", "seo_keywords": "co2, plants"}, ""},
		{"expressions", map[string]any{"template": "${{ event.data.template }}", "topic": "${{ event.data.topic }}", "keywords": "${{ event.data.keywords ?? [] }}"}, ""},
		{"an alias given as an expression", map[string]any{"content_type": "${{ event.data.kind }}", "topic": "CO2"}, ""},
		{"partner as an expression", map[string]any{"template": "partner_product_guide", "topic": "x", "partnership": map[string]any{"partner": "${{ event.data.partner }}"}}, ""},
		{"partner id as an expression", map[string]any{"template": "partner_product_guide", "topic": "x", "partnership": map[string]any{"partner_id": "${{ event.data.partner_id }}"}}, ""},
		{"partnership as an expression", map[string]any{"template": "partner_product_guide", "topic": "x", "partnership": "${{ event.data.partnership }}"}, ""},
		{"missing template", map[string]any{"topic": "CO2"}, "template"},
		{"missing topic", map[string]any{"template": "newsletter_article"}, "topic"},
		{"missing topic behind an expression template", map[string]any{"template": "${{ event.data.template }}"}, "topic"},
		{"empty literal topic", map[string]any{"template": "newsletter_article", "topic": ""}, "topic"},
		{"unknown field", map[string]any{"template": "newsletter_article", "topic": "CO2", "colour": "red"}, "colour"},
		{"keywords of the wrong type", map[string]any{"template": "newsletter_article", "topic": "CO2", "keywords": 5}, "keywords"},
		{"topic too long", map[string]any{"template": "newsletter_article", "topic": strings.Repeat("x", 301)}, "topic"},
		{"partnership without a partner", map[string]any{"template": "partner_product_guide", "topic": "x", "partnership": map[string]any{"product_name": "Diffuser"}}, "partnership.partner"},
		{"literal affiliate link that is no URL", map[string]any{"template": "partner_product_guide", "topic": "x", "partnership": map[string]any{"partner": "${{ event.data.partner }}", "affiliate_link": "ftp://x"}}, "partnership.affiliate_link"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := x.Check(core.StepDef{Kind: "generate", Input: tc.input})
			if tc.path == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			var fe *core.FieldError
			if !errors.As(err, &fe) || fe.Path != tc.path {
				t.Fatalf("err %v, want one naming %s", err, tc.path)
			}
		})
	}
}
