package content

import (
	"context"
)

// Provider writes a draft for one request. Implementations are safe for concurrent use.
//
// Errors are classified with the core error helpers: core.RateLimited when the provider
// asked to slow down for longer than the provider is willing to wait, core.Transient for
// failures a later attempt may not see (timeouts, 5xx, a malformed answer) and
// core.Permanent or a core.StepError with ClassAuth / ClassInvalidInput otherwise.
type Provider interface {
	// Name is the provider's config name: "builtin" or "openai".
	Name() string
	// Write produces a draft.
	Write(ctx context.Context, in WriteInput) (Written, error)
}

// WriteInput is everything a provider needs for one draft.
type WriteInput struct {
	Tenant   string
	Template *Template
	Request  *Request
	// Prompt is the system and user prompt built from the template, the tenant's brand
	// voice and the request.
	Prompt Prompt
}

// Written is a provider's answer.
type Written struct {
	Draft Draft
	// Model is the model that wrote it ("builtin-template-filler" for the builtin writer).
	Model string
	Usage Usage
	// Attempts counts HTTP attempts, including retries.
	Attempts int
}

// Usage is token usage and its cost.
type Usage struct {
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	TotalTokens      int     `json:"total_tokens"`
	CostUSD          float64 `json:"cost_usd"`
}

// Add sums u and v.
func (u Usage) Add(v Usage) Usage {
	return Usage{
		PromptTokens: u.PromptTokens + v.PromptTokens, CompletionTokens: u.CompletionTokens + v.CompletionTokens,
		TotalTokens: u.TotalTokens + v.TotalTokens, CostUSD: u.CostUSD + v.CostUSD,
	}
}

// Pricing is what a provider charges per 1,000 tokens, in US dollars.
type Pricing struct {
	PromptPer1K     float64 `json:"prompt_per_1k"`
	CompletionPer1K float64 `json:"completion_per_1k"`
}

// Cost prices prompt and completion tokens.
func (p Pricing) Cost(prompt, completion int) float64 {
	return float64(prompt)/1000*p.PromptPer1K + float64(completion)/1000*p.CompletionPer1K
}
