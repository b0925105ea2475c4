//go:build !wasip1

package main

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/salesforce/sim"
	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/plugins"
	"github.com/aquascene/aquahub/plugins/wasmtest"
	"github.com/prometheus/client_golang/prometheus"
)

// TestWASMThroughHost builds the connector for wasip1 and runs it through the real host
// (package plugins), which signs the JWT bearer assertion with the tenant's key (sign_jwt),
// against the simulator.
func TestWASMThroughHost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the wasm module")
	}
	s := sim.New(sim.WithQueryBatchSize(2))
	ts := httptest.NewServer(s)
	defer ts.Close()
	grant := func(flow string, secrets map[string]string) plugins.TenantConfig {
		return plugins.TenantConfig{
			Config: map[string]any{"login_url": ts.URL, "auth_flow": flow, "client_id": sim.DefaultClientID, "username": sim.DefaultUsername,
				"queries": namedQueries},
			Secrets: secrets,
			Egress:  []string{ts.URL},
		}
	}
	jwtSecrets := map[string]string{"private_key": string(s.PrivateKeyPEM())}
	cat := wasmtest.Connector(t, ".", grant("jwt", jwtSecrets), plugins.Config{CallTimeout: 3 * time.Second, PoolSize: 1})
	run := wasmtest.Steps(cat, "aquascene", "salesforce")

	// The seed's subscriber sync: the host signs the assertion, the session is kept.
	out, err := run("sobjects.upsert", map[string]any{"object": "Contact", "external_id_field": "Email__c", "external_id": "nia@example.com",
		"fields": map[string]any{"LastName": "Koleva", "Email": "nia@example.com", "AquaScaping_Interest_Level__c": "beginner", "LeadSource": "AquaScene Newsletter"}})
	if err != nil || out["created"] != true {
		t.Fatalf("upsert: %v, %v", out, err)
	}
	if li, _ := out["limit_info"].(map[string]any); li == nil || fmt.Sprint(li["max"]) != "15000" {
		t.Fatalf("limit_info %v", out["limit_info"])
	}
	// The host records the org's Sforce-Limit-Info usage as the tenant's quota metrics.
	if used, limit := quotaMetrics(t, cat); used < 1 || limit != sim.DefaultDailyLimit {
		t.Fatalf("quota metrics: used %v of %v", used, limit)
	}
	// Paging through nextRecordsUrl (batches of 2), then the seed's customer insights.
	out, err = run("query", map[string]any{"object": "Contact", "fields": []any{"Email"}, "where": []any{map[string]any{"field": "Email", "op": "not_null"}}})
	if err != nil || fmt.Sprint(out["count"]) != "4" {
		t.Fatalf("query: %v, %v", out, err)
	}
	out, err = run("query", map[string]any{"named": "customer_insights", "binds": map[string]any{"email": "maria.dimitrova@example.com"}})
	if err != nil || fmt.Sprint(out["count"]) != "1" {
		t.Fatalf("insights: %v, %v", out, err)
	}
	// An expired session is renewed once, transparently.
	s.ExpireSessions()
	if _, err := run("sobjects.get", map[string]any{"object": "Contact", "external_id_field": "Email__c", "external_id": "nia@example.com"}); err != nil || s.Logins() != 2 {
		t.Fatalf("after expiry: %v, %d logins", err, s.Logins())
	}

	// Partial failure in a collection, reported per record.
	out, err = run("composite.sobjects", map[string]any{"operation": "create", "object": "Lead", "records": []any{
		map[string]any{"LastName": "Stone", "Company": "Iwagumi Ltd"}, map[string]any{"LastName": "No company"}}})
	if err != nil || fmt.Sprint(out["succeeded"], "/", out["failed"]) != "1/1" {
		t.Fatalf("collection: %v, %v", out, err)
	}

	wasmtest.RunFaults(t, s.Injector(), wasmtest.Step(cat, "aquascene", "salesforce"), "sobjects.create", []wasmtest.Fault{
		{Name: "field error", Input: map[string]any{"object": "Contact", "fields": map[string]any{"FirstName": "x"}}, WantClass: core.ClassInvalidInput},
		{Name: "request limit", Inject: 429, Input: map[string]any{"object": "Account", "fields": map[string]any{"Name": "Reef Co"}}, WantClass: core.ClassRateLimited, RetryOK: true},
		{Name: "5xx then success", Inject: 503, Input: map[string]any{"object": "Account", "fields": map[string]any{"Name": "Moss Co"}}, WantClass: core.ClassTransient, RetryOK: true},
		{Name: "timeout", Latency: 5 * time.Second, Input: map[string]any{"object": "Account", "fields": map[string]any{"Name": "Wood Co"}}, WantClass: core.ClassTransient, RetryOK: true},
	})
	// The timed-out create may have landed before the deadline; its retry must not double it.
	if n := len(s.Find("Account", "Name", "Wood Co")); n > 1 {
		t.Fatalf("%d Wood Co accounts", n)
	}

	// The username-password flow, and a key the connected app does not know.
	pw := wasmtest.Connector(t, ".", grant("password", map[string]string{"client_secret": sim.DefaultClientSecret, "password": sim.DefaultPassword + sim.DefaultSecurityToken}),
		plugins.Config{CallTimeout: 3 * time.Second, PoolSize: 1})
	if _, err := wasmtest.Steps(pw, "aquascene", "salesforce")("query", map[string]any{"object": "Account", "fields": []any{"Name"}}); err != nil {
		t.Fatalf("password flow: %v", err)
	}
	bad := wasmtest.Connector(t, ".", grant("jwt", map[string]string{"private_key": otherKeyPEM(t)}), plugins.Config{CallTimeout: 3 * time.Second, PoolSize: 1})
	if _, err := wasmtest.Steps(bad, "aquascene", "salesforce")("query", map[string]any{"object": "Account", "fields": []any{"Name"}}); wasmtest.Class(err) != core.ClassAuth {
		t.Fatalf("unknown key: %v", err)
	}
}

// quotaMetrics reads the api_requests quota gauges the host recorded for tenant aquascene.
func quotaMetrics(t *testing.T, cat *plugins.Catalog) (used, limit float64) {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(cat.Collectors()...)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["tenant"] != "aquascene" || labels["connector"] != "salesforce" || labels["quota"] != "api_requests" {
				continue
			}
			switch f.GetName() {
			case "aquahub_connector_quota_used":
				used = m.GetGauge().GetValue()
			case "aquahub_connector_quota_limit":
				limit = m.GetGauge().GetValue()
			}
		}
	}
	return used, limit
}
