package bolt_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/aquascene/aquahub/internal/content"
	"github.com/aquascene/aquahub/internal/content/storetest"
	"github.com/aquascene/aquahub/internal/storage/bolt"
	bbolt "go.etcd.io/bbolt"
)

// openContent returns the content store of a new file; at cleanup the file is checked the
// way `bbolt check` does.
func openContent(t testing.TB) content.Store {
	t.Helper()
	db, err := bolt.Open(bolt.Config{Path: filepath.Join(t.TempDir(), "aquahub.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Check(); err != nil {
			t.Errorf("database check: %v", err)
		}
		db.Close()
	})
	return db.Content()
}

func TestContentContract(t *testing.T) { storetest.Run(t, openContent) }

// The content engine stored its domain types as JSON before it had records of its own;
// these are such values, byte for byte as it wrote them.
var contentWrittenBeforeRecords = map[string]map[string]string{
	"content.items": {
		"aquascene\x00gen-0198": `{"id":"gen-0198","request_id":"req-1","batch_id":"batch-1","status":"completed",` +
			`"request":{"template":"newsletter_article","topic":"Iwagumi","keywords":["iwagumi"],"partnership":{"partner":"Green Aqua","affiliate_link":"https://greenaqua.example/?ref=aq"},"request_id":"req-1"},` +
			`"template":"newsletter_article","format":"article","title":"Iwagumi","meta_description":"m","body_markdown":"# Iwagumi","body_html":"<h1>Iwagumi</h1>\n",` +
			`"word_count":1,"quality":{"score":7.2,"breakdown":[{"name":"readability","score":8,"weight":0.25,"value":"61","target":"60"}],` +
			`"flesch_reading_ease":61,"keyword_density":2.1,"keyword_counts":{"iwagumi":2},"stats":{"words":1,"sentences":1,"syllables":3}},` +
			`"findings":[{"kind":"safety_tips_missing","severity":"warning","message":"no safety tips","offset":-1}],"provider":"builtin","model":"builtin-template-filler",` +
			`"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"cost_usd":0.5},"generation_time_seconds":0.01,"retry_count":0,` +
			`"idempotency_key":"api:k","created_at":"2025-08-06T12:00:00Z","updated_at":"2025-08-06T12:00:01Z","completed_at":"2025-08-06T12:00:01Z"}`,
	},
	"content.idem": {"aquascene\x00api:k": "gen-0198"},
	"content.batches": {
		"aquascene\x00batch-1": `{"id":"batch-1","name":"Weekly","status":"completed","max_concurrent":3,"progress":{"completed":1,"failed":0,"total":1,"percent":100},` +
			`"results":[{"index":0,"content_id":"gen-0198","template":"newsletter_article","topic":"Iwagumi","status":"completed","title":"Iwagumi","quality_score":7.2,"word_count":1}],` +
			`"created_at":"2025-08-06T12:00:00.000Z","updated_at":"2025-08-06T12:00:01.250Z","completed_at":"2025-08-06T12:00:01.250Z"}`,
	},
	"content.templates": {
		"aquascene\x00weekly_tips": `{"id":"weekly_tips","name":"Weekly Tips","format":"article","structure":[{"id":"Intro","title":"Intro"}],` +
			`"brand_guidelines":{"tone":"Friendly","expertise_level":"beginner","word_count_range":{"min":300,"max":450},"include_safety_tips":true},` +
			`"seo_settings":{"keyword_density":{"min":2,"max":3},"headings_required":true,"meta_description":true}}`,
	},
	"content.usage":   {"aquascene": `{"generations":4,"failures":1,"prompt_tokens":10,"completion_tokens":20,"total_tokens":30,"cost_usd":0.75}`},
	"content.pending": {"aquascene\x00batch-2": "batch"},
}

func TestContentReadsFilesWrittenBeforeRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aquahub.db")
	raw, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = raw.Update(func(tx *bbolt.Tx) error {
		for bucket, kvs := range contentWrittenBeforeRecords {
			b, err := tx.CreateBucketIfNotExists([]byte(bucket))
			if err != nil {
				return err
			}
			for k, v := range kvs {
				if err := b.Put([]byte(k), []byte(v)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	raw.Close()
	if err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(bolt.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Content().View(context.Background(), func(tx content.ReadTx) error {
		c, err := tx.ContentByIdempotencyKey("aquascene", "api:k")
		if err != nil {
			return err
		}
		if c.ID != "gen-0198" || c.Status != content.StatusCompleted || c.Request.Partnership == nil ||
			c.Request.Partnership.AffiliateLink != "https://greenaqua.example/?ref=aq" || c.Quality == nil ||
			c.Quality.Breakdown[0].Name != "readability" || c.Quality.KeywordCounts["iwagumi"] != 2 || c.Quality.Stats.Syllables != 3 ||
			len(c.Findings) != 1 || c.Findings[0].Offset != -1 || c.Usage.CostUSD != 0.5 ||
			!c.CompletedAt.Equal(time.Date(2025, 8, 6, 12, 0, 1, 0, time.UTC)) {
			t.Errorf("content %+v", c)
		}
		b, err := tx.Batch("aquascene", "batch-1")
		if err != nil {
			return err
		}
		if b.Progress.Percent != 100 || b.Results[0].QualityScore != 7.2 ||
			!b.CompletedAt.Equal(time.Date(2025, 8, 6, 12, 0, 1, 250e6, time.UTC)) {
			t.Errorf("batch %+v", b)
		}
		tpl, err := tx.Template("aquascene", "weekly_tips")
		if err != nil {
			return err
		}
		if tpl.Brand.WordCount != (content.Range{Min: 300, Max: 450}) || tpl.SEO.KeywordDensity.Max != 3 || tpl.Structure[0].Title != "Intro" {
			t.Errorf("template %+v", tpl)
		}
		u, err := tx.Usage("aquascene")
		if err != nil {
			return err
		}
		if u.Generations != 4 || u.CostUSD != 0.75 {
			t.Errorf("usage %+v", u)
		}
		p, err := tx.Pending()
		if err != nil {
			return err
		}
		if len(p) != 1 || p[0] != (content.Pending{Tenant: "aquascene", ID: "batch-2", Kind: content.WorkBatch}) {
			t.Errorf("pending %+v", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
