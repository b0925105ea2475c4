// Package metrics holds the hub's Prometheus collectors in one registry value (no global
// registry), adapts them to core.Observer and the HTTP kernel's RequestObserver, collects the
// collectors feature modules provide, and serves GET /metrics.
package metrics

import (
	"context"
	"fmt"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/httpapi"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// CollectorProvider is a feature module with metrics of its own.
type CollectorProvider interface {
	Collectors() []prometheus.Collector
}

// Metrics is the hub's collectors. Feature packages register their own collectors on
// Registry.
type Metrics struct {
	Registry       *prometheus.Registry
	eventsAccepted *prometheus.CounterVec
	eventsDup      *prometheus.CounterVec
	runsFinished   *prometheus.CounterVec
	stepLatency    *prometheus.HistogramVec
	httpRequests   *prometheus.CounterVec
	ingestHeld     *prometheus.CounterVec
	ingestHeldSecs *prometheus.CounterVec
}

var (
	_ core.Observer           = (*Metrics)(nil)
	_ httpapi.RequestObserver = (*Metrics)(nil)
	_ httpapi.RouteModule     = (*Metrics)(nil)
)

// New returns metrics registered on a fresh registry, with Go and process collectors.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		eventsAccepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aquahub_events_accepted_total", Help: "Events durably accepted, by tenant.",
		}, []string{"tenant"}),
		eventsDup: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aquahub_events_duplicate_total", Help: "Events answered from deduplication, by tenant.",
		}, []string{"tenant"}),
		runsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aquahub_runs_total", Help: "Run attempts that ended, by resulting status (succeeded, retrying, dead).",
		}, []string{"status"}),
		stepLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "aquahub_step_duration_seconds", Help: "Step execution time, by kind and status.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{"kind", "status"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aquahub_http_requests_total", Help: "HTTP requests, by route and status code.",
		}, []string{"route", "code"}),
	}
	m.ingestHeld = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "aquahub_ingest_held_total",
		Help: "Ingestions that waited for room in a full lane (backpressure), by tenant and outcome: room (a run of the lane started) or timeout (stored queued after engine.backpressure_wait).",
	}, []string{"tenant", "outcome"})
	m.ingestHeldSecs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "aquahub_ingest_held_seconds_total", Help: "Time ingestions spent waiting for room in a full lane, by tenant.",
	}, []string{"tenant"})
	m.Registry.MustRegister(m.eventsAccepted, m.eventsDup, m.runsFinished, m.stepLatency, m.httpRequests, m.ingestHeld, m.ingestHeldSecs,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// EventsAccepted implements core.Observer.
func (m *Metrics) EventsAccepted(tenant string, accepted, duplicates int) {
	if accepted > 0 {
		m.eventsAccepted.WithLabelValues(tenant).Add(float64(accepted))
	}
	if duplicates > 0 {
		m.eventsDup.WithLabelValues(tenant).Add(float64(duplicates))
	}
}

// RunFinished implements core.Observer.
func (m *Metrics) RunFinished(tenant, rule string, status core.RunStatus) {
	m.runsFinished.WithLabelValues(string(status)).Inc()
}

// StepFinished implements core.Observer.
func (m *Metrics) StepFinished(kind string, status core.StepStatus, d time.Duration) {
	m.stepLatency.WithLabelValues(kind, string(status)).Observe(d.Seconds())
}

// IngestHeld implements core.Observer.
func (m *Metrics) IngestHeld(tenant string, d time.Duration, timedOut bool) {
	outcome := "room"
	if timedOut {
		outcome = "timeout"
	}
	m.ingestHeld.WithLabelValues(tenant, outcome).Inc()
	m.ingestHeldSecs.WithLabelValues(tenant).Add(d.Seconds())
}

// HTTPRequest counts one request.
func (m *Metrics) HTTPRequest(route string, code int) {
	m.httpRequests.WithLabelValues(route, itoa(code)).Inc()
}

func itoa(n int) string {
	var b [8]byte
	i := len(b)
	for n >= 10 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	i--
	b[i] = byte('0' + n)
	return string(b[i:])
}

// WatchQueue registers gauges for queue depth, leased runs, DLQ size and stored events,
// read from the queue at scrape time.
func (m *Metrics) WatchQueue(q core.Queue) {
	stat := func(pick func(core.QueueStats) int) func() float64 {
		return func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			st, err := q.Stats(ctx)
			if err != nil {
				return -1
			}
			return float64(pick(st))
		}
	}
	m.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aquahub_queue_depth", Help: "Runs waiting in the queue (due now or later)."}, stat(func(s core.QueueStats) int { return s.Queued })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aquahub_queue_due", Help: "Queued runs that are due now."}, stat(func(s core.QueueStats) int { return s.Pending })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aquahub_runs_leased", Help: "Runs currently leased by workers."}, stat(func(s core.QueueStats) int { return s.Leased })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aquahub_dlq_size", Help: "Runs in the dead-letter queue."}, stat(func(s core.QueueStats) int { return s.Dead })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aquahub_events_stored", Help: "Events stored since the database was created."}, stat(func(s core.QueueStats) int { return s.Events })),
	)
}

// Name implements core.Module.
func (m *Metrics) Name() string { return "metrics" }

// Collect registers the collectors of every module that provides some.
func (m *Metrics) Collect(modules ...core.Module) error {
	for _, mod := range modules {
		if p, ok := mod.(CollectorProvider); ok {
			for _, c := range p.Collectors() {
				if err := m.Registry.Register(c); err != nil {
					return fmt.Errorf("metrics of module %s: %w", mod.Name(), err)
				}
			}
		}
	}
	return nil
}

// Routes implements httpapi.RouteModule: GET /metrics in the Prometheus text format.
func (m *Metrics) Routes(mux *httpapi.Mux) {
	mux.HandleHTTP(httpapi.Op{Method: "GET", Path: "/metrics", Summary: "Prometheus metrics (a bearer token when server.metrics_token is set)", Tag: "system", Public: true, Scrape: true,
		Responses: []httpapi.Response{{Status: 200, Description: "The metrics in the Prometheus text format", Body: "", ContentType: "text/plain"}}},
		promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
}

// StorageReporter reports on the data file and the pruning of data past retention.
type StorageReporter interface {
	StorageStats() core.StorageStats
}

// WatchStorage registers the data file's size and use, the bytes it takes per event kept,
// and the pruner's progress, read from s once per scrape.
func (m *Metrics) WatchStorage(s StorageReporter) {
	m.Registry.MustRegister(storageCollector{s})
}

var (
	descFileBytes = prometheus.NewDesc("aquahub_storage_file_bytes", "Size of the data file.", nil, nil)
	descUsedBytes = prometheus.NewDesc("aquahub_storage_used_bytes",
		"Bytes of the data file holding data; the rest is free pages, reused before the file grows (aquahub compact returns them offline).", nil, nil)
	descEventsKept    = prometheus.NewDesc("aquahub_storage_events", "Events kept in the data file (received and not pruned).", nil, nil)
	descBytesPerEvent = prometheus.NewDesc("aquahub_storage_bytes_per_event",
		"Bytes of the data file in use per event kept, with everything kept beside them (runs, ledger, dedup keys); 0 with no event kept.", nil, nil)
	descPruned = prometheus.NewDesc("aquahub_pruned_total",
		"Data deleted past retention since the process started, by kind (runs, events, dedup_keys, idempotency_keys, webhook_messages).", []string{"kind"}, nil)
	descPruneLast = prometheus.NewDesc("aquahub_prune_last_run_timestamp_seconds", "When the last pruning pass ended (Unix time; 0 before the first).", nil, nil)
	descPruneLag  = prometheus.NewDesc("aquahub_prune_lag_seconds",
		"Seconds since the pruner last had nothing left past retention: about storage.prune_interval when it keeps up, growing when it does not.", nil, nil)
	descPruneErrors  = prometheus.NewDesc("aquahub_prune_errors_total", "Pruning passes that failed.", nil, nil)
	descDedupJournal = prometheus.NewDesc("aquahub_storage_dedup_journal_keys",
		"Dedup keys accepted and not yet filed in the dedup index (found all the same; the filer files them in the background).", nil, nil)
	descDedupFileErrors = prometheus.NewDesc("aquahub_storage_dedup_file_errors_total", "Filings of the dedup journal that failed (the next accept retries).", nil, nil)
)

// storageCollector reads the storage's stats once per scrape.
type storageCollector struct{ s StorageReporter }

func (c storageCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descFileBytes, descUsedBytes, descEventsKept, descBytesPerEvent, descPruned, descPruneLast, descPruneLag, descPruneErrors, descDedupJournal, descDedupFileErrors} {
		ch <- d
	}
}

func (c storageCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.StorageStats()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(descFileBytes, float64(st.FileBytes))
	gauge(descUsedBytes, float64(st.UsedBytes))
	gauge(descEventsKept, float64(st.Events))
	perEvent := 0.0
	if st.Events > 0 {
		perEvent = float64(st.UsedBytes) / float64(st.Events)
	}
	gauge(descBytesPerEvent, perEvent)
	counter(descPruned, st.Pruned.Runs, "runs")
	counter(descPruned, st.Pruned.Events, "events")
	counter(descPruned, st.Pruned.DedupKeys, "dedup_keys")
	counter(descPruned, st.Pruned.IdempotencyKeys, "idempotency_keys")
	counter(descPruned, st.Pruned.Deliveries, "webhook_messages")
	last := 0.0
	if !st.LastPrune.IsZero() {
		last = float64(st.LastPrune.UnixNano()) / 1e9
	}
	gauge(descPruneLast, last)
	gauge(descPruneLag, st.PruneLag.Seconds())
	counter(descPruneErrors, st.PruneErrors)
	gauge(descDedupJournal, float64(st.DedupJournal))
	counter(descDedupFileErrors, st.DedupFileErrors)
}
