package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	airtablesim "github.com/aquascene/aquahub/connectors/airtable/sim"
	sendgridsim "github.com/aquascene/aquahub/connectors/sendgrid/sim"
	"github.com/aquascene/aquahub/connectors/simkit"
	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/identity"
	"github.com/aquascene/aquahub/internal/webhooks"
	"github.com/aquascene/aquahub/plugins"
	"github.com/aquascene/aquahub/sdk/signature"
	"github.com/spf13/cobra"
)

// connectorIsolation is the connector half of `aquahub bench isolation`: Airtable
// records.create runs alone, then posted behind a backlog of SendGrid runs whose simulator
// answers slowly.
type connectorIsolation struct {
	Runs    int `json:"runs"`
	Backlog int `json:"backlog"`
	// SlowLatencyS is how long the SendGrid simulator takes to answer.
	SlowLatencyS float64 `json:"slow_latency_s"`
	AloneS       float64 `json:"alone_s"`
	BesideS      float64 `json:"beside_s"`
	// Ratio is BesideS / AloneS.
	Ratio float64 `json:"ratio"`
	// BacklogDone is how many backlog runs had finished when the last Airtable run did.
	BacklogDone int `json:"backlog_done"`
}

// webhookIsolation is the webhook half: a healthy endpoint alone, then beside one that
// answers 500 after a delay.
type webhookIsolation struct {
	Deliveries int `json:"deliveries"`
	// FailingLatencyS is how long the failing endpoint takes to answer 500.
	FailingLatencyS float64 `json:"failing_latency_s"`
	AloneS          float64 `json:"alone_s"`
	BesideS         float64 `json:"beside_s"`
	AlonePerS       float64 `json:"alone_per_s"`
	BesidePerS      float64 `json:"beside_per_s"`
	// Kept is BesidePerS / AlonePerS.
	Kept float64 `json:"kept"`
	// FailingAttempts is how many requests the failing endpoint received meanwhile, of
	// FailingMessages queued for it.
	FailingAttempts int `json:"failing_attempts"`
	FailingMessages int `json:"failing_messages"`
	// Circuit is the failing endpoint's breaker when the healthy one was done.
	Circuit string `json:"circuit"`
}

// isolationResult is what `aquahub bench isolation` prints.
type isolationResult struct {
	Connectors connectorIsolation `json:"connectors"`
	Webhooks   webhookIsolation   `json:"webhooks"`
	CPUs       int                `json:"cpus"`
}

func newBenchIsolationCmd() *cobra.Command {
	var (
		runs, backlog, deliveries int
		slow, failing             time.Duration
		asJSON                    bool
	)
	cmd := &cobra.Command{
		Use:   "isolation",
		Short: "A healthy connector and a healthy webhook endpoint, alone and beside a slow vendor or a failing endpoint",
		Long: `Starts a hub on loopback with a temporary data directory and the SendGrid and Airtable
simulators. Connectors: --runs Airtable records.create runs alone, then the same number posted
behind --backlog SendGrid runs whose simulator answers after --slow. Webhooks: --deliveries
events to one healthy endpoint alone, then as many again with a second endpoint subscribed
that answers 500 after --failing. It prints each healthy path's time alone and beside the
faulty one. The connectors come from build/connectors (make connectors).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			res := isolationResult{CPUs: runtime.NumCPU()}
			rig, err := startConnectorRig(ctx, connectorRigOptions{connectors: filepath.Join("build", "connectors")})
			if err != nil {
				return err
			}
			res.Connectors, err = rig.slowVendor(ctx, runs, backlog, slow)
			rig.close()
			if err != nil {
				return err
			}
			wr, err := startWebhookRig(ctx, nil)
			if err != nil {
				return err
			}
			res.Webhooks, err = wr.failingEndpoint(ctx, deliveries, failing)
			wr.close()
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
			}
			printIsolation(cmd.OutOrStdout(), res)
			return nil
		},
	}
	cmd.Flags().IntVar(&runs, "runs", 20, "Airtable records.create runs")
	cmd.Flags().IntVar(&backlog, "backlog", 200, "SendGrid runs posted ahead of them")
	cmd.Flags().DurationVar(&slow, "slow", 3*time.Second, "SendGrid simulator's answer time")
	cmd.Flags().IntVar(&deliveries, "deliveries", 2000, "webhook deliveries to the healthy endpoint in each phase")
	cmd.Flags().DurationVar(&failing, "failing", 5*time.Second, "failing endpoint's time to answer 500")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

func printIsolation(w io.Writer, r isolationResult) {
	c, h := r.Connectors, r.Webhooks
	fmt.Fprintf(w, "isolation (%d CPUs)\n", r.CPUs)
	fmt.Fprintf(w, "  connectors  %d Airtable records.create runs: alone %.2fs; behind %d SendGrid runs answering after %.0fs: %.2fs (%.2f× alone), %d of the %d done by then\n",
		c.Runs, c.AloneS, c.Backlog, c.SlowLatencyS, c.BesideS, c.Ratio, c.BacklogDone, c.Backlog)
	fmt.Fprintf(w, "  webhooks    healthy endpoint, %d deliveries: alone %.2fs (%.0f/s); beside one answering 500 after %.0fs: %.2fs (%.0f/s, %.0f%% of alone)\n",
		h.Deliveries, h.AloneS, h.AlonePerS, h.FailingLatencyS, h.BesideS, h.BesidePerS, 100*h.Kept)
	fmt.Fprintf(w, "              the failing endpoint meanwhile: %d requests for %d messages, circuit %s\n", h.FailingAttempts, h.FailingMessages, h.Circuit)
}

// isolationRules drive the connector rig: SendGrid mail.send on bench.mail, Airtable
// records.create on bench.record, and, when the hostile test connector is loaded, its
// loop (runs until the call deadline) and panic (traps) actions.
const isolationRules = `rules:
  - id: mail
    on: bench.mail
    steps:
      - id: send
        connector: sendgrid
        action: mail.send
        with:
          from: { email: newsletter@aquascene.bg, name: AquaScene }
          to: [ { email: "${{ event.data.to }}" } ]
          subject: Isolation
          text: hello
          custom_args: { bench_id: "${{ event.id }}" }
  - id: record
    on: bench.record
    steps:
      - id: create
        connector: airtable
        action: records.create
        with:
          table: Content_Master
          fields: { Content_ID: "${{ event.id }}", Title: isolation }
`

const hostileRules = `  - id: spin
    on: bench.loop
    retry: { attempts: 1 }
    steps: [ { id: spin, connector: hostile, action: loop } ]
  - id: trap
    on: bench.panic
    retry: { attempts: 2, initial: 100ms, max: 100ms, backoff: constant }
    steps: [ { id: trap, connector: hostile, action: panic, with: { message: boom } } ]
`

// connectorRigOptions configure startConnectorRig.
type connectorRigOptions struct {
	// connectors holds sendgrid.wasm and airtable.wasm.
	connectors string
	// hostile, when set, is the hostile test connector's .wasm, loaded for tenant "hostile".
	hostile string
	// sendgrid are the SendGrid simulator's faults at start.
	sendgrid simkit.Faults
	// config adjusts the hub's configuration.
	config func(*Config)
}

// connectorRig is an in-process hub on loopback with the SendGrid and Airtable simulators,
// the dev tenant's connectors granted to them.
type connectorRig struct {
	h        *hub
	sendgrid *sendgridsim.Server
	airtable *airtablesim.Server
	close    func()
	// posted holds the runs started by each prefix of event ids.
	posted map[string][]string
}

// hostileTenant runs the hostile connector in the rig.
const hostileTenant = "hostile"

func startConnectorRig(ctx context.Context, o connectorRigOptions) (*connectorRig, error) {
	var stops []func()
	stopAll := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	fail := func(err error) (*connectorRig, error) {
		stopAll()
		return nil, err
	}
	r := &connectorRig{
		posted:   map[string][]string{},
		sendgrid: sendgridsim.New(sendgridsim.WithFaults(o.sendgrid)),
		airtable: airtablesim.New(airtablesim.WithRateLimit(devAirtableRate, rateLimitPenalty)),
	}
	serve := func(h http.Handler) (string, error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		srv := &http.Server{Handler: h}
		go srv.Serve(ln)
		stops = append(stops, func() { srv.Close() })
		return "http://" + ln.Addr().String(), nil
	}
	sgURL, err := serve(r.sendgrid)
	if err != nil {
		return fail(err)
	}
	atURL, err := serve(r.airtable)
	if err != nil {
		return fail(err)
	}
	files := map[string]string{"sendgrid.wasm": filepath.Join(o.connectors, "sendgrid.wasm"), "airtable.wasm": filepath.Join(o.connectors, "airtable.wasm")}
	rulesYAML := isolationRules
	if o.hostile != "" {
		files["hostile.wasm"] = o.hostile
		rulesYAML += hostileRules
	}
	sims := simulators()
	th, err := startTempHub(ctx, tempHubSpec{prefix: "aquahub-bench-isolation-", rules: rulesYAML, modules: files, log: slog.LevelError,
		configure: func(cfg *Config) {
			cfg.Tenants[0].Connectors = map[string]plugins.TenantConfig{
				"sendgrid": sims["sendgrid"].connector(sgURL, sendgridsim.DefaultKey),
				"airtable": sims["airtable"].connector(atURL, airtablesim.DefaultKey),
			}
			if o.hostile != "" {
				cfg.Tenants = append(cfg.Tenants, Tenant{ID: hostileTenant, TenantConfig: identity.TenantConfig{APIKeys: []identity.ConfigKey{{Key: "hostile-key", Role: core.RoleAdmin}}},
					Connectors: map[string]plugins.TenantConfig{"hostile": {}}})
			}
			if o.config != nil {
				o.config(cfg)
			}
		}})
	if err != nil {
		return fail(err)
	}
	stops = append(stops, th.stop)
	r.h, r.close = th.h, stopAll
	return r, nil
}

// post ingests n events of type typ for tenant, ids prefix-0…, in batches, and returns the
// ids of the runs they started.
func (r *connectorRig) post(ctx context.Context, tenant, typ, prefix string, n int) ([]string, error) {
	var runs []string
	for start := 0; start < n; start += 100 {
		evs := make([]core.Event, 0, 100)
		for i := start; i < min(start+100, n); i++ {
			data, _ := json.Marshal(map[string]string{"to": fmt.Sprintf("reader-%d@example.com", i)})
			evs = append(evs, core.Event{ID: fmt.Sprintf("%s-%d", prefix, i), Source: "aquahub/bench", Type: typ,
				SpecVersion: core.SpecVersion, DataContentType: "application/json", Data: data})
		}
		res, err := r.h.engine.Ingest(ctx, tenant, "", evs)
		if err != nil {
			return nil, fmt.Errorf("posting %s: %w", typ, err)
		}
		for _, a := range res.Events {
			runs = append(runs, a.Runs...)
		}
	}
	r.posted[prefix] = append(r.posted[prefix], runs...)
	return runs, nil
}

// finished counts the runs that succeeded or died.
func (r *connectorRig) finished(ctx context.Context, tenant string, runs []string) (int, error) {
	n := 0
	for _, id := range runs {
		run, err := r.h.db.Pipeline().Run(ctx, tenant, id)
		if err != nil {
			return 0, err
		}
		if run.Status == core.RunSucceeded || run.Status == core.RunDead {
			n++
		}
	}
	return n, nil
}

// wait waits until every run finished, polling; it fails after patience.
func (r *connectorRig) wait(ctx context.Context, tenant string, runs []string, patience time.Duration) error {
	deadline := time.Now().Add(patience)
	pending := append([]string(nil), runs...)
	for len(pending) > 0 {
		left := pending[:0]
		for _, id := range pending {
			run, err := r.h.db.Pipeline().Run(ctx, tenant, id)
			if err != nil {
				return err
			}
			if run.Status != core.RunSucceeded && run.Status != core.RunDead {
				left = append(left, id)
			}
		}
		pending = left
		if len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d runs of %s did not finish in %s", len(pending), len(runs), tenant, patience)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// slowVendor measures runs Airtable runs alone, then behind backlog SendGrid runs whose
// simulator answers after latency; then the simulator heals and the backlog drains.
func (r *connectorRig) slowVendor(ctx context.Context, runs, backlog int, latency time.Duration) (connectorIsolation, error) {
	res := connectorIsolation{Runs: runs, Backlog: backlog, SlowLatencyS: latency.Seconds()}
	start := time.Now()
	alone, err := r.post(ctx, DevTenant, "bench.record", "alone", runs)
	if err != nil {
		return res, err
	}
	if err := r.wait(ctx, DevTenant, alone, 2*time.Minute); err != nil {
		return res, err
	}
	res.AloneS = time.Since(start).Seconds()

	r.sendgrid.Injector().Set(simkit.Faults{Latency: latency})
	mail, err := r.post(ctx, DevTenant, "bench.mail", "mail", backlog)
	if err != nil {
		return res, err
	}
	start = time.Now()
	beside, err := r.post(ctx, DevTenant, "bench.record", "beside", runs)
	if err != nil {
		return res, err
	}
	if err := r.wait(ctx, DevTenant, beside, 5*time.Minute); err != nil {
		return res, err
	}
	res.BesideS = time.Since(start).Seconds()
	if res.BacklogDone, err = r.finished(ctx, DevTenant, mail); err != nil {
		return res, err
	}
	res.Ratio = res.BesideS / res.AloneS
	r.sendgrid.Injector().Set(simkit.Faults{})
	return res, r.wait(ctx, DevTenant, mail, 5*time.Minute)
}

// receiver is a webhook receiver counting deliveries by webhook-id; answer decides each
// response.
type receiver struct {
	mu     sync.Mutex
	ids    map[string]int
	total  int
	want   int
	done   chan struct{}
	answer func(w http.ResponseWriter, r *http.Request)
	url    string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	id := r.Header.Get(signature.WebhookIDHeader)
	rc.mu.Lock()
	rc.ids[id]++
	rc.total++
	if rc.want > 0 && len(rc.ids) >= rc.want && rc.done != nil {
		close(rc.done)
		rc.done = nil
	}
	answer := rc.answer
	rc.mu.Unlock()
	if answer != nil {
		answer(w, r)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// expect returns a channel closed once n distinct messages have arrived.
func (rc *receiver) expect(n int) <-chan struct{} {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	ch := make(chan struct{})
	if len(rc.ids) >= n {
		close(ch)
		return ch
	}
	rc.want, rc.done = n, ch
	return ch
}

func (rc *receiver) counts() (distinct, total int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.ids), rc.total
}

func (rc *receiver) setAnswer(f func(w http.ResponseWriter, r *http.Request)) {
	rc.mu.Lock()
	rc.answer = f
	rc.mu.Unlock()
}

// webhookRig is an in-process hub on loopback whose webhooks deliver to two receivers: a
// healthy one and one that fails as told.
type webhookRig struct {
	h                *hub
	mod              *webhooks.Module
	healthy, failing *receiver
	close            func()
}

// startWebhookRig starts the hub; cfg, when set, adjusts its configuration.
func startWebhookRig(ctx context.Context, cfg func(*Config)) (*webhookRig, error) {
	var stops []func()
	stopAll := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	fail := func(err error) (*webhookRig, error) {
		stopAll()
		return nil, err
	}
	r := &webhookRig{healthy: &receiver{ids: map[string]int{}}, failing: &receiver{ids: map[string]int{}}}
	for _, rc := range []*receiver{r.healthy, r.failing} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fail(err)
		}
		srv := &http.Server{Handler: rc}
		go srv.Serve(ln)
		stops = append(stops, func() { srv.Close() })
		rc.url = "http://" + ln.Addr().String() + "/hook"
	}
	th, err := startTempHub(ctx, tempHubSpec{prefix: "aquahub-bench-isolation-", log: slog.LevelError,
		rules: "rules:\n  - id: none\n    on: never.sent\n    steps: [ { id: note, log: { message: x } } ]\n",
		configure: func(c *Config) {
			c.Webhooks.AllowHTTP, c.Webhooks.AllowLoopback = true, true
			if cfg != nil {
				cfg(c)
			}
		}})
	if err != nil {
		return fail(err)
	}
	stops = append(stops, th.stop)
	for _, m := range th.h.modules {
		if w, ok := m.(*webhooks.Module); ok {
			r.mod = w
		}
	}
	r.h, r.close = th.h, stopAll
	return r, nil
}

// publish ingests n events of type bench.delivery, ids prefix-0…, in batches.
func (r *webhookRig) publish(ctx context.Context, prefix string, n int) error {
	for start := 0; start < n; start += 200 {
		evs := make([]core.Event, 0, 200)
		for i := start; i < min(start+200, n); i++ {
			evs = append(evs, core.Event{ID: fmt.Sprintf("%s-%d", prefix, i), Source: "aquahub/bench", Type: "bench.delivery",
				SpecVersion: core.SpecVersion, DataContentType: "application/json", Data: json.RawMessage(benchEventBody(i))})
		}
		if _, err := r.h.engine.Ingest(ctx, DevTenant, "", evs); err != nil {
			return err
		}
	}
	return nil
}

// endpoint registers an endpoint for bench.* events at rc.
func (r *webhookRig) endpoint(ctx context.Context, rc *receiver) (webhooks.Endpoint, error) {
	return r.mod.Create(ctx, DevTenant, webhooks.EndpointInput{URL: rc.url, Events: []string{"bench.*"}})
}

// failingEndpoint measures the healthy endpoint's deliveries alone, then beside an endpoint
// that answers 500 after latency.
func (r *webhookRig) failingEndpoint(ctx context.Context, n int, latency time.Duration) (webhookIsolation, error) {
	res := webhookIsolation{Deliveries: n, FailingLatencyS: latency.Seconds(), FailingMessages: n}
	if _, err := r.endpoint(ctx, r.healthy); err != nil {
		return res, err
	}
	phase := func(prefix string, want int) (time.Duration, error) {
		done := r.healthy.expect(want)
		start := time.Now()
		count := n
		if prefix == "warm" {
			count = want
		}
		if err := r.publish(ctx, prefix, count); err != nil {
			return 0, err
		}
		select {
		case <-done:
		case <-time.After(5 * time.Minute):
			got, _ := r.healthy.counts()
			return 0, fmt.Errorf("the healthy endpoint received %d of %d deliveries in 5 minutes", got, want)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		return time.Since(start), nil
	}
	// A first round, not measured, so that both phases run on a warm file and connections.
	const warm = 200
	if _, err := phase("warm", warm); err != nil {
		return res, err
	}
	alone, err := phase("alone", warm+n)
	if err != nil {
		return res, err
	}
	r.failing.setAnswer(func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-time.After(latency):
		case <-req.Context().Done():
		}
		w.WriteHeader(http.StatusInternalServerError)
	})
	failing, err := r.endpoint(ctx, r.failing)
	if err != nil {
		return res, err
	}
	beside, err := phase("beside", warm+2*n)
	if err != nil {
		return res, err
	}
	_, res.FailingAttempts = r.failing.counts()
	state, _ := r.mod.Circuit(DevTenant, failing.ID)
	res.Circuit = string(state)
	res.AloneS, res.BesideS = alone.Seconds(), beside.Seconds()
	res.AlonePerS, res.BesidePerS = float64(n)/alone.Seconds(), float64(n)/beside.Seconds()
	res.Kept = res.BesidePerS / res.AlonePerS
	return res, nil
}
