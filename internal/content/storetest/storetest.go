package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/content"
)

// Run runs the contract suite; open returns a new empty store and registers its cleanup.
func Run(t *testing.T, open func(t testing.TB) content.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s content.Store)
	}{
		{"content round-trips every field", testContentRoundTrip},
		{"missing records are not found", testNotFound},
		{"tenants are isolated", testTenantIsolation},
		{"idempotency keys find their content", testIdempotencyKey},
		{"listing is newest first with filters and paging", testListing},
		{"templates are replaced, listed by id and deleted", testTemplates},
		{"batches round-trip with their items", testBatch},
		{"usage starts at zero and is replaced", testUsage},
		{"pending work is listed until deleted", testPending},
		{"outbox events are kept until deleted", testOutbox},
		{"a failed update writes nothing", testAtomicity},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

var t0 = time.Date(2025, 8, 6, 12, 0, 0, 0, time.UTC)

// update runs fn in a write transaction and fails the test on error.
func update(t testing.TB, s content.Store, fn func(tx content.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// view runs fn in a read transaction and returns its error.
func view(s content.Store, fn func(tx content.ReadTx) error) error {
	return s.View(context.Background(), fn)
}

func put(t testing.TB, s content.Store, tenant string, cs ...content.Content) {
	t.Helper()
	update(t, s, func(tx content.Tx) error {
		for i := range cs {
			if err := tx.PutContent(tenant, &cs[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

func get(t testing.TB, s content.Store, tenant, id string) (content.Content, error) {
	t.Helper()
	var c content.Content
	err := view(s, func(tx content.ReadTx) error {
		var err error
		c, err = tx.Content(tenant, id)
		return err
	})
	return c, err
}

// full is a record with every field set.
func full(id string) content.Content {
	return content.Content{
		ID: id, RequestID: "req-1", BatchID: "batch-1", Status: content.StatusFailed,
		Request: content.Request{
			Template: "partner_product_guide", Topic: "CO2 diffusers", Audience: "beginners", Keywords: []string{"co2", "diffuser"},
			Instructions: "Mention cycling.", BrandVoice: "Calm", RequestID: "req-1",
			Partnership: &content.Partnership{
				Partner: "Green Aqua", ProductID: "p-1", ProductName: "Diffuser", Category: "co2", Description: "glass",
				PriceRange: "20-30", KeyBenefits: []string{"fine mist"}, AffiliateLink: "https://greenaqua.example/d?ref=aq",
			},
		},
		Template: "partner_product_guide", Format: content.FormatArticle, Title: "CO2", MetaDescription: "All about CO2",
		BodyMarkdown: "# CO2\n\nText.", BodyHTML: "<h1>CO2</h1>\n<p>Text.</p>\n", Hashtags: []string{"co2"}, Caption: "cap #co2",
		WordCount: 2,
		Quality: &content.Quality{
			Score: 7.5, Breakdown: []content.Component{{Name: "readability", Score: 8, Weight: 0.25, Value: "62", Target: ">= 60"}},
			Readability: 62.1, KeywordDensity: 2.5, KeywordCounts: map[string]int{"co2": 3},
			Stats: content.TextStats{Words: 120, Sentences: 9, Syllables: 170},
		},
		Findings: []content.Finding{{Kind: content.FindingPII, Type: "email", Severity: content.SeverityError, Message: "an email address", Match: "a***@x.io", Offset: 12}},
		Provider: "openai", Model: "gpt-4o-mini",
		Usage:    content.Usage{PromptTokens: 10, CompletionTokens: 20, TotalTokens: 30, CostUSD: 0.001},
		Attempts: 2, GenerationTimeSeconds: 1.25, ErrorType: content.ErrTypeValidation, ErrorMessage: "content failed validation",
		RetryPossible: true, RetryCount: 1, IdempotencyKey: "api:k1",
		CreatedAt: t0, UpdatedAt: t0.Add(time.Second), CompletedAt: t0.Add(2 * time.Second),
	}
}

// minimal is a record as a new request starts.
func minimal(id, template string) content.Content {
	return content.Content{
		ID: id, Status: content.StatusPending, Request: content.Request{Template: template, Topic: "t"},
		Template: template, Findings: []content.Finding{}, CreatedAt: t0, UpdatedAt: t0,
	}
}

func testContentRoundTrip(t *testing.T, s content.Store) {
	for _, want := range []content.Content{full("gen-1"), minimal("gen-2", "newsletter_article")} {
		put(t, s, "acme", want)
		got, err := get(t, s, "acme", want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("stored content differs:\n got %+v\nwant %+v", got, want)
		}
	}
	// Replacing keeps one record.
	c := minimal("gen-2", "newsletter_article")
	c.Status = content.StatusCompleted
	put(t, s, "acme", c)
	if got, _ := get(t, s, "acme", "gen-2"); got.Status != content.StatusCompleted {
		t.Errorf("replaced content has status %s", got.Status)
	}
}

func testNotFound(t *testing.T, s content.Store) {
	tests := []struct {
		name string
		fn   func(tx content.Tx) error
	}{
		{"content", func(tx content.Tx) error { _, err := tx.Content("acme", "gen-x"); return err }},
		{"idempotency key", func(tx content.Tx) error { _, err := tx.ContentByIdempotencyKey("acme", "k"); return err }},
		{"template", func(tx content.Tx) error { _, err := tx.Template("acme", "x"); return err }},
		{"batch", func(tx content.Tx) error { _, err := tx.Batch("acme", "batch-x"); return err }},
		{"deleting a template", func(tx content.Tx) error { return tx.DeleteTemplate("acme", "x") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Update(context.Background(), tc.fn)
			if !errors.Is(err, core.ErrNotFound) {
				t.Errorf("err = %v, want core.ErrNotFound", err)
			}
		})
	}
	// Deleting what is absent is no error for pending work and the outbox.
	update(t, s, func(tx content.Tx) error {
		if err := tx.DeletePending("acme", "gen-x"); err != nil {
			return err
		}
		return tx.DeleteOutbox("acme", "ev-x")
	})
}

func testTenantIsolation(t *testing.T, s content.Store) {
	put(t, s, "acme", minimal("gen-1", "newsletter_article"))
	tpl := template("weekly")
	b := batch("batch-1", "gen-1")
	update(t, s, func(tx content.Tx) error {
		return errors.Join(tx.PutIdempotencyKey("acme", "k", "gen-1"), tx.PutTemplate("acme", &tpl), tx.PutBatch("acme", &b),
			tx.PutUsage("acme", content.TenantUsage{Generations: 3}))
	})
	err := view(s, func(tx content.ReadTx) error {
		if _, err := tx.Content("other", "gen-1"); !errors.Is(err, core.ErrNotFound) {
			return fmt.Errorf("content: %v", err)
		}
		if _, err := tx.ContentByIdempotencyKey("other", "k"); !errors.Is(err, core.ErrNotFound) {
			return fmt.Errorf("idempotency key: %v", err)
		}
		if _, err := tx.Template("other", "weekly"); !errors.Is(err, core.ErrNotFound) {
			return fmt.Errorf("template: %v", err)
		}
		if _, err := tx.Batch("other", "batch-1"); !errors.Is(err, core.ErrNotFound) {
			return fmt.Errorf("batch: %v", err)
		}
		if ts, err := tx.Templates("other"); err != nil || len(ts) != 0 {
			return fmt.Errorf("templates: %v %v", ts, err)
		}
		if cs, err := tx.ListContent("other", content.Filter{}); err != nil || len(cs) != 0 {
			return fmt.Errorf("listing: %v %v", cs, err)
		}
		if u, err := tx.Usage("other"); err != nil || u != (content.TenantUsage{}) {
			return fmt.Errorf("usage: %+v %v", u, err)
		}
		return nil
	})
	if err != nil {
		t.Errorf("another tenant sees acme's %v", err)
	}
}

func testIdempotencyKey(t *testing.T, s content.Store) {
	put(t, s, "acme", minimal("gen-1", "newsletter_article"), minimal("gen-2", "newsletter_article"))
	update(t, s, func(tx content.Tx) error { return tx.PutIdempotencyKey("acme", "api:k1", "gen-1") })
	update(t, s, func(tx content.Tx) error { return tx.PutIdempotencyKey("acme", "api:k1", "gen-2") })
	err := view(s, func(tx content.ReadTx) error {
		c, err := tx.ContentByIdempotencyKey("acme", "api:k1")
		if err == nil && c.ID != "gen-2" {
			err = fmt.Errorf("the key finds %s, want the last one it was pointed at", c.ID)
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}
}

func testListing(t *testing.T, s content.Store) {
	var ids []string
	for i := range 6 {
		c := minimal(fmt.Sprintf("gen-%02d", i), "newsletter_article")
		if i%2 == 1 {
			c.Template, c.Status, c.BatchID = "instagram_caption", content.StatusCompleted, "batch-1"
		}
		put(t, s, "acme", c)
		ids = append(ids, c.ID)
	}
	// Neighbouring tenants sort before and after acme; their records stay out.
	put(t, s, "acm", minimal("gen-99", "newsletter_article"))
	put(t, s, "acmf", minimal("gen-00", "newsletter_article"))
	tests := []struct {
		name string
		f    content.Filter
		want []string
	}{
		{"all, newest first", content.Filter{}, []string{ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{"limit", content.Filter{Limit: 2}, []string{ids[5], ids[4]}},
		{"after", content.Filter{After: ids[3], Limit: 2}, []string{ids[2], ids[1]}},
		{"after the oldest", content.Filter{After: ids[0]}, nil},
		{"after an id past the newest", content.Filter{After: "gen-zz", Limit: 1}, []string{ids[5]}},
		{"template", content.Filter{Template: "instagram_caption"}, []string{ids[5], ids[3], ids[1]}},
		{"status", content.Filter{Status: content.StatusPending}, []string{ids[4], ids[2], ids[0]}},
		{"batch", content.Filter{BatchID: "batch-1", Limit: 2}, []string{ids[5], ids[3]}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			err := view(s, func(tx content.ReadTx) error {
				cs, err := tx.ListContent("acme", tc.f)
				for _, c := range cs {
					got = append(got, c.ID)
				}
				return err
			})
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func template(id string) content.Template {
	return content.Template{
		ID: id, Name: "Weekly", Description: "tips", Format: content.FormatArticle,
		Structure: []content.Section{{ID: "Intro", Title: "Intro", Guidance: "hello"}, {ID: "Tips", Title: "Tips"}},
		Brand:     content.BrandGuidelines{Tone: "Friendly", ExpertiseLevel: "beginner", WordCount: content.Range{Min: 300, Max: 450}, IncludeSafetyTips: true},
		SEO:       content.SEOSettings{KeywordDensity: content.Range{Min: 2, Max: 3}, HeadingsRequired: true, MetaDescription: true},
		Limits:    content.Limits{MaxChars: 2200, MaxHashtags: 30, MinHashtags: 8},
	}
}

func testTemplates(t *testing.T, s content.Store) {
	a, b := template("b_weekly"), template("a_daily")
	update(t, s, func(tx content.Tx) error { return errors.Join(tx.PutTemplate("acme", &a), tx.PutTemplate("acme", &b)) })
	a.Brand.WordCount = content.Range{Min: 100, Max: 200}
	update(t, s, func(tx content.Tx) error { return tx.PutTemplate("acme", &a) })
	err := view(s, func(tx content.ReadTx) error {
		got, err := tx.Template("acme", "b_weekly")
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, a) {
			return fmt.Errorf("stored template differs:\n got %+v\nwant %+v", got, a)
		}
		list, err := tx.Templates("acme")
		if err != nil {
			return err
		}
		if len(list) != 2 || list[0].ID != "a_daily" || list[1].ID != "b_weekly" {
			return fmt.Errorf("templates %v, want a_daily and b_weekly", list)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	update(t, s, func(tx content.Tx) error { return tx.DeleteTemplate("acme", "a_daily") })
	if err := view(s, func(tx content.ReadTx) error { _, err := tx.Template("acme", "a_daily"); return err }); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("deleted template: %v", err)
	}
}

func batch(id string, items ...string) content.Batch {
	b := content.Batch{
		ID: id, Name: "Weekly Content Calendar", Status: content.BatchRunning, MaxConcurrent: 3,
		Progress:  content.Progress{Completed: 1, Total: len(items), Percent: 50},
		CreatedAt: t0.Add(123 * time.Millisecond), UpdatedAt: t0.Add(time.Second),
	}
	for i, c := range items {
		b.Results = append(b.Results, content.BatchItem{Index: i, ContentID: c, Template: "newsletter_article", Topic: "t", Status: content.StatusPending})
	}
	return b
}

func testBatch(t *testing.T, s content.Store) {
	b := batch("batch-1", "gen-1", "gen-2")
	b.Results[0] = content.BatchItem{
		Index: 0, ContentID: "gen-1", Template: "newsletter_article", Topic: "t", Status: content.StatusFailed,
		Title: "T", QualityScore: 6.5, WordCount: 900, ErrorType: content.ErrTypeAuth, Error: "401",
	}
	update(t, s, func(tx content.Tx) error { return tx.PutBatch("acme", &b) })
	b.Status, b.CompletedAt = content.BatchCompletedWithErrors, t0.Add(2*time.Second)
	update(t, s, func(tx content.Tx) error { return tx.PutBatch("acme", &b) })
	err := view(s, func(tx content.ReadTx) error {
		got, err := tx.Batch("acme", "batch-1")
		if err == nil && !reflect.DeepEqual(got, b) {
			err = fmt.Errorf("stored batch differs:\n got %+v\nwant %+v", got, b)
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}
}

func testUsage(t *testing.T, s content.Store) {
	want := content.TenantUsage{Generations: 3, Failures: 1, PromptTokens: 10, CompletionTokens: 20, TotalTokens: 30, CostUSD: 0.25}
	update(t, s, func(tx content.Tx) error {
		u, err := tx.Usage("acme")
		if err != nil {
			return err
		}
		if u != (content.TenantUsage{}) {
			return fmt.Errorf("new tenant's usage %+v", u)
		}
		return errors.Join(tx.PutUsage("acme", want), tx.PutDailyUsage("acme", "2025-08-06", want), tx.PutDailyUsage("acme", "2025-08-07", content.TenantUsage{Generations: 1}))
	})
	err := view(s, func(tx content.ReadTx) error {
		u, err := tx.Usage("acme")
		if err == nil && u != want {
			err = fmt.Errorf("usage %+v, want %+v", u, want)
		}
		if d, derr := tx.DailyUsage("acme", "2025-08-06"); derr != nil || d != want {
			err = errors.Join(err, derr, fmt.Errorf("daily usage %+v, want %+v", d, want))
		}
		if d, derr := tx.DailyUsage("acme", "2025-08-07"); derr != nil || d.Generations != 1 {
			err = errors.Join(err, derr, fmt.Errorf("the next day's usage %+v", d))
		}
		if d, derr := tx.DailyUsage("other", "2025-08-06"); derr != nil || d != (content.TenantUsage{}) {
			err = errors.Join(err, derr, fmt.Errorf("another tenant sees acme's daily usage: %+v", d))
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}
}

func testPending(t *testing.T, s content.Store) {
	update(t, s, func(tx content.Tx) error {
		return errors.Join(
			tx.PutPending(content.Pending{Tenant: "acme", ID: "gen-1", Kind: content.WorkContent}),
			tx.PutPending(content.Pending{Tenant: "acme", ID: "batch-1", Kind: content.WorkBatch}),
			tx.PutPending(content.Pending{Tenant: "other", ID: "gen-1", Kind: content.WorkContent}),
		)
	})
	update(t, s, func(tx content.Tx) error { return tx.DeletePending("other", "gen-1") })
	var got []content.Pending
	if err := view(s, func(tx content.ReadTx) error {
		var err error
		got, err = tx.Pending()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := map[content.Pending]bool{{Tenant: "acme", ID: "gen-1", Kind: content.WorkContent}: true, {Tenant: "acme", ID: "batch-1", Kind: content.WorkBatch}: true}
	if len(got) != len(want) {
		t.Fatalf("pending %v, want %v", got, want)
	}
	for _, p := range got {
		if !want[p] {
			t.Errorf("unexpected pending %+v", p)
		}
	}
}

func event(id string, at time.Time) core.Event {
	return core.Event{
		ID: id, Source: content.EventSource, Type: content.EventCompleted, SpecVersion: core.SpecVersion, Subject: "gen-1",
		Time: &at, DataContentType: "application/json", Data: json.RawMessage(`{"content_id":"gen-1","quality_score":7.5}`),
	}
}

func testOutbox(t *testing.T, s content.Store) {
	a, b, c := event("gen-1-started-0", t0), event("gen-1-completed", t0.Add(time.Second)), event("gen-2-completed", t0)
	update(t, s, func(tx content.Tx) error {
		return errors.Join(tx.PutOutbox("acme", b), tx.PutOutbox("acme", a), tx.PutOutbox("other", c))
	})
	outbox := func() []content.OutboxEvent {
		t.Helper()
		var out []content.OutboxEvent
		if err := view(s, func(tx content.ReadTx) error {
			var err error
			out, err = tx.Outbox()
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	got := outbox()
	if len(got) != 3 || got[0].Tenant != "acme" || got[0].Event.ID != b.ID || got[1].Event.ID != a.ID || got[2].Tenant != "other" {
		t.Fatalf("outbox %+v, want acme's two events by id, then other's", got)
	}
	back := got[0].Event
	if back.Type != b.Type || back.Source != b.Source || back.Subject != b.Subject || !back.Time.Equal(*b.Time) || string(back.Data) != string(b.Data) {
		t.Errorf("stored event differs: %+v", back)
	}
	update(t, s, func(tx content.Tx) error { return tx.DeleteOutbox("acme", b.ID) })
	if got := outbox(); len(got) != 2 || got[0].Event.ID != a.ID {
		t.Errorf("after delete: %+v", got)
	}
}

func testAtomicity(t *testing.T, s content.Store) {
	boom := errors.New("boom")
	c := minimal("gen-1", "newsletter_article")
	err := s.Update(context.Background(), func(tx content.Tx) error {
		if err := tx.PutContent("acme", &c); err != nil {
			return err
		}
		if err := tx.PutPending(content.Pending{Tenant: "acme", ID: c.ID, Kind: content.WorkContent}); err != nil {
			return err
		}
		if err := tx.PutOutbox("acme", event("gen-1-completed", t0)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want the function's error", err)
	}
	err = view(s, func(tx content.ReadTx) error {
		if _, err := tx.Content("acme", "gen-1"); !errors.Is(err, core.ErrNotFound) {
			return fmt.Errorf("content: %v", err)
		}
		if p, err := tx.Pending(); err != nil || len(p) != 0 {
			return fmt.Errorf("pending: %v %v", p, err)
		}
		if o, err := tx.Outbox(); err != nil || len(o) != 0 {
			return fmt.Errorf("outbox: %v %v", o, err)
		}
		return nil
	})
	if err != nil {
		t.Errorf("a failed update left %v", err)
	}
}
