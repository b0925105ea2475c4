// Package metrics holds the hub's Prometheus collectors in one registry value (no global
// registry) and adapts them to core.Observer.
package metrics

import (
	"context"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics is the hub's collectors. Feature packages register their own collectors on
// Registry.
type Metrics struct {
	Registry       *prometheus.Registry
	eventsAccepted *prometheus.CounterVec
	eventsDup      *prometheus.CounterVec
	runsFinished   *prometheus.CounterVec
	stepLatency    *prometheus.HistogramVec
	httpRequests   *prometheus.CounterVec
}

var _ core.Observer = (*Metrics)(nil)

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
	m.Registry.MustRegister(m.eventsAccepted, m.eventsDup, m.runsFinished, m.stepLatency, m.httpRequests,
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
