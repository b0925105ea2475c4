//go:build !wasip1

package main

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/hubspot/sim"
	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/plugins"
	"github.com/aquascene/aquahub/plugins/wasmtest"
)

// TestWASMThroughHost builds the connector for wasip1 and runs it through the real host
// (package plugins) against the simulator, behind the spec check.
func TestWASMThroughHost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the wasm module")
	}
	now := time.Now()
	s := sim.New(sim.WithClock(func() time.Time { return now }), sim.WithRateLimits(2, 0, 0))
	spec := newSpecCheck(t, s)
	ts := httptest.NewServer(spec)
	defer ts.Close()
	grant := func(token string) plugins.TenantConfig {
		return plugins.TenantConfig{
			Config:  map[string]any{"base_url": ts.URL, "hub_id": fmt.Sprint(sim.DefaultHubID)},
			Secrets: map[string]string{"access_token": token},
			Egress:  []string{ts.URL},
		}
	}
	cat := wasmtest.Connector(t, ".", grant(sim.DefaultKey), plugins.Config{CallTimeout: 2 * time.Second, PoolSize: 1})
	// exec runs one action as step id of a run: the same id is a retry of that step.
	exec := wasmtest.Step(cat, "aquascene", "hubspot")

	// Happy path: the seed's engagement flow, a contact looked up and an event sent for it.
	out, err := exec("find", "contacts.get_by_email", map[string]any{"email": "ana.petrova@example.com", "properties": []any{"lead_score"}})
	if err != nil || out["found"] != true {
		t.Fatalf("get: %v, %v", out, err)
	}
	if _, err := exec("event", "events.send", map[string]any{"event_name": "content_engagement", "object_id": out["id"],
		"properties": map[string]any{"content_id": "CNT-1", "engagement_type": "open"}}); err != nil {
		t.Fatal(err)
	}
	if occ := s.Occurrences(); len(occ) != 1 || occ[0].ContactID != out["id"] {
		t.Fatalf("occurrences %+v", occ)
	}

	// Paging and partial failure: 250 contacts in three batches, the ten-secondly limit
	// (2 here) hit after the first two and one contact rejected; the retry of the step
	// sends only the third batch and reports the rejected contact.
	contacts := subscribers(250, "wasm")
	contacts[3]["properties"].(map[string]any)["aquascaping_experience"] = "guru"
	input := map[string]any{"contacts": toAny(contacts)}
	now = now.Add(time.Minute)
	_, err = exec("upsert", "contacts.upsert", input)
	if wasmtest.Class(err) != core.ClassRateLimited {
		t.Fatalf("first attempt: %v", err)
	}
	var se *core.StepError
	if errors.As(err, &se); se.RetryAfter != 10*time.Second {
		t.Fatalf("retry after %s", se.RetryAfter)
	}
	s.ResetRequests()
	now = now.Add(time.Minute)
	out, err = exec("upsert", "contacts.upsert", input)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Requests()) != 1 || fmt.Sprint(out["created"], "/", out["failed"]) != "249/1" {
		t.Fatalf("retry: %d requests, created %v failed %v", len(s.Requests()), out["created"], out["failed"])
	}
	bad := out["results"].([]any)[3].(map[string]any)["error"].(map[string]any)
	if bad["property"] != "aquascaping_experience" {
		t.Fatalf("item error %v", bad)
	}

	// Search pages through every match (wasm0003 was rejected above).
	now = now.Add(time.Minute)
	out, err = exec("search", "contacts.search", map[string]any{"filters": []any{map[string]any{"property": "email", "operator": "CONTAINS_TOKEN", "value": "wasm00*"}}, "page_size": 40})
	if err != nil || fmt.Sprint(out["count"]) != "99" {
		t.Fatalf("search: %v, %v", out["count"], err)
	}

	// Each attempt a minute later, so that the ten-secondly limit does not answer instead
	// of the injected fault.
	later := func(id, action string, input map[string]any) (map[string]any, error) {
		now = now.Add(time.Minute)
		return exec(id, action, input)
	}
	wasmtest.RunFaults(t, s.Injector(), later, "contacts.upsert", []wasmtest.Fault{
		{Name: "4xx", Input: map[string]any{"email": "x@example.com", "properties": map[string]any{"lead_score": "many"}}, WantClass: core.ClassInvalidInput},
		{Name: "429 then success", Inject: 429, Input: map[string]any{"email": "y@example.com"}, WantClass: core.ClassRateLimited, RetryOK: true},
		{Name: "5xx then success", Inject: 503, Input: map[string]any{"email": "y@example.com"}, WantClass: core.ClassTransient, RetryOK: true},
		{Name: "timeout", Latency: 5 * time.Second, Input: map[string]any{"email": "y@example.com"}, WantClass: core.ClassTransient, RetryOK: true},
	})
	spec.verify(t, "GET /crm/v3/objects/contacts/{contactId}", "POST /crm/v3/objects/contacts/batch/upsert",
		"POST /crm/v3/objects/contacts/search", "POST /events/v3/send")

	// A token HubSpot does not know is an auth failure.
	bad2 := wasmtest.Connector(t, ".", grant("pat-na1-revoked"), plugins.Config{CallTimeout: 2 * time.Second, PoolSize: 1})
	_, err = wasmtest.Steps(bad2, "aquascene", "hubspot")("contacts.get_by_email", map[string]any{"email": "a@example.com"})
	if wasmtest.Class(err) != core.ClassAuth {
		t.Fatalf("bad token: %v", err)
	}
}

func toAny(ms []map[string]any) []any {
	out := make([]any, len(ms))
	for i, m := range ms {
		out[i] = m
	}
	return out
}
