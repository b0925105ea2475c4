package egress

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aquascene/aquahub/sdk/abi"
)

// recordingCircuit refuses origins in open and records every outcome reported.
type recordingCircuit struct {
	mu       sync.Mutex
	open     map[string]bool
	origins  []string
	outcomes []CircuitOutcome
}

func (r *recordingCircuit) Allow(_ context.Context, origin string) (func(CircuitOutcome), error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.origins = append(r.origins, origin)
	if r.open[origin] {
		return nil, &CircuitOpenError{Origin: origin, RetryAfter: 1500 * time.Millisecond}
	}
	return func(o CircuitOutcome) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.outcomes = append(r.outcomes, o)
	}, nil
}

func TestCircuitOutcomes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			time.Sleep(300 * time.Millisecond)
		case "/500":
			w.WriteHeader(http.StatusInternalServerError)
		case "/404":
			w.WriteHeader(http.StatusNotFound)
		case "/429":
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	tests := []struct {
		name     string
		url      string
		deadline time.Duration
		want     CircuitOutcome
	}{
		{name: "2xx", url: srv.URL + "/ok", want: CircuitSuccess},
		{name: "4xx is an answer", url: srv.URL + "/404", want: CircuitSuccess},
		{name: "429 is an answer", url: srv.URL + "/429", want: CircuitSuccess},
		{name: "5xx", url: srv.URL + "/500", want: CircuitFailure},
		{name: "connection refused", url: closedURL + "/", want: CircuitFailure},
		{name: "deadline", url: srv.URL + "/slow", deadline: 50 * time.Millisecond, want: CircuitTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := &recordingCircuit{}
			c, err := NewClient(Policy{Requested: []string{"*"}, Granted: []string{srv.URL, closedURL}, Circuit: rc})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			c.Do(ctx, &abi.HTTPRequest{Method: "GET", URL: tc.url})
			if len(rc.outcomes) != 1 || rc.outcomes[0] != tc.want {
				t.Fatalf("outcomes %v, want [%v]", rc.outcomes, tc.want)
			}
		})
	}
}

func TestCircuitOpenFailsWithoutDialing(t *testing.T) {
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits++ }))
	defer srv.Close()
	rc := &recordingCircuit{open: map[string]bool{}}
	c, err := NewClient(Policy{Requested: []string{"*"}, Granted: []string{srv.URL}, Circuit: rc})
	if err != nil {
		t.Fatal(err)
	}
	origin := srv.URL // httptest listens on 127.0.0.1:port, already in origin form
	rc.open[origin] = true
	resp := c.Do(context.Background(), &abi.HTTPRequest{Method: "POST", URL: srv.URL + "/v3/mail/send", Body: []byte(`{}`)})
	if resp.Error == nil || resp.Error.Code != abi.HTTPErrorCircuitOpen || resp.Error.RetryAfterMS != 1500 {
		t.Fatalf("got %+v, want circuit_open with retry_after_ms 1500", resp.Error)
	}
	if hits != 0 {
		t.Fatalf("the destination was reached %d times", hits)
	}
	if len(rc.origins) != 1 || rc.origins[0] != origin {
		t.Fatalf("asked for %q, want the origin %q", rc.origins, origin)
	}
}

func TestCircuitDeniedRequestsAreNotCounted(t *testing.T) {
	rc := &recordingCircuit{}
	c, err := NewClient(Policy{Requested: []string{"*"}, Granted: []string{"https://api.example.com"}, Circuit: rc})
	if err != nil {
		t.Fatal(err)
	}
	c.Do(context.Background(), &abi.HTTPRequest{Method: "GET", URL: "https://evil.example.com/"})
	if len(rc.origins) != 0 {
		t.Fatalf("a request the egress rules refused reached the circuit: %v", rc.origins)
	}
}
