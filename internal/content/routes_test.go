package content_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/content"
	"github.com/aquascene/aquahub/internal/content/openaifake"
	"github.com/aquascene/aquahub/internal/httpapi/apitest"
	"github.com/aquascene/aquahub/internal/storage/bolt"
	"github.com/aquascene/aquahub/sdk/api"
	"github.com/aquascene/aquahub/sdk/client"
)

// noRules matches nothing: these tests follow events into the pipeline, not through rules.
type noRules struct{}

func (noRules) Match(*core.Event) ([]string, error) { return nil, nil }
func (noRules) Plan(string) (core.RulePlan, bool)   { return core.RulePlan{}, false }
func (noRules) Schedules() []core.Schedule          { return nil }

type contentAPI struct {
	srv    *apitest.Server
	events core.Store
}

// newContentAPI serves the content module of tenant aquascene (prohibited phrase "miracle
// cure") over a real store, publishing into an engine over the same file.
func newContentAPI(tb testing.TB, deps content.Deps) *contentAPI {
	tb.Helper()
	db, err := bolt.Open(bolt.Config{Path: filepath.Join(tb.TempDir(), "hub.db")})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	eng, err := core.NewEngine(core.EngineOptions{Store: db.Pipeline(), Rules: noRules{}})
	if err != nil {
		tb.Fatal(err)
	}
	deps.Store, deps.Publisher = db.Content(), eng
	m, err := content.New(content.DefaultConfig(), map[string]content.TenantConfig{"aquascene": {ProhibitedPhrases: []string{"miracle cure"}}}, deps)
	if err != nil {
		tb.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Stop(context.Background()) })
	return &contentAPI{srv: apitest.New(tb, m), events: db.Pipeline()}
}

func (a *contentAPI) call(tb testing.TB, method, path, key string, body any) (int, map[string]any, map[string][]string) {
	tb.Helper()
	return a.srv.Call(tb, method, path, key, body, nil)
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
	a := newContentAPI(t, content.Deps{})
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
		if evs, err := a.events.Events(context.Background(), "aquascene", ev, content.EventSource); err != nil || len(evs) != 1 {
			t.Errorf("event %s: %v %v", ev, evs, err)
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
	a := newContentAPI(t, content.Deps{})
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

func TestContentAPIProviderFailures(t *testing.T) {
	fake, err := openaifake.Start(openaifake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	cfg := content.DefaultConfig()
	cfg.Provider, cfg.BaseURL, cfg.APIKey, cfg.MaxRetries = "openai", fake.URL(), "k", -1
	a := newContentAPI(t, content.Deps{Provider: content.NewOpenAIProvider(cfg)})
	tests := []struct {
		name       string
		reply      openaifake.Reply
		status     int
		errorType  string
		retryAfter string
	}{
		{"rate limited", openaifake.Reply{Status: 429, Header: map[string]string{"Retry-After": "90"}}, 429, content.ErrTypeRateLimited, "90"},
		{"server error", openaifake.Reply{Status: 500}, 502, content.ErrTypeProvider, ""},
		{"malformed answer", openaifake.Reply{Content: "not json"}, 502, content.ErrTypeMalformed, ""},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake.Enqueue(tc.reply)
			code, out, hdr := a.call(t, "POST", "/api/v1/content/generate", "dev-key", map[string]any{"template": "newsletter_article", "topic": fmt.Sprint("Topic ", i)})
			if code != tc.status || out["error_type"] != tc.errorType || out["content_id"] == nil {
				t.Fatalf("answer %d %v, want %d %s with the content id", code, out, tc.status, tc.errorType)
			}
			if got := strings.Join(hdr["Retry-After"], ""); got != tc.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tc.retryAfter)
			}
		})
	}
}

func TestContentAPIAsyncAndBatch(t *testing.T) {
	a := newContentAPI(t, content.Deps{})
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
	if code != 202 || b["batch_id"] == "" || b["completed_at"] != "" {
		t.Fatalf("batch = %d %v", code, b)
	}
	final := a.poll(t, "/api/v1/content/batches/"+b["batch_id"].(string), func(m map[string]any) bool { return m["status"] != "running" })
	p := final["progress"].(map[string]any)
	if final["status"] != "completed" || p["completed"].(float64) != 6 || p["total"].(float64) != 6 || p["failed"].(float64) != 0 {
		t.Errorf("batch %v", final)
	}
	if _, err := time.Parse(time.RFC3339, final["completed_at"].(string)); err != nil {
		t.Errorf("completed_at: %v", err)
	}
	if code, _, _ := a.call(t, "GET", "/api/v1/content/batches/"+b["batch_id"].(string), "other-key", nil); code != 404 {
		t.Errorf("another tenant sees the batch: %d", code)
	}
}

func TestContentAPITemplates(t *testing.T) {
	a := newContentAPI(t, content.Deps{})
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
	a := newContentAPI(t, content.Deps{})
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

func TestContentModuleWithoutStorageOnlyChecks(t *testing.T) {
	m, err := content.New(content.DefaultConfig(), nil, content.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Service() != nil {
		t.Fatal("a module without storage has a service")
	}
	srv := apitest.New(t, m)
	if code, _, _ := srv.Call(t, "GET", "/api/v1/templates", "dev-key", nil, nil); code != 404 {
		t.Errorf("a module without storage serves templates: %d", code)
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	kinds := m.StepKinds()
	if len(kinds) != 1 || kinds[0].Syntax().Name != "generate" {
		t.Fatalf("step kinds %v", kinds)
	}
	if err := kinds[0].Check(core.StepDef{Kind: "generate", Input: map[string]any{"template": "newsletter_article", "topic": "CO2"}}); err != nil {
		t.Errorf("check: %v", err)
	}
	if _, err := kinds[0].Execute(context.Background(), core.StepCall{Tenant: "aquascene", Input: map[string]any{"template": "newsletter_article", "topic": "CO2"}}); core.Classify(err).Class != core.ClassPermanent {
		t.Errorf("execute without storage: %v", err)
	}
	if err := m.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestContentClient drives the routes through the Go client over a real listener.
func TestContentClient(t *testing.T) {
	a := newContentAPI(t, content.Deps{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go a.srv.Serve(ln)
	t.Cleanup(func() { a.srv.Shutdown(context.Background()) })
	c := client.New("http://"+ln.Addr().String(), "dev-key")
	ctx := context.Background()

	got, err := c.GenerateContent(ctx, api.ContentRequest{Template: "newsletter_article", Topic: "CO2 for beginners", Keywords: []string{"co2"}}, "key-1")
	if err != nil || got.Status != content.StatusCompleted || got.Quality == nil || got.BodyHTML == "" {
		t.Fatalf("GenerateContent = %+v, %v", got.Status, err)
	}
	again, err := c.GenerateContent(ctx, api.ContentRequest{Template: "newsletter_article", Topic: "CO2 for beginners"}, "key-1")
	if err != nil || again.ID != got.ID {
		t.Errorf("a repeated idempotency key generated %s, want %s (%v)", again.ID, got.ID, err)
	}
	if one, err := c.Content(ctx, got.ID); err != nil || one.WordCount != got.WordCount {
		t.Errorf("Content = %+v, %v", one.WordCount, err)
	}
	if list, err := c.ListContent(ctx, client.ContentFilter{Template: "newsletter_article", Limit: 10}); err != nil || len(list) != 1 || list[0].BodyMarkdown != "" {
		t.Errorf("ListContent = %d items, %v", len(list), err)
	}
	_, err = c.GenerateContent(ctx, api.ContentRequest{Template: "instagram_caption", Topic: "Miracle cure for algae"}, "")
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 422 {
		t.Errorf("a prohibited phrase answered %v, want a 422", err)
	}

	pending, err := c.GenerateContentAsync(ctx, api.ContentRequest{Template: "instagram_caption", Topic: "Nature aquarium"}, "")
	if err != nil || pending.Status != content.StatusPending {
		t.Fatalf("GenerateContentAsync = %+v, %v", pending.Status, err)
	}
	b, err := c.CreateBatch(ctx, api.BatchRequest{Name: "week", MaxConcurrent: 2, Requests: []api.ContentRequest{
		{Template: "instagram_caption", Topic: "Iwagumi"}, {Template: "instagram_caption", Topic: "Dutch style"},
	}})
	if err != nil || b.BatchID != b.ID || b.Progress.Total != 2 {
		t.Fatalf("CreateBatch = %+v, %v", b, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for b.Status == content.BatchRunning && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		if b, err = c.Batch(ctx, b.ID); err != nil {
			t.Fatal(err)
		}
	}
	if b.Status != content.BatchCompleted || b.CompletedAt == "" {
		t.Errorf("batch %+v", b)
	}
	for done := false; !done && time.Now().Before(deadline); {
		cur, err := c.Content(ctx, pending.ID)
		if err != nil {
			t.Fatal(err)
		}
		done = cur.Status == content.StatusCompleted
		time.Sleep(10 * time.Millisecond)
	}
	if u, err := c.ContentUsage(ctx); err != nil || u.Generations != 5 || u.Failures != 1 {
		t.Errorf("ContentUsage = %+v, %v", u, err)
	}

	tpl, err := c.Template(ctx, "newsletter_article")
	if err != nil || tpl.Source != content.SourceBuiltin {
		t.Fatalf("Template = %+v, %v", tpl, err)
	}
	tpl.ID, tpl.Source, tpl.Brand.WordCount = "short_article", "", api.Range{Min: 300, Max: 400}
	stored, err := c.PutTemplate(ctx, tpl)
	if err != nil || stored.Source != content.SourceStored || stored.Brand.WordCount.Max != 400 {
		t.Fatalf("PutTemplate = %+v, %v", stored, err)
	}
	if ts, err := c.Templates(ctx); err != nil || len(ts) != 5 {
		t.Errorf("Templates = %d, %v", len(ts), err)
	}
	if err := c.DeleteTemplate(ctx, "short_article"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Template(ctx, "short_article"); !client.IsNotFound(err) {
		t.Errorf("deleted template: %v", err)
	}
}
