package httpapi

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/internal/content"
)

type contentAPI struct {
	srv *Server
	svc *content.Service
}

func newContentAPI(tb testing.TB) *contentAPI {
	tb.Helper()
	st, eng := newTestEngine(tb)
	svc, err := content.NewService(content.ServiceOptions{DB: st.DB(), Publisher: eng,
		Policies: content.Policies{PerTenant: map[string]content.Policy{"aquascene": {Prohibited: []string{"miracle cure"}}}}})
	if err != nil {
		tb.Fatal(err)
	}
	if err := svc.Start(tb.Context()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { svc.Close() })
	keys := testKeys()
	return &contentAPI{srv: New(Options{Engine: eng, Auth: keys, Features: []Routes{ContentRoutes(svc)}}), svc: svc}
}

func (a *contentAPI) call(tb testing.TB, method, path, key string, body any) (int, map[string]any, map[string][]string) {
	tb.Helper()
	return callAPI(tb, a.srv, method, path, key, body, nil)
}

func (a *contentAPI) poll(tb testing.TB, path string, done func(map[string]any) bool) map[string]any {
	tb.Helper()
	for i := 0; i < 500; i++ {
		_, out, _ := a.call(tb, "GET", path, "dev-key", nil)
		if done(out) {
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("%s never finished", path)
	return nil
}

func TestContentAPIGenerate(t *testing.T) {
	a := newContentAPI(t)
	// The seed SDK's request shape.
	code, out, hdr := a.call(t, "POST", "/api/v1/content/generate", "dev-key", map[string]any{
		"content_type": "newsletter_article", "topic": "Setting up your first planted aquarium", "target_audience": "beginners",
		"seo_keywords": []string{"planted aquarium", "aquascaping", "beginner guide"}, "request_id": "req-1",
	})
	if code != 201 || out["status"] != "completed" || out["body_markdown"] == "" {
		t.Fatalf("generate = %d %v", code, out["status"])
	}
	id := out["id"].(string)
	if hdr["Location"][0] != "/api/v1/content/"+id {
		t.Errorf("location %v", hdr["Location"])
	}
	q := out["quality"].(map[string]any)
	if q["score"].(float64) <= 0 || len(q["breakdown"].([]any)) != 6 {
		t.Errorf("quality %v", q)
	}
	if code, got, _ := a.call(t, "GET", "/api/v1/content/"+id, "dev-key", nil); code != 200 || got["id"] != id {
		t.Errorf("GET = %d", code)
	}
	if code, _, _ := a.call(t, "GET", "/api/v1/content/"+id, "other-key", nil); code != 404 {
		t.Errorf("another tenant got %d", code)
	}
	// The lifecycle events went into the pipeline.
	for _, ev := range []string{id + "-started-0", id + "-completed"} {
		if code, got, _ := a.call(t, "GET", "/api/v1/events/"+ev, "dev-key", nil); code != 200 {
			t.Errorf("event %s: %d %v", ev, code, got)
		}
	}
	code, list, _ := a.call(t, "GET", "/api/v1/content?template=newsletter_article&limit=10", "dev-key", nil)
	items, _ := list["content"].([]any)
	if code != 200 || len(items) != 1 || items[0].(map[string]any)["body_markdown"] != nil {
		t.Errorf("list = %d %v", code, list)
	}
	if code, _, _ := a.call(t, "GET", "/api/v1/content/usage", "dev-key", nil); code != 200 {
		t.Errorf("usage = %d", code)
	}
}

func TestContentAPIErrors(t *testing.T) {
	a := newContentAPI(t)
	tests := []struct {
		name   string
		method string
		path   string
		key    string
		body   any
		status int
		field  string
	}{
		{"missing topic", "POST", "/api/v1/content/generate", "dev-key", map[string]any{"template": "newsletter_article"}, 400, "topic"},
		{"unknown field", "POST", "/api/v1/content/generate", "dev-key", map[string]any{"template": "newsletter_article", "topic": "x", "tone": "y"}, 400, "tone"},
		{"async not a bool", "POST", "/api/v1/content/generate", "dev-key", map[string]any{"template": "newsletter_article", "topic": "x", "async": "yes"}, 400, "async"},
		{"unknown template", "POST", "/api/v1/content/generate", "dev-key", map[string]any{"template": "limerick", "topic": "x"}, 400, "template"},
		{"not an object", "POST", "/api/v1/content/generate", "dev-key", "[1]", 400, ""},
		{"viewer may not generate", "POST", "/api/v1/content/generate", "viewer-key", map[string]any{"template": "newsletter_article", "topic": "x"}, 403, ""},
		{"prohibited phrase fails", "POST", "/api/v1/content/generate", "dev-key", map[string]any{"template": "instagram_caption", "topic": "Miracle cure for algae"}, 422, ""},
		{"bad limit", "GET", "/api/v1/content?limit=0", "dev-key", nil, 400, "limit"},
		{"bad status", "GET", "/api/v1/content?status=lost", "dev-key", nil, 400, "status"},
		{"no such content", "GET", "/api/v1/content/gen-nope", "dev-key", nil, 404, ""},
		{"no such batch", "GET", "/api/v1/content/batches/batch-nope", "dev-key", nil, 404, ""},
		{"batch item invalid", "POST", "/api/v1/content/batches", "dev-key", map[string]any{"name": "x", "requests": []any{map[string]any{"template": "instagram_caption"}}}, 400, "requests[0].topic"},
		{"batch unknown field", "POST", "/api/v1/content/batches", "dev-key", map[string]any{"name": "x", "requests": []any{}, "priority": 1}, 400, "priority"},
		{"batch concurrency", "POST", "/api/v1/content/batches", "dev-key", map[string]any{"name": "x", "max_concurrent": 1.5, "requests": []any{}}, 400, "max_concurrent"},
		{"template id mismatch", "PUT", "/api/v1/templates/a", "dev-key", map[string]any{"id": "b"}, 400, "id"},
		{"template invalid", "PUT", "/api/v1/templates/a", "dev-key", map[string]any{"structure": []any{}}, 400, ""},
		{"delete builtin template", "DELETE", "/api/v1/templates/newsletter_article", "dev-key", nil, 409, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, _ := a.call(t, tc.method, tc.path, tc.key, tc.body)
			if code != tc.status {
				t.Fatalf("status %d, want %d: %v", code, tc.status, out)
			}
			if tc.field != "" {
				errs, _ := out["errors"].([]any)
				if len(errs) == 0 || errs[0].(map[string]any)["field"] != tc.field {
					t.Errorf("errors %v, want field %s", out["errors"], tc.field)
				}
			}
			if tc.status == 422 && (out["content_id"] == nil || out["error_type"] != content.ErrTypeValidation || out["findings"] == nil) {
				t.Errorf("422 problem lacks the content: %v", out)
			}
		})
	}
}

func TestContentAPIAsyncAndBatch(t *testing.T) {
	a := newContentAPI(t)
	code, out, _ := a.call(t, "POST", "/api/v1/content/generate", "dev-key", map[string]any{
		"template": "instagram_caption", "topic": "Beautiful nature aquarium showcase", "async": true,
	})
	if code != 202 || out["status"] != "pending" {
		t.Fatalf("async = %d %v", code, out)
	}
	got := a.poll(t, "/api/v1/content/"+out["id"].(string), func(m map[string]any) bool { return m["status"] == "completed" })
	if len(got["hashtags"].([]any)) < 8 || got["caption"] == "" {
		t.Errorf("caption %v", got)
	}

	var reqs []any
	for i := 0; i < 6; i++ {
		reqs = append(reqs, map[string]any{"contentType": "newsletter_article", "topic": fmt.Sprintf("Top %d beginner aquatic plants", i)})
	}
	code, b, _ := a.call(t, "POST", "/api/v1/content/batches", "dev-key", map[string]any{
		"name": "Weekly Content Calendar", "requests": reqs, "max_concurrent": 2, "processing_mode": "concurrent",
	})
	if code != 202 || b["batch_id"] == "" {
		t.Fatalf("batch = %d %v", code, b)
	}
	final := a.poll(t, "/api/v1/content/batches/"+b["batch_id"].(string), func(m map[string]any) bool { return m["status"] != "running" })
	p := final["progress"].(map[string]any)
	if final["status"] != "completed" || p["completed"].(float64) != 6 || p["total"].(float64) != 6 || p["failed"].(float64) != 0 {
		t.Errorf("batch %v", final)
	}
	if code, _, _ := a.call(t, "GET", "/api/v1/content/batches/"+b["batch_id"].(string), "other-key", nil); code != 404 {
		t.Errorf("another tenant sees the batch: %d", code)
	}
}

func TestContentAPITemplates(t *testing.T) {
	a := newContentAPI(t)
	// A record from Airtable's Content_Templates, with the seed's string ranges.
	tpl := map[string]any{
		"name":             "Weekly Tips",
		"structure":        []any{map[string]any{"id": "Engaging_Introduction"}, map[string]any{"id": "Practical_Tips"}, map[string]any{"id": "Call_To_Action"}},
		"brand_guidelines": map[string]any{"tone": "Friendly", "expertise_level": "Beginner", "word_count_range": "300-450", "include_safety_tips": true},
		"seo_settings":     map[string]any{"keyword_density": "2-3%", "headings_required": true, "meta_description": true},
	}
	if code, out, _ := a.call(t, "PUT", "/api/v1/templates/weekly_tips", "dev-key", tpl); code != 201 || out["source"] != "stored" {
		t.Fatalf("PUT = %d %v", code, out)
	}
	if code, _, _ := a.call(t, "PUT", "/api/v1/templates/weekly_tips", "dev-key", tpl); code != 200 {
		t.Errorf("second PUT = %d", code)
	}
	code, out, _ := a.call(t, "POST", "/api/v1/content/generate", "dev-key", map[string]any{"template": "weekly_tips", "topic": "Trimming stem plants", "keywords": "stem plants"})
	if code != 201 || out["word_count"].(float64) > 450 || out["word_count"].(float64) < 300 {
		t.Errorf("generate with stored template = %d %v", code, out["word_count"])
	}
	if code, _, _ := a.call(t, "GET", "/api/v1/templates/weekly_tips", "other-key", nil); code != 404 {
		t.Errorf("another tenant sees the template: %d", code)
	}
	_, list, _ := a.call(t, "GET", "/api/v1/templates", "dev-key", nil)
	if n := len(list["templates"].([]any)); n != 5 {
		t.Errorf("%d templates", n)
	}
	if code, _, _ := a.call(t, "DELETE", "/api/v1/templates/weekly_tips", "dev-key", nil); code != 204 {
		t.Errorf("DELETE = %d", code)
	}
	if code, _, _ := a.call(t, "GET", "/api/v1/templates/weekly_tips", "dev-key", nil); code != 404 {
		t.Errorf("deleted template still served: %d", code)
	}
	tpl["id"] = "posted"
	if code, _, _ := a.call(t, "POST", "/api/v1/templates", "dev-key", tpl); code != 201 {
		t.Errorf("POST = %d", code)
	}
}

func TestContentRoutesAreDocumented(t *testing.T) {
	a := newContentAPI(t)
	n := 0
	for _, r := range a.srv.App().GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/api/v1/content") && !strings.HasPrefix(r.Path, "/api/v1/templates") {
			continue
		}
		n++
		if !a.srv.Document().Has(r.Method, r.Path) {
			t.Errorf("%s %s is not in the OpenAPI document", r.Method, r.Path)
		}
	}
	if n < 11 {
		t.Errorf("only %d content routes", n)
	}
}
