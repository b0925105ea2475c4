package inbound

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/netguard"
)

// defaultRetention is how long message ids are remembered unless a source's tolerance asks
// for longer (twice it): senders retry for days with the same id.
const defaultRetention = 72 * time.Hour

// pruneEvery and pruneBatch bound the forgetting of expired message ids: at most once a
// minute, in short transactions.
const (
	pruneEvery = time.Minute
	pruneBatch = 1000
)

// Deps are what the module needs besides the sources' configuration.
type Deps struct {
	// Store keeps message ids and payload cursors. Without it the module only compiles its
	// sources (rules lint) and refuses requests.
	Store Store
	// Publisher takes the events (the engine). Required to receive.
	Publisher core.Publisher
	// Clock defaults to the wall clock.
	Clock core.Clock
	// Policy decides which addresses the hub may reach on a sender's behalf (the Airtable
	// payload fetch); the zero value allows public https origins only.
	Policy netguard.Policy
	// Schemes are the verifiers sources may name (default DefaultSchemes()).
	Schemes *Schemes
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Module serves the tenants' inbound webhook sources at POST /hooks/{tenant}/{source}: it
// verifies each request with its source's scheme, refuses replays, maps the payload to
// CloudEvents and publishes them into the pipeline.
//
// Lifecycle: New compiles every source (a bad one is an error naming tenant and source) →
// Routes registered by the wiring → requests.
type Module struct {
	store     Store
	pub       core.Publisher
	clock     core.Clock
	log       *slog.Logger
	retention time.Duration
	sources   map[string]*Source

	mu        sync.Mutex
	lastPrune time.Time
}

// New compiles sources, keyed by tenant and then by source name.
func New(sources map[string]map[string]SourceConfig, deps Deps) (*Module, error) {
	m := &Module{store: deps.Store, pub: deps.Publisher, clock: deps.Clock, log: deps.Logger,
		retention: defaultRetention, sources: map[string]*Source{}}
	if m.clock == nil {
		m.clock = core.SystemClock{}
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	schemes := deps.Schemes
	if schemes == nil {
		schemes = DefaultSchemes()
	}
	intake := IntakeDeps{Store: deps.Store, Publisher: deps.Publisher, Policy: deps.Policy}
	var errs []error
	for _, tenant := range sortedKeys(sources) {
		for _, name := range sortedKeys(sources[tenant]) {
			s, err := compileSource(tenant, name, sources[tenant][name], schemes, intake)
			if err != nil {
				errs = append(errs, fmt.Errorf("source %q of tenant %q: %w", name, tenant, err))
				continue
			}
			m.retention = max(m.retention, 2*s.tolerance)
			m.sources[tenant+"\x00"+name] = s
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("inbound: %w", err)
	}
	return m, nil
}

// Name implements core.Module.
func (m *Module) Name() string { return "inbound" }

// errNoStore is returned by a module built without storage or publisher (rules check only).
var errNoStore = fmt.Errorf("inbound: built without storage or publisher (rules check only): %w", core.ErrClosed)

// Result is the answer to one request.
type Result struct {
	// Accepted is the published event (the last one when a request became several).
	Accepted core.Accepted
	// Duplicate is true when the request published nothing new: the sender's message id
	// was already received, or every event was a duplicate.
	Duplicate bool
	// Events lists every event published when one request becomes several (an Airtable
	// ping's changed records, a SendGrid batch's items).
	Events []core.Accepted
	// Handshake is true when the request was the sender's handshake (Verified.Handshake):
	// nothing was published, and the answer is 200.
	Handshake bool
}

// Receive verifies and publishes one request to tenant's source. An unknown source is
// core.ErrNotFound; failed verification wraps ErrUnauthorized; a repeated message id is
// answered with the first event's id and Duplicate set, publishing nothing.
func (m *Module) Receive(ctx context.Context, tenant, source string, header http.Header, body []byte) (Result, error) {
	s := m.sources[tenant+"\x00"+source]
	if s == nil {
		return Result{}, fmt.Errorf("webhook source %q: %w", source, core.ErrNotFound)
	}
	if m.store == nil || m.pub == nil {
		return Result{}, errNoStore
	}
	req := Request{Header: header, Body: body, Now: m.clock.Now()}
	ver, err := s.verifier.Verify(req)
	if err != nil {
		return Result{}, err
	}
	if ver.Handshake {
		return Result{Handshake: true, Accepted: core.Accepted{Source: eventSource(source)}}, nil
	}
	if s.intake != nil {
		return s.intake.Receive(ctx, s, req, ver)
	}
	ev, err := s.event(req, ver)
	if err != nil {
		return Result{}, err
	}
	if ver.ID != "" {
		dup, err := m.store.MessageSeen(ctx, tenant, source, ver.ID, req.Now)
		if err != nil {
			return Result{}, fmt.Errorf("checking message id: %w", err)
		}
		if dup {
			return Result{Duplicate: true, Accepted: core.Accepted{ID: ev.ID, Source: ev.Source, Duplicate: true}}, nil
		}
	}
	acc, err := m.pub.Publish(ctx, tenant, ev)
	if err != nil {
		return Result{}, err
	}
	res := Result{Accepted: core.Accepted{ID: ev.ID, Source: ev.Source}}
	if len(acc) == 1 {
		res.Accepted = acc[0]
		res.Duplicate = acc[0].Duplicate
	}
	if ver.ID != "" {
		if err := m.store.RememberMessage(ctx, tenant, source, ver.ID, req.Now.Add(m.retention)); err != nil {
			return res, fmt.Errorf("remembering message id: %w", err)
		}
		m.prune(ctx, req.Now)
	}
	return res, nil
}

// prune forgets expired message ids, at most once a minute.
func (m *Module) prune(ctx context.Context, now time.Time) {
	m.mu.Lock()
	if now.Sub(m.lastPrune) < pruneEvery {
		m.mu.Unlock()
		return
	}
	m.lastPrune = now
	m.mu.Unlock()
	if _, err := m.store.ForgetMessages(ctx, now, pruneBatch); err != nil {
		m.log.Warn("forgetting expired inbound message ids", "err", err)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var _ core.Module = (*Module)(nil)
