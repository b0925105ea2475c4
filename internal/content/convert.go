package content

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/api"
)

// Conversions between the domain types and the API's (sdk/api). The API's JSON field names
// are the contract; the domain types carry no JSON tags.

// batchTimeLayout is how batch times are written in the API: RFC 3339 with milliseconds.
const batchTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// ToAPI converts content for an answer.
func (c *Content) ToAPI() api.Content {
	out := api.Content{
		ID: c.ID, RequestID: c.RequestID, BatchID: c.BatchID, Status: c.Status, Request: c.Request.ToAPI(),
		Template: c.Template, Format: c.Format, Title: c.Title, MetaDescription: c.MetaDescription,
		BodyMarkdown: c.BodyMarkdown, BodyHTML: c.BodyHTML, Hashtags: c.Hashtags, Caption: c.Caption,
		WordCount: c.WordCount, Findings: findingsToAPI(c.Findings), Provider: c.Provider, Model: c.Model,
		Usage: api.ContentUsage{
			PromptTokens: c.Usage.PromptTokens, CompletionTokens: c.Usage.CompletionTokens,
			TotalTokens: c.Usage.TotalTokens, CostUSD: c.Usage.CostUSD,
		},
		Attempts: c.Attempts, GenerationTimeSeconds: c.GenerationTimeSeconds, ErrorType: c.ErrorType,
		ErrorMessage: c.ErrorMessage, RetryPossible: c.RetryPossible, RetryCount: c.RetryCount,
		IdempotencyKey: c.IdempotencyKey, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, CompletedAt: c.CompletedAt,
	}
	if q := c.Quality; q != nil {
		aq := &api.Quality{
			Score: q.Score, Breakdown: make([]api.QualityComponent, len(q.Breakdown)), Readability: q.Readability,
			KeywordDensity: q.KeywordDensity, KeywordCounts: q.KeywordCounts,
			Stats: api.TextStats{Words: q.Stats.Words, Sentences: q.Stats.Sentences, Syllables: q.Stats.Syllables},
		}
		for i, comp := range q.Breakdown {
			aq.Breakdown[i] = api.QualityComponent{Name: comp.Name, Score: comp.Score, Weight: comp.Weight, Value: comp.Value, Target: comp.Target}
		}
		out.Quality = aq
	}
	return out
}

// findingsToAPI converts findings; the answer is [] rather than null when there are none.
func findingsToAPI(fs []Finding) []api.Finding {
	out := make([]api.Finding, len(fs))
	for i, f := range fs {
		out[i] = api.Finding{Kind: f.Kind, Type: f.Type, Severity: f.Severity, Message: f.Message, Match: f.Match, Offset: f.Offset}
	}
	return out
}

// ToAPI converts a request for an answer.
func (r *Request) ToAPI() api.ContentRequest {
	out := api.ContentRequest{
		Template: r.Template, Topic: r.Topic, Audience: r.Audience, Keywords: r.Keywords,
		Instructions: r.Instructions, BrandVoice: r.BrandVoice, RequestID: r.RequestID,
	}
	if p := r.Partnership; p != nil {
		out.Partnership = &api.Partnership{
			Partner: p.Partner, PartnerID: p.PartnerID, ProductID: p.ProductID, ProductName: p.ProductName,
			ProductURL: p.ProductURL, Category: p.Category, Description: p.Description, PriceRange: p.PriceRange,
			KeyBenefits: p.KeyBenefits, AffiliateLink: p.AffiliateLink,
			Voice: p.Voice, ProductIntegration: p.ProductIntegration, CallToAction: p.CallToAction,
		}
	}
	if e := r.ECommerce; e != nil {
		out.ECommerce = &api.ECommerce{ProductID: e.ProductID, ProductURL: e.ProductURL, Price: e.Price, Availability: e.Availability}
	}
	return out
}

// ToAPI converts a batch for an answer.
func (b *Batch) ToAPI() api.Batch {
	out := api.Batch{
		ID: b.ID, BatchID: b.ID, Name: b.Name, Status: b.Status, MaxConcurrent: b.MaxConcurrent,
		Progress: api.BatchProgress{Completed: b.Progress.Completed, Failed: b.Progress.Failed, Total: b.Progress.Total, Percent: b.Progress.Percent},
		Results:  make([]api.BatchItem, len(b.Results)), CreatedAt: formatBatchTime(b.CreatedAt),
		UpdatedAt: formatBatchTime(b.UpdatedAt), CompletedAt: formatBatchTime(b.CompletedAt),
	}
	for i, it := range b.Results {
		out.Results[i] = api.BatchItem{
			Index: it.Index, ContentID: it.ContentID, Template: it.Template, Topic: it.Topic, Status: it.Status,
			Title: it.Title, QualityScore: it.QualityScore, WordCount: it.WordCount, ErrorType: it.ErrorType, Error: it.Error,
		}
	}
	return out
}

func formatBatchTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(batchTimeLayout)
}

// ToAPI converts usage totals for an answer.
func (u TenantUsage) ToAPI() api.TenantUsage {
	return api.TenantUsage{
		Generations: u.Generations, Failures: u.Failures, PromptTokens: u.PromptTokens,
		CompletionTokens: u.CompletionTokens, TotalTokens: u.TotalTokens, CostUSD: u.CostUSD,
	}
}

// ToAPI converts a template for an answer.
func (t *Template) ToAPI() api.Template {
	out := api.Template{
		ID: t.ID, Name: t.Name, Description: t.Description, Format: t.Format, Structure: make([]api.Section, len(t.Structure)),
		Brand: api.BrandGuidelines{
			Tone: t.Brand.Tone, ExpertiseLevel: t.Brand.ExpertiseLevel, WordCount: api.Range(t.Brand.WordCount),
			IncludeSafetyTips: t.Brand.IncludeSafetyTips,
		},
		SEO:    seoToAPI(t.SEO),
		Limits: api.Limits{MaxChars: t.Limits.MaxChars, MaxHashtags: t.Limits.MaxHashtags, MinHashtags: t.Limits.MinHashtags},
		Source: t.Source,
	}
	if t.OptimizationSettings != nil {
		o := seoToAPI(*t.OptimizationSettings)
		out.OptimizationSettings = &o
	}
	for i, s := range t.Structure {
		out.Structure[i] = api.Section{ID: s.ID, Title: s.Title, Guidance: s.Guidance}
	}
	return out
}

func seoToAPI(s SEOSettings) api.SEOSettings {
	return api.SEOSettings{KeywordDensity: api.Range(s.KeywordDensity), HeadingsRequired: s.HeadingsRequired, MetaDescription: s.MetaDescription}
}

func seoFromAPI(s api.SEOSettings) SEOSettings {
	return SEOSettings{KeywordDensity: Range(s.KeywordDensity), HeadingsRequired: s.HeadingsRequired, MetaDescription: s.MetaDescription}
}

// TemplateFromAPI converts a template from a request body. Source is not taken: the catalog
// sets it.
func TemplateFromAPI(in api.Template) Template {
	t := Template{
		ID: in.ID, Name: in.Name, Description: in.Description, Format: in.Format,
		Brand: BrandGuidelines{
			Tone: in.Brand.Tone, ExpertiseLevel: in.Brand.ExpertiseLevel, WordCount: Range(in.Brand.WordCount),
			IncludeSafetyTips: in.Brand.IncludeSafetyTips,
		},
		SEO:    seoFromAPI(in.SEO),
		Limits: Limits{MaxChars: in.Limits.MaxChars, MaxHashtags: in.Limits.MaxHashtags, MinHashtags: in.Limits.MinHashtags},
	}
	if in.OptimizationSettings != nil {
		o := seoFromAPI(*in.OptimizationSettings)
		t.OptimizationSettings = &o
	}
	if in.Structure != nil {
		t.Structure = make([]Section, len(in.Structure))
		for i, s := range in.Structure {
			t.Structure[i] = Section{ID: s.ID, Title: s.Title, Guidance: s.Guidance}
		}
	}
	return t
}

// ParseTemplateJSON decodes one template from an API body strictly (unknown fields are
// errors) and validates it.
func ParseTemplateJSON(b []byte) (Template, error) {
	var in api.Template
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return Template{}, core.Invalid("", "malformed template: %v", err)
	}
	t := TemplateFromAPI(in)
	if err := t.Validate(); err != nil {
		return Template{}, err
	}
	return t, nil
}
