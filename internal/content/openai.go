package content

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aquascene/aquahub/core"
	openai "github.com/sashabaranov/go-openai"
)

// OpenAIOptions configure OpenAIProvider. Zero values take the documented defaults.
type OpenAIOptions struct {
	// BaseURL is the API root including /v1 (default https://api.openai.com/v1). Any
	// OpenAI-compatible server works: Azure's compatible endpoint, Ollama, vLLM, llama.cpp.
	BaseURL string
	// Model is the chat model (default gpt-4o-mini).
	Model string
	// APIKey is sent as a bearer token; local servers may need none.
	APIKey string
	// Organization is sent as OpenAI-Organization when set.
	Organization string
	// Timeout bounds one HTTP attempt (default 60s).
	Timeout time.Duration
	// MaxRetries is how many times a 429, 5xx, timeout or connection failure is retried
	// within one call (default 3; negative means none).
	MaxRetries int
	// MaxWait is the longest rate-limit wait honoured in-process (default 30s). A longer
	// Retry-After or x-ratelimit-reset-* ends the call with core.RateLimited, so that the
	// engine reschedules the step instead of holding a worker.
	MaxWait time.Duration
	// MaxTokens caps the completion (default 4096).
	MaxTokens int
	// Temperature, when positive, is sent as is.
	Temperature float32
	// Stream uses the streaming API (server-sent events) and assembles the answer.
	Stream bool
	// JSONMode sends response_format {"type":"json_object"}. Some compatible servers reject
	// it; the answer parser copes with JSON inside prose either way.
	JSONMode bool
	// Pricing prices the token usage.
	Pricing Pricing
	// HTTPClient is the client used (default: a client without a global timeout; Timeout
	// applies per attempt).
	HTTPClient *http.Client
}

// OpenAIProvider writes drafts with the OpenAI chat completions API through go-openai.
type OpenAIProvider struct {
	client *openai.Client
	opts   OpenAIOptions
}

var _ Provider = (*OpenAIProvider)(nil)

// NewOpenAIProvider returns a provider for opts.
func NewOpenAIProvider(opts OpenAIOptions) *OpenAIProvider {
	if opts.Model == "" {
		opts.Model = "gpt-4o-mini"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 3
	}
	if opts.MaxRetries < 0 {
		opts.MaxRetries = 0
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = 30 * time.Second
	}
	if opts.MaxTokens <= 0 {
		opts.MaxTokens = 4096
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	cfg := openai.DefaultConfig(opts.APIKey)
	if opts.BaseURL != "" {
		cfg.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	}
	cfg.OrgID = opts.Organization
	cfg.HTTPClient = headerDoer{hc}
	return &OpenAIProvider{client: openai.NewClientWithConfig(cfg), opts: opts}
}

// Name returns "openai".
func (p *OpenAIProvider) Name() string { return "openai" }

// Model returns the configured model.
func (p *OpenAIProvider) Model() string { return p.opts.Model }

// Write asks the model for a draft, retrying 429s, 5xx answers, timeouts and connection
// failures up to MaxRetries times. It waits as long as the server's Retry-After,
// retry-after-ms or x-ratelimit-reset-* headers ask (up to MaxWait), otherwise an
// exponential backoff with jitter.
func (p *OpenAIProvider) Write(ctx context.Context, in WriteInput) (Written, error) {
	req := openai.ChatCompletionRequest{
		Model: p.opts.Model,
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: in.Prompt.System},
			{Role: openai.ChatMessageRoleUser, Content: in.Prompt.User},
		},
		//lint:ignore SA1019 compatible servers (Ollama, vLLM, llama.cpp) read max_tokens, not max_completion_tokens
		MaxTokens:   p.opts.MaxTokens,
		Temperature: p.opts.Temperature,
		User:        in.Tenant,
	}
	if p.opts.JSONMode {
		req.ResponseFormat = &openai.ChatCompletionResponseFormat{Type: openai.ChatCompletionResponseFormatTypeJSONObject}
	}
	if p.opts.Stream {
		req.Stream = true
		req.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	}
	w := Written{Model: p.opts.Model}
	for attempt := 1; ; attempt++ {
		w.Attempts = attempt
		text, model, usage, finish, hdr, err := p.attempt(ctx, req)
		if err == nil {
			if model != "" {
				w.Model = model
			}
			w.Usage = w.Usage.Add(Usage{
				PromptTokens: usage.PromptTokens, CompletionTokens: usage.CompletionTokens, TotalTokens: usage.TotalTokens,
				CostUSD: p.opts.Pricing.Cost(usage.PromptTokens, usage.CompletionTokens),
			})
			if finish == openai.FinishReasonContentFilter {
				return w, core.Permanent(fmt.Errorf("the model's content filter stopped the answer"))
			}
			d, perr := ParseAnswer(text)
			if perr != nil {
				if finish == openai.FinishReasonLength {
					perr = fmt.Errorf("%w (the answer was cut at max_tokens %d)", perr, p.opts.MaxTokens)
				}
				return w, malformed(perr)
			}
			w.Draft = d
			return w, nil
		}
		if ctx.Err() != nil {
			return w, ctx.Err()
		}
		var ma *MalformedAnswerError
		if errors.As(err, &ma) {
			return w, err
		}
		status, retryable, cerr := classifyOpenAIError(err)
		if !retryable {
			return w, cerr
		}
		wait, fromHeader := retryWait(hdr, time.Now())
		if !fromHeader {
			wait = backoff(attempt)
		}
		if attempt > p.opts.MaxRetries || wait > p.opts.MaxWait {
			if status == http.StatusTooManyRequests {
				return w, core.RateLimited(wait, fmt.Errorf("after %d attempts: %w", attempt, err))
			}
			return w, fmt.Errorf("after %d attempts: %w", attempt, cerr)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return w, ctx.Err()
		case <-t.C:
		}
	}
}

// attempt makes one HTTP call within the per-attempt timeout.
func (p *OpenAIProvider) attempt(ctx context.Context, req openai.ChatCompletionRequest) (text, model string, usage openai.Usage, finish openai.FinishReason, hdr http.Header, err error) {
	actx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	capt := &captured{}
	actx = context.WithValue(actx, captureKey{}, capt)
	defer func() {
		hdr = capt.header
		if err != nil && ctx.Err() == nil && actx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("%w after %s: %w", errTimeout, p.opts.Timeout, err)
		}
	}()
	if !req.Stream {
		resp, err := p.client.CreateChatCompletion(actx, req)
		if err != nil {
			return "", "", usage, "", nil, err
		}
		if len(resp.Choices) == 0 {
			return "", resp.Model, resp.Usage, "", nil, malformed(errors.New("answer has no choices"))
		}
		return resp.Choices[0].Message.Content, resp.Model, resp.Usage, resp.Choices[0].FinishReason, nil, nil
	}
	stream, err := p.client.CreateChatCompletionStream(actx, req)
	if err != nil {
		return "", "", usage, "", nil, err
	}
	defer stream.Close()
	var b strings.Builder
	for {
		chunk, rerr := stream.Recv()
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return "", model, usage, "", nil, rerr
		}
		if chunk.Model != "" {
			model = chunk.Model
		}
		if chunk.Usage != nil {
			usage = *chunk.Usage
		}
		for _, c := range chunk.Choices {
			b.WriteString(c.Delta.Content)
			if c.FinishReason != "" {
				finish = c.FinishReason
			}
		}
	}
	return b.String(), model, usage, finish, nil, nil
}

// classifyOpenAIError returns the HTTP status (0 if none), whether the failure is worth
// retrying, and the error classified for the engine.
func classifyOpenAIError(err error) (int, bool, error) {
	var se *core.StepError
	if errors.As(err, &se) {
		return 0, se.Class.Retryable(), err
	}
	status := 0
	var ae *openai.APIError
	var re *openai.RequestError
	switch {
	case errors.As(err, &ae):
		status = ae.HTTPStatusCode
	case errors.As(err, &re):
		status = re.HTTPStatusCode
	}
	switch {
	case errors.Is(err, errTimeout):
		return 0, true, core.Transient(err)
	case status == http.StatusTooManyRequests:
		return status, true, core.Transient(err)
	case status >= 500:
		return status, true, core.Transient(err)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return status, false, &core.StepError{Class: core.ClassAuth, Err: err}
	case status == http.StatusBadRequest || status == http.StatusNotFound || status == http.StatusUnprocessableEntity:
		return status, false, &core.StepError{Class: core.ClassInvalidInput, Err: err}
	case status > 0:
		return status, false, core.Permanent(err)
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || isConnError(err) {
		return 0, true, core.Transient(err)
	}
	// A stream that carried an error object (APIError without status) is the server's
	// failure mid-answer.
	if ae != nil {
		return 0, true, core.Transient(err)
	}
	return 0, true, core.Transient(err)
}

func isConnError(err error) bool {
	s := err.Error()
	return strings.Contains(s, "connection refused") || strings.Contains(s, "connection reset") || strings.Contains(s, "EOF")
}

// retryWait reads how long the server asked the client to wait: Retry-After (seconds or an
// HTTP date), retry-after-ms, or the longest x-ratelimit-reset-* whose budget is exhausted
// (either one when the remaining counts are not sent).
func retryWait(h http.Header, now time.Time) (time.Duration, bool) {
	if h == nil {
		return 0, false
	}
	if v := h.Get("retry-after-ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 {
			return time.Duration(ms * float64(time.Millisecond)), true
		}
	}
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			return time.Duration(s * float64(time.Second)), true
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0), true
		}
	}
	var wait time.Duration
	found := false
	for _, kind := range []string{"requests", "tokens"} {
		v := h.Get("x-ratelimit-reset-" + kind)
		if v == "" {
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			continue
		}
		if rem := h.Get("x-ratelimit-remaining-" + kind); rem != "" && rem != "0" {
			continue
		}
		found = true
		wait = max(wait, d)
	}
	return wait, found
}

// backoff is exponential from 500ms, capped at 8s, with equal jitter.
func backoff(attempt int) time.Duration {
	d := 500 * time.Millisecond << min(attempt-1, 4)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

type captureKey struct{}

type captured struct{ header http.Header }

// headerDoer keeps the response headers of each attempt, which go-openai does not expose on
// errors, so that rate-limit headers of a 429 can be honoured.
type headerDoer struct{ c *http.Client }

func (d headerDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.c.Do(req)
	if resp != nil {
		if c, ok := req.Context().Value(captureKey{}).(*captured); ok {
			c.header = resp.Header.Clone()
		}
	}
	return resp, err
}
