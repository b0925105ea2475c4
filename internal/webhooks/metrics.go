package webhooks

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aquascene/aquahub/internal/metrics"
)

// deliveryMetrics are the module's collectors; the hub registers them through Collectors.
type deliveryMetrics struct {
	attempts     *prometheus.CounterVec
	deferred     prometheus.Counter
	circuitsOpen prometheus.Gauge
	changes      *prometheus.CounterVec
}

func newMetrics() *deliveryMetrics {
	return &deliveryMetrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aquahub_webhook_attempts_total",
			Help: "Webhook delivery attempts by result (succeeded, failed, timeout).",
		}, []string{"result"}),
		deferred: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "aquahub_webhook_deferred_total",
			Help: "Webhook messages put back unsent, without counting an attempt, because their endpoint's circuit was open.",
		}),
		circuitsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "aquahub_webhook_circuits_open",
			Help: "Webhook endpoints whose circuit breaker is open or half-open.",
		}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aquahub_webhook_circuit_changes_total",
			Help: "Webhook endpoint circuit breaker changes by the state entered (open, half_open, closed).",
		}, []string{"state"}),
	}
}

// Collectors implements metrics.CollectorProvider: attempts by result, deferred messages
// and the endpoints' breakers.
func (m *Module) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.metrics.attempts, m.metrics.deferred, m.metrics.circuitsOpen, m.metrics.changes}
}

var _ metrics.CollectorProvider = (*Module)(nil)
