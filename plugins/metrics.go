package plugins

import (
	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/prometheus/client_golang/prometheus"
)

// hostMetrics are a catalog's collectors; the hub registers them through Module.Collectors.
type hostMetrics struct {
	calls     *prometheus.CounterVec
	egress    *prometheus.CounterVec
	instances *prometheus.CounterVec
	discarded *prometheus.CounterVec
	// circuitsOpen, circuitChanges and circuitRejected follow the breakers.
	circuitsOpen    *prometheus.GaugeVec
	circuitChanges  *prometheus.CounterVec
	circuitRejected *prometheus.CounterVec
	// quotaUsed and quotaLimit are the vendor quotas connectors report (abi.Usage).
	quotaUsed, quotaLimit *prometheus.GaugeVec
}

func newMetrics() *hostMetrics {
	return &hostMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aquahub_connector_calls_total",
			Help: "Connector action calls by outcome (ok or an ABI error kind).",
		}, []string{"connector", "action", "outcome"}),
		egress: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aquahub_connector_egress_total",
			Help: "Outbound HTTP requests of connectors, allowed or denied by the egress rules.",
		}, []string{"connector", "decision"}),
		instances: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aquahub_connector_instances_created_total",
			Help: "Connector instances instantiated.",
		}, []string{"connector"}),
		discarded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aquahub_connector_instances_discarded_total",
			Help: "Connector instances closed, by reason (trap, deadline, recycled_calls, recycled_memory, reload).",
		}, []string{"connector", "reason"}),
		circuitsOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "aquahub_connector_circuits_open",
			Help: "Circuit breakers (one per tenant, connector and origin) open or half-open.",
		}, []string{"connector"}),
		circuitChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aquahub_connector_circuit_changes_total",
			Help: "Circuit breaker changes by the state entered (open, half_open, closed).",
		}, []string{"connector", "state"}),
		circuitRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aquahub_connector_circuit_rejected_total",
			Help: "Connector HTTP requests refused without being sent because their origin's circuit was open.",
		}, []string{"connector"}),
		quotaUsed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "aquahub_connector_quota_used",
			Help: "A vendor quota's consumption as the vendor last reported it to the connector (Salesforce's Sforce-Limit-Info api-usage, for example).",
		}, []string{"tenant", "connector", "quota"}),
		quotaLimit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "aquahub_connector_quota_limit",
			Help: "A vendor quota's size as the vendor last reported it to the connector.",
		}, []string{"tenant", "connector", "quota"}),
	}
}

// recordUsage sets the quota gauges from a connector's report; entries that fail
// abi.Usage.Check are dropped, so a faulty guest cannot mint arbitrary label values.
func (m *hostMetrics) recordUsage(tenant, connector string, usage []abi.Usage) {
	for _, u := range usage {
		if u.Check() != nil {
			continue
		}
		m.quotaUsed.WithLabelValues(tenant, connector, u.Quota).Set(float64(u.Used))
		if u.Limit > 0 {
			m.quotaLimit.WithLabelValues(tenant, connector, u.Quota).Set(float64(u.Limit))
		}
	}
}

// Collectors returns the catalog's Prometheus collectors: calls by outcome, egress
// decisions, instances created and discarded, the circuit breakers and the vendor quotas
// connectors report.
func (c *Catalog) Collectors() []prometheus.Collector {
	m := c.metrics
	return []prometheus.Collector{m.calls, m.egress, m.instances, m.discarded,
		m.circuitsOpen, m.circuitChanges, m.circuitRejected, m.quotaUsed, m.quotaLimit}
}
