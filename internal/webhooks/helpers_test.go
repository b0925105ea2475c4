package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/netguard"
	bbolt "go.etcd.io/bbolt"
)

// fakeClock is a Clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2025, 8, 6, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// memEvents is an EventSource over a slice.
type memEvents struct {
	mu  sync.Mutex
	evs []core.Event
}

func (m *memEvents) EventsAfter(_ context.Context, after uint64, limit int) ([]core.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []core.Event
	for _, e := range m.evs {
		if e.Seq > after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (m *memEvents) add(tenant, typ string) core.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	seq := uint64(len(m.evs) + 1)
	ev := core.Event{ID: fmt.Sprintf("ev-%d", seq), Source: "test", Type: typ, SpecVersion: "1.0",
		Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, seq)), Tenant: tenant, Seq: seq}
	m.evs = append(m.evs, ev)
	return ev
}

// recPublisher records published events.
type recPublisher struct {
	mu     sync.Mutex
	events []core.Event
}

func (p *recPublisher) Publish(_ context.Context, tenant string, evs ...core.Event) ([]core.Accepted, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []core.Accepted
	for _, e := range evs {
		e.Tenant = tenant
		p.events = append(p.events, e)
		out = append(out, core.Accepted{ID: e.ID, Source: e.Source})
	}
	return out, nil
}

func (p *recPublisher) types() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, e := range p.events {
		out = append(out, e.Type)
	}
	return out
}

func openDB(tb testing.TB, path string) *bbolt.DB {
	tb.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	return db
}

// harness is a Service with a fake clock, an in-memory event source and a recording publisher.
type harness struct {
	svc    *Service
	clock  *fakeClock
	events *memEvents
	pub    *recPublisher
	db     *bbolt.DB
	path   string
}

func newHarness(tb testing.TB, mod func(*Options)) *harness {
	tb.Helper()
	h := &harness{clock: newFakeClock(), events: &memEvents{}, pub: &recPublisher{}}
	h.path = filepath.Join(tb.TempDir(), "hub.db")
	h.db = openDB(tb, h.path)
	tb.Cleanup(func() { h.db.Close() })
	h.start(tb, mod)
	return h
}

func (h *harness) start(tb testing.TB, mod func(*Options)) {
	tb.Helper()
	opts := Options{
		DB: h.db, Events: h.events, Publisher: h.pub, Clock: h.clock,
		Policy: netguard.Policy{AllowHTTP: true, AllowLoopback: true}, Workers: 4,
	}
	if mod != nil {
		mod(&opts)
	}
	svc, err := New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	h.svc = svc
}

func (h *harness) create(tb testing.TB, url string, events ...string) (Endpoint, Secret) {
	tb.Helper()
	ep, sec, err := h.svc.Create(context.Background(), "aquascene", EndpointInput{URL: url, Events: events})
	if err != nil {
		tb.Fatal(err)
	}
	return ep, sec
}

// pass runs one fan-out and one delivery pass and returns the attempts made.
func (h *harness) pass(tb testing.TB) int {
	tb.Helper()
	if _, err := h.svc.FanOut(context.Background()); err != nil {
		tb.Fatal(err)
	}
	n, err := h.svc.DeliverDue(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func (h *harness) delivery(tb testing.TB, ep Endpoint) Delivery {
	tb.Helper()
	ds, err := h.svc.Deliveries(context.Background(), "aquascene", ep.ID, DeliveryFilter{})
	if err != nil {
		tb.Fatal(err)
	}
	if len(ds) != 1 {
		tb.Fatalf("%d deliveries, want 1", len(ds))
	}
	return ds[0]
}

// received is one request a receiver saw.
type received struct {
	header http.Header
	body   []byte
	path   string
}

// receiver is a loopback HTTP server that records requests and answers with respond.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     []received
	respond func(n int, w http.ResponseWriter, r *http.Request)
}

func newReceiver(tb testing.TB, respond func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	tb.Helper()
	rc := &receiver{respond: respond}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{header: r.Header.Clone(), body: body, path: r.URL.Path})
		n := len(rc.got)
		rc.mu.Unlock()
		if rc.respond != nil {
			rc.respond(n, w, r)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	tb.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func status(code int) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}
