package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	sendgridsim "github.com/aquascene/aquahub/connectors/sendgrid/sim"
	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/plugins"
	"github.com/spf13/cobra"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// pipelineResult is what `aquahub bench pipeline` prints.
type pipelineResult struct {
	Connector string `json:"connector"`
	Target    string `json:"target"`
	Events    int    `json:"events"`
	Clients   int    `json:"clients"`
	Accepted  int64  `json:"accepted"`
	Errors    int64  `json:"errors"`
	Delivered int64  `json:"delivered"`
	// AcceptedPerSec is accepts over the sending time; DeliveredPerSec is deliveries over
	// the time from the first send to the last delivery.
	AcceptedPerSec  float64 `json:"accepted_per_s"`
	DeliveredPerSec float64 `json:"delivered_per_s"`
	// SteadyPerSec is the delivery rate between the 10th and the 90th percentile of arrival
	// times at the sink: the rate once connections, connector instances and the data file
	// have warmed up, before the last clients finish.
	SteadyPerSec float64 `json:"steady_delivered_per_s,omitempty"`
	AcceptP50MS  float64 `json:"accept_p50_ms"`
	AcceptP99MS  float64 `json:"accept_p99_ms"`
	// DeliveryP50MS and DeliveryP99MS are event-to-delivery latencies: from the send of an
	// event to its arrival at the sink.
	DeliveryP50MS float64 `json:"delivery_p50_ms"`
	DeliveryP99MS float64 `json:"delivery_p99_ms"`
	// BytesPerEvent is the growth of the data file's pages in use per accepted event
	// (in-process only). The file itself grows in steps of 16 MiB, so its size is printed
	// beside it but not divided.
	BytesPerEvent float64 `json:"bytes_per_event,omitempty"`
	// FileBytes and UsedBytes are the data file's size and the part of it in use at the end.
	FileBytes int64 `json:"file_bytes,omitempty"`
	UsedBytes int64 `json:"used_bytes,omitempty"`
	// Retention is storage.retention when --retention set it; then EventsKept and Pruned say
	// what the pruner left and deleted while the bench ran, and BytesPerKeptEvent is the
	// pages in use per event kept.
	Retention         string           `json:"retention,omitempty"`
	EventsKept        int64            `json:"events_kept,omitempty"`
	Pruned            core.PruneCounts `json:"pruned,omitzero"`
	BytesPerKeptEvent float64          `json:"bytes_per_kept_event,omitempty"`
	// CPUSecondsPer1000 is the hub process's CPU time (user + system) per 1,000 delivered
	// events; in-process the load generator and the sink share the process, so it is an
	// upper bound.
	CPUSecondsPer1000 float64 `json:"cpu_s_per_1000,omitempty"`
	// SinkLatencyMS is how long the sink took to answer each request (--sink-latency), standing
	// in for a vendor's round trip; PoolSize is the in-process hub's connectors.pool_size, the
	// calls the connector has in flight at most.
	SinkLatencyMS float64 `json:"sink_latency_ms,omitempty"`
	PoolSize      int     `json:"pool_size,omitempty"`
	ElapsedS      float64 `json:"elapsed_s"`
	CPUs          int     `json:"cpus"`
}

// pipelineRule maps newsletter.send.requested to a SendGrid v3 mail/send body and POSTs it;
// %s is the step (the http connector against the sink, or the sendgrid connector).
const pipelineRule = `rules:
  - id: bench-newsletter
    on: newsletter.send.requested
    steps:
%s`

const pipelineHTTPStep = `      - id: send
        connector: http
        action: request
        with:
          method: POST
          url: /v3/mail/send
          bearer_secret: api_key
          idempotency_header: Idempotency-Key
          json:
            personalizations: '${{ map(event.data.recipients, ({"to": [{"email": #}]})) }}'
            from: { email: newsletter@aquascene.bg, name: AquaScene }
            subject: ${{ event.data.subject }}
            content: [ { type: text/html, value: "${{ event.data.html }}" } ]
            custom_args: { content_id: "${{ event.data.content_id }}", bench_id: "${{ event.id }}" }
`

const pipelineSendGridStep = `      - id: send
        connector: sendgrid
        action: mail.send
        with:
          from: { email: newsletter@aquascene.bg, name: AquaScene }
          to: '${{ map(event.data.recipients, ({"email": #})) }}'
          subject: ${{ event.data.subject }}
          html: ${{ event.data.html }}
          custom_args: { content_id: "${{ event.data.content_id }}", bench_id: "${{ event.id }}" }
`

func newBenchPipelineCmd() *cobra.Command {
	var (
		url, key, connector, sinkAddr, modules string
		events, clients, poolSize              int
		asJSON                                 bool
		retention, sinkLatency                 time.Duration
	)
	cmd := &cobra.Command{
		Use:   "pipeline",
		Short: "End to end: events posted, mapped by a rule to a SendGrid mail/send body and POSTed by a connector",
		Long: `Starts a hub on loopback with a temporary data directory, a counting sink standing in for
SendGrid, and one rule that maps newsletter.send.requested to a SendGrid v3 mail/send body
POSTed by the http connector (--connector sendgrid: the SendGrid connector against the
SendGrid simulator). It posts --events events from --clients clients and prints accepted/s,
delivered/s, event-to-delivery p50/p99, bytes on disk per event and CPU seconds per 1,000
events.

With --url it targets a running hub instead: that hub must have the rule above with its http
connector granted to the sink this command starts on --sink (default 127.0.0.1:8799).

--sink-latency makes the sink answer like a vendor across the internet: a connector instance is
busy for the whole round trip, so delivered/s is then at most connectors.pool_size (--pool-size
for the in-process hub) divided by the latency.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			if connector != "http" && connector != "sendgrid" {
				return fmt.Errorf("--connector: must be http or sendgrid (got %q)", connector)
			}
			if sinkLatency < 0 || sinkLatency > time.Minute {
				return fmt.Errorf("--sink-latency: must be between 0 and 1m (got %s)", sinkLatency)
			}
			if poolSize != 0 && url != "" {
				return errors.New("--pool-size: sets the in-process hub's connectors.pool_size; with --url, set it in that hub's configuration")
			}
			res, err := benchPipeline(ctx, pipelineOptions{url: url, key: key, connector: connector, modules: modules, sinkAddr: sinkAddr,
				events: events, clients: clients, retention: retention, sinkLatency: sinkLatency, poolSize: poolSize})
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
			}
			printPipeline(cmd.OutOrStdout(), res)
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "target a running hub instead of starting one")
	cmd.Flags().StringVar(&key, "key", DevAPIKey, "API key for --url")
	cmd.Flags().StringVar(&connector, "connector", "http", "http (to a counting sink) or sendgrid (to the SendGrid simulator)")
	cmd.Flags().StringVar(&modules, "connectors", filepath.Join("build", "connectors"), "the directory holding the connector's module (<connector>.wasm), built by make connectors")
	cmd.Flags().StringVar(&sinkAddr, "sink", "127.0.0.1:0", "where the counting sink listens")
	cmd.Flags().IntVar(&events, "events", 20000, "events to post")
	cmd.Flags().IntVar(&clients, "clients", 32, "concurrent clients")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.Flags().DurationVar(&sinkLatency, "sink-latency", 0, "how long the sink takes to answer each request, standing in for a vendor's round trip (default: at once)")
	cmd.Flags().IntVar(&poolSize, "pool-size", 0, "connectors.pool_size of the in-process hub: the connector's calls in flight at most (default: the hub's default, 4)")
	cmd.Flags().DurationVar(&retention, "retention", 0, "storage.retention (and dedup_window) of the in-process hub, to watch the pruner run during the bench (default: the hub's 7 days, so nothing is pruned)")
	return cmd
}

func printPipeline(w io.Writer, r pipelineResult) {
	fmt.Fprintf(w, "pipeline: %d events from %d clients, %s connector, against %s (%d CPUs)\n", r.Events, r.Clients, r.Connector, r.Target, r.CPUs)
	fmt.Fprintf(w, "  accepted        %d (%d errors), %.0f events/s, p50 %.2f ms, p99 %.2f ms\n", r.Accepted, r.Errors, r.AcceptedPerSec, r.AcceptP50MS, r.AcceptP99MS)
	fmt.Fprintf(w, "  delivered       %d, %.0f events/s end to end (first send to last delivery, %.1fs)\n", r.Delivered, r.DeliveredPerSec, r.ElapsedS)
	if r.SteadyPerSec > 0 {
		fmt.Fprintf(w, "  steady          %.0f events/s delivered between the 10th and the 90th percentile of arrivals\n", r.SteadyPerSec)
	}
	fmt.Fprintf(w, "  event→delivery  p50 %.1f ms, p99 %.1f ms\n", r.DeliveryP50MS, r.DeliveryP99MS)
	if r.SinkLatencyMS > 0 {
		pool := "the target hub's connectors.pool_size"
		if r.PoolSize > 0 {
			pool = fmt.Sprintf("pool_size %d", r.PoolSize)
		}
		fmt.Fprintf(w, "  sink latency    %.0f ms a request; with %s the connector has that many calls in flight at most\n", r.SinkLatencyMS, pool)
	}
	if r.UsedBytes > 0 {
		fmt.Fprintf(w, "  disk            %.0f bytes per event (growth of the pages in use); file %s, %s in use\n", r.BytesPerEvent, byteCount(r.FileBytes), byteCount(r.UsedBytes))
	}
	if r.Retention != "" {
		fmt.Fprintf(w, "  retention %-5s pruned %d runs, %d events, %d dedup keys while the bench ran; %d events kept, %.0f bytes in use per event kept\n",
			r.Retention, r.Pruned.Runs, r.Pruned.Events, r.Pruned.DedupKeys, r.EventsKept, r.BytesPerKeptEvent)
	}
	if r.CPUSecondsPer1000 > 0 {
		fmt.Fprintf(w, "  cpu             %.2f s per 1,000 events (whole process: hub, clients and sink)\n", r.CPUSecondsPer1000)
	}
}

type pipelineOptions struct {
	url, key, connector, sinkAddr string
	// modules is the directory holding <connector>.wasm.
	modules         string
	events, clients int
	retention       time.Duration
	// sinkLatency delays every answer of the sink; poolSize, when not 0, is the in-process
	// hub's connectors.pool_size.
	sinkLatency time.Duration
	poolSize    int
}

// sink counts deliveries and records when each bench event arrived.
type sink struct {
	mu      sync.Mutex
	arrived map[string]time.Time
	count   atomic.Int64
	done    chan struct{}
	want    int64
}

func (s *sink) record(id string) {
	s.mu.Lock()
	if _, dup := s.arrived[id]; !dup && id != "" {
		s.arrived[id] = time.Now()
		if s.count.Add(1) == s.want {
			close(s.done)
		}
	}
	s.mu.Unlock()
}

// serve answers like SendGrid's mail/send: 202 with an X-Message-Id.
func (s *sink) serve(ctx *fasthttp.RequestCtx) {
	var body struct {
		CustomArgs map[string]string `json:"custom_args"`
	}
	if err := json.Unmarshal(ctx.PostBody(), &body); err != nil {
		ctx.Error(`{"errors":[{"message":"bad JSON"}]}`, fasthttp.StatusBadRequest)
		return
	}
	s.record(body.CustomArgs["bench_id"])
	ctx.Response.Header.Set("X-Message-Id", "bench")
	ctx.SetStatusCode(fasthttp.StatusAccepted)
}

func benchPipeline(ctx context.Context, o pipelineOptions) (pipelineResult, error) {
	res := pipelineResult{Connector: o.connector, Events: o.events, Clients: o.clients, CPUs: runtime.NumCPU(), SinkLatencyMS: ms(o.sinkLatency)}
	sk := &sink{arrived: make(map[string]time.Time, o.events), done: make(chan struct{}), want: int64(o.events)}
	// The load generator and the sink are fasthttp's: they share the hub's CPUs, and
	// net/http's client and server cost more of them per request than the hub's own
	// HTTP layers (see docs/performance.md).
	handler := sk.serve
	if o.connector == "sendgrid" {
		sim := sendgridsim.New(sendgridsim.WithKey("SG.bench.key"))
		handler = fasthttpadaptor.NewFastHTTPHandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			r.Body = io.NopCloser(bytes.NewReader(raw))
			rec := &statusRecorder{ResponseWriter: w}
			sim.ServeHTTP(rec, r)
			if rec.status == http.StatusAccepted {
				var body struct {
					Personalizations []struct {
						CustomArgs map[string]string `json:"custom_args"`
					} `json:"personalizations"`
					CustomArgs map[string]string `json:"custom_args"`
				}
				_ = json.Unmarshal(raw, &body)
				sk.record(body.CustomArgs["bench_id"])
			}
		})
	}
	if o.sinkLatency > 0 {
		answer := handler
		handler = func(ctx *fasthttp.RequestCtx) {
			time.Sleep(o.sinkLatency)
			answer(ctx)
		}
	}
	ln, err := net.Listen("tcp", o.sinkAddr)
	if err != nil {
		return res, fmt.Errorf("sink: %w", err)
	}
	// Without fasthttp's Server and Content-Type headers the sink answers with the headers
	// net/http's did, which the http connector keeps in its output and so in the ledger.
	srv := &fasthttp.Server{Handler: handler, MaxRequestBodySize: 1 << 20, NoDefaultServerHeader: true, NoDefaultContentType: true}
	go srv.Serve(ln)
	defer srv.Shutdown()
	sinkURL := "http://" + ln.Addr().String()

	target, key := o.url, o.key
	var h *hub
	if target == "" {
		step := pipelineHTTPStep
		grant := plugins.TenantConfig{Config: map[string]any{"base_url": sinkURL}, Secrets: map[string]string{"api_key": "SG.bench.key"}, Egress: []string{sinkURL}}
		if o.connector == "sendgrid" {
			step = pipelineSendGridStep
		}
		th, err := startPipelineHub(ctx, fmt.Sprintf(pipelineRule, step), filepath.Join(o.modules, o.connector+".wasm"), o.connector, grant, o)
		if err != nil {
			return res, err
		}
		defer th.stop()
		h, target, key = th.h, th.url, DevAPIKey
		res.PoolSize = th.cfg.Connectors.PoolSize
	}
	res.Target = target
	var storageBefore core.StorageStats
	if h != nil {
		storageBefore = h.db.StorageStats()
	}
	cpuBefore := processCPU()

	sent := make([]time.Time, o.events)
	var next atomic.Int64
	start := time.Now()
	load := postEvents(ctx, target, key, o.clients, func(_ int, buf []byte) ([]byte, bool) {
		i := int(next.Add(1)) - 1
		if i >= o.events {
			return buf, false
		}
		sent[i] = time.Now()
		return fmt.Appendf(buf, `{"specversion":"1.0","id":"bench-%d-%d","source":"aquahub/bench","type":"newsletter.send.requested","data":{"content_id":"CNT-%d","subject":"This Week in Aquascaping","html":"<h1>CO2</h1><p>Issue %d</p>","recipients":["reader%d@example.com"]}}`, start.UnixNano(), i, i, i, i), true
	})
	sendTime := time.Since(start)
	res.Accepted, res.Errors = load.Accepted, load.Failed
	if res.Accepted == 0 {
		return res, fmt.Errorf("no event was accepted (first error: %s)", load.FirstErr)
	}
	sk.mu.Lock()
	sk.want = res.Accepted
	if sk.count.Load() >= sk.want {
		select {
		case <-sk.done:
		default:
			close(sk.done)
		}
	}
	sk.mu.Unlock()
	select {
	case <-sk.done:
	case <-time.After(5 * time.Minute):
		return res, fmt.Errorf("only %d of %d events were delivered within 5 minutes", sk.count.Load(), res.Accepted)
	case <-ctx.Done():
		return res, ctx.Err()
	}
	res.Delivered = sk.count.Load()
	var last time.Time
	var delivery, arrivals []time.Duration
	sk.mu.Lock()
	for i := range o.events {
		at, ok := sk.arrived[fmt.Sprintf("bench-%d-%d", start.UnixNano(), i)]
		if !ok {
			continue
		}
		delivery = append(delivery, at.Sub(sent[i]))
		arrivals = append(arrivals, at.Sub(start))
		if at.After(last) {
			last = at
		}
	}
	sk.mu.Unlock()
	res.SteadyPerSec = steadyRate(arrivals)
	elapsed := last.Sub(start)
	res.ElapsedS = elapsed.Seconds()
	res.AcceptedPerSec = float64(res.Accepted) / sendTime.Seconds()
	res.DeliveredPerSec = float64(res.Delivered) / elapsed.Seconds()
	res.AcceptP50MS, res.AcceptP99MS = percentileMS(load.Latencies, 0.50), percentileMS(load.Latencies, 0.99)
	res.DeliveryP50MS, res.DeliveryP99MS = percentileMS(delivery, 0.50), percentileMS(delivery, 0.99)
	if h != nil {
		if err := waitIdle(ctx, h); err != nil {
			return res, err
		}
		st := h.db.StorageStats()
		res.FileBytes, res.UsedBytes = st.FileBytes, st.UsedBytes
		res.BytesPerEvent = float64(st.UsedBytes-storageBefore.UsedBytes) / float64(res.Accepted)
		if o.retention > 0 {
			res.Retention, res.EventsKept, res.Pruned = o.retention.String(), st.Events, st.Pruned
			if st.Events > 0 {
				res.BytesPerKeptEvent = float64(st.UsedBytes) / float64(st.Events)
			}
		}
		res.CPUSecondsPer1000 = (processCPU() - cpuBefore).Seconds() / float64(res.Delivered) * 1000
	}
	return res, nil
}

// steadyRate is how many of the arrivals (times since the start, sorted in place) came
// per second between the 10th and the 90th percentile; 0 when there are too few to say.
func steadyRate(arrivals []time.Duration) float64 {
	if len(arrivals) < 100 {
		return 0
	}
	slices.Sort(arrivals)
	lo, hi := len(arrivals)/10, len(arrivals)*9/10
	span := arrivals[hi] - arrivals[lo]
	if span <= 0 {
		return 0
	}
	return float64(hi-lo) / span.Seconds()
}

// statusRecorder keeps the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// percentileMS returns the p-th percentile of ds in milliseconds; ds is sorted in place.
func percentileMS(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return float64(ds[min(len(ds)-1, int(p*float64(len(ds))))].Microseconds()) / 1000
}

// waitIdle waits until no run is queued or leased, so that every run's final commit is on
// disk before the file is measured.
func waitIdle(ctx context.Context, h *hub) error {
	deadline := time.Now().Add(time.Minute)
	for ctx.Err() == nil {
		st, err := h.db.Pipeline().Stats(ctx)
		if err != nil {
			return err
		}
		if st.Queued == 0 && st.Leased == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("runs did not finish: %d queued, %d leased", st.Queued, st.Leased)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return ctx.Err()
}

// processCPU is this process's user and system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startPipelineHub runs a hub with the rule and the connector, whose module is wasm,
// granted to the sink.
func startPipelineHub(ctx context.Context, rulesYAML, wasm, connector string, grant plugins.TenantConfig, o pipelineOptions) (*tempHub, error) {
	if _, err := os.Stat(wasm); err != nil {
		return nil, fmt.Errorf("%s: %w (run make connectors first, from the repository root, or name the directory with --connectors)", wasm, err)
	}
	return startTempHub(ctx, tempHubSpec{prefix: "aquahub-bench-pipeline-", rules: rulesYAML,
		modules: map[string]string{connector + ".wasm": wasm}, log: slog.LevelWarn,
		configure: func(cfg *Config) {
			if retention := o.retention; retention > 0 {
				cfg.Storage.Retention, cfg.Storage.DedupWindow = retention, retention
				cfg.Storage.PruneInterval = min(max(retention/4, 10*time.Millisecond), time.Second)
			}
			if o.poolSize > 0 {
				cfg.Connectors.PoolSize = o.poolSize
			}
			cfg.Tenants[0].Connectors = map[string]plugins.TenantConfig{connector: grant}
		}})
}
