package openaifake

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Server.
type Options struct {
	// APIKey, when set, must arrive as "Authorization: Bearer <key>"; others get 401.
	APIKey string
	// Latency delays every answer (before the first byte).
	Latency time.Duration
	// Model is reported in answers when the request names none.
	Model string
	// Answer overrides the default answer text for a request.
	Answer func(r *ChatRequest) string
}

// Reply is one scripted answer, used for the next request.
type Reply struct {
	// Status is the HTTP status (default 200).
	Status int
	// Header is added to the response (e.g. Retry-After, x-ratelimit-reset-requests).
	Header map[string]string
	// Body, when set, is sent verbatim instead of a generated body.
	Body string
	// Content, when set, replaces the answer text of a 200 reply.
	Content string
	// Latency, when positive, overrides Options.Latency for this reply.
	Latency time.Duration
	// FinishReason overrides "stop".
	FinishReason string
	// StreamError, for streaming requests, sends an error object after the first chunk.
	StreamError bool
}

// ChatRequest is the part of a chat completions request the fake reads.
type ChatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	Stream        *bool `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens      int            `json:"max_tokens"`
	ResponseFormat map[string]any `json:"response_format"`
	User           string         `json:"user"`
}

// Message returns the content of the first message with that role.
func (r *ChatRequest) Message(role string) string {
	for _, m := range r.Messages {
		if m.Role == role {
			return m.Content
		}
	}
	return ""
}

// Server is a running fake.
type Server struct {
	opts     Options
	ln       net.Listener
	srv      *http.Server
	mu       sync.Mutex
	script   []Reply
	requests []ChatRequest
	headers  []http.Header
	inFlight atomic.Int64
	maxIn    atomic.Int64
	total    atomic.Int64
}

// Start listens on 127.0.0.1 on a free port and serves until Close.
func Start(opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("openaifake: %w", err)
	}
	s := &Server{opts: opts, ln: ln}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/chat/completions", s.chat)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "invalid_request_error", "unknown_url", "Unknown request URL: "+r.Method+" "+r.URL.Path)
	})
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the base URL to configure clients with, ending in /v1.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() + "/v1" }

// Close stops the server and waits for handlers to finish.
func (s *Server) Close() error { return s.srv.Close() }

// Enqueue scripts the next replies, in order. Requests beyond the script get the default.
func (s *Server) Enqueue(r ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, r...)
}

// SetLatency changes the default latency.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.Latency = d
}

// Requests returns the decoded requests seen so far.
func (s *Server) Requests() []ChatRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ChatRequest(nil), s.requests...)
}

// Headers returns the request headers seen so far.
func (s *Server) Headers() []http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]http.Header(nil), s.headers...)
}

// Total is the number of requests received.
func (s *Server) Total() int64 { return s.total.Load() }

// InFlight is the number of requests being answered now.
func (s *Server) InFlight() int64 { return s.inFlight.Load() }

// MaxInFlight is the highest number of requests answered at once since Start or ResetStats.
func (s *Server) MaxInFlight() int64 { return s.maxIn.Load() }

// ResetStats clears the counters and the request log.
func (s *Server) ResetStats() {
	s.mu.Lock()
	s.requests, s.headers = nil, nil
	s.mu.Unlock()
	s.total.Store(0)
	s.maxIn.Store(s.inFlight.Load())
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.maxIn.Load()
		if n <= m || s.maxIn.CompareAndSwap(m, n) {
			break
		}
	}
	s.total.Add(1)

	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "invalid_request_error", nil, "Only POST is supported")
		return
	}
	if s.opts.APIKey != "" && r.Header.Get("Authorization") != "Bearer "+s.opts.APIKey {
		writeError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "Incorrect API key provided")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		writeError(w, http.StatusBadRequest, "invalid_request_error", nil, "Content-Type must be application/json")
		return
	}
	var req ChatRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", nil, "We could not parse the JSON body of your request: "+err.Error())
		return
	}
	if req.Model == "" || len(req.Messages) == 0 || req.Stream == nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", nil, "model, messages and stream are required")
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.headers = append(s.headers, r.Header.Clone())
	var reply Reply
	if len(s.script) > 0 {
		reply, s.script = s.script[0], s.script[1:]
	}
	latency := s.opts.Latency
	s.mu.Unlock()
	if reply.Latency > 0 {
		latency = reply.Latency
	}
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	for k, v := range reply.Header {
		w.Header().Set(k, v)
	}
	if reply.Body != "" || (reply.Status != 0 && reply.Status != http.StatusOK) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(max(reply.Status, 200))
		body := reply.Body
		if body == "" {
			body = errorBody(reply.Status)
		}
		_, _ = w.Write([]byte(body))
		return
	}
	content := reply.Content
	if content == "" {
		if s.opts.Answer != nil {
			content = s.opts.Answer(&req)
		} else {
			content = DefaultAnswer(&req)
		}
	}
	model := req.Model
	if model == "" {
		model = s.opts.Model
	}
	finish := "stop"
	if reply.FinishReason != "" {
		finish = reply.FinishReason
	}
	prompt := 0
	for _, m := range req.Messages {
		prompt += tokens(m.Content)
	}
	usage := map[string]int{"prompt_tokens": prompt, "completion_tokens": tokens(content), "total_tokens": prompt + tokens(content)}
	id := fmt.Sprintf("chatcmpl-%d", s.total.Load())
	if !*req.Stream {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": id, "object": "chat.completion", "created": 1700000000, "model": model,
			"choices": []any{map[string]any{
				"index": 0, "message": map[string]any{"role": "assistant", "content": content}, "finish_reason": finish,
			}},
			"usage": usage, "system_fingerprint": "fp_fake",
		})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	fl, _ := w.(http.Flusher)
	send := func(v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "data: %s\n\n", b)
		if fl != nil {
			fl.Flush()
		}
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{
			"id": id, "object": "chat.completion.chunk", "created": 1700000000, "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}},
		}
	}
	send(chunk(map[string]any{"role": "assistant", "content": ""}, nil))
	fmt.Fprint(w, ": keepalive\n\n")
	if reply.StreamError {
		send(map[string]any{"error": map[string]any{"message": "The server had an error while processing your request.", "type": "server_error", "param": nil, "code": nil}})
		return
	}
	rs := []rune(content)
	for i := 0; i < len(rs); i += 64 {
		send(chunk(map[string]any{"content": string(rs[i:min(i+64, len(rs))])}, nil))
	}
	send(chunk(map[string]any{}, finish))
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		send(map[string]any{"id": id, "object": "chat.completion.chunk", "created": 1700000000, "model": model, "choices": []any{}, "usage": usage})
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
}

// tokens approximates a token count as four per three words.
func tokens(s string) int { return (len(strings.Fields(s))*4 + 2) / 3 }

func errorBody(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return `{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}`
	case status >= 500:
		return `{"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}`
	case status == http.StatusUnauthorized:
		return `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`
	default:
		return fmt.Sprintf(`{"error":{"message":"HTTP %d","type":"invalid_request_error","param":null,"code":null}}`, status)
	}
}

func writeError(w http.ResponseWriter, status int, typ string, code any, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": code}})
}

var (
	reTopic    = regexp.MustCompile(`(?m)^Topic: (.+)$`)
	reKeywords = regexp.MustCompile(`(?m)^SEO keywords: (.+)$`)
	reHeading  = regexp.MustCompile(`heading starting with "([^"]+)"`)
	reLink     = regexp.MustCompile(`affiliate link exactly once, as a Markdown link: (\S+)`)
	reHashtags = regexp.MustCompile(`Between (\d+) and \d+ hashtags`)
)

// DefaultAnswer writes a short deterministic article as the JSON object aquahub's prompt
// asks for: a heading per requested section, the keywords, and the affiliate link.
func DefaultAnswer(r *ChatRequest) string {
	sys, user := r.Message("system"), r.Message("user")
	topic := "Aquascaping"
	if m := reTopic.FindStringSubmatch(user); m != nil {
		topic = strings.TrimSpace(m[1])
	}
	var kws []string
	if m := reKeywords.FindStringSubmatch(user); m != nil {
		for _, k := range strings.Split(m[1], ",") {
			kws = append(kws, strings.TrimSpace(k))
		}
	}
	kw := func(i int) string {
		if len(kws) == 0 {
			return "aquascaping"
		}
		return kws[i%len(kws)]
	}
	var b strings.Builder
	headings := reHeading.FindAllStringSubmatch(sys, -1)
	for i, h := range headings {
		fmt.Fprintf(&b, "## %s\n\n", h[1])
		fmt.Fprintf(&b, "This part covers %s for %s. ", strings.ToLower(topic), kw(i))
		b.WriteString("Keep the tank stable and change one thing at a time. Plants need light, food and time to grow. ")
		b.WriteString("Test the water each week and write the results down. Safety comes first with heaters and cables.\n\n")
	}
	if len(headings) == 0 {
		fmt.Fprintf(&b, "%s is easier than it looks. Start small with %s and be patient. Share your tank with us!\n", topic, kw(0))
	}
	if m := reLink.FindStringSubmatch(user); m != nil {
		fmt.Fprintf(&b, "Shop the featured product here: [partner shop](%s).\n", m[1])
	}
	var tags []string
	if m := reHashtags.FindStringSubmatch(sys); m != nil {
		n := 0
		fmt.Sscan(m[1], &n)
		bank := []string{"aquascaping", "plantedtank", "aquarium", "natureaquarium", "aquascape", "aquariumplants", "fishtank", "shrimptank", "iwagumi", "aquascaper"}
		for i := 0; i < n && i < len(bank); i++ {
			tags = append(tags, bank[i])
		}
	}
	out, _ := json.Marshal(map[string]any{
		"title":            topic,
		"meta_description": fmt.Sprintf("%s: a practical guide with clear steps, honest advice and tips on %s.", topic, kw(0)),
		"body_markdown":    b.String(),
		"hashtags":         tags,
	})
	return string(out)
}
