package content

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aquascene/aquahub/core"
)

// Content statuses.
const (
	StatusPending   = "pending"
	StatusRunning   = "running"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
)

// Error types reported in content.generation.failed events and on failed content.
const (
	ErrTypeInvalidRequest    = "invalid_request"
	ErrTypeRateLimited       = "rate_limited"
	ErrTypeTimeout           = "timeout"
	ErrTypeProvider          = "provider_error"
	ErrTypeAuth              = "auth_error"
	ErrTypeMalformed         = "malformed_response"
	ErrTypeValidation        = "validation_failed"
	ErrTypeQuality           = "quality_below_minimum"
	ErrTypeInterruptedByStop = "interrupted"
)

// Content is one generated piece with its score and findings, as stored and served.
type Content struct {
	ID        string  `json:"id"`
	RequestID string  `json:"request_id,omitempty"`
	BatchID   string  `json:"batch_id,omitempty"`
	Status    string  `json:"status"`
	Request   Request `json:"request"`
	Template  string  `json:"template"`
	Format    string  `json:"format,omitempty"`

	Title           string   `json:"title,omitempty"`
	MetaDescription string   `json:"meta_description,omitempty"`
	BodyMarkdown    string   `json:"body_markdown,omitempty"`
	BodyHTML        string   `json:"body_html,omitempty"`
	Hashtags        []string `json:"hashtags,omitempty"`
	// Caption is the full Instagram caption (body plus hashtags) for caption templates.
	Caption   string `json:"caption,omitempty"`
	WordCount int    `json:"word_count"`

	Quality  *Quality  `json:"quality,omitempty"`
	Findings []Finding `json:"findings"`

	Provider string `json:"provider,omitempty"`
	Model    string `json:"model,omitempty"`
	Usage    Usage  `json:"usage"`
	// Attempts counts provider HTTP attempts of the last generation.
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

// QualityScore is the overall score, 0 when not scored.
func (c *Content) QualityScore() float64 {
	if c.Quality == nil {
		return 0
	}
	return c.Quality.Score
}

// GenerationError is a failed generation, with the seed's error_type and whether trying
// again may help.
type GenerationError struct {
	Type      string
	Retryable bool
	// RetryAfter is a provider's requested wait, when it gave one.
	RetryAfter time.Duration
	Err        error
}

func (e *GenerationError) Error() string { return e.Type + ": " + e.Err.Error() }
func (e *GenerationError) Unwrap() error { return e.Err }

// StepError converts e for the rule engine.
func (e *GenerationError) StepError() error {
	switch {
	case e.Type == ErrTypeInvalidRequest:
		return &core.StepError{Class: core.ClassInvalidInput, Err: e}
	case e.Type == ErrTypeAuth:
		return &core.StepError{Class: core.ClassAuth, Err: e}
	case e.Type == ErrTypeRateLimited:
		return core.RateLimited(e.RetryAfter, e)
	case e.Retryable:
		return core.Transient(e)
	default:
		return core.Permanent(e)
	}
}

// Policy is a tenant's content policy.
type Policy struct {
	// BrandVoice opens every system prompt.
	BrandVoice string
	// Prohibited are phrases that fail a generation.
	Prohibited []string
	// MinQualityScore fails generations that score below it (0 disables).
	MinQualityScore float64
}

// Policies gives each tenant's policy; tenants without an entry get Default.
type Policies struct {
	Default   Policy
	PerTenant map[string]Policy
}

// For returns the tenant's policy; prohibited phrases add to the default list.
func (p Policies) For(tenant string) Policy {
	t, ok := p.PerTenant[tenant]
	if !ok {
		return p.Default
	}
	if t.BrandVoice == "" {
		t.BrandVoice = p.Default.BrandVoice
	}
	if t.MinQualityScore == 0 {
		t.MinQualityScore = p.Default.MinQualityScore
	}
	t.Prohibited = append(append([]string(nil), p.Default.Prohibited...), t.Prohibited...)
	return t
}

// TemplateSource finds a tenant's template by id.
type TemplateSource interface {
	Template(ctx context.Context, tenant, id string) (Template, error)
}

// BuiltinTemplateSource serves only the embedded templates.
type BuiltinTemplateSource struct{}

// Template returns the embedded template or an error matching core.ErrNotFound.
func (BuiltinTemplateSource) Template(_ context.Context, _, id string) (Template, error) {
	t, ok := BuiltinTemplate(id)
	if !ok {
		return Template{}, fmt.Errorf("template %q: %w", id, core.ErrNotFound)
	}
	return t, nil
}

// Generator runs one request through prompt, provider, scoring and validation. It keeps no
// state; Service adds storage and events.
type Generator struct {
	Provider  Provider
	Templates TemplateSource
	Policies  Policies
	// Now defaults to time.Now.
	Now func() time.Time
}

// Generate writes, scores and validates one piece of content. It returns the content (also
// on a validation or quality failure, with the draft and findings filled in) and, when the
// generation failed, a *GenerationError.
func (g *Generator) Generate(ctx context.Context, tenant string, req Request) (Content, error) {
	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	start := now()
	c := Content{Request: req, Template: req.Template, RequestID: req.RequestID, Provider: g.Provider.Name(), Findings: []Finding{}}
	fail := func(typ string, retry bool, err error) (Content, error) {
		ge := &GenerationError{Type: typ, Retryable: retry, Err: err}
		var se *core.StepError
		if errors.As(err, &se) && se.Class == core.ClassRateLimited {
			ge.RetryAfter = se.RetryAfter
		}
		c.Status, c.ErrorType, c.ErrorMessage, c.RetryPossible = StatusFailed, typ, err.Error(), retry
		c.GenerationTimeSeconds = now().Sub(start).Seconds()
		return c, ge
	}
	if err := req.Validate(""); err != nil {
		return fail(ErrTypeInvalidRequest, false, err)
	}
	t, err := g.Templates.Template(ctx, tenant, req.Template)
	if err != nil {
		if errors.Is(err, core.ErrNotFound) {
			return fail(ErrTypeInvalidRequest, false, core.Invalid("template", "no template %q", req.Template))
		}
		return fail(ErrTypeProvider, true, err)
	}
	c.Format = t.Format
	// An audience that names a level ("beginners") sets the readability target.
	if lvl := expertiseOf(req.Audience); lvl != "" {
		t.Brand.ExpertiseLevel = lvl
	}
	pol := g.Policies.For(tenant)
	prompt := BuildPrompt(&t, &req, pol.BrandVoice)
	w, err := g.Provider.Write(ctx, WriteInput{Tenant: tenant, Template: &t, Request: &req, Prompt: prompt})
	c.Usage, c.Model, c.Attempts = w.Usage, w.Model, w.Attempts
	if err != nil {
		typ, retry := classifyProviderError(ctx, err)
		return fail(typ, retry, err)
	}
	d := w.Draft
	c.Title, c.MetaDescription, c.BodyMarkdown, c.Hashtags = d.Title, d.MetaDescription, d.BodyMarkdown, d.Hashtags
	c.BodyHTML = MarkdownToHTML(d.BodyMarkdown)
	if t.Format == FormatCaption {
		c.Caption = FullCaption(&d)
	}
	q := Score(&t, &d, req.Keywords)
	c.Quality = &q
	c.WordCount = q.Stats.Words
	link := ""
	if req.Partnership != nil {
		link = req.Partnership.AffiliateLink
	}
	c.Findings = append(c.Findings, Validate(&d, ValidationInput{Template: &t, Prohibited: pol.Prohibited, AffiliateLink: link})...)
	// A language model may write differently next time; the builtin writer will not.
	retry := g.Provider.Name() != "builtin"
	if HasErrors(c.Findings) {
		var kinds []string
		for _, f := range c.Findings {
			if f.Severity == SeverityError {
				kinds = append(kinds, f.Message)
			}
		}
		return fail(ErrTypeValidation, retry, fmt.Errorf("content failed validation: %s", strings.Join(kinds, "; ")))
	}
	if pol.MinQualityScore > 0 && q.Score < pol.MinQualityScore {
		c.Findings = append(c.Findings, Finding{
			Kind: FindingQualityMinimum, Severity: SeverityError, Offset: -1,
			Message: fmt.Sprintf("quality score %.1f is below the minimum %.1f", q.Score, pol.MinQualityScore),
		})
		return fail(ErrTypeQuality, retry, fmt.Errorf("quality score %.1f is below the minimum %.1f", q.Score, pol.MinQualityScore))
	}
	c.Status = StatusCompleted
	c.GenerationTimeSeconds = now().Sub(start).Seconds()
	return c, nil
}

func classifyProviderError(ctx context.Context, err error) (string, bool) {
	var ma *MalformedAnswerError
	se := core.Classify(err)
	switch {
	case errors.As(err, &ma):
		return ErrTypeMalformed, true
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		return ErrTypeTimeout, true
	case errors.Is(err, errTimeout):
		return ErrTypeTimeout, true
	case ctx.Err() != nil:
		return ErrTypeInterruptedByStop, true
	case se.Class == core.ClassRateLimited:
		return ErrTypeRateLimited, true
	case se.Class == core.ClassAuth:
		return ErrTypeAuth, false
	case se.Class == core.ClassInvalidInput:
		return ErrTypeInvalidRequest, false
	default:
		return ErrTypeProvider, se.Class.Retryable()
	}
}

// errTimeout marks a provider call that ran out of its per-attempt time.
var errTimeout = errors.New("provider timed out")

// expertiseOf maps an audience onto an expertise level, or "" when it names none.
func expertiseOf(audience string) string {
	a := strings.ToLower(strings.TrimSpace(audience))
	switch {
	case strings.HasPrefix(a, "beginner") || a == "novice" || a == "newcomers":
		return "beginner"
	case strings.HasPrefix(a, "intermediate"):
		return "intermediate"
	case strings.HasPrefix(a, "advanced") || strings.HasPrefix(a, "expert"):
		return "advanced"
	}
	return ""
}
