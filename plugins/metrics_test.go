package plugins

import (
	"testing"

	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/prometheus/client_golang/prometheus"
)

// TestRecordUsage: reported quotas become gauges per tenant and connector; a report that
// fails abi.Usage.Check is dropped rather than becoming a label value.
func TestRecordUsage(t *testing.T) {
	m := newMetrics()
	m.recordUsage("aquascene", "salesforce", []abi.Usage{
		{Quota: "api_requests", Used: 18, Limit: 15000},
		{Quota: `x",tenant="other`, Used: 1, Limit: 2},
		{Quota: "negative", Used: -1},
	})
	m.recordUsage("aquascene", "salesforce", []abi.Usage{{Quota: "api_requests", Used: 19}})
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.quotaUsed, m.quotaLimit)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]float64{}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			got[f.GetName()] = append(got[f.GetName()], s.GetGauge().GetValue())
		}
	}
	// The last report wins; a report without a limit keeps the known one.
	if u, l := got["aquahub_connector_quota_used"], got["aquahub_connector_quota_limit"]; len(u) != 1 || u[0] != 19 || len(l) != 1 || l[0] != 15000 {
		t.Fatalf("gauges %v", got)
	}
}
