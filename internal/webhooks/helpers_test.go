package webhooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/secrets"
	"github.com/aquascene/aquahub/internal/storage/bolt"
	"github.com/aquascene/aquahub/internal/webhooks"
	"github.com/aquascene/aquahub/sdk/signature"
)

// fakeClock is a core.Clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2025, 8, 6, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// memEvents is an EventReader over a slice.
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

// testVault seals endpoint secrets with one master key for the whole test binary, so that a
// file reopened by a test reads back.
var testVault = func() *secrets.Vault {
	key, _ := secrets.ParseMasterKey(secrets.NewMasterKey())
	v, err := secrets.NewVault(key)
	if err != nil {
		panic(err)
	}
	return v
}()

func openDB(tb testing.TB, path string) *bolt.DB {
	tb.Helper()
	db, err := bolt.OpenWith(bolt.Config{Path: path}, bolt.Options{Secrets: testVault})
	if err != nil {
		tb.Fatal(err)
	}
	return db
}

// harness is a module with a fake clock, an in-memory event source and a recording publisher,
// on a storage file of its own.
type harness struct {
	mod    *webhooks.Module
	clock  *fakeClock
	events *memEvents
	pub    *recPublisher
	db     *bolt.DB
	path   string
}

func newHarness(tb testing.TB, cfg func(*webhooks.Config)) *harness {
	tb.Helper()
	h := &harness{clock: newFakeClock(), events: &memEvents{}, pub: &recPublisher{}}
	h.path = filepath.Join(tb.TempDir(), "hub.db")
	h.db = openDB(tb, h.path)
	tb.Cleanup(func() { h.db.Close() })
	h.start(tb, cfg)
	return h
}

// start builds the module over h.db, allowing loopback http receivers unless cfg says
// otherwise.
func (h *harness) start(tb testing.TB, cfg func(*webhooks.Config)) {
	tb.Helper()
	c := webhooks.Config{AllowHTTP: true, AllowLoopback: true, Workers: 4}
	if cfg != nil {
		cfg(&c)
	}
	mod, err := webhooks.New(c, webhooks.Deps{
		Store: h.db.Webhooks(), Events: h.events, Publisher: h.pub, Clock: h.clock,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		tb.Fatal(err)
	}
	h.mod = mod
}

func (h *harness) create(tb testing.TB, url string, events ...string) (webhooks.Endpoint, signature.Secret) {
	tb.Helper()
	ep, err := h.mod.Create(context.Background(), "aquascene", webhooks.EndpointInput{URL: url, Events: events})
	if err != nil {
		tb.Fatal(err)
	}
	return ep, ep.Secret
}

// pass runs one fan-out and one delivery pass and returns the attempts made.
func (h *harness) pass(tb testing.TB) int {
	tb.Helper()
	if _, err := h.mod.FanOut(context.Background()); err != nil {
		tb.Fatal(err)
	}
	n, err := h.mod.DeliverDue(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func (h *harness) delivery(tb testing.TB, ep webhooks.Endpoint) webhooks.Delivery {
	tb.Helper()
	ds, err := h.mod.Deliveries(context.Background(), "aquascene", ep.ID, webhooks.DeliveryFilter{})
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
