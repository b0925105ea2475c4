package plugins

import "github.com/prometheus/client_golang/prometheus"

// hostMetrics are a catalog's collectors; the hub registers them through Module.Collectors.
type hostMetrics struct {
	calls     *prometheus.CounterVec
	egress    *prometheus.CounterVec
	instances *prometheus.CounterVec
	discarded *prometheus.CounterVec
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
	}
}

// Collectors returns the catalog's Prometheus collectors: calls by outcome, egress
// decisions, instances created and discarded.
func (c *Catalog) Collectors() []prometheus.Collector {
	return []prometheus.Collector{c.metrics.calls, c.metrics.egress, c.metrics.instances, c.metrics.discarded}
}
