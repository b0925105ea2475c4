package webhooks_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/webhooks"
	"github.com/aquascene/aquahub/sdk/signature"
)

// createWith registers an endpoint for the event patterns with delivery settings.
func (h *harness) createWith(tb testing.TB, url string, s webhooks.EndpointSettings, events ...string) webhooks.Endpoint {
	tb.Helper()
	ep, err := h.mod.Create(context.Background(), "aquascene", webhooks.EndpointInput{URL: url, Events: events, EndpointSettings: s})
	if err != nil {
		tb.Fatal(err)
	}
	return ep
}

// fanOut creates n events of type typ and fans them out.
func (h *harness) fanOut(tb testing.TB, typ string, n int) {
	tb.Helper()
	for range n {
		h.events.add("aquascene", typ)
	}
	for {
		created, err := h.mod.FanOut(context.Background())
		if err != nil {
			tb.Fatal(err)
		}
		if created == 0 {
			return
		}
	}
}

// deliveries returns every message of ep, oldest first.
func (h *harness) deliveries(tb testing.TB, ep webhooks.Endpoint) []webhooks.Delivery {
	tb.Helper()
	var out []webhooks.Delivery
	before := ""
	for {
		ds, err := h.mod.Deliveries(context.Background(), "aquascene", ep.ID, webhooks.DeliveryFilter{Before: before, Limit: 500})
		if err != nil {
			tb.Fatal(err)
		}
		if len(ds) == 0 {
			break
		}
		out = append(ds, out...)
		before = ds[len(ds)-1].ID
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// TestBacklogDoesNotDelayAnotherEndpoint: 200 messages of one endpoint are due before the
// one message of another; the first delivery pass reaches both endpoints, the busy one only
// as far as its lane's depth. Claiming the globally earliest messages would spend the whole
// pass on the backlog.
func TestBacklogDoesNotDelayAnotherEndpoint(t *testing.T) {
	h := newHarness(t, nil)
	busy, quiet := newReceiver(t, nil), newReceiver(t, nil)
	h.create(t, busy.URL, "busy.*")
	h.create(t, quiet.URL, "quiet.*")
	h.fanOut(t, "busy.sent", 200)
	h.fanOut(t, "quiet.sent", 1)
	h.pass(t)
	nBusy, nQuiet := len(busy.requests()), len(quiet.requests())
	t.Logf("first pass: %d of 200 backlog messages, %d of 1 message of the other endpoint", nBusy, nQuiet)
	if nQuiet != 1 {
		t.Fatalf("the quiet endpoint's message waited behind the backlog (%d busy deliveries first)", nBusy)
	}
	if depth := 3 * webhooks.DefaultConfig().EndpointConcurrency; nBusy > depth {
		t.Fatalf("the busy endpoint took %d attempts in one pass, more than its lane's depth %d", nBusy, depth)
	}
}

// TestEndpointConcurrencyIsCapped: an endpoint with max_in_flight 2 never sees more than two
// requests at once, though the workers could send more.
func TestEndpointConcurrencyIsCapped(t *testing.T) {
	h := newHarness(t, func(c *webhooks.Config) { c.Workers = 16 })
	var now, most atomic.Int64
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		n := now.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(30 * time.Millisecond)
		now.Add(-1)
		w.WriteHeader(http.StatusNoContent)
	})
	ep := h.createWith(t, rc.URL, webhooks.EndpointSettings{MaxInFlight: 2}, "*")
	h.fanOut(t, "x", 12)
	for range 10 {
		h.pass(t)
	}
	for _, d := range h.deliveries(t, ep) {
		if d.State != webhooks.StateSucceeded {
			t.Fatalf("message %s is %s", d.ID, d.State)
		}
	}
	if m := most.Load(); m != 2 {
		t.Fatalf("at most %d requests in flight, want 2", m)
	}
}

// TestEndpointRateLimit: an endpoint limited to 2 requests/s gets its burst of 2, then 2 a
// second as the clock moves; an unlimited endpoint beside it is not held back.
func TestEndpointRateLimit(t *testing.T) {
	h := newHarness(t, nil)
	limited, free := newReceiver(t, nil), newReceiver(t, nil)
	h.createWith(t, limited.URL, webhooks.EndpointSettings{RateLimit: 2}, "*")
	h.create(t, free.URL, "*")
	h.fanOut(t, "x", 6)
	steps := []struct {
		advance time.Duration
		want    int
	}{{0, 2}, {0, 2}, {time.Second, 4}, {500 * time.Millisecond, 5}, {10 * time.Second, 6}}
	for i, st := range steps {
		h.clock.Advance(st.advance)
		h.pass(t)
		if got := len(limited.requests()); got != st.want {
			t.Fatalf("step %d: the limited endpoint has %d requests, want %d", i, got, st.want)
		}
		if i == 1 && len(free.requests()) != 6 {
			t.Fatalf("the unlimited endpoint has %d of 6 requests after two passes", len(free.requests()))
		}
	}
}

// TestOrderedEndpoint: an ordered endpoint gets its messages one at a time in the order
// they were created; a failing message holds the later ones back until its retry succeeds.
func TestOrderedEndpoint(t *testing.T) {
	h := newHarness(t, nil)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	ep := h.createWith(t, rc.URL, webhooks.EndpointSettings{Ordered: true}, "*")
	h.fanOut(t, "x", 4)
	if n := h.pass(t); n != 1 {
		t.Fatalf("first pass made %d attempts, want 1 (one at a time)", n)
	}
	if n := h.pass(t); n != 0 {
		t.Fatalf("a later message went while the first waits for its retry (%d attempts)", n)
	}
	h.clock.Advance(webhooks.DefaultConfig().Schedule[1])
	for range 8 {
		h.pass(t)
	}
	var order []string
	for _, r := range rc.requests() {
		var ev struct{ ID string }
		if err := json.Unmarshal(r.body, &ev); err != nil {
			t.Fatal(err)
		}
		order = append(order, ev.ID)
	}
	if got, want := strings.Join(order, ","), "ev-1,ev-1,ev-2,ev-3,ev-4"; got != want {
		t.Fatalf("received %s, want %s", got, want)
	}
	if got, err := h.mod.Get(t.Context(), "aquascene", ep.ID); err != nil || got.OrderedHead != "" {
		t.Fatalf("the endpoint still holds the line for %q (%v)", got.OrderedHead, err)
	}
}

// TestCircuitDefersFailingEndpoint: an endpoint answering 500 opens its breaker after
// min_requests failures; its other messages are then deferred without being attempted or
// charged an attempt, and nothing reaches it until the breaker lets a probe through. The
// probe succeeds, the breaker closes and every message is delivered once. Opening and
// closing are published, and the API shows the breaker while it is open.
func TestCircuitDefersFailingEndpoint(t *testing.T) {
	h := newHarness(t, func(c *webhooks.Config) {
		c.Circuit = core.BreakerConfig{FailureRatio: 0.5, MinRequests: 4, Window: time.Minute, TimeoutRun: 3,
			OpenFor: 10 * time.Second, MaxOpenFor: time.Minute}
	})
	var healthy atomic.Bool
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	ep := h.createWith(t, rc.URL, webhooks.EndpointSettings{MaxInFlight: 4}, "*")
	h.fanOut(t, "x", 20)
	if n := h.pass(t); n != 4 {
		t.Fatalf("first pass made %d attempts, want 4 (then the breaker opens)", n)
	}
	if view := webhooks.EndpointView(h.mod, ep); view.Circuit == nil || view.Circuit.State != "open" || view.Circuit.ProbeAt.IsZero() {
		t.Fatalf("the API shows circuit %+v, want open with a probe time", view.Circuit)
	}
	h.clock.Advance(5 * time.Second) // the failed messages are due again, the breaker still open
	if n := h.pass(t); n != 0 {
		t.Fatalf("%d attempts while the breaker is open", n)
	}
	attempted := 0
	for _, d := range h.deliveries(t, ep) {
		attempted += d.Attempts
	}
	if attempted != 4 || len(rc.requests()) != 4 {
		t.Fatalf("%d attempts charged and %d requests received while open, want 4 and 4", attempted, len(rc.requests()))
	}

	healthy.Store(true)
	h.clock.Advance(6500 * time.Millisecond) // past open_for and its jitter
	if n := h.pass(t); n != 1 {
		t.Fatalf("half-open pass made %d attempts, want the one probe", n)
	}
	for range 10 {
		h.pass(t)
	}
	ids := map[string]int{}
	for _, r := range rc.requests() {
		if r.header.Get(signature.WebhookIDHeader) != "" {
			ids[r.header.Get(signature.WebhookIDHeader)]++
		}
	}
	for _, d := range h.deliveries(t, ep) {
		want := 1
		if ids[d.ID] == 2 {
			want = 2 // one of the four that failed before the breaker opened
		}
		if d.State != webhooks.StateSucceeded || d.Attempts != want || ids[d.ID] != want {
			t.Fatalf("message %s: %s after %d attempts, %d requests", d.ID, d.State, d.Attempts, ids[d.ID])
		}
	}
	if len(ids) != 20 || len(rc.requests()) != 24 {
		t.Fatalf("%d messages and %d requests reached the endpoint, want 20 and 24", len(ids), len(rc.requests()))
	}
	if view := webhooks.EndpointView(h.mod, ep); view.Circuit != nil {
		t.Fatalf("the API shows circuit %+v after recovery", view.Circuit)
	}
	var opened, closed int
	for _, e := range h.pub.events {
		switch e.Type {
		case webhooks.EventCircuitOpened:
			opened++
			var data struct {
				EndpointID string `json:"endpoint_id"`
				URL        string `json:"url"`
				Failures   int    `json:"failures"`
			}
			if err := json.Unmarshal(e.Data, &data); err != nil || data.EndpointID != ep.ID || data.URL != rc.URL || data.Failures != 4 {
				t.Fatalf("opened event data %s (%v)", e.Data, err)
			}
		case webhooks.EventCircuitClosed:
			closed++
		}
	}
	if opened != 1 || closed != 1 {
		t.Fatalf("published %v, want one opened and one closed", h.pub.types())
	}
}

// TestHangingEndpointTimesOutAlone: an endpoint that never answers is cut off at its own
// timeout, and its run of timeouts opens its breaker; an endpoint beside it gets every
// message in the same passes.
func TestHangingEndpointTimesOutAlone(t *testing.T) {
	h := newHarness(t, func(c *webhooks.Config) {
		c.Circuit = core.BreakerConfig{FailureRatio: 1, MinRequests: 100, Window: time.Minute, TimeoutRun: 3,
			OpenFor: time.Minute, MaxOpenFor: time.Minute}
	})
	release := make(chan struct{})
	var hangOnce sync.Once
	t.Cleanup(func() { hangOnce.Do(func() { close(release) }) })
	hanging := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	healthy := newReceiver(t, nil)
	slow := h.createWith(t, hanging.URL, webhooks.EndpointSettings{Timeout: 200 * time.Millisecond, MaxInFlight: 3}, "*")
	ok, _ := h.create(t, healthy.URL, "*")
	h.fanOut(t, "x", 6)
	h.pass(t)
	h.pass(t)
	for _, d := range h.deliveries(t, ok) {
		if d.State != webhooks.StateSucceeded {
			t.Fatalf("healthy endpoint's message %s is %s", d.ID, d.State)
		}
	}
	timedOut := 0
	for _, d := range h.deliveries(t, slow) {
		if d.Attempts > 0 && strings.Contains(d.LastError, "timeout") {
			timedOut++
		}
		if d.Attempts > 1 {
			t.Fatalf("message %s attempted %d times", d.ID, d.Attempts)
		}
	}
	if timedOut != 3 {
		t.Fatalf("%d messages timed out, want 3 (then the breaker opened)", timedOut)
	}
	if types := strings.Join(h.pub.types(), ","); types != webhooks.EventCircuitOpened {
		t.Fatalf("published %s, want the breaker opened", types)
	}
}

// faultyStore fails every nth write transaction before it starts, as a full or failing
// disk would: nothing of it is written.
type faultyStore struct {
	webhooks.Store
	every         int64
	calls, failed atomic.Int64
}

func (s *faultyStore) fault() error {
	if s.calls.Add(1)%s.every == 0 {
		s.failed.Add(1)
		return errors.New("injected storage error: no space left on device")
	}
	return nil
}

func (s *faultyStore) Update(ctx context.Context, fn func(tx webhooks.Tx) error) error {
	if err := s.fault(); err != nil {
		return err
	}
	return s.Store.Update(ctx, fn)
}

func (s *faultyStore) Batch(ctx context.Context, fn func(tx webhooks.Tx) error) error {
	if err := s.fault(); err != nil {
		return err
	}
	return s.Store.Batch(ctx, fn)
}

// TestStorageErrorsLoseAndDoubleNothing: with every third write failing (fan-out, claims,
// outcomes), the worker still delivers every message to both endpoints exactly once, and
// the log shows one successful attempt each.
func TestStorageErrorsLoseAndDoubleNothing(t *testing.T) {
	h := newHarness(t, nil)
	store := &faultyStore{Store: h.db.Webhooks(), every: 3}
	mod, err := webhooks.New(webhooks.Config{AllowHTTP: true, AllowLoopback: true, Workers: 4}, webhooks.Deps{
		Store: store, Events: h.events, Clock: h.clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	h.mod = mod
	a, b := newReceiver(t, nil), newReceiver(t, nil)
	epA, _ := h.create(t, a.URL, "*")
	epB, _ := h.create(t, b.URL, "*")
	for range 300 {
		h.events.add("aquascene", "x")
	}
	if err := mod.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for len(a.requests()) < 300 || len(b.requests()) < 300 {
		if time.Now().After(deadline) {
			t.Fatalf("delivered %d and %d of 300 with storage errors", len(a.requests()), len(b.requests()))
		}
		mod.Notify()
		time.Sleep(20 * time.Millisecond)
	}
	// The last outcomes may still be being written.
	for settled := false; !settled && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		settled = true
		for _, ep := range []webhooks.Endpoint{epA, epB} {
			for _, d := range h.deliveries(t, ep) {
				settled = settled && d.State == webhooks.StateSucceeded
			}
		}
	}
	if err := mod.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d of %d write transactions failed", store.failed.Load(), store.calls.Load())
	if store.failed.Load() == 0 {
		t.Fatal("no storage error was injected")
	}
	for _, c := range []struct {
		ep webhooks.Endpoint
		rc *receiver
	}{{epA, a}, {epB, b}} {
		seen := map[string]int{}
		for _, r := range c.rc.requests() {
			seen[r.header.Get(signature.WebhookIDHeader)]++
		}
		ds := h.deliveries(t, c.ep)
		if len(ds) != 300 || len(seen) != 300 {
			t.Fatalf("%d messages, %d distinct deliveries; want 300 each", len(ds), len(seen))
		}
		for _, d := range ds {
			if d.State != webhooks.StateSucceeded || d.Attempts != 1 || seen[d.ID] != 1 {
				t.Fatalf("message %s: %s after %d attempts, received %d times", d.ID, d.State, d.Attempts, seen[d.ID])
			}
		}
	}
}
