package simkit

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// ControlPrefix is the path prefix of the simulator's own control endpoints. Requests under it
// bypass fault injection and are not recorded.
const ControlPrefix = "/_sim/"

// Faults configures the faults a simulator injects into vendor API calls. The zero value
// injects nothing.
type Faults struct {
	// Latency delays every vendor API response. A client whose deadline is shorter sees a
	// timeout. Default 0.
	Latency time.Duration `json:"latency"`
	// ErrorRatio is the share of requests, from 0 to 1, answered with ErrorStatus instead of
	// being served. Default 0.
	ErrorRatio float64 `json:"error_ratio"`
	// ErrorStatus is the status used for ErrorRatio failures. Default 503.
	ErrorStatus int `json:"error_status"`
	// RateLimitEvery, when positive, answers RateLimitBurst requests with 429 after every
	// RateLimitEvery served ones. Default 0 (off).
	RateLimitEvery int `json:"rate_limit_every"`
	// RateLimitBurst is the length of each 429 burst. Default 1 when RateLimitEvery is set.
	RateLimitBurst int `json:"rate_limit_burst"`
	// Seed makes ErrorRatio decisions reproducible. Default 1.
	Seed uint64 `json:"seed"`
}

// MarshalJSON writes Latency as a Go duration string ("250ms").
func (f Faults) MarshalJSON() ([]byte, error) {
	type plain Faults
	return json.Marshal(struct {
		plain
		Latency string `json:"latency"`
	}{plain(f), f.Latency.String()})
}

// UnmarshalJSON reads Latency as a Go duration string or a number of nanoseconds.
func (f *Faults) UnmarshalJSON(b []byte) error {
	type plain Faults
	var aux struct {
		plain
		Latency json.RawMessage `json:"latency"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*f = Faults(aux.plain)
	f.Latency = 0
	if len(aux.Latency) > 0 && string(aux.Latency) != "null" {
		var s string
		if json.Unmarshal(aux.Latency, &s) == nil {
			d, err := time.ParseDuration(s)
			if err != nil {
				return err
			}
			f.Latency = d
		} else if err := json.Unmarshal(aux.Latency, &f.Latency); err != nil {
			return err
		}
	}
	return nil
}

// Injector decides, request by request, which fault to inject. It is safe for concurrent use.
type Injector struct {
	mu      sync.Mutex
	faults  Faults
	rng     *rand.Rand
	queued  []int
	served  int
	inBurst int
}

// NewInjector returns an Injector applying f.
func NewInjector(f Faults) *Injector {
	in := &Injector{}
	in.Set(f)
	return in
}

// Set replaces the fault configuration and resets the burst counters; queued failures stay.
func (in *Injector) Set(f Faults) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if f.ErrorStatus == 0 {
		f.ErrorStatus = http.StatusServiceUnavailable
	}
	if f.RateLimitEvery > 0 && f.RateLimitBurst <= 0 {
		f.RateLimitBurst = 1
	}
	if f.Seed == 0 {
		f.Seed = 1
	}
	in.faults = f
	in.rng = rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15))
	in.served, in.inBurst = 0, 0
}

// Faults returns the current configuration.
func (in *Injector) Faults() Faults {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.faults
}

// Inject queues status as the answer to the next n vendor API requests, ahead of any
// configured fault. Tests use it for exact sequences such as "429, then success".
func (in *Injector) Inject(status, n int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for range n {
		in.queued = append(in.queued, status)
	}
}

// Decide returns the latency to apply and the status to answer with instead of serving the
// request (0 to serve it).
func (in *Injector) Decide() (time.Duration, int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	f := in.faults
	if len(in.queued) > 0 {
		s := in.queued[0]
		in.queued = in.queued[1:]
		return f.Latency, s
	}
	if in.inBurst > 0 {
		in.inBurst--
		return f.Latency, http.StatusTooManyRequests
	}
	if f.ErrorRatio > 0 && in.rng.Float64() < f.ErrorRatio {
		return f.Latency, f.ErrorStatus
	}
	if f.RateLimitEvery > 0 {
		in.served++
		if in.served >= f.RateLimitEvery {
			in.served = 0
			in.inBurst = f.RateLimitBurst
		}
	}
	return f.Latency, 0
}

// Request is one vendor API request as a simulator received it, with the status it answered.
type Request struct {
	Time     time.Time   `json:"time"`
	Method   string      `json:"method"`
	Path     string      `json:"path"`
	RawQuery string      `json:"raw_query,omitempty"`
	Header   http.Header `json:"header"`
	Body     []byte      `json:"body,omitempty"`
	Status   int         `json:"status"`
}

// Recorder keeps the requests a simulator served, oldest first, up to a cap.
type Recorder struct {
	mu   sync.Mutex
	max  int
	reqs []Request
}

// NewRecorder returns a Recorder keeping at most max requests (the oldest are dropped);
// max <= 0 means 10,000.
func NewRecorder(max int) *Recorder {
	if max <= 0 {
		max = 10000
	}
	return &Recorder{max: max}
}

func (r *Recorder) add(req Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) >= r.max {
		r.reqs = append(r.reqs[:0], r.reqs[1:]...)
	}
	r.reqs = append(r.reqs, req)
}

// Requests returns a copy of the recorded requests.
func (r *Recorder) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

// Reset forgets every recorded request.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = nil
}

// Vendor is what Wrap needs from a simulator.
type Vendor interface {
	// Authorized reports whether r carries the simulator's credential in the vendor's scheme.
	Authorized(r *http.Request) bool
	// WriteFault writes the vendor's own response for an injected status (429 or 5xx).
	WriteFault(w http.ResponseWriter, r *http.Request, status int)
}

// Wrap returns a handler that records every vendor API request, injects faults before api
// serves it, and serves the control endpoints under ControlPrefix (authorized like the API):
//
//	GET    /_sim/requests   recorded requests as JSON
//	DELETE /_sim/requests   forget them
//	GET    /_sim/faults     current Faults
//	PUT    /_sim/faults     replace Faults (JSON body)
//	POST   /_sim/inject     {"status":429,"count":2} queue exact failures
//
// Requests to extra control paths (other than those above) go to api unchanged.
func Wrap(api http.Handler, v Vendor, in *Injector, rec *Recorder, maxBody int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, ControlPrefix) {
			if serveControl(w, r, v, in, rec) {
				return
			}
			api.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			http.Error(w, "reading body", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			rec.add(Request{
				Time: time.Now().UTC(), Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
				Header: r.Header.Clone(), Body: body, Status: sw.code(),
			})
		}()
		latency, status := in.Decide()
		if latency > 0 && !sleep(r.Context(), latency) {
			sw.WriteHeader(http.StatusGatewayTimeout)
			return
		}
		if status != 0 {
			v.WriteFault(sw, r, status)
			return
		}
		api.ServeHTTP(sw, r)
	})
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func serveControl(w http.ResponseWriter, r *http.Request, v Vendor, in *Injector, rec *Recorder) bool {
	rest := strings.TrimPrefix(r.URL.Path, ControlPrefix)
	switch rest {
	case "requests", "faults", "inject":
	default:
		return false
	}
	if !v.Authorized(r) {
		v.WriteFault(w, r, http.StatusUnauthorized)
		return true
	}
	switch {
	case rest == "requests" && r.Method == http.MethodGet:
		WriteJSON(w, http.StatusOK, rec.Requests())
	case rest == "requests" && r.Method == http.MethodDelete:
		rec.Reset()
		w.WriteHeader(http.StatusNoContent)
	case rest == "faults" && r.Method == http.MethodGet:
		WriteJSON(w, http.StatusOK, in.Faults())
	case rest == "faults" && r.Method == http.MethodPut:
		var f Faults
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&f); err != nil {
			WriteJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return true
		}
		in.Set(f)
		WriteJSON(w, http.StatusOK, in.Faults())
	case rest == "inject" && r.Method == http.MethodPost:
		var q struct {
			Status int `json:"status"`
			Count  int `json:"count"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&q); err != nil || q.Status < 100 || q.Status > 599 || q.Count < 1 || q.Count > 10000 {
			WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "want {\"status\":100..599,\"count\":1..10000}"})
			return true
		}
		in.Inject(q.Status, q.Count)
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, PUT, POST, DELETE")
		WriteJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
	}
	return true
}

// WriteJSON writes v as a JSON body with status and Content-Type application/json.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	WriteJSONType(w, status, "application/json; charset=utf-8", v)
}

// WriteJSONType writes v as a JSON body with status and the given Content-Type.
func WriteJSONType(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) code() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}

// BearerToken returns the token of an "Authorization: Bearer <token>" header, or "".
func BearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}
