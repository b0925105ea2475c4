package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/content"
	bbolt "go.etcd.io/bbolt"
)

// The content engine's buckets. Every key starts with the tenant and a zero byte, except
// usage's, which is the tenant alone.
var (
	bucketContentItems     = []byte("content.items")       // tenant, content id → contentRecord
	bucketContentTemplates = []byte("content.templates")   // tenant, template id → templateRecord
	bucketContentBatches   = []byte("content.batches")     // tenant, batch id → batchRecord
	bucketContentIdem      = []byte("content.idem")        // tenant, idempotency key → content id
	bucketContentUsage     = []byte("content.usage")       // tenant → usageTotalsRecord
	bucketContentDaily     = []byte("content.usage.daily") // tenant, YYYY-MM-DD → usageTotalsRecord
	bucketContentPending   = []byte("content.pending")     // tenant, id → "content" or "batch"
	bucketContentOutbox    = []byte("content.outbox")      // tenant, event id → outboxRecord
)

// ContentStore is the content engine's store (content.Store) in the hub's file.
type ContentStore struct{ db handle }

// Content returns the content engine's store.
func (d *DB) Content() *ContentStore { return &ContentStore{db: d.db} }

var _ content.Store = (*ContentStore)(nil)

// View implements content.Store.
func (s *ContentStore) View(_ context.Context, fn func(tx content.ReadTx) error) error {
	return s.db.View(func(tx *bbolt.Tx) error { return fn(contentTx{tx}) })
}

// Update implements content.Store. Concurrent updates share commits (bbolt's Batch).
func (s *ContentStore) Update(_ context.Context, fn func(tx content.Tx) error) error {
	return s.db.Batch(func(tx *bbolt.Tx) error { return fn(contentTx{tx}) })
}

// contentTx implements content.Tx over one bbolt transaction.
type contentTx struct{ tx *bbolt.Tx }

var _ content.Tx = contentTx{}

func (t contentTx) Content(tenant, id string) (content.Content, error) {
	var r contentRecord
	ok, err := getRecord(t.tx.Bucket(bucketContentItems), key(tenant, id), &r)
	if err != nil {
		return content.Content{}, err
	}
	if !ok {
		return content.Content{}, fmt.Errorf("content %q: %w", id, core.ErrNotFound)
	}
	return r.content(), nil
}

func (t contentTx) ContentByIdempotencyKey(tenant, k string) (content.Content, error) {
	id := t.tx.Bucket(bucketContentIdem).Get(key(tenant, k))
	if id == nil {
		return content.Content{}, fmt.Errorf("idempotency key %q: %w", k, core.ErrNotFound)
	}
	return t.Content(tenant, string(id))
}

func (t contentTx) ListContent(tenant string, f content.Filter) ([]content.Content, error) {
	p := prefix(tenant)
	c := t.tx.Bucket(bucketContentItems).Cursor()
	// Ids are time-ordered, so walking back from the tenant's last key (or from After) is
	// newest first.
	var k, v []byte
	if f.After != "" {
		k, v = lastBefore(c, key(tenant, f.After))
	} else {
		k, v = lastBefore(c, append(key(tenant), 1))
	}
	var out []content.Content
	for ; k != nil && bytes.HasPrefix(k, p) && (f.Limit <= 0 || len(out) < f.Limit); k, v = c.Prev() {
		var r contentRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return nil, fmt.Errorf("decoding content %q: %w", k, err)
		}
		if (f.Status != "" && r.Status != f.Status) || (f.Template != "" && r.Template != f.Template) ||
			(f.BatchID != "" && r.BatchID != f.BatchID) || (f.Partner != "" && !r.Request.Partnership.names(f.Partner)) {
			continue
		}
		out = append(out, r.content())
	}
	return out, nil
}

func (t contentTx) DailyUsage(tenant, day string) (content.TenantUsage, error) {
	var r usageTotalsRecord
	_, err := getRecord(t.tx.Bucket(bucketContentDaily), key(tenant, day), &r)
	return r.usage(), err
}

func (t contentTx) PutDailyUsage(tenant, day string, u content.TenantUsage) error {
	return putRecord(t.tx.Bucket(bucketContentDaily), key(tenant, day), toUsageTotalsRecord(u))
}

func (t contentTx) Usage(tenant string) (content.TenantUsage, error) {
	var r usageTotalsRecord
	_, err := getRecord(t.tx.Bucket(bucketContentUsage), key(tenant), &r)
	return r.usage(), err
}

func (t contentTx) Template(tenant, id string) (content.Template, error) {
	var r templateRecord
	ok, err := getRecord(t.tx.Bucket(bucketContentTemplates), key(tenant, id), &r)
	if err != nil {
		return content.Template{}, err
	}
	if !ok {
		return content.Template{}, fmt.Errorf("template %q: %w", id, core.ErrNotFound)
	}
	return r.template(), nil
}

func (t contentTx) Templates(tenant string) ([]content.Template, error) {
	var out []content.Template
	err := scan(t.tx.Bucket(bucketContentTemplates), prefix(tenant), func(k, v []byte) (bool, error) {
		var r templateRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return false, fmt.Errorf("decoding template %q: %w", k, err)
		}
		out = append(out, r.template())
		return true, nil
	})
	return out, err
}

func (t contentTx) Batch(tenant, id string) (content.Batch, error) {
	var r batchRecord
	ok, err := getRecord(t.tx.Bucket(bucketContentBatches), key(tenant, id), &r)
	if err != nil {
		return content.Batch{}, err
	}
	if !ok {
		return content.Batch{}, fmt.Errorf("batch %q: %w", id, core.ErrNotFound)
	}
	return r.batch()
}

func (t contentTx) Pending() ([]content.Pending, error) {
	var out []content.Pending
	err := t.tx.Bucket(bucketContentPending).ForEach(func(k, v []byte) error {
		tenant, id, ok := splitKey(k)
		if !ok {
			return fmt.Errorf("malformed pending key %q", k)
		}
		out = append(out, content.Pending{Tenant: tenant, ID: id, Kind: content.WorkKind(v)})
		return nil
	})
	return out, err
}

func (t contentTx) Outbox() ([]content.OutboxEvent, error) {
	var out []content.OutboxEvent
	err := t.tx.Bucket(bucketContentOutbox).ForEach(func(k, v []byte) error {
		tenant, _, ok := splitKey(k)
		if !ok {
			return fmt.Errorf("malformed outbox key %q", k)
		}
		var r outboxRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decoding outbox event %q: %w", k, err)
		}
		ev, err := core.DecodeEvent(r.Event)
		if err != nil {
			return fmt.Errorf("decoding outbox event %q: %w", k, err)
		}
		out = append(out, content.OutboxEvent{Tenant: tenant, Event: ev})
		return nil
	})
	return out, err
}

func (t contentTx) PutContent(tenant string, c *content.Content) error {
	return putRecord(t.tx.Bucket(bucketContentItems), key(tenant, c.ID), toContentRecord(c))
}

func (t contentTx) PutIdempotencyKey(tenant, k, contentID string) error {
	return t.tx.Bucket(bucketContentIdem).Put(key(tenant, k), []byte(contentID))
}

func (t contentTx) PutUsage(tenant string, u content.TenantUsage) error {
	return putRecord(t.tx.Bucket(bucketContentUsage), key(tenant), toUsageTotalsRecord(u))
}

func (t contentTx) PutTemplate(tenant string, tpl *content.Template) error {
	return putRecord(t.tx.Bucket(bucketContentTemplates), key(tenant, tpl.ID), toTemplateRecord(tpl))
}

func (t contentTx) DeleteTemplate(tenant, id string) error {
	b := t.tx.Bucket(bucketContentTemplates)
	if b.Get(key(tenant, id)) == nil {
		return fmt.Errorf("template %q: %w", id, core.ErrNotFound)
	}
	return b.Delete(key(tenant, id))
}

func (t contentTx) PutBatch(tenant string, b *content.Batch) error {
	return putRecord(t.tx.Bucket(bucketContentBatches), key(tenant, b.ID), toBatchRecord(b))
}

func (t contentTx) PutPending(p content.Pending) error {
	return t.tx.Bucket(bucketContentPending).Put(key(p.Tenant, p.ID), []byte(p.Kind))
}

func (t contentTx) DeletePending(tenant, id string) error {
	return t.tx.Bucket(bucketContentPending).Delete(key(tenant, id))
}

func (t contentTx) PutOutbox(tenant string, ev core.Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encoding outbox event %q: %w", ev.ID, err)
	}
	return putRecord(t.tx.Bucket(bucketContentOutbox), key(tenant, ev.ID), outboxRecord{Event: body})
}

func (t contentTx) DeleteOutbox(tenant, eventID string) error {
	return t.tx.Bucket(bucketContentOutbox).Delete(key(tenant, eventID))
}

// The content engine's records. Their JSON field names are those the engine wrote before it
// had records of its own (it stored its domain types), so files written then still read.

type contentRecord struct {
	ID        string        `json:"id"`
	RequestID string        `json:"request_id,omitempty"`
	BatchID   string        `json:"batch_id,omitempty"`
	Status    string        `json:"status"`
	Request   requestRecord `json:"request"`
	Template  string        `json:"template"`
	Format    string        `json:"format,omitempty"`

	Title           string   `json:"title,omitempty"`
	MetaDescription string   `json:"meta_description,omitempty"`
	BodyMarkdown    string   `json:"body_markdown,omitempty"`
	BodyHTML        string   `json:"body_html,omitempty"`
	Hashtags        []string `json:"hashtags,omitempty"`
	Caption         string   `json:"caption,omitempty"`
	WordCount       int      `json:"word_count"`

	Quality  *qualityRecord  `json:"quality,omitempty"`
	Findings []findingRecord `json:"findings"`

	Provider              string      `json:"provider,omitempty"`
	Model                 string      `json:"model,omitempty"`
	Usage                 usageRecord `json:"usage"`
	Attempts              int         `json:"attempts,omitempty"`
	GenerationTimeSeconds float64     `json:"generation_time_seconds"`

	ErrorType     string `json:"error_type,omitempty"`
	ErrorMessage  string `json:"error_message,omitempty"`
	RetryPossible bool   `json:"retry_possible,omitempty"`
	RetryCount    int    `json:"retry_count"`

	IdempotencyKey string    `json:"idempotency_key,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	CompletedAt    time.Time `json:"completed_at,omitzero"`
}

type requestRecord struct {
	Template     string             `json:"template"`
	Topic        string             `json:"topic"`
	Audience     string             `json:"audience,omitempty"`
	Keywords     []string           `json:"keywords,omitempty"`
	Instructions string             `json:"instructions,omitempty"`
	BrandVoice   string             `json:"brand_voice,omitempty"`
	Partnership  *partnershipRecord `json:"partnership,omitempty"`
	ECommerce    *ecommerceRecord   `json:"ecommerce,omitempty"`
	RequestID    string             `json:"request_id,omitempty"`
}

type ecommerceRecord struct {
	ProductID    string `json:"product_id,omitempty"`
	ProductURL   string `json:"product_url,omitempty"`
	Price        string `json:"price,omitempty"`
	Availability string `json:"availability,omitempty"`
}

type partnershipRecord struct {
	Partner            string   `json:"partner"`
	PartnerID          string   `json:"partner_id,omitempty"`
	ProductURL         string   `json:"product_url,omitempty"`
	Voice              string   `json:"voice,omitempty"`
	ProductIntegration string   `json:"product_integration,omitempty"`
	CallToAction       string   `json:"call_to_action,omitempty"`
	ProductID          string   `json:"product_id,omitempty"`
	ProductName        string   `json:"product_name,omitempty"`
	Category           string   `json:"category,omitempty"`
	Description        string   `json:"description,omitempty"`
	PriceRange         string   `json:"price_range,omitempty"`
	KeyBenefits        []string `json:"key_benefits,omitempty"`
	AffiliateLink      string   `json:"affiliate_link,omitempty"`
}

type qualityRecord struct {
	Score          float64           `json:"score"`
	Breakdown      []componentRecord `json:"breakdown"`
	Readability    float64           `json:"flesch_reading_ease"`
	KeywordDensity float64           `json:"keyword_density"`
	KeywordCounts  map[string]int    `json:"keyword_counts,omitempty"`
	Stats          textStatsRecord   `json:"stats"`
}

type componentRecord struct {
	Name   string  `json:"name"`
	Score  float64 `json:"score"`
	Weight float64 `json:"weight"`
	Value  string  `json:"value"`
	Target string  `json:"target"`
}

type textStatsRecord struct {
	Words     int `json:"words"`
	Sentences int `json:"sentences"`
	Syllables int `json:"syllables"`
}

type findingRecord struct {
	Kind     string `json:"kind"`
	Type     string `json:"type,omitempty"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Match    string `json:"match,omitempty"`
	Offset   int    `json:"offset"`
}

type usageRecord struct {
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	TotalTokens      int     `json:"total_tokens"`
	CostUSD          float64 `json:"cost_usd"`
}

func toContentRecord(c *content.Content) contentRecord {
	r := contentRecord{
		ID: c.ID, RequestID: c.RequestID, BatchID: c.BatchID, Status: c.Status, Request: toRequestRecord(&c.Request),
		Template: c.Template, Format: c.Format, Title: c.Title, MetaDescription: c.MetaDescription,
		BodyMarkdown: c.BodyMarkdown, BodyHTML: c.BodyHTML, Hashtags: c.Hashtags, Caption: c.Caption, WordCount: c.WordCount,
		Findings: make([]findingRecord, len(c.Findings)), Provider: c.Provider, Model: c.Model,
		Usage:    usageRecord{PromptTokens: c.Usage.PromptTokens, CompletionTokens: c.Usage.CompletionTokens, TotalTokens: c.Usage.TotalTokens, CostUSD: c.Usage.CostUSD},
		Attempts: c.Attempts, GenerationTimeSeconds: c.GenerationTimeSeconds, ErrorType: c.ErrorType, ErrorMessage: c.ErrorMessage,
		RetryPossible: c.RetryPossible, RetryCount: c.RetryCount, IdempotencyKey: c.IdempotencyKey,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, CompletedAt: c.CompletedAt,
	}
	for i, f := range c.Findings {
		r.Findings[i] = findingRecord{Kind: f.Kind, Type: f.Type, Severity: f.Severity, Message: f.Message, Match: f.Match, Offset: f.Offset}
	}
	if q := c.Quality; q != nil {
		qr := &qualityRecord{
			Score: q.Score, Breakdown: make([]componentRecord, len(q.Breakdown)), Readability: q.Readability,
			KeywordDensity: q.KeywordDensity, KeywordCounts: q.KeywordCounts,
			Stats: textStatsRecord{Words: q.Stats.Words, Sentences: q.Stats.Sentences, Syllables: q.Stats.Syllables},
		}
		for i, comp := range q.Breakdown {
			qr.Breakdown[i] = componentRecord{Name: comp.Name, Score: comp.Score, Weight: comp.Weight, Value: comp.Value, Target: comp.Target}
		}
		r.Quality = qr
	}
	return r
}

func (r contentRecord) content() content.Content {
	c := content.Content{
		ID: r.ID, RequestID: r.RequestID, BatchID: r.BatchID, Status: r.Status, Request: r.Request.request(),
		Template: r.Template, Format: r.Format, Title: r.Title, MetaDescription: r.MetaDescription,
		BodyMarkdown: r.BodyMarkdown, BodyHTML: r.BodyHTML, Hashtags: r.Hashtags, Caption: r.Caption, WordCount: r.WordCount,
		Findings: make([]content.Finding, len(r.Findings)), Provider: r.Provider, Model: r.Model,
		Usage:    content.Usage{PromptTokens: r.Usage.PromptTokens, CompletionTokens: r.Usage.CompletionTokens, TotalTokens: r.Usage.TotalTokens, CostUSD: r.Usage.CostUSD},
		Attempts: r.Attempts, GenerationTimeSeconds: r.GenerationTimeSeconds, ErrorType: r.ErrorType, ErrorMessage: r.ErrorMessage,
		RetryPossible: r.RetryPossible, RetryCount: r.RetryCount, IdempotencyKey: r.IdempotencyKey,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, CompletedAt: r.CompletedAt,
	}
	for i, f := range r.Findings {
		c.Findings[i] = content.Finding{Kind: f.Kind, Type: f.Type, Severity: f.Severity, Message: f.Message, Match: f.Match, Offset: f.Offset}
	}
	if q := r.Quality; q != nil {
		cq := &content.Quality{
			Score: q.Score, Breakdown: make([]content.Component, len(q.Breakdown)), Readability: q.Readability,
			KeywordDensity: q.KeywordDensity, KeywordCounts: q.KeywordCounts,
			Stats: content.TextStats{Words: q.Stats.Words, Sentences: q.Stats.Sentences, Syllables: q.Stats.Syllables},
		}
		for i, comp := range q.Breakdown {
			cq.Breakdown[i] = content.Component{Name: comp.Name, Score: comp.Score, Weight: comp.Weight, Value: comp.Value, Target: comp.Target}
		}
		c.Quality = cq
	}
	return c
}

// names reports whether the partnership is with partner, by id or by name.
func (p *partnershipRecord) names(partner string) bool {
	return p != nil && (p.PartnerID == partner || p.Partner == partner)
}

func toRequestRecord(q *content.Request) requestRecord {
	r := requestRecord{
		Template: q.Template, Topic: q.Topic, Audience: q.Audience, Keywords: q.Keywords,
		Instructions: q.Instructions, BrandVoice: q.BrandVoice, RequestID: q.RequestID,
	}
	if p := q.Partnership; p != nil {
		r.Partnership = &partnershipRecord{
			Partner: p.Partner, PartnerID: p.PartnerID, ProductID: p.ProductID, ProductName: p.ProductName,
			ProductURL: p.ProductURL, Category: p.Category, Description: p.Description, PriceRange: p.PriceRange,
			KeyBenefits: p.KeyBenefits, AffiliateLink: p.AffiliateLink,
			Voice: p.Voice, ProductIntegration: p.ProductIntegration, CallToAction: p.CallToAction,
		}
	}
	if e := q.ECommerce; e != nil {
		r.ECommerce = &ecommerceRecord{ProductID: e.ProductID, ProductURL: e.ProductURL, Price: e.Price, Availability: e.Availability}
	}
	return r
}

func (r requestRecord) request() content.Request {
	q := content.Request{
		Template: r.Template, Topic: r.Topic, Audience: r.Audience, Keywords: r.Keywords,
		Instructions: r.Instructions, BrandVoice: r.BrandVoice, RequestID: r.RequestID,
	}
	if p := r.Partnership; p != nil {
		q.Partnership = &content.Partnership{
			Partner: p.Partner, PartnerID: p.PartnerID, ProductID: p.ProductID, ProductName: p.ProductName,
			ProductURL: p.ProductURL, Category: p.Category, Description: p.Description, PriceRange: p.PriceRange,
			KeyBenefits: p.KeyBenefits, AffiliateLink: p.AffiliateLink,
			Voice: p.Voice, ProductIntegration: p.ProductIntegration, CallToAction: p.CallToAction,
		}
	}
	if e := r.ECommerce; e != nil {
		q.ECommerce = &content.ECommerce{ProductID: e.ProductID, ProductURL: e.ProductURL, Price: e.Price, Availability: e.Availability}
	}
	return q
}

// usageTotalsRecord is a tenant's usage totals.
type usageTotalsRecord struct {
	Generations      int     `json:"generations"`
	Failures         int     `json:"failures"`
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	TotalTokens      int     `json:"total_tokens"`
	CostUSD          float64 `json:"cost_usd"`
}

func toUsageTotalsRecord(u content.TenantUsage) usageTotalsRecord {
	return usageTotalsRecord{
		Generations: u.Generations, Failures: u.Failures, PromptTokens: u.PromptTokens,
		CompletionTokens: u.CompletionTokens, TotalTokens: u.TotalTokens, CostUSD: u.CostUSD,
	}
}

func (r usageTotalsRecord) usage() content.TenantUsage {
	return content.TenantUsage{
		Generations: r.Generations, Failures: r.Failures, PromptTokens: r.PromptTokens,
		CompletionTokens: r.CompletionTokens, TotalTokens: r.TotalTokens, CostUSD: r.CostUSD,
	}
}

// batchTimeLayout is how batch times are written: RFC 3339 with milliseconds.
const batchTimeLayout = "2006-01-02T15:04:05.000Z07:00"

type batchRecord struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	Status        string            `json:"status"`
	MaxConcurrent int               `json:"max_concurrent"`
	Progress      progressRecord    `json:"progress"`
	Results       []batchItemRecord `json:"results"`
	CreatedAt     string            `json:"created_at"`
	UpdatedAt     string            `json:"updated_at"`
	CompletedAt   string            `json:"completed_at,omitempty"`
}

type progressRecord struct {
	Completed int     `json:"completed"`
	Failed    int     `json:"failed"`
	Total     int     `json:"total"`
	Percent   float64 `json:"percent"`
}

type batchItemRecord struct {
	Index        int     `json:"index"`
	ContentID    string  `json:"content_id"`
	Template     string  `json:"template"`
	Topic        string  `json:"topic"`
	Status       string  `json:"status"`
	Title        string  `json:"title,omitempty"`
	QualityScore float64 `json:"quality_score,omitempty"`
	WordCount    int     `json:"word_count,omitempty"`
	ErrorType    string  `json:"error_type,omitempty"`
	Error        string  `json:"error,omitempty"`
}

func toBatchRecord(b *content.Batch) batchRecord {
	r := batchRecord{
		ID: b.ID, Name: b.Name, Status: b.Status, MaxConcurrent: b.MaxConcurrent,
		Progress:  progressRecord{Completed: b.Progress.Completed, Failed: b.Progress.Failed, Total: b.Progress.Total, Percent: b.Progress.Percent},
		Results:   make([]batchItemRecord, len(b.Results)),
		CreatedAt: formatBatchTime(b.CreatedAt), UpdatedAt: formatBatchTime(b.UpdatedAt), CompletedAt: formatBatchTime(b.CompletedAt),
	}
	for i, it := range b.Results {
		r.Results[i] = batchItemRecord(it)
	}
	return r
}

func (r batchRecord) batch() (content.Batch, error) {
	b := content.Batch{
		ID: r.ID, Name: r.Name, Status: r.Status, MaxConcurrent: r.MaxConcurrent,
		Progress: content.Progress{Completed: r.Progress.Completed, Failed: r.Progress.Failed, Total: r.Progress.Total, Percent: r.Progress.Percent},
		Results:  make([]content.BatchItem, len(r.Results)),
	}
	for i, it := range r.Results {
		b.Results[i] = content.BatchItem(it)
	}
	var err error
	for _, f := range []struct {
		s   string
		dst *time.Time
	}{{r.CreatedAt, &b.CreatedAt}, {r.UpdatedAt, &b.UpdatedAt}, {r.CompletedAt, &b.CompletedAt}} {
		if f.s == "" {
			continue
		}
		if *f.dst, err = time.Parse(time.RFC3339, f.s); err != nil {
			return content.Batch{}, fmt.Errorf("decoding batch %q: %w", r.ID, err)
		}
	}
	return b, nil
}

func formatBatchTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(batchTimeLayout)
}

type templateRecord struct {
	ID                   string          `json:"id"`
	Name                 string          `json:"name"`
	Description          string          `json:"description,omitempty"`
	Format               string          `json:"format"`
	Structure            []sectionRecord `json:"structure"`
	Brand                brandRecord     `json:"brand_guidelines"`
	SEO                  seoRecord       `json:"seo_settings"`
	OptimizationSettings *seoRecord      `json:"optimization_settings,omitempty"`
	Limits               limitsRecord    `json:"limits,omitzero"`
}

type sectionRecord struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Guidance string `json:"guidance,omitempty"`
}

type brandRecord struct {
	Tone              string      `json:"tone"`
	ExpertiseLevel    string      `json:"expertise_level"`
	WordCount         rangeRecord `json:"word_count_range"`
	IncludeSafetyTips bool        `json:"include_safety_tips"`
}

type seoRecord struct {
	KeywordDensity   rangeRecord `json:"keyword_density"`
	HeadingsRequired bool        `json:"headings_required"`
	MetaDescription  bool        `json:"meta_description"`
}

type limitsRecord struct {
	MaxChars    int `json:"max_chars,omitempty"`
	MaxHashtags int `json:"max_hashtags,omitempty"`
	MinHashtags int `json:"min_hashtags,omitempty"`
}

type rangeRecord struct {
	Min float64 `json:"min"`
	Max float64 `json:"max"`
}

func toTemplateRecord(t *content.Template) templateRecord {
	r := templateRecord{
		ID: t.ID, Name: t.Name, Description: t.Description, Format: t.Format, Structure: make([]sectionRecord, len(t.Structure)),
		Brand: brandRecord{
			Tone: t.Brand.Tone, ExpertiseLevel: t.Brand.ExpertiseLevel, WordCount: rangeRecord(t.Brand.WordCount),
			IncludeSafetyTips: t.Brand.IncludeSafetyTips,
		},
		SEO:    toSEORecord(t.SEO),
		Limits: limitsRecord{MaxChars: t.Limits.MaxChars, MaxHashtags: t.Limits.MaxHashtags, MinHashtags: t.Limits.MinHashtags},
	}
	if t.OptimizationSettings != nil {
		o := toSEORecord(*t.OptimizationSettings)
		r.OptimizationSettings = &o
	}
	for i, s := range t.Structure {
		r.Structure[i] = sectionRecord{ID: s.ID, Title: s.Title, Guidance: s.Guidance}
	}
	return r
}

func (r templateRecord) template() content.Template {
	t := content.Template{
		ID: r.ID, Name: r.Name, Description: r.Description, Format: r.Format, Structure: make([]content.Section, len(r.Structure)),
		Brand: content.BrandGuidelines{
			Tone: r.Brand.Tone, ExpertiseLevel: r.Brand.ExpertiseLevel, WordCount: content.Range(r.Brand.WordCount),
			IncludeSafetyTips: r.Brand.IncludeSafetyTips,
		},
		SEO:    r.SEO.seo(),
		Limits: content.Limits{MaxChars: r.Limits.MaxChars, MaxHashtags: r.Limits.MaxHashtags, MinHashtags: r.Limits.MinHashtags},
	}
	if r.OptimizationSettings != nil {
		o := r.OptimizationSettings.seo()
		t.OptimizationSettings = &o
	}
	for i, s := range r.Structure {
		t.Structure[i] = content.Section{ID: s.ID, Title: s.Title, Guidance: s.Guidance}
	}
	return t
}

func toSEORecord(s content.SEOSettings) seoRecord {
	return seoRecord{KeywordDensity: rangeRecord(s.KeywordDensity), HeadingsRequired: s.HeadingsRequired, MetaDescription: s.MetaDescription}
}

func (r seoRecord) seo() content.SEOSettings {
	return content.SEOSettings{KeywordDensity: content.Range(r.KeywordDensity), HeadingsRequired: r.HeadingsRequired, MetaDescription: r.MetaDescription}
}

// outboxRecord is an event waiting to be published, as CloudEvents JSON.
type outboxRecord struct {
	Event json.RawMessage `json:"event"`
}
