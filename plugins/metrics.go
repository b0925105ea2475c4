package plugins

import (
	"context"
	"sync"
	"time"

	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/prometheus/client_golang/prometheus"
)

// hostMetrics are a catalog's collectors; the hub registers them through Module.Collectors.
type hostMetrics struct {
	calls      *prometheus.CounterVec
	egress     *prometheus.CounterVec
	instances  *prometheus.CounterVec
	discarded  *prometheus.CounterVec
	kvRefused  *prometheus.CounterVec
	logDropped *prometheus.CounterVec
	logRecords *prometheus.CounterVec
	refused    prometheus.Gauge
	// circuitsOpen, circuitChanges and circuitRejected follow the breakers.
	circuitsOpen    *prometheus.GaugeVec
	circuitChanges  *prometheus.CounterVec
	circuitRejected *prometheus.CounterVec
	// quotaUsed and quotaLimit are the vendor quotas connectors report (abi.Usage), at most
	// maxQuotas names per tenant and connector; quotaDropped counts reports past that.
	quotaUsed, quotaLimit *prometheus.GaugeVec
	quotaDropped          *prometheus.CounterVec
	quotasMu              sync.Mutex
	quotas                map[quotaScope]map[string]struct{}
	// perConnector are the vectors labelled by connector that go with it. circuitsOpen is
	// not one: the breakers move it up and down, and a deleted gauge would go negative.
	perConnector []interface {
		DeletePartialMatch(prometheus.Labels) int
	}
}

func newMetrics() *hostMetrics {
	m := &hostMetrics{
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
			Help: "Connector instances closed, by reason (trap, oom, deadline, recycled_calls, recycled_memory, reload).",
		}, []string{"connector", "reason"}),
		kvRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aquahub_connector_kv_quota_refused_total",
			Help: "kv_set calls refused because they would take a connector's kv for a tenant over its quota.",
		}, []string{"tenant", "connector"}),
		logDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aquahub_connector_log_dropped_bytes_total",
			Help: "Bytes of connector log records dropped for exceeding the per-call or per-second log budget.",
		}, []string{"connector"}),
		logRecords: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aquahub_connector_log_dropped_records_total",
			Help: "Connector log records dropped for exceeding the per-call or per-second log budget.",
		}, []string{"connector"}),
		refused: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "aquahub_connector_modules_refused",
			Help: "Module files in the connector directory that were refused and are not served.",
		}),
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
		quotaDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aquahub_connector_quota_reports_dropped_total",
			Help: "Vendor quota reports dropped because the connector already reports the most quota names a tenant may have (16).",
		}, []string{"connector"}),
		quotas: map[quotaScope]map[string]struct{}{},
	}
	m.perConnector = []interface {
		DeletePartialMatch(prometheus.Labels) int
	}{m.calls, m.egress, m.instances, m.discarded, m.kvRefused, m.logDropped, m.logRecords,
		m.circuitChanges, m.circuitRejected, m.quotaUsed, m.quotaLimit, m.quotaDropped}
	return m
}

// forget deletes every series of a connector that is no longer loaded, so that a module
// with many actions leaves nothing behind in /metrics once it is gone.
func (m *hostMetrics) forget(connector string) {
	for _, v := range m.perConnector {
		v.DeletePartialMatch(prometheus.Labels{"connector": connector})
	}
	m.quotasMu.Lock()
	for scope := range m.quotas {
		if scope.connector == connector {
			delete(m.quotas, scope)
		}
	}
	m.quotasMu.Unlock()
}

// forgetAction deletes the call series of an action a new version of a connector dropped.
func (m *hostMetrics) forgetAction(connector, action string) {
	m.calls.DeletePartialMatch(prometheus.Labels{"connector": connector, "action": action})
}

// maxQuotas bounds the quota names one connector may report for one tenant: the names are
// the guest's, and each is a series in /metrics. A vendor states a handful (Salesforce's
// api-usage, per-app and per-object limits).
const maxQuotas = 16

// quotaScope is whose quota names are counted against maxQuotas.
type quotaScope struct{ tenant, connector string }

// recordUsage sets the quota gauges from a connector's report; entries that fail
// abi.Usage.Check are dropped, so a faulty guest cannot mint arbitrary label values, and so
// are new names past maxQuotas for the tenant, so it cannot mint unboundedly many.
func (m *hostMetrics) recordUsage(tenant, connector string, usage []abi.Usage) {
	for _, u := range usage {
		if u.Check() != nil {
			continue
		}
		if !m.admitQuota(quotaScope{tenant, connector}, u.Quota) {
			m.quotaDropped.WithLabelValues(connector).Inc()
			continue
		}
		m.quotaUsed.WithLabelValues(tenant, connector, u.Quota).Set(float64(u.Used))
		if u.Limit > 0 {
			m.quotaLimit.WithLabelValues(tenant, connector, u.Quota).Set(float64(u.Limit))
		}
	}
}

// admitQuota reports whether quota has, or may have, series for scope.
func (m *hostMetrics) admitQuota(scope quotaScope, quota string) bool {
	m.quotasMu.Lock()
	defer m.quotasMu.Unlock()
	names := m.quotas[scope]
	if _, ok := names[quota]; ok {
		return true
	}
	if len(names) >= maxQuotas {
		return false
	}
	if names == nil {
		names = map[string]struct{}{}
		m.quotas[scope] = names
	}
	names[quota] = struct{}{}
	return true
}

// Collectors returns the catalog's Prometheus collectors: calls by outcome, egress
// decisions, instances created and discarded, the circuit breakers, the vendor quotas
// connectors report, kv usage and quota refusals, dropped log output and refused module
// files.
func (c *Catalog) Collectors() []prometheus.Collector {
	m := c.metrics
	out := []prometheus.Collector{m.calls, m.egress, m.instances, m.discarded, m.kvRefused, m.logDropped, m.logRecords, m.refused,
		m.circuitsOpen, m.circuitChanges, m.circuitRejected, m.quotaUsed, m.quotaLimit, m.quotaDropped}
	if c.deps.KV != nil {
		out = append(out, kvCollector{c})
	}
	return out
}

var (
	kvKeysDesc = prometheus.NewDesc("aquahub_connector_kv_keys",
		"Keys a connector holds in kv for a tenant.", []string{"tenant", "connector"}, nil)
	kvBytesDesc = prometheus.NewDesc("aquahub_connector_kv_bytes",
		"Bytes (keys and values) a connector holds in kv for a tenant.", []string{"tenant", "connector"}, nil)
	kvQuotaKeysDesc = prometheus.NewDesc("aquahub_connector_kv_quota_keys",
		"The kv quota on keys per tenant and connector (connectors.kv_quota_keys).", nil, nil)
	kvQuotaBytesDesc = prometheus.NewDesc("aquahub_connector_kv_quota_bytes",
		"The kv quota on bytes per tenant and connector (connectors.kv_quota_bytes).", nil, nil)
)

// kvCollector reports kv usage per tenant and connector from the store at scrape time.
type kvCollector struct{ c *Catalog }

func (k kvCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- kvKeysDesc
	ch <- kvBytesDesc
	ch <- kvQuotaKeysDesc
	ch <- kvQuotaBytesDesc
}

func (k kvCollector) Collect(ch chan<- prometheus.Metric) {
	q := k.c.kvQuota()
	ch <- prometheus.MustNewConstMetric(kvQuotaKeysDesc, prometheus.GaugeValue, float64(q.Keys))
	ch <- prometheus.MustNewConstMetric(kvQuotaBytesDesc, prometheus.GaugeValue, float64(q.Bytes))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	usages, err := k.c.deps.KV.Usages(ctx)
	if err != nil {
		k.c.deps.Logger.Warn("reading connector kv usage for metrics", "err", err)
		return
	}
	for scope, u := range usages {
		ch <- prometheus.MustNewConstMetric(kvKeysDesc, prometheus.GaugeValue, float64(u.Keys), scope.Tenant, scope.Connector)
		ch <- prometheus.MustNewConstMetric(kvBytesDesc, prometheus.GaugeValue, float64(u.Bytes), scope.Tenant, scope.Connector)
	}
}
