package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ContentRequest asks for one piece of content. The server also accepts the seed SDK's
// names for its fields: content_type (template), target_audience (audience), seo_keywords
// (keywords, also as a comma-separated string), custom_instructions (instructions),
// partnership_data (partnership) and requestId.
type ContentRequest struct {
	// Template is the template id.
	Template string `json:"template"`
	// Topic is what to write about.
	Topic string `json:"topic"`
	// Audience is who it is for, e.g. beginners (default: the template's expertise level).
	Audience string `json:"audience,omitempty"`
	// Keywords are the SEO keywords.
	Keywords []string `json:"keywords,omitempty"`
	// Instructions are extra instructions for the writer.
	Instructions string `json:"instructions,omitempty"`
	// BrandVoice overrides the tenant's brand voice for this request.
	BrandVoice string `json:"brand_voice,omitempty"`
	// Partnership is partner content data.
	Partnership *Partnership `json:"partnership,omitempty"`
	// ECommerce is the shop product the content is for (the seed's e_commerce_data, accepted
	// under that name too).
	ECommerce *ECommerce `json:"ecommerce,omitempty"`
	// RequestID is the caller's id, echoed in the content.generation.* events.
	RequestID string `json:"request_id,omitempty"`
}

// Partnership is a partner product the content features (the seed's partnership_data).
// PartnerID names a registered partner (/api/v1/partners): its name, content guidelines and
// affiliate link fill what the request leaves empty, and GET /api/v1/content?partner=
// finds the content by it.
type Partnership struct {
	Partner     string   `json:"partner,omitempty"`
	PartnerID   string   `json:"partner_id,omitempty"`
	ProductID   string   `json:"product_id,omitempty"`
	ProductName string   `json:"product_name,omitempty"`
	ProductURL  string   `json:"product_url,omitempty" jsonschema:"format=uri"`
	Category    string   `json:"category,omitempty"`
	Description string   `json:"description,omitempty"`
	PriceRange  string   `json:"price_range,omitempty"`
	KeyBenefits []string `json:"key_benefits,omitempty"`
	// AffiliateLink must appear verbatim in the text.
	AffiliateLink string `json:"affiliate_link,omitempty" jsonschema:"format=uri"`
	// Voice, ProductIntegration and CallToAction are the partner's content guidelines,
	// used in the prompt.
	Voice              string `json:"voice,omitempty"`
	ProductIntegration string `json:"product_integration,omitempty"`
	CallToAction       string `json:"call_to_action,omitempty"`
}

// ECommerce is the shop product a review or product description is written for (the
// seed's e_commerce_data): the writer states the price and availability and links the
// product page once.
type ECommerce struct {
	ProductID  string `json:"product_id,omitempty"`
	ProductURL string `json:"product_url,omitempty" jsonschema:"format=uri"`
	// Price as the shop shows it, such as "219.00".
	Price string `json:"price,omitempty"`
	// Availability is the stock status: instock, outofstock, onbackorder (WooCommerce's
	// stock_status) or the shop's own words.
	Availability string `json:"availability,omitempty"`
}

// GenerateRequest is the body of POST /api/v1/content/generate: a ContentRequest and
// whether to answer at once.
type GenerateRequest struct {
	ContentRequest
	// Async answers 202 at once and generates in the background; poll GET
	// /api/v1/content/{id}.
	Async bool `json:"async,omitempty"`
}

// Content is one generated piece with its score and findings.
type Content struct {
	ID        string         `json:"id"`
	RequestID string         `json:"request_id,omitempty"`
	BatchID   string         `json:"batch_id,omitempty"`
	Status    string         `json:"status" jsonschema:"enum=pending,enum=running,enum=completed,enum=failed"`
	Request   ContentRequest `json:"request"`
	Template  string         `json:"template"`
	Format    string         `json:"format,omitempty"`

	Title           string `json:"title,omitempty"`
	MetaDescription string `json:"meta_description,omitempty"`
	// BodyMarkdown and BodyHTML are the text; listings leave them out.
	BodyMarkdown string   `json:"body_markdown,omitempty"`
	BodyHTML     string   `json:"body_html,omitempty"`
	Hashtags     []string `json:"hashtags,omitempty"`
	// Caption is the full Instagram caption (body plus hashtags) of caption templates.
	Caption   string `json:"caption,omitempty"`
	WordCount int    `json:"word_count"`

	Quality  *Quality  `json:"quality,omitempty"`
	Findings []Finding `json:"findings"`

	Provider string       `json:"provider,omitempty"`
	Model    string       `json:"model,omitempty"`
	Usage    ContentUsage `json:"usage"`
	// Attempts counts the provider's HTTP attempts of the last generation.
	Attempts              int     `json:"attempts,omitempty"`
	GenerationTimeSeconds float64 `json:"generation_time_seconds"`

	ErrorType     string `json:"error_type,omitempty"`
	ErrorMessage  string `json:"error_message,omitempty"`
	RetryPossible bool   `json:"retry_possible,omitempty"`
	// RetryCount is how many generations were attempted before this one.
	RetryCount int `json:"retry_count"`

	IdempotencyKey string    `json:"idempotency_key,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	CompletedAt    time.Time `json:"completed_at,omitzero"`
}

// ContentUsage is the tokens one generation used and their cost.
type ContentUsage struct {
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	TotalTokens      int     `json:"total_tokens"`
	CostUSD          float64 `json:"cost_usd"`
}

// Quality is a draft's score from 0 to 10 and how it was reached.
type Quality struct {
	// Score is the weighted mean of the applicable components.
	Score float64 `json:"score"`
	// Breakdown lists every component, applicable or not (weight 0).
	Breakdown []QualityComponent `json:"breakdown"`
	// Readability is the Flesch reading ease of the prose.
	Readability float64 `json:"flesch_reading_ease"`
	// KeywordDensity is the combined keyword density in percent.
	KeywordDensity float64 `json:"keyword_density"`
	// KeywordCounts are the occurrences per keyword.
	KeywordCounts map[string]int `json:"keyword_counts,omitempty"`
	Stats         TextStats      `json:"stats"`
}

// QualityComponent is one scored aspect of a draft.
type QualityComponent struct {
	// Name is readability, word_count, keyword_density, headings, meta_description,
	// section_coverage or hashtags.
	Name   string  `json:"name"`
	Score  float64 `json:"score"`
	Weight float64 `json:"weight"`
	// Value is what was measured, Target what the template asks for.
	Value  string `json:"value"`
	Target string `json:"target"`
}

// TextStats are the counts readability and density are computed from.
type TextStats struct {
	Words     int `json:"words"`
	Sentences int `json:"sentences"`
	Syllables int `json:"syllables"`
}

// Finding is one validation result; an error finding fails the generation.
type Finding struct {
	Kind string `json:"kind" jsonschema:"enum=pii,enum=prohibited_phrase,enum=affiliate_link_missing,enum=platform_limit,enum=safety_tips_missing,enum=quality_below_minimum"`
	// Type narrows the kind: email, phone, ssn or card for pii.
	Type     string `json:"type,omitempty"`
	Severity string `json:"severity" jsonschema:"enum=error,enum=warning"`
	Message  string `json:"message"`
	// Match is the offending text, redacted for personal data.
	Match string `json:"match,omitempty"`
	// Offset is the byte offset in the checked text, -1 when not applicable.
	Offset int `json:"offset"`
}

// ContentList is a page of content, newest first, without bodies.
type ContentList struct {
	Content []Content `json:"content"`
}

// TenantUsage is what a tenant's generations used and cost
// (GET /api/v1/content/usage).
type TenantUsage struct {
	Generations      int     `json:"generations"`
	Failures         int     `json:"failures"`
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	TotalTokens      int     `json:"total_tokens"`
	CostUSD          float64 `json:"cost_usd"`
}

// BatchRequest is the body of POST /api/v1/content/batches. The server also accepts
// maxConcurrent and processingMode.
type BatchRequest struct {
	Name string `json:"name"`
	// MaxConcurrent bounds the batch's generations in flight (default 3).
	MaxConcurrent int `json:"max_concurrent,omitempty" jsonschema:"minimum=1,maximum=64"`
	// ProcessingMode is "concurrent", the only mode.
	ProcessingMode string           `json:"processing_mode,omitempty" jsonschema:"enum=concurrent"`
	Requests       []ContentRequest `json:"requests" jsonschema:"maxItems=1000"`
}

// Batch is a batch's progress and results.
type Batch struct {
	ID string `json:"id"`
	// BatchID repeats ID under the seed SDK's name.
	BatchID       string        `json:"batch_id"`
	Name          string        `json:"name"`
	Status        string        `json:"status" jsonschema:"enum=running,enum=completed,enum=completed_with_errors"`
	MaxConcurrent int           `json:"max_concurrent"`
	Progress      BatchProgress `json:"progress"`
	Results       []BatchItem   `json:"results"`
	// CreatedAt, UpdatedAt and CompletedAt are RFC 3339 with milliseconds; CompletedAt is
	// empty while the batch runs.
	CreatedAt   string `json:"created_at"`
	UpdatedAt   string `json:"updated_at"`
	CompletedAt string `json:"completed_at"`
}

// BatchProgress counts a batch's items.
type BatchProgress struct {
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
	Total     int `json:"total"`
	// Percent is (completed + failed) / total · 100.
	Percent float64 `json:"percent"`
}

// BatchItem is one request of a batch and its outcome.
type BatchItem struct {
	Index        int     `json:"index"`
	ContentID    string  `json:"content_id"`
	Template     string  `json:"template"`
	Topic        string  `json:"topic"`
	Status       string  `json:"status" jsonschema:"enum=pending,enum=running,enum=completed,enum=failed"`
	Title        string  `json:"title,omitempty"`
	QualityScore float64 `json:"quality_score,omitempty"`
	WordCount    int     `json:"word_count,omitempty"`
	ErrorType    string  `json:"error_type,omitempty"`
	Error        string  `json:"error,omitempty"`
}

// Template describes one kind of content: what to write (structure), how (brand_guidelines)
// and how it is judged (seo_settings, limits). As a request body, ranges may also be
// strings ("1200-1500", "2-3%") and sections bare ids, as Airtable's Content_Templates hold
// them.
type Template struct {
	// ID is 1-64 lowercase letters, digits, _ or -; PUT takes it from the path.
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Format      string `json:"format" jsonschema:"enum=article,enum=caption"`
	// Structure is the ordered list of sections the content must cover.
	Structure []Section       `json:"structure"`
	Brand     BrandGuidelines `json:"brand_guidelines"`
	SEO       SEOSettings     `json:"seo_settings"`
	// OptimizationSettings is another name for seo_settings in requests (the key the seed's
	// load_template_from_airtable returns).
	OptimizationSettings *SEOSettings `json:"optimization_settings,omitempty"`
	Limits               Limits       `json:"limits,omitzero"`
	// Source is builtin or stored, in answers.
	Source string `json:"source,omitempty" jsonschema:"enum=builtin,enum=stored"`
}

// TemplateList lists templates by id.
type TemplateList struct {
	Templates []Template `json:"templates"`
}

// Section is one part of a template's structure.
type Section struct {
	// ID is the seed's section name, e.g. Engaging_Introduction.
	ID string `json:"id"`
	// Title is the heading the section gets (empty: the id with spaces).
	Title string `json:"title"`
	// Guidance tells the writer what belongs in the section.
	Guidance string `json:"guidance,omitempty"`
}

// UnmarshalJSON accepts a bare section id as well as an object.
func (s *Section) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var id string
		if err := json.Unmarshal(b, &id); err != nil {
			return err
		}
		*s = Section{ID: id}
		return nil
	}
	type plain Section
	var p plain
	if err := strictDecode(b, &p); err != nil {
		return err
	}
	*s = Section(p)
	return nil
}

// BrandGuidelines are a template's brand_guidelines.
type BrandGuidelines struct {
	Tone string `json:"tone"`
	// ExpertiseLevel is beginner, intermediate or advanced; it sets the readability target.
	ExpertiseLevel string `json:"expertise_level"`
	// WordCount is the accepted range of words in the body.
	WordCount         Range `json:"word_count_range"`
	IncludeSafetyTips bool  `json:"include_safety_tips"`
}

// SEOSettings are a template's seo_settings.
type SEOSettings struct {
	// KeywordDensity is the accepted combined keyword density in percent.
	KeywordDensity   Range `json:"keyword_density"`
	HeadingsRequired bool  `json:"headings_required"`
	// MetaDescription asks for a meta description of 50-160 characters.
	MetaDescription bool `json:"meta_description"`
}

// Limits are hard limits of the target platform; zero means none.
type Limits struct {
	MaxChars    int `json:"max_chars,omitempty"`
	MaxHashtags int `json:"max_hashtags,omitempty"`
	MinHashtags int `json:"min_hashtags,omitempty"`
}

// Range is an inclusive numeric range. It decodes from {"min":1200,"max":1500} and also
// from "1200-1500", "2-3%" or a single number.
type Range struct {
	Min float64 `json:"min"`
	Max float64 `json:"max"`
}

// UnmarshalJSON accepts an object, a string or a number.
func (r *Range) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := ParseRange(s)
		if err != nil {
			return err
		}
		*r = v
		return nil
	}
	if len(b) > 0 && b[0] != '{' {
		v, err := ParseRange(string(b))
		if err != nil {
			return err
		}
		*r = v
		return nil
	}
	type plain Range
	var p plain
	if err := strictDecode(b, &p); err != nil {
		return err
	}
	*r = Range(p)
	return nil
}

// ParseRange parses "1200-1500", "2-3%", "2.5%" or "1200".
func ParseRange(s string) (Range, error) {
	t := strings.TrimSpace(s)
	t = strings.ReplaceAll(t, "%", "")
	lo, hi, found := strings.Cut(t, "-")
	if !found {
		lo, hi, found = strings.Cut(t, "–")
	}
	minV, err := strconv.ParseFloat(strings.TrimSpace(lo), 64)
	if err != nil {
		return Range{}, fmt.Errorf("not a range like \"1200-1500\" or \"2-3%%\" (got %q)", s)
	}
	maxV := minV
	if found {
		maxV, err = strconv.ParseFloat(strings.TrimSpace(hi), 64)
		if err != nil {
			return Range{}, fmt.Errorf("not a range like \"1200-1500\" or \"2-3%%\" (got %q)", s)
		}
	}
	return Range{Min: minV, Max: maxV}, nil
}

func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
