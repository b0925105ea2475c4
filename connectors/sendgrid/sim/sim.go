package sim

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit"
	"github.com/aquascene/aquahub/sdk/signature"
)

// Defaults of the simulator, as `aquahub sim sendgrid` and `aquahub dev` use them.
const (
	// DefaultKey is the API key the simulator accepts unless WithKey says otherwise.
	DefaultKey = "SG.aquahub-dev.simulator"
	// DefaultAddr is where `aquahub sim sendgrid` listens unless --addr says otherwise.
	DefaultAddr = "127.0.0.1:8782"
	// DefaultMaxBody is the largest request body accepted before 413 (SendGrid's 30 MB).
	DefaultMaxBody = 30 << 20
	// MaxPersonalizations is the limit of personalizations, and of recipients, per request.
	MaxPersonalizations = 1000
)

// Message is one accepted mail send.
type Message struct {
	// ID is the X-Message-Id the simulator answered with.
	ID         string    `json:"id"`
	ReceivedAt time.Time `json:"received_at"`
	// Body is the request body as sent.
	Body json.RawMessage `json:"body"`
	// Recipients are the to, cc and bcc addresses of every personalization, in order.
	Recipients []string `json:"recipients"`
}

// Event is one Event Webhook event the simulator emits.
type Event map[string]any

// Option configures a Server.
type Option func(*Server)

// WithKey sets the API key accepted as "Authorization: Bearer <key>" (default DefaultKey).
func WithKey(key string) Option { return func(s *Server) { s.key = key } }

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithFaults sets the injected faults (default none).
func WithFaults(f simkit.Faults) Option { return func(s *Server) { s.Injector().Set(f) } }

// WithMaxBody sets the body size above which the simulator answers 413 (default
// DefaultMaxBody).
func WithMaxBody(n int64) Option { return func(s *Server) { s.maxBody = n } }

// WithRateLimit limits mail sends to n per window (default off); over it the simulator
// answers 429 with X-RateLimit-Limit, -Remaining and -Reset (the window's end, Unix seconds).
func WithRateLimit(n int, window time.Duration) Option {
	return func(s *Server) { s.limit, s.window = n, window }
}

// WithEventWebhook makes the simulator POST signed Event Webhook batches ("processed" and
// "delivered" per recipient) to url after each accepted send, with client (nil: a client with
// a 5 s timeout). The signing key is generated at New; PublicKey returns it.
func WithEventWebhook(url string, client *http.Client) Option {
	return func(s *Server) {
		s.hookURL, s.hookEnabled = url, url != ""
		if client != nil {
			s.hookClient = client
		}
	}
}

// WithSigningKey sets the Event Webhook signing key (default a new P-256 key).
func WithSigningKey(k *ecdsa.PrivateKey) Option { return func(s *Server) { s.signKey = k } }

// Server simulates SendGrid's v3 mail send endpoint and the signed Event Webhook settings
// for one API key. It is an http.Handler, safe for concurrent use; all state is in memory.
type Server struct {
	simkit.Frame

	key        string
	now        func() time.Time
	maxBody    int64
	limit      int
	window     time.Duration
	signKey    *ecdsa.PrivateKey
	hookClient *http.Client
	emits      sync.WaitGroup

	mu          sync.Mutex
	messages    []Message
	windowStart time.Time
	windowCount int
	hookURL     string
	hookEnabled bool
	emitErrs    []error
	delivered   [][]Event
}

// New returns a simulator configured by opts.
func New(opts ...Option) *Server {
	s := &Server{
		key: DefaultKey, now: time.Now, Frame: simkit.NewFrame(),
		maxBody: DefaultMaxBody, hookClient: &http.Client{Timeout: 5 * time.Second},
	}
	for _, o := range opts {
		o(s)
	}
	if s.signKey == nil {
		k, err := signature.GenerateSendGridKey()
		if err != nil {
			panic(fmt.Sprintf("sendgrid sim: generating signing key: %v", err))
		}
		s.signKey = k
	}
	s.Mount(s.Wrap(http.HandlerFunc(s.serveAPI), s, s.maxBody))
	return s
}

// Messages returns the accepted mail sends, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// PublicKey returns the Event Webhook verification key, base64 DER as SendGrid shows it.
func (s *Server) PublicKey() string {
	k, _ := signature.EncodeSendGridKey(&s.signKey.PublicKey)
	return k
}

// WaitEvents waits for Event Webhook posts in flight.
func (s *Server) WaitEvents() { s.emits.Wait() }

// EmitErrors returns the errors of Event Webhook posts so far.
func (s *Server) EmitErrors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.emitErrs...)
}

// Authorized reports whether r carries the API key as a Bearer credential.
func (s *Server) Authorized(r *http.Request) bool { return simkit.BearerToken(r) == s.key }

// fieldError is one entry of SendGrid's errors array.
type fieldError struct {
	Message string `json:"message"`
	Field   any    `json:"field"`
	Help    any    `json:"help"`
}

func writeErrors(w http.ResponseWriter, status int, errs ...fieldError) {
	simkit.WriteJSON(w, status, map[string]any{"errors": errs})
}

// WriteFault writes SendGrid's body for an injected status; a 429 carries the rate-limit
// headers with a reset one second ahead.
func (s *Server) WriteFault(w http.ResponseWriter, r *http.Request, status int) {
	switch status {
	case http.StatusUnauthorized:
		msg := "authorization required"
		if r.Header.Get("Authorization") != "" {
			msg = "The provided authorization grant is invalid, expired, or revoked"
		}
		writeErrors(w, status, fieldError{Message: msg})
	case http.StatusTooManyRequests:
		s.writeRateLimited(w, s.now().Add(time.Second))
	default:
		msg := strings.ToLower(http.StatusText(status))
		if msg == "" {
			msg = "error"
		}
		writeErrors(w, status, fieldError{Message: msg})
	}
}

func (s *Server) writeRateLimited(w http.ResponseWriter, reset time.Time) {
	limit := s.limit
	if limit <= 0 {
		limit = 600
	}
	secs := reset.Unix()
	if reset.Nanosecond() > 0 {
		secs++
	}
	w.Header().Set("X-RateLimit-Limit", strconv.Itoa(limit))
	w.Header().Set("X-RateLimit-Remaining", "0")
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(secs, 10))
	writeErrors(w, http.StatusTooManyRequests, fieldError{Message: "too many requests"})
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, simkit.ControlPrefix) {
		s.serveControl(w, r)
		return
	}
	if !s.Authorized(r) {
		s.WriteFault(w, r, http.StatusUnauthorized)
		return
	}
	switch strings.TrimSuffix(r.URL.Path, "/") {
	case "/v3/mail/send":
		if r.Method != http.MethodPost {
			writeErrors(w, http.StatusMethodNotAllowed, fieldError{Message: "method not allowed"})
			return
		}
		s.send(w, r)
	case "/v3/user/webhooks/event/settings/signed":
		s.serveSigned(w, r)
	case "/v3/user/webhooks/event/settings":
		s.serveSettings(w, r)
	default:
		writeErrors(w, http.StatusNotFound, fieldError{Message: "not found"})
	}
}

func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil || int64(len(body)) > s.maxBody {
		writeErrors(w, http.StatusRequestEntityTooLarge, fieldError{Message: "content too large"})
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		writeErrors(w, http.StatusUnsupportedMediaType, fieldError{Message: "Content-Type should be application/json."})
		return
	}
	var req mailRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		writeErrors(w, http.StatusBadRequest, fieldError{
			Message: "Bad Request", Field: nil,
			Help: "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#-Request-Body-Parameters",
		})
		return
	}
	now := s.now()
	if errs := validate(&req, now); len(errs) > 0 {
		writeErrors(w, http.StatusBadRequest, errs...)
		return
	}
	s.mu.Lock()
	if s.limit > 0 {
		if now.Sub(s.windowStart) >= s.window {
			s.windowStart, s.windowCount = now, 0
		}
		if s.windowCount >= s.limit {
			reset := s.windowStart.Add(s.window)
			s.mu.Unlock()
			s.writeRateLimited(w, reset)
			return
		}
		s.windowCount++
	}
	msg := Message{ID: messageID(), ReceivedAt: now.UTC(), Body: json.RawMessage(body), Recipients: req.recipients()}
	s.messages = append(s.messages, msg)
	hookURL, enabled := s.hookURL, s.hookEnabled
	s.mu.Unlock()
	if enabled && hookURL != "" {
		s.emitAsync(hookURL, deliveryEvents(&req, msg, now))
	}
	if s.limit > 0 {
		w.Header().Set("X-RateLimit-Limit", strconv.Itoa(s.limit))
	}
	w.Header().Set("X-Message-Id", msg.ID)
	w.WriteHeader(http.StatusAccepted)
}

func messageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])[:22]
}

func (s *Server) serveSigned(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPatch:
		var body struct {
			Enabled *bool `json:"enabled"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Enabled == nil {
			writeErrors(w, http.StatusBadRequest, fieldError{Message: "enabled is required", Field: "enabled"})
			return
		}
		if !*body.Enabled {
			simkit.WriteJSON(w, http.StatusOK, map[string]any{"public_key": ""})
			return
		}
	default:
		writeErrors(w, http.StatusMethodNotAllowed, fieldError{Message: "method not allowed"})
		return
	}
	simkit.WriteJSON(w, http.StatusOK, map[string]any{"public_key": s.PublicKey()})
}

func (s *Server) serveSettings(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Method {
	case http.MethodGet:
	case http.MethodPatch:
		var body struct {
			Enabled *bool   `json:"enabled"`
			URL     *string `json:"url"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeErrors(w, http.StatusBadRequest, fieldError{Message: "Bad Request"})
			return
		}
		if body.URL != nil {
			if *body.URL != "" && !strings.HasPrefix(*body.URL, "http://") && !strings.HasPrefix(*body.URL, "https://") {
				writeErrors(w, http.StatusBadRequest, fieldError{Message: "url must be a valid URL", Field: "url"})
				return
			}
			s.hookURL = *body.URL
		}
		if body.Enabled != nil {
			s.hookEnabled = *body.Enabled
		}
	default:
		writeErrors(w, http.StatusMethodNotAllowed, fieldError{Message: "method not allowed"})
		return
	}
	all := []string{"bounce", "click", "deferred", "delivered", "dropped", "group_resubscribe", "group_unsubscribe", "open", "processed", "spam_report", "unsubscribe"}
	out := map[string]any{"enabled": s.hookEnabled, "url": s.hookURL}
	for _, e := range all {
		out[e] = true
	}
	simkit.WriteJSON(w, http.StatusOK, out)
}

// Emit posts events to the Event Webhook URL, signed, and returns when the post finished.
func (s *Server) Emit(ctx context.Context, events []Event) error {
	s.mu.Lock()
	url := s.hookURL
	s.mu.Unlock()
	if url == "" {
		return fmt.Errorf("no event webhook url configured")
	}
	return s.post(ctx, url, events)
}

func (s *Server) emitAsync(url string, events []Event) {
	s.emits.Add(1)
	go func() {
		defer s.emits.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.post(ctx, url, events); err != nil {
			s.mu.Lock()
			s.emitErrs = append(s.emitErrs, err)
			s.mu.Unlock()
		}
	}()
}

func (s *Server) post(ctx context.Context, url string, events []Event) error {
	body, err := json.Marshal(events)
	if err != nil {
		return err
	}
	body = append(body, '\r', '\n') // as SendGrid's own payloads end
	ts := strconv.FormatInt(s.now().Unix(), 10)
	sig, err := signature.SignSendGrid(s.signKey, ts, body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "SendGrid Event API")
	req.Header.Set(signature.SendGridSignatureHeader, sig)
	req.Header.Set(signature.SendGridTimestampHeader, ts)
	resp, err := s.hookClient.Do(req)
	if err != nil {
		return fmt.Errorf("posting events to %s: %w", url, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("posting events to %s: status %d", url, resp.StatusCode)
	}
	s.mu.Lock()
	s.delivered = append(s.delivered, events)
	s.mu.Unlock()
	return nil
}

// serveControl serves the SendGrid-specific control endpoints:
//
//	GET  /_sim/messages   accepted sends
//	POST /_sim/events     {"message_id":"…","event":"open","email":"…","url":"…"} emits one
//	                      engagement event for a recorded message to the Event Webhook
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, simkit.ControlPrefix)
	if rest != "messages" && rest != "events" {
		writeErrors(w, http.StatusNotFound, fieldError{Message: "not found"})
		return
	}
	if !s.Authorized(r) {
		s.WriteFault(w, r, http.StatusUnauthorized)
		return
	}
	switch {
	case rest == "messages" && r.Method == http.MethodGet:
		simkit.WriteJSON(w, http.StatusOK, s.Messages())
	case rest == "events" && r.Method == http.MethodPost:
		var q struct {
			MessageID string `json:"message_id"`
			Event     string `json:"event"`
			Email     string `json:"email"`
			URL       string `json:"url"`
			Reason    string `json:"reason"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&q); err != nil || q.Event == "" {
			writeErrors(w, http.StatusBadRequest, fieldError{Message: "want {message_id, event, email}", Field: "event"})
			return
		}
		ev, err := s.engagementEvent(q.MessageID, q.Event, q.Email, q.URL, q.Reason)
		if err != nil {
			writeErrors(w, http.StatusNotFound, fieldError{Message: err.Error(), Field: "message_id"})
			return
		}
		if err := s.Emit(r.Context(), []Event{ev}); err != nil {
			writeErrors(w, http.StatusBadGateway, fieldError{Message: err.Error()})
			return
		}
		simkit.WriteJSON(w, http.StatusOK, ev)
	default:
		writeErrors(w, http.StatusMethodNotAllowed, fieldError{Message: "method not allowed"})
	}
}

// engagementEvent builds one event (open, click, bounce, …) for a recorded message.
func (s *Server) engagementEvent(messageID, event, email, url, reason string) (Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.messages {
		if m.ID != messageID {
			continue
		}
		var req mailRequest
		_ = json.Unmarshal(m.Body, &req)
		for i, p := range req.Personalizations {
			for _, rcpt := range p.all() {
				if email != "" && !strings.EqualFold(rcpt.Email, email) {
					continue
				}
				ev := baseEvent(&req, i, m, rcpt.Email, event, s.now())
				switch event {
				case "click":
					ev["url"] = url
				case "bounce", "dropped":
					if reason == "" {
						reason = "550 5.1.1 The email account that you tried to reach does not exist."
					}
					ev["reason"] = reason
					ev["type"] = "bounce"
				}
				return ev, nil
			}
		}
		return nil, fmt.Errorf("message %s has no recipient %q", messageID, email)
	}
	return nil, fmt.Errorf("message %q not found", messageID)
}
