package plugins

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	calls     *prometheus.CounterVec
	egress    *prometheus.CounterVec
	instances *prometheus.CounterVec
	discarded *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
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
	if reg != nil {
		m.calls = register(reg, m.calls)
		m.egress = register(reg, m.egress)
		m.instances = register(reg, m.instances)
		m.discarded = register(reg, m.discarded)
	}
	return m
}

// register adds c to reg, reusing an identical collector already registered (a second
// Catalog on the same registry, as in tests).
func register(reg prometheus.Registerer, c *prometheus.CounterVec) *prometheus.CounterVec {
	if err := reg.Register(c); err != nil {
		if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing
			}
		}
	}
	return c
}
