package content_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/content"
	"github.com/aquascene/aquahub/internal/content/openaifake"
	bbolt "go.etcd.io/bbolt"
)

// recorder is a Publisher that keeps what it was given.
type recorder struct {
	mu  sync.Mutex
	evs []core.Event
}

func (r *recorder) Publish(_ context.Context, tenant string, evs ...core.Event) ([]core.Accepted, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]core.Accepted, len(evs))
	for i, e := range evs {
		e.Tenant = tenant
		r.evs = append(r.evs, e)
		out[i] = core.Accepted{ID: e.ID, Source: e.Source}
	}
	return out, nil
}

func (r *recorder) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.evs {
		out = append(out, e.Type)
	}
	return out
}

// waitTypes waits until n events were published (events follow the stored outcome) and
// returns their types.
func (r *recorder) waitTypes(t testing.TB, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(r.types()) < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	return r.types()
}

func (r *recorder) data(t testing.TB, typ string) map[string]any {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.evs {
		if e.Type == typ {
			var m map[string]any
			if err := json.Unmarshal(e.Data, &m); err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
	t.Fatalf("no %s event among %d", typ, len(r.evs))
	return nil
}

// countingProvider counts writes and can block them until released.
type countingProvider struct {
	inner content.Provider
	calls atomic.Int64
	gate  chan struct{} // when non-nil, each write waits for a token or ctx
}

func (p *countingProvider) Name() string { return p.inner.Name() }
func (p *countingProvider) Write(ctx context.Context, in content.WriteInput) (content.Written, error) {
	p.calls.Add(1)
	if p.gate != nil {
		select {
		case <-p.gate:
		case <-ctx.Done():
			return content.Written{}, ctx.Err()
		}
	}
	return p.inner.Write(ctx, in)
}

func openDB(t testing.TB, path string) *bbolt.DB {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func newService(t testing.TB, db *bbolt.DB, p content.Provider, pub content.Publisher, pol content.Policies) *content.Service {
	t.Helper()
	svc, err := content.NewService(content.ServiceOptions{DB: db, Provider: p, Publisher: pub, Policies: pol})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc
}

func tempDB(t testing.TB) *bbolt.DB {
	t.Helper()
	db := openDB(t, filepath.Join(t.TempDir(), "hub.db"))
	t.Cleanup(func() { db.Close() })
	return db
}

func waitContent(t testing.TB, svc *content.Service, tenant, id string) content.Content {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := svc.Content(context.Background(), tenant, id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status == content.StatusCompleted || c.Status == content.StatusFailed {
			return c
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("content %s did not finish", id)
	return content.Content{}
}

func TestServiceGenerateStoresScoresAndPublishes(t *testing.T) {
	pub := &recorder{}
	svc := newService(t, tempDB(t), content.BuiltinProvider{}, pub, content.Policies{})
	ctx := context.Background()
	req := newsletterRequest()
	req.RequestID = "req-123456"
	c, err := svc.Generate(ctx, "aquascene", req, content.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := svc.Content(ctx, "aquascene", c.ID)
	if err != nil || got.Status != content.StatusCompleted || got.BodyMarkdown == "" || got.Quality == nil || got.CompletedAt.IsZero() {
		t.Fatalf("stored %+v %v", got.Status, err)
	}
	if _, err := svc.Content(ctx, "other-tenant", c.ID); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("other tenant sees content: %v", err)
	}
	if ts := pub.types(); len(ts) != 2 || ts[0] != content.EventStarted || ts[1] != content.EventCompleted {
		t.Fatalf("events %v", ts)
	}
	started := pub.data(t, content.EventStarted)
	if started["content_id"] != c.ID || started["request_id"] != "req-123456" || started["content_type"] != "newsletter_article" ||
		started["llm_provider"] != "builtin" || started["topic"] != req.Topic || started["estimated_completion"] == "" {
		t.Errorf("started %v", started)
	}
	done := pub.data(t, content.EventCompleted)
	for _, k := range []string{"content_id", "request_id", "status", "quality_score", "word_count", "generation_time_seconds", "cost_usd", "validation_results"} {
		if _, ok := done[k]; !ok {
			t.Errorf("completed event lacks %s: %v", k, done)
		}
	}
	if done["quality_score"].(float64) != c.Quality.Score || int(done["word_count"].(float64)) != c.WordCount || done["status"] != "success" {
		t.Errorf("completed %v", done)
	}
	u, _ := svc.Usage(ctx, "aquascene")
	if u.Generations != 1 || u.Failures != 0 {
		t.Errorf("usage %+v", u)
	}
}

func TestServiceFailureEventAndUsage(t *testing.T) {
	fake := startFake(t, openaifake.Options{})
	fake.Enqueue(openaifake.Reply{Content: `{"title":"Contact","meta_description":"m","body_markdown":"Call 555-867-5309 for help with your tank."}`})
	pub := &recorder{}
	prov := content.NewOpenAIProvider(content.OpenAIOptions{BaseURL: fake.URL(), APIKey: "k", Pricing: content.Pricing{PromptPer1K: 1, CompletionPer1K: 1}})
	svc := newService(t, tempDB(t), prov, pub, content.Policies{})
	c, err := svc.Generate(context.Background(), "aquascene", newsletterRequest(), content.GenerateOptions{})
	var ge *content.GenerationError
	if !errors.As(err, &ge) || ge.Type != content.ErrTypeValidation {
		t.Fatalf("err %v", err)
	}
	stored, _ := svc.Content(context.Background(), "aquascene", c.ID)
	if stored.Status != content.StatusFailed || len(stored.Findings) == 0 || stored.Findings[0].Kind != content.FindingPII || stored.BodyMarkdown == "" {
		t.Errorf("stored %+v", stored)
	}
	failed := pub.data(t, content.EventFailed)
	if failed["error_type"] != content.ErrTypeValidation || failed["retry_possible"] != true || failed["retry_count"].(float64) != 0 {
		t.Errorf("failed event %v", failed)
	}
	u, _ := svc.Usage(context.Background(), "aquascene")
	if u.Failures != 1 || u.TotalTokens == 0 || u.CostUSD <= 0 {
		t.Errorf("usage %+v", u)
	}
}

func TestServiceIdempotencyKey(t *testing.T) {
	prov := &countingProvider{inner: content.BuiltinProvider{}}
	svc := newService(t, tempDB(t), prov, nil, content.Policies{})
	ctx := context.Background()
	a, err := svc.Generate(ctx, "aquascene", newsletterRequest(), content.GenerateOptions{IdempotencyKey: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.Generate(ctx, "aquascene", newsletterRequest(), content.GenerateOptions{IdempotencyKey: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != b.ID || prov.calls.Load() != 1 {
		t.Errorf("ids %s %s, provider calls %d", a.ID, b.ID, prov.calls.Load())
	}
	c, _ := svc.Generate(ctx, "other", newsletterRequest(), content.GenerateOptions{IdempotencyKey: "k1"})
	if c.ID == a.ID || prov.calls.Load() != 2 {
		t.Errorf("idempotency keys leak across tenants")
	}
}

func TestServiceAsyncSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	db := openDB(t, path)
	blocked := &countingProvider{inner: content.BuiltinProvider{}, gate: make(chan struct{})}
	svc, err := content.NewService(content.ServiceOptions{DB: db, Provider: blocked})
	if err != nil {
		t.Fatal(err)
	}
	c, err := svc.GenerateAsync(context.Background(), "aquascene", newsletterRequest(), content.GenerateOptions{})
	if err != nil || c.Status != content.StatusPending {
		t.Fatalf("%+v %v", c.Status, err)
	}
	for blocked.calls.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	svc.Close() // the process stops mid-generation
	db.Close()

	db = openDB(t, path)
	defer db.Close()
	pub := &recorder{}
	svc2 := newService(t, db, content.BuiltinProvider{}, pub, content.Policies{})
	got := waitContent(t, svc2, "aquascene", c.ID)
	if got.Status != content.StatusCompleted || got.BodyMarkdown == "" {
		t.Errorf("resumed content %+v", got.Status)
	}
	if ts := pub.waitTypes(t, 2); len(ts) != 2 || ts[1] != content.EventCompleted {
		t.Errorf("events after resume %v", ts)
	}
}

func TestBatchBoundedConcurrencyAndProgress(t *testing.T) {
	fake := startFake(t, openaifake.Options{Latency: 40 * time.Millisecond})
	prov := content.NewOpenAIProvider(content.OpenAIOptions{BaseURL: fake.URL(), APIKey: "k"})
	svc := newService(t, tempDB(t), prov, &recorder{}, content.Policies{})
	ctx := context.Background()
	reqs := make([]content.Request, 50)
	for i := range reqs {
		reqs[i] = content.Request{Template: "newsletter_article", Topic: fmt.Sprintf("Topic %d", i), Keywords: []string{"aquascaping"}}
	}
	b, err := svc.CreateBatch(ctx, "aquascene", content.BatchRequest{Name: "Weekly Content Calendar", MaxConcurrent: 4, Requests: reqs})
	if err != nil {
		t.Fatal(err)
	}
	if b.Progress.Total != 50 || b.Progress.Completed != 0 || b.Status != content.BatchRunning {
		t.Fatalf("initial %+v", b.Progress)
	}
	last := -1
	final, err := svc.WaitBatch(ctx, "aquascene", b.ID, func(b content.Batch) {
		p := b.Progress
		if p.Completed+p.Failed < last || p.Completed+p.Failed > p.Total || p.Total != 50 {
			t.Errorf("progress went from %d to %+v", last, p)
		}
		last = p.Completed + p.Failed
	})
	if err != nil {
		t.Fatal(err)
	}
	if final.Status != content.BatchCompleted || final.Progress.Completed != 50 || final.Progress.Failed != 0 || final.Progress.Percent != 100 {
		t.Fatalf("final %+v %s", final.Progress, final.Status)
	}
	if peak := fake.MaxInFlight(); peak > 4 || peak < 1 {
		t.Errorf("server saw %d requests at once, want at most 4", peak)
	}
	if _, peak := svc.Running(); peak > 4 {
		t.Errorf("service ran %d at once", peak)
	}
	if fake.Total() != 50 {
		t.Errorf("server got %d requests", fake.Total())
	}
	seen := map[string]bool{}
	for i, it := range final.Results {
		if it.Index != i || it.Status != content.StatusCompleted || seen[it.ContentID] || it.QualityScore == 0 {
			t.Errorf("item %d %+v", i, it)
		}
		seen[it.ContentID] = true
	}
	listed, _ := svc.List(ctx, "aquascene", content.Filter{BatchID: b.ID, Limit: 100})
	if len(listed) != 50 {
		t.Errorf("listed %d items of the batch", len(listed))
	}
}

func TestBatchFailuresAreCounted(t *testing.T) {
	fake := startFake(t, openaifake.Options{})
	fake.Enqueue(openaifake.Reply{Content: "not json"}, openaifake.Reply{Status: 401})
	prov := content.NewOpenAIProvider(content.OpenAIOptions{BaseURL: fake.URL(), APIKey: "k", MaxRetries: -1})
	svc := newService(t, tempDB(t), prov, nil, content.Policies{})
	reqs := []content.Request{newsletterRequest(), newsletterRequest(), newsletterRequest()}
	b, err := svc.CreateBatch(context.Background(), "aquascene", content.BatchRequest{Name: "x", MaxConcurrent: 1, Requests: reqs})
	if err != nil {
		t.Fatal(err)
	}
	final, err := svc.WaitBatch(context.Background(), "aquascene", b.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if final.Status != content.BatchCompletedWithErrors || final.Progress.Failed != 2 || final.Progress.Completed != 1 {
		t.Errorf("%s %+v", final.Status, final.Progress)
	}
	if final.Results[0].ErrorType != content.ErrTypeMalformed || final.Results[1].ErrorType != content.ErrTypeAuth {
		t.Errorf("results %+v", final.Results)
	}
}

func TestBatchSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	db := openDB(t, path)
	gate := make(chan struct{})
	prov := &countingProvider{inner: content.BuiltinProvider{}, gate: gate}
	svc, err := content.NewService(content.ServiceOptions{DB: db, Provider: prov})
	if err != nil {
		t.Fatal(err)
	}
	reqs := make([]content.Request, 10)
	for i := range reqs {
		reqs[i] = content.Request{Template: "instagram_caption", Topic: fmt.Sprintf("Tank %d", i)}
	}
	b, err := svc.CreateBatch(context.Background(), "aquascene", content.BatchRequest{Name: "restart", MaxConcurrent: 2, Requests: reqs})
	if err != nil {
		t.Fatal(err)
	}
	// Let three items finish, then stop the process with two more in flight.
	for i := 0; i < 3; i++ {
		gate <- struct{}{}
	}
	for {
		cur, _ := svc.Batch(context.Background(), "aquascene", b.ID)
		if cur.Progress.Completed == 3 && prov.calls.Load() >= 5 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	svc.Close()
	db.Close()

	db = openDB(t, path)
	defer db.Close()
	prov2 := &countingProvider{inner: content.BuiltinProvider{}}
	svc2 := newService(t, db, prov2, nil, content.Policies{})
	final, err := svc2.WaitBatch(context.Background(), "aquascene", b.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if final.Status != content.BatchCompleted || final.Progress.Completed != 10 {
		t.Fatalf("final %s %+v", final.Status, final.Progress)
	}
	if n := prov2.calls.Load(); n != 7 {
		t.Errorf("after restart the provider wrote %d items, want the 7 unfinished", n)
	}
}

func TestCreateBatchValidation(t *testing.T) {
	svc := newService(t, tempDB(t), content.BuiltinProvider{}, nil, content.Policies{})
	good := newsletterRequest()
	tests := []struct {
		name string
		br   content.BatchRequest
		path string
	}{
		{"no name", content.BatchRequest{Requests: []content.Request{good}}, "name"},
		{"no requests", content.BatchRequest{Name: "x"}, "requests"},
		{"too concurrent", content.BatchRequest{Name: "x", MaxConcurrent: 65, Requests: []content.Request{good}}, "max_concurrent"},
		{"bad item", content.BatchRequest{Name: "x", Requests: []content.Request{good, {Template: "newsletter_article"}}}, "requests[1].topic"},
		{"unknown template", content.BatchRequest{Name: "x", Requests: []content.Request{{Template: "haiku", Topic: "t"}}}, "requests[0].template"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := svc.CreateBatch(context.Background(), "aquascene", tc.br)
			var fe *core.FieldError
			if !errors.As(err, &fe) || fe.Path != tc.path {
				t.Errorf("err %v, want path %s", err, tc.path)
			}
		})
	}
}

func TestTemplatesStore(t *testing.T) {
	svc := newService(t, tempDB(t), content.BuiltinProvider{}, nil, content.Policies{})
	ctx := context.Background()
	tpl, _ := content.BuiltinTemplate("newsletter_article")
	tpl.Brand.WordCount = content.Range{Min: 300, Max: 400}
	if _, created, err := svc.PutTemplate(ctx, "aquascene", tpl); err != nil || !created {
		t.Fatalf("put: %v %v", created, err)
	}
	if _, created, _ := svc.PutTemplate(ctx, "aquascene", tpl); created {
		t.Error("second put reported created")
	}
	got, _ := svc.Template(ctx, "aquascene", "newsletter_article")
	if got.Source != "stored" || got.Brand.WordCount.Max != 400 {
		t.Errorf("override not served: %+v", got.Brand.WordCount)
	}
	other, _ := svc.Template(ctx, "other", "newsletter_article")
	if other.Source != "builtin" {
		t.Error("override leaked to another tenant")
	}
	c, err := svc.Generate(ctx, "aquascene", newsletterRequest(), content.GenerateOptions{})
	if err != nil || c.WordCount > 400 {
		t.Errorf("generation ignored the stored template: %d words, %v", c.WordCount, err)
	}
	if err := svc.DeleteTemplate(ctx, "aquascene", "newsletter_article"); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteTemplate(ctx, "aquascene", "newsletter_article"); !errors.Is(err, core.ErrConflict) {
		t.Errorf("deleting a builtin: %v", err)
	}
	if err := svc.DeleteTemplate(ctx, "aquascene", "nope"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("deleting a missing template: %v", err)
	}
	if _, _, err := svc.PutTemplate(ctx, "aquascene", content.Template{ID: "x"}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("invalid template accepted: %v", err)
	}
	list, _ := svc.Templates(ctx, "aquascene")
	if len(list) != 4 {
		t.Errorf("%d templates", len(list))
	}
}

func TestListFiltersAndPages(t *testing.T) {
	svc := newService(t, tempDB(t), content.BuiltinProvider{}, nil, content.Policies{})
	ctx := context.Background()
	var ids []string
	for i := 0; i < 5; i++ {
		tplID := "newsletter_article"
		if i%2 == 1 {
			tplID = "instagram_caption"
		}
		c, err := svc.Generate(ctx, "aquascene", content.Request{Template: tplID, Topic: fmt.Sprint("t", i)}, content.GenerateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	svc.Generate(ctx, "other", content.Request{Template: "newsletter_article", Topic: "x"}, content.GenerateOptions{})
	all, _ := svc.List(ctx, "aquascene", content.Filter{})
	if len(all) != 5 || all[0].ID != ids[4] || all[4].ID != ids[0] {
		t.Fatalf("listing order wrong: %d", len(all))
	}
	page, _ := svc.List(ctx, "aquascene", content.Filter{Limit: 2, After: ids[3]})
	if len(page) != 2 || page[0].ID != ids[2] || page[1].ID != ids[1] {
		t.Errorf("page after %s: %v", ids[3], page)
	}
	captions, _ := svc.List(ctx, "aquascene", content.Filter{Template: "instagram_caption"})
	if len(captions) != 2 {
		t.Errorf("%d captions", len(captions))
	}
}
