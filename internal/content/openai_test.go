package content_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/content"
	"github.com/aquascene/aquahub/internal/content/openaifake"
)

func startFake(t testing.TB, opts openaifake.Options) *openaifake.Server {
	t.Helper()
	s, err := openaifake.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newsletterRequest() content.Request {
	return content.Request{
		Template: "newsletter_article", Topic: "Beginner aquascaping guide", Audience: "beginners",
		Keywords: []string{"planted aquarium", "aquascaping"},
	}
}

func openaiGenerator(fake *openaifake.Server, o content.OpenAIOptions) *content.Generator {
	o.BaseURL = fake.URL()
	if o.APIKey == "" {
		o.APIKey = "sk-test"
	}
	if o.Model == "" {
		o.Model = "gpt-4o-mini"
	}
	return &content.Generator{Provider: content.NewOpenAIProvider(o), Templates: content.BuiltinTemplateSource{}}
}

func TestOpenAIProvider(t *testing.T) {
	tests := []struct {
		name         string
		opts         content.OpenAIOptions
		fake         openaifake.Options
		script       []openaifake.Reply
		wantErrType  string
		wantClass    core.ErrorClass
		wantAttempts int
		wantRequests int64
		check        func(t *testing.T, c content.Content, err error)
	}{
		{
			name: "success", wantAttempts: 1, wantRequests: 1,
			opts: content.OpenAIOptions{Pricing: content.Pricing{PromptPer1K: 0.15, CompletionPer1K: 0.6}},
			check: func(t *testing.T, c content.Content, err error) {
				if c.Status != content.StatusCompleted || c.Usage.TotalTokens == 0 || c.Usage.CostUSD <= 0 {
					t.Errorf("status %s usage %+v", c.Status, c.Usage)
				}
				if !strings.Contains(c.BodyMarkdown, "## Practical Tips") || c.Quality.Breakdown[5].Score != 10 {
					t.Errorf("sections not covered: %+v", c.Quality.Breakdown[5])
				}
			},
		},
		{
			name: "streaming success", wantAttempts: 1, wantRequests: 1,
			opts: content.OpenAIOptions{Stream: true, Pricing: content.Pricing{PromptPer1K: 1}},
			check: func(t *testing.T, c content.Content, err error) {
				if c.Status != content.StatusCompleted || c.Usage.PromptTokens == 0 || c.Usage.CostUSD == 0 {
					t.Errorf("status %s usage %+v", c.Status, c.Usage)
				}
			},
		},
		{
			name: "rate limited then success", wantAttempts: 2, wantRequests: 2,
			script: []openaifake.Reply{{Status: 429, Header: map[string]string{
				"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "20ms",
			}}},
		},
		{
			name: "server error twice then success", wantAttempts: 3, wantRequests: 3,
			opts:   content.OpenAIOptions{MaxRetries: 2},
			script: []openaifake.Reply{{Status: 500, Header: map[string]string{"retry-after-ms": "1"}}, {Status: 503, Header: map[string]string{"Retry-After": "0"}}},
		},
		{
			name: "rate limit longer than max wait ends the call", wantAttempts: 1, wantRequests: 1,
			wantErrType: content.ErrTypeRateLimited, wantClass: core.ClassRateLimited,
			opts:   content.OpenAIOptions{MaxWait: time.Second},
			script: []openaifake.Reply{{Status: 429, Header: map[string]string{"Retry-After": "120"}}},
			check: func(t *testing.T, c content.Content, err error) {
				var ge *content.GenerationError
				if !errors.As(err, &ge) || ge.RetryAfter != 120*time.Second {
					t.Errorf("retry after: %+v", ge)
				}
			},
		},
		{
			name: "retries exhausted", wantAttempts: 2, wantRequests: 2,
			wantErrType: content.ErrTypeRateLimited, wantClass: core.ClassRateLimited,
			opts: content.OpenAIOptions{MaxRetries: 1},
			script: []openaifake.Reply{
				{Status: 429, Header: map[string]string{"x-ratelimit-reset-tokens": "1ms"}},
				{Status: 429, Header: map[string]string{"x-ratelimit-reset-tokens": "1ms"}},
			},
		},
		{
			name: "malformed answer", wantAttempts: 1, wantRequests: 1,
			wantErrType: content.ErrTypeMalformed, wantClass: core.ClassTransient,
			script: []openaifake.Reply{{Content: "Sure! Here is your article about plants."}},
		},
		{
			name: "answer without body", wantAttempts: 1, wantRequests: 1,
			wantErrType: content.ErrTypeMalformed, wantClass: core.ClassTransient,
			script: []openaifake.Reply{{Content: `{"title":"x","meta_description":"y"}`, FinishReason: "length"}},
		},
		{
			name: "non-JSON error body", wantAttempts: 1, wantRequests: 1,
			wantErrType: content.ErrTypeInvalidRequest, wantClass: core.ClassInvalidInput,
			script: []openaifake.Reply{{Status: 400, Body: "<html>bad gateway config</html>"}},
		},
		{
			name: "timeout", wantAttempts: 1, wantRequests: 1,
			wantErrType: content.ErrTypeTimeout, wantClass: core.ClassTransient,
			opts:   content.OpenAIOptions{Timeout: 50 * time.Millisecond, MaxRetries: -1},
			script: []openaifake.Reply{{Latency: 2 * time.Second}},
		},
		{
			name: "timeout then success", wantAttempts: 2, wantRequests: 2,
			opts:   content.OpenAIOptions{Timeout: 100 * time.Millisecond, MaxRetries: 1},
			script: []openaifake.Reply{{Latency: 2 * time.Second}},
		},
		{
			name: "wrong key is not retried", wantAttempts: 1, wantRequests: 1,
			wantErrType: content.ErrTypeAuth, wantClass: core.ClassAuth,
			fake: openaifake.Options{APIKey: "sk-right"}, opts: content.OpenAIOptions{APIKey: "sk-wrong"},
		},
		{
			name: "error inside the stream is retried", wantAttempts: 2, wantRequests: 2,
			opts:   content.OpenAIOptions{Stream: true},
			script: []openaifake.Reply{{StreamError: true}},
		},
		{
			name: "content filter", wantAttempts: 1, wantRequests: 1,
			wantErrType: content.ErrTypeProvider, wantClass: core.ClassPermanent,
			script: []openaifake.Reply{{FinishReason: "content_filter"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := startFake(t, tc.fake)
			fake.Enqueue(tc.script...)
			g := openaiGenerator(fake, tc.opts)
			c, err := g.Generate(context.Background(), "aquascene", newsletterRequest())
			if c.Attempts != tc.wantAttempts {
				t.Errorf("attempts = %d, want %d", c.Attempts, tc.wantAttempts)
			}
			if got := fake.Total(); got != tc.wantRequests {
				t.Errorf("requests = %d, want %d", got, tc.wantRequests)
			}
			if tc.wantErrType == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if c.Status != content.StatusCompleted || c.Model != "gpt-4o-mini" || c.Provider != "openai" {
					t.Errorf("content %s %s %s", c.Status, c.Model, c.Provider)
				}
			} else {
				var ge *content.GenerationError
				if !errors.As(err, &ge) || ge.Type != tc.wantErrType {
					t.Fatalf("err = %v, want type %s", err, tc.wantErrType)
				}
				if cls := core.Classify(ge.StepError()).Class; cls != tc.wantClass {
					t.Errorf("class = %s, want %s", cls, tc.wantClass)
				}
				if c.Status != content.StatusFailed || c.ErrorType != tc.wantErrType {
					t.Errorf("content status %s error type %s", c.Status, c.ErrorType)
				}
			}
			if tc.check != nil {
				tc.check(t, c, err)
			}
		})
	}
}

func TestOpenAIRequestShape(t *testing.T) {
	fake := startFake(t, openaifake.Options{APIKey: "sk-test"})
	g := openaiGenerator(fake, content.OpenAIOptions{JSONMode: true, Organization: "org-1"})
	req := newsletterRequest()
	req.Partnership = &content.Partnership{Partner: "Green Aqua", ProductName: "CO2 Pro Diffuser", AffiliateLink: "https://greenaqua.hu/p/1?ref=aq"}
	req.Instructions = "Mention the 2-week cycling period."
	c, err := g.Generate(context.Background(), "aquascene", req)
	if err != nil {
		t.Fatal(err)
	}
	reqs, hdrs := fake.Requests(), fake.Headers()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r, h := reqs[0], hdrs[0]
	if h.Get("Authorization") != "Bearer sk-test" || h.Get("OpenAI-Organization") != "org-1" {
		t.Errorf("headers %v", h)
	}
	if r.Stream == nil || *r.Stream || r.ResponseFormat["type"] != "json_object" || r.User != "aquascene" {
		t.Errorf("request %+v", r)
	}
	user := r.Message("user")
	for _, want := range []string{"Topic: Beginner aquascaping guide", "Audience: beginners", "planted aquarium, aquascaping",
		"Green Aqua", "CO2 Pro Diffuser", "https://greenaqua.hu/p/1?ref=aq", "2-week cycling"} {
		if !strings.Contains(user, want) {
			t.Errorf("user prompt lacks %q:\n%s", want, user)
		}
	}
	sys := r.Message("system")
	for _, want := range []string{"Friendly and educational", "1200-1500", `heading starting with "Introduction"`, "safety", "meta description"} {
		if !strings.Contains(sys, want) {
			t.Errorf("system prompt lacks %q:\n%s", want, sys)
		}
	}
	if !strings.Contains(c.BodyMarkdown, "https://greenaqua.hu/p/1?ref=aq") {
		t.Errorf("affiliate link missing from body")
	}
	if !strings.Contains(c.BodyHTML, `<a href="https://greenaqua.hu/p/1?ref=aq">`) {
		t.Errorf("html: %s", c.BodyHTML)
	}
}

func TestRetryWaitHeaders(t *testing.T) {
	now := time.Date(2025, 8, 6, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header map[string]string
		want   time.Duration
		found  bool
	}{
		{"none", nil, 0, false},
		{"retry-after seconds", map[string]string{"Retry-After": "3"}, 3 * time.Second, true},
		{"retry-after date", map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second, true},
		{"retry-after-ms wins", map[string]string{"retry-after-ms": "250", "Retry-After": "3"}, 250 * time.Millisecond, true},
		{"reset of the exhausted budget", map[string]string{
			"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "6m0s",
			"x-ratelimit-remaining-tokens": "100", "x-ratelimit-reset-tokens": "1s",
		}, 6 * time.Minute, true},
		{"both resets without remaining counts", map[string]string{"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "2.5s"}, 2500 * time.Millisecond, true},
		{"garbage", map[string]string{"Retry-After": "soon", "x-ratelimit-reset-requests": "later"}, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h http.Header
			if tc.header != nil {
				h = http.Header{}
				for k, v := range tc.header {
					h.Set(k, v)
				}
			}
			got, found := content.RetryWait(h, now)
			if got != tc.want || found != tc.found {
				t.Errorf("RetryWait = %v, %v; want %v, %v", got, found, tc.want, tc.found)
			}
		})
	}
}
