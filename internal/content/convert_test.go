package content_test

import (
	"encoding/json"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/aquascene/aquahub/internal/content"
	"github.com/aquascene/aquahub/sdk/api"
)

// keys returns the sorted member names of a JSON object.
func keys(t testing.TB, v any) []string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestContentToAPI(t *testing.T) {
	t0 := time.Date(2025, 8, 6, 12, 0, 0, 0, time.UTC)
	c := content.Content{
		ID: "gen-1", RequestID: "r", BatchID: "b", Status: content.StatusFailed,
		Request: content.Request{Template: "partner_product_guide", Topic: "CO2", Keywords: []string{"co2"},
			Partnership: &content.Partnership{Partner: "Green Aqua", AffiliateLink: "https://x.example/"}},
		Template: "partner_product_guide", Format: content.FormatArticle, Title: "t", MetaDescription: "m",
		BodyMarkdown: "b", BodyHTML: "<p>b</p>", Hashtags: []string{"h"}, Caption: "c", WordCount: 1,
		Quality:  &content.Quality{Score: 7, Breakdown: []content.Component{{Name: "readability", Score: 8, Weight: 0.25}}, KeywordCounts: map[string]int{"co2": 1}},
		Findings: []content.Finding{{Kind: content.FindingPII, Type: "email", Severity: content.SeverityError, Message: "m", Match: "a***", Offset: 3}},
		Provider: "openai", Model: "gpt-4o-mini", Usage: content.Usage{TotalTokens: 3, CostUSD: 0.5}, Attempts: 2,
		GenerationTimeSeconds: 1.5, ErrorType: content.ErrTypeValidation, ErrorMessage: "e", RetryPossible: true, RetryCount: 1,
		IdempotencyKey: "api:k", CreatedAt: t0, UpdatedAt: t0, CompletedAt: t0,
	}
	// The API's field names, as the server has always answered them.
	want := []string{"attempts", "batch_id", "body_html", "body_markdown", "caption", "completed_at", "created_at", "error_message",
		"error_type", "findings", "format", "generation_time_seconds", "hashtags", "id", "idempotency_key", "meta_description",
		"model", "provider", "quality", "request", "request_id", "retry_count", "retry_possible", "status", "template", "title",
		"updated_at", "usage", "word_count"}
	a := c.ToAPI()
	if got := keys(t, a); !reflect.DeepEqual(got, want) {
		t.Errorf("members %v\nwant %v", got, want)
	}
	if a.Findings[0] != (api.Finding{Kind: "pii", Type: "email", Severity: "error", Message: "m", Match: "a***", Offset: 3}) ||
		a.Quality.Breakdown[0].Name != "readability" || a.Request.Partnership.Partner != "Green Aqua" || a.Usage.CostUSD != 0.5 {
		t.Errorf("converted %+v", a)
	}
	// A new request has no findings yet: the answer says [] (null would not match the schema).
	fresh := content.Content{ID: "gen-2", Status: content.StatusPending, CreatedAt: t0, UpdatedAt: t0}
	raw, _ := json.Marshal(fresh.ToAPI())
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	if f, ok := m["findings"].([]any); !ok || len(f) != 0 {
		t.Errorf("findings of new content: %v", m["findings"])
	}
	if _, ok := m["completed_at"]; ok {
		t.Errorf("unfinished content has completed_at: %s", raw)
	}
}

func TestBatchToAPI(t *testing.T) {
	b := content.Batch{
		ID: "batch-1", Name: "n", Status: content.BatchRunning, MaxConcurrent: 3,
		Progress:  content.Progress{Total: 1},
		Results:   []content.BatchItem{{Index: 0, ContentID: "gen-1", Template: "t", Topic: "x", Status: content.StatusPending}},
		CreatedAt: time.Date(2025, 8, 6, 12, 0, 0, 123e6, time.UTC), UpdatedAt: time.Date(2025, 8, 6, 14, 0, 0, 0, time.FixedZone("CEST", 7200)),
	}
	a := b.ToAPI()
	if a.ID != "batch-1" || a.BatchID != "batch-1" || a.CreatedAt != "2025-08-06T12:00:00.123Z" || a.UpdatedAt != "2025-08-06T12:00:00.000Z" || a.CompletedAt != "" {
		t.Errorf("converted %+v", a)
	}
	want := []string{"batch_id", "completed_at", "created_at", "id", "max_concurrent", "name", "progress", "results", "status", "updated_at"}
	if got := keys(t, a); !reflect.DeepEqual(got, want) {
		t.Errorf("members %v, want %v", got, want)
	}
}

func TestTemplateThroughTheAPI(t *testing.T) {
	for _, tpl := range content.BuiltinTemplates() {
		t.Run(tpl.ID, func(t *testing.T) {
			a := tpl.ToAPI()
			if a.Source != content.SourceBuiltin {
				t.Errorf("source %q", a.Source)
			}
			back := content.TemplateFromAPI(a)
			back.Source = tpl.Source
			if !reflect.DeepEqual(back, tpl) {
				t.Errorf("round trip changed the template:\n got %+v\nwant %+v", back, tpl)
			}
			// What the API answers, a client may send back.
			raw, _ := json.Marshal(a)
			parsed, err := content.ParseTemplateJSON(raw)
			if err != nil {
				t.Fatal(err)
			}
			parsed.Source = tpl.Source
			if !reflect.DeepEqual(parsed, tpl) {
				t.Errorf("parsed answer differs:\n got %+v\nwant %+v", parsed, tpl)
			}
		})
	}
}
