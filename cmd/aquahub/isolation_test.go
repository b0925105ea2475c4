package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	airtablesim "github.com/aquascene/aquahub/connectors/airtable/sim"
	"github.com/aquascene/aquahub/connectors/simkit"
	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/webhooks"
	"github.com/aquascene/aquahub/plugins"
	"github.com/aquascene/aquahub/plugins/wasmtest"
)

// The fault-injection suite: each scenario runs a healthy path beside a faulty one and
// checks that the faulty path degrades as designed, that the healthy path finishes while
// the faulty backlog is still mostly waiting, and, at the end, that the ledger and the
// delivery log account for every run and every message exactly once. Figures are printed
// with t.Logf; assertions are about order and counts, never bare timings.

func newConnectorRig(t *testing.T, o connectorRigOptions) *connectorRig {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a hub with wasm connectors")
	}
	o.connectors = connectorsDir(t)
	r, err := startConnectorRig(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	return r
}

func (r *connectorRig) mustPost(t *testing.T, tenant, typ, prefix string, n int) []string {
	t.Helper()
	runs, err := r.post(t.Context(), tenant, typ, prefix, n)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != n {
		t.Fatalf("%d events of %s started %d runs", n, typ, len(runs))
	}
	return runs
}

func (r *connectorRig) mustWait(t *testing.T, tenant string, runs []string) {
	t.Helper()
	if err := r.wait(t.Context(), tenant, runs, 5*time.Minute); err != nil {
		t.Fatal(err)
	}
}

func (r *connectorRig) mustFinished(t *testing.T, tenant string, runs []string) int {
	t.Helper()
	n, err := r.finished(t.Context(), tenant, runs)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// ledger checks that every run is in state want with one ledger entry, done or failed as
// the state says, and returns the runs.
func (r *connectorRig) ledger(t *testing.T, tenant string, runs []string, want core.RunStatus) []core.Run {
	t.Helper()
	out := make([]core.Run, 0, len(runs))
	for _, id := range runs {
		run, err := r.h.db.Pipeline().Run(t.Context(), tenant, id)
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != want {
			t.Fatalf("run %s (%s) is %s, want %s: %s", id, run.RuleID, run.Status, want, run.LastError)
		}
		if want == core.RunSucceeded && (len(run.Steps) != 1 || !run.Steps[0].Done()) {
			t.Fatalf("run %s's ledger: %+v, want its one step done once", id, run.Steps)
		}
		out = append(out, run)
	}
	return out
}

// mailOnce checks that the SendGrid simulator accepted exactly one message for each of the
// n events prefix-0…
func (r *connectorRig) mailOnce(t *testing.T, prefix string, n int) {
	t.Helper()
	seen := map[string]int{}
	for _, m := range r.sendgrid.Messages() {
		var body struct {
			CustomArgs map[string]string `json:"custom_args"`
		}
		if err := json.Unmarshal(m.Body, &body); err != nil {
			t.Fatal(err)
		}
		if id := body.CustomArgs["bench_id"]; strings.HasPrefix(id, prefix+"-") {
			seen[id]++
		}
	}
	for i := range n {
		if id := fmt.Sprintf("%s-%d", prefix, i); seen[id] != 1 {
			t.Fatalf("SendGrid accepted %d messages for %s, want 1", seen[id], id)
		}
	}
}

// recordsOnce checks that the Airtable simulator holds exactly one record for each of the
// n events prefix-0…
func (r *connectorRig) recordsOnce(t *testing.T, prefix string, n int) {
	t.Helper()
	recs, err := r.airtable.Records(airtablesim.DefaultBase, "Content_Master")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, rec := range recs {
		if id, _ := rec.Fields["Content_ID"].(string); strings.HasPrefix(id, prefix+"-") {
			seen[id]++
		}
	}
	for i := range n {
		if id := fmt.Sprintf("%s-%d", prefix, i); seen[id] != 1 {
			t.Fatalf("Airtable holds %d records for %s, want 1", seen[id], id)
		}
	}
}

// sendgridAnswered counts the requests the SendGrid simulator answered with status.
func (r *connectorRig) sendgridAnswered(status int) int {
	n := 0
	for _, req := range r.sendgrid.Requests() {
		if req.Status == status {
			n++
		}
	}
	return n
}

// storedEvents returns the events stored for tenant whose type starts with prefix.
func storedEvents(t *testing.T, h *hub, tenant, prefix string) []core.Event {
	t.Helper()
	var out []core.Event
	var after uint64
	for {
		evs, err := h.db.Pipeline().EventsAfter(t.Context(), after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return out
		}
		for _, e := range evs {
			if e.Tenant == tenant && strings.HasPrefix(e.Type, prefix) {
				out = append(out, e)
			}
			after = e.Seq
		}
	}
}

func types(evs []core.Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.Type)
	}
	return strings.Join(s, ",")
}

// TestIsolationSlowVendor reruns the first measurement: 20 Airtable records.create
// runs alone, then posted behind 200 SendGrid runs whose simulator answers after 3 s. The
// Airtable runs must finish while the SendGrid backlog has barely started (a slow lane
// holds no worker), and every run must run exactly once.
func TestIsolationSlowVendor(t *testing.T) {
	r := newConnectorRig(t, connectorRigOptions{})
	res, err := r.slowVendor(t.Context(), 20, 200, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("20 Airtable runs: alone %.2fs, behind 200 SendGrid runs answering after 3s %.2fs (%.2f× alone); %d of the 200 done by then",
		res.AloneS, res.BesideS, res.Ratio, res.BacklogDone)
	// 200 calls of 3 s through 4 instances take 150 s; the Airtable runs need a few.
	if res.BacklogDone > 100 {
		t.Fatalf("the Airtable runs finished only after %d of the 200 slow SendGrid runs", res.BacklogDone)
	}
	for _, prefix := range []string{"alone", "mail", "beside"} {
		for _, run := range r.ledger(t, DevTenant, r.posted[prefix], core.RunSucceeded) {
			if run.Attempts != 1 {
				t.Fatalf("run %s took %d attempts; waiting for a lane must not count", run.ID, run.Attempts)
			}
		}
	}
	r.mailOnce(t, "mail", 200)
	r.recordsOnce(t, "alone", 20)
	r.recordsOnce(t, "beside", 20)
}

// TestIsolationFailingVendor: SendGrid answers 503 to everything. Its breaker (per tenant,
// connector and origin) opens after a few failures and the SendGrid runs are deferred, not
// failed and not charged attempts, while the Airtable runs complete. Once SendGrid recovers
// a probe closes the breaker and every SendGrid run succeeds with its message sent once.
func TestIsolationFailingVendor(t *testing.T) {
	r := newConnectorRig(t, connectorRigOptions{
		sendgrid: simkit.Faults{ErrorRatio: 1, ErrorStatus: http.StatusServiceUnavailable},
		config: func(c *Config) {
			c.Connectors.Circuit = core.BreakerConfig{FailureRatio: 0.5, MinRequests: 5, Window: time.Minute, TimeoutRun: 5,
				OpenFor: time.Second, MaxOpenFor: 2 * time.Second}
		},
	})
	mail := r.mustPost(t, DevTenant, "bench.mail", "mail", 40)
	records := r.mustPost(t, DevTenant, "bench.record", "record", 20)
	start := time.Now()
	r.mustWait(t, DevTenant, records)
	took := time.Since(start)
	requests := len(r.sendgrid.Requests())
	mailDone := r.mustFinished(t, DevTenant, mail)
	t.Logf("20 Airtable runs done in %.2fs beside 40 SendGrid runs against a failing SendGrid; SendGrid saw %d requests, %d mail runs finished",
		took.Seconds(), requests, mailDone)
	if mailDone != 0 {
		t.Fatalf("%d SendGrid runs finished (dead?) while SendGrid failed", mailDone)
	}
	// Without the breaker every run would be tried, and retried: at least 40 requests.
	if requests >= 40 {
		t.Fatalf("SendGrid received %d requests for 40 runs: the breaker did not hold them back", requests)
	}
	if evs := storedEvents(t, r.h, DevTenant, "connector.circuit."); len(evs) == 0 || evs[0].Type != plugins.EventCircuitOpened {
		t.Fatalf("circuit events %s, want connector.circuit.opened", types(evs))
	}

	r.sendgrid.Injector().Set(simkit.Faults{})
	r.mustWait(t, DevTenant, mail)
	// Every request SendGrid failed cost its run one attempt; a deferral costs none.
	attempts := 0
	for _, run := range r.ledger(t, DevTenant, mail, core.RunSucceeded) {
		attempts += run.Attempts
	}
	failed := r.sendgridAnswered(http.StatusServiceUnavailable)
	t.Logf("after recovery: 40 SendGrid runs took %d attempts; SendGrid failed %d requests in all", attempts, failed)
	if attempts != 40+failed {
		t.Fatalf("40 runs were charged %d attempts for %d failed requests: deferrals were counted", attempts, failed)
	}
	r.ledger(t, DevTenant, records, core.RunSucceeded)
	r.mailOnce(t, "mail", 40)
	r.recordsOnce(t, "record", 20)
	if evs := storedEvents(t, r.h, DevTenant, "connector.circuit."); types(evs) != plugins.EventCircuitOpened+","+plugins.EventCircuitClosed {
		t.Fatalf("circuit events %s, want opened then closed", types(evs))
	}
}

// TestIsolationRateLimitBursts: SendGrid answers bursts of 429. Those runs are retried
// after the vendor's reset, the breaker stays closed (a 429 is an answer, not a failure),
// Airtable runs beside them complete, and every message is sent once.
func TestIsolationRateLimitBursts(t *testing.T) {
	r := newConnectorRig(t, connectorRigOptions{sendgrid: simkit.Faults{RateLimitEvery: 8, RateLimitBurst: 3}})
	mail := r.mustPost(t, DevTenant, "bench.mail", "mail", 60)
	records := r.mustPost(t, DevTenant, "bench.record", "record", 20)
	r.mustWait(t, DevTenant, records)
	r.mustWait(t, DevTenant, mail)
	limited := r.sendgridAnswered(http.StatusTooManyRequests)
	attempts := 0
	for _, run := range r.ledger(t, DevTenant, mail, core.RunSucceeded) {
		attempts += run.Attempts
	}
	t.Logf("SendGrid answered %d requests with 429; the 60 runs took %d attempts; all succeeded", limited, attempts)
	if limited == 0 || attempts != 60+limited {
		t.Fatalf("%d 429s and %d attempts for 60 runs: want some 429s, each costing its run one attempt", limited, attempts)
	}
	if evs := storedEvents(t, r.h, DevTenant, "connector.circuit."); len(evs) != 0 {
		t.Fatalf("429s opened the breaker: %s", types(evs))
	}
	r.ledger(t, DevTenant, records, core.RunSucceeded)
	r.mailOnce(t, "mail", 60)
	r.recordsOnce(t, "record", 20)
}

// TestIsolationTrappingConnector: another tenant's connector spins until its call deadline
// or panics. Its runs die as designed (the deadline and the trap are transient, retried up
// to their rule's attempts) while this tenant's Airtable runs complete before most of them
// have even started.
func TestIsolationTrappingConnector(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the hostile connector")
	}
	hostile := wasmtest.Build(t, filepath.Join(repoRoot(t), "plugins", "testdata", "hostile"))
	// The call deadline is every connector's; 4 s leaves the Airtable calls room on a busy
	// machine while the spinning calls hold their instances for long.
	r := newConnectorRig(t, connectorRigOptions{hostile: hostile, config: func(c *Config) {
		c.Connectors.CallTimeout = 4 * time.Second
	}})
	loops := r.mustPost(t, hostileTenant, "bench.loop", "loop", 12)
	traps := r.mustPost(t, hostileTenant, "bench.panic", "trap", 10)
	records := r.mustPost(t, DevTenant, "bench.record", "record", 20)
	start := time.Now()
	r.mustWait(t, DevTenant, records)
	took := time.Since(start)
	loopsDone := r.mustFinished(t, hostileTenant, loops)
	t.Logf("20 Airtable runs done in %.2fs beside 12 runs spinning to their 4s deadline (%d of them done by then) and 10 that trap",
		took.Seconds(), loopsDone)
	// 12 calls of 4 s through 4 instances take 12 s.
	if loopsDone > 8 {
		t.Fatalf("the Airtable runs waited for the spinning runs: %d of 12 finished first", loopsDone)
	}
	r.mustWait(t, hostileTenant, append(loops, traps...))
	for _, run := range r.ledger(t, hostileTenant, loops, core.RunDead) {
		if run.Attempts != 1 || run.ErrorClass != string(core.ClassTransient) || !strings.Contains(run.LastError, "call stopped") {
			t.Fatalf("spinning run %s: %d attempts, %s: %s", run.ID, run.Attempts, run.ErrorClass, run.LastError)
		}
	}
	for _, run := range r.ledger(t, hostileTenant, traps, core.RunDead) {
		if run.Attempts != 2 || !strings.Contains(run.LastError, "boom") {
			t.Fatalf("trapping run %s: %d attempts: %s", run.ID, run.Attempts, run.LastError)
		}
	}
	r.ledger(t, DevTenant, records, core.RunSucceeded)
	r.recordsOnce(t, "record", 20)
}

func newWebhookRig(t *testing.T, cfg func(*Config)) *webhookRig {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a hub")
	}
	r, err := startWebhookRig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	return r
}

// quickRetries makes the rig's failed messages come back within seconds, and its breakers
// open after a few failures and probe after a second.
func quickRetries(c *Config) {
	c.Webhooks.Schedule = []time.Duration{0, time.Second, time.Second, time.Second, time.Second, time.Second, time.Second, time.Second}
	c.Webhooks.Circuit = core.BreakerConfig{FailureRatio: 0.5, MinRequests: 4, Window: time.Minute, TimeoutRun: 4,
		OpenFor: time.Second, MaxOpenFor: 2 * time.Second}
}

// waitCircuit waits until the endpoint's breaker is in state.
func (r *webhookRig) waitCircuit(t *testing.T, ep webhooks.Endpoint, state core.CircuitState) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if got, _ := r.mod.Circuit(DevTenant, ep.ID); got == state {
			return
		}
		if time.Now().After(deadline) {
			got, _ := r.mod.Circuit(DevTenant, ep.ID)
			t.Fatalf("the breaker of %s stayed %s, want %s", ep.URL, got, state)
		}
	}
}

// settle waits until none of the endpoint's messages is pending or sending.
func (r *webhookRig) settle(t *testing.T, ep webhooks.Endpoint) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		busy := 0
		for _, st := range []webhooks.DeliveryState{webhooks.StatePending, webhooks.StateSending} {
			ds, err := r.mod.Deliveries(t.Context(), DevTenant, ep.ID, webhooks.DeliveryFilter{State: st, Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			busy += len(ds)
		}
		if busy == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("messages of %s still waiting after 3 minutes", ep.URL)
		}
	}
}

// deliveryLog checks the endpoint's delivery log against what its receiver saw: n messages,
// each succeeded, each logged with exactly as many attempts as requests arrived with its
// webhook-id. It returns the attempts made.
func (r *webhookRig) deliveryLog(t *testing.T, ep webhooks.Endpoint, rc *receiver, n int) int {
	t.Helper()
	var all []webhooks.Delivery
	before := ""
	for {
		ds, err := r.mod.Deliveries(t.Context(), DevTenant, ep.ID, webhooks.DeliveryFilter{Before: before, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			break
		}
		all = append(all, ds...)
		before = ds[len(ds)-1].ID
	}
	if len(all) != n {
		t.Fatalf("%s has %d messages, want %d", ep.URL, len(all), n)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	attempts := 0
	for _, d := range all {
		if d.State != webhooks.StateSucceeded {
			t.Fatalf("message %s to %s is %s: %s", d.ID, ep.URL, d.State, d.LastError)
		}
		if got := rc.ids[d.ID]; got != d.Attempts {
			t.Fatalf("message %s: %d attempts logged, %d requests received", d.ID, d.Attempts, got)
		}
		attempts += d.Attempts
	}
	if len(rc.ids) != n {
		t.Fatalf("%s received %d distinct messages, want %d", ep.URL, len(rc.ids), n)
	}
	return attempts
}

// TestIsolationFailingWebhookEndpoint reruns the second measurement: a healthy
// endpoint's deliveries alone, then beside an endpoint that answers 500 after 5 s. The
// healthy endpoint must get all its messages while the failing one has been tried for only
// a few of its own; the failing one's breaker opens; once it recovers, every message of
// both is delivered, logged once per request, never twice successfully.
func TestIsolationFailingWebhookEndpoint(t *testing.T) {
	r := newWebhookRig(t, quickRetries)
	res, err := r.failingEndpoint(t.Context(), 2000, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("healthy endpoint, 2000 deliveries: alone %.2fs (%.0f/s), beside one answering 500 after 5s %.2fs (%.0f/s, %.0f%% of alone); the failing one got %d requests for %d messages meanwhile",
		res.AloneS, res.AlonePerS, res.BesideS, res.BesidePerS, 100*res.Kept, res.FailingAttempts, res.FailingMessages)
	if res.FailingAttempts > res.FailingMessages/10 {
		t.Fatalf("the healthy endpoint finished only after %d attempts to the failing one", res.FailingAttempts)
	}
	eps, err := r.mod.List(t.Context(), DevTenant)
	if err != nil || len(eps) != 2 {
		t.Fatalf("endpoints %v %v", eps, err)
	}
	healthy, failing := eps[0], eps[1]
	r.waitCircuit(t, failing, core.CircuitOpen)
	r.failing.setAnswer(nil)
	r.settle(t, failing)
	r.waitCircuit(t, failing, core.CircuitClosed)
	r.settle(t, healthy)
	if n := r.deliveryLog(t, healthy, r.healthy, 200+2*2000); n != 200+2*2000 {
		t.Fatalf("the healthy endpoint took %d attempts for %d messages", n, 200+2*2000)
	}
	attempts := r.deliveryLog(t, failing, r.failing, 2000)
	t.Logf("after recovery: the failing endpoint's 2000 messages delivered in %d attempts", attempts)
	evs := storedEvents(t, r.h, DevTenant, "webhook.endpoint.circuit.")
	if types(evs) != webhooks.EventCircuitOpened+","+webhooks.EventCircuitClosed {
		t.Fatalf("circuit events %s, want opened then closed", types(evs))
	}
}

// TestIsolationHangingReceiver: an endpoint that never answers is cut off at its own
// timeout; a run of timeouts opens its breaker; the healthy endpoint beside it gets every
// message before the hanging one has been tried for more than a few.
func TestIsolationHangingReceiver(t *testing.T) {
	r := newWebhookRig(t, quickRetries)
	ctx := t.Context()
	r.failing.setAnswer(func(w http.ResponseWriter, req *http.Request) { <-req.Context().Done() })
	healthy, err := r.endpoint(ctx, r.healthy)
	if err != nil {
		t.Fatal(err)
	}
	hanging, err := r.mod.Create(ctx, DevTenant, webhooks.EndpointInput{URL: r.failing.url, Events: []string{"bench.*"},
		EndpointSettings: webhooks.EndpointSettings{Timeout: 500 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	done := r.healthy.expect(500)
	start := time.Now()
	if err := r.publish(ctx, "hang", 500); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		t.Fatal("the healthy endpoint did not get its 500 messages")
	}
	_, tried := r.failing.counts()
	t.Logf("healthy endpoint: 500 deliveries in %.2fs beside one that hangs; the hanging one was tried %d times meanwhile", time.Since(start).Seconds(), tried)
	if tried > 50 {
		t.Fatalf("the hanging endpoint was tried %d times before the healthy one was done", tried)
	}
	r.waitCircuit(t, hanging, core.CircuitOpen)
	// The breaker hears of a timeout when the request ends; its attempt is written to the
	// delivery log just after, so the log is read until the attempts are in it.
	timeouts := 0
	for deadline := time.Now().Add(10 * time.Second); timeouts == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ds, err := r.mod.Deliveries(ctx, DevTenant, hanging.ID, webhooks.DeliveryFilter{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			for _, a := range d.Log {
				if strings.Contains(a.Error, "timeout") || strings.Contains(a.Error, "deadline") {
					timeouts++
				}
			}
		}
	}
	if timeouts == 0 {
		t.Fatalf("no attempt to the hanging endpoint was logged as a timeout")
	}
	r.failing.setAnswer(nil)
	r.settle(t, hanging)
	r.settle(t, healthy)
	r.deliveryLog(t, healthy, r.healthy, 500)
	attempts := r.deliveryLog(t, hanging, r.failing, 500)
	t.Logf("after recovery: %d timeouts logged; the hanging endpoint's 500 messages delivered in %d attempts", timeouts, attempts)
}
