//go:build !wasip1

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/hubspot/sim"
	"github.com/aquascene/aquahub/connectors/simkit"
	"github.com/aquascene/aquahub/connectors/simkit/simtest"
	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/plugin/plugintest"
)

type env struct {
	sim  *sim.Server
	spec *specCheck
	h    *plugintest.Harness
}

// setup starts a simulator behind the spec check and a harness pointed at it. config adds
// to (or, with "base_url", replaces) the tenant's connector config.
func setup(t testing.TB, token string, config map[string]any, opts ...sim.Option) env {
	t.Helper()
	s := sim.New(opts...)
	spec := newSpecCheck(t, s)
	ts := simtest.Serve(t, spec, nil)
	cfg := map[string]any{"base_url": ts.URL}
	for k, v := range config {
		cfg[k] = v
	}
	h := plugintest.Start(t, Connector, plugintest.Options{
		Config: cfg, Secrets: map[string]string{"access_token": token},
		Egress: []string{ts.URL}, Timeout: 5 * time.Second,
	})
	return env{s, spec, h}
}

func TestGetByEmail(t *testing.T) {
	e := setup(t, sim.DefaultKey, nil)
	ctx := context.Background()
	out, err := e.h.Invoke(ctx, "contacts.get_by_email", map[string]any{
		"email": "Georgi.Ivanov@example.com", "properties": []string{"lifecyclestage", "lead_score", "aquascaping_experience"}})
	if err != nil {
		t.Fatal(err)
	}
	p := out["properties"].(map[string]any)
	if out["found"] != true || out["id"] == "" || p["lead_score"] != "48" || p["aquascaping_experience"] != "intermediate" || p["lifecyclestage"] != "lead" {
		t.Fatalf("output %v", out)
	}
	out, err = e.h.Invoke(ctx, "contacts.get_by_email", map[string]any{"email": "nobody@example.com"})
	if err != nil || out["found"] != false {
		t.Fatalf("missing contact: %v, %v", out, err)
	}
	_, err = e.h.Invoke(ctx, "contacts.get_by_email", map[string]any{"email": "nobody@example.com", "require": true})
	plugintest.WantError(t, err, abi.KindNotFound, "")
	e.spec.verify(t, "GET /crm/v3/objects/contacts/{contactId}")
}

func subscribers(n int, prefix string) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"email": fmt.Sprintf("%s%04d@example.com", prefix, i),
			"properties": map[string]any{"firstname": fmt.Sprint("Reader ", i), "lead_score": i % 100, "newsletter_opt_in": true}}
	}
	return out
}

// 250 contacts go in three batches; an existing contact is updated; one bad value is
// reported for its contact alone; results follow the input order although HubSpot's do not.
func TestUpsertSplitsAndReportsEachContact(t *testing.T) {
	e := setup(t, sim.DefaultKey, nil, sim.WithRateLimits(0, 0, 0))
	contacts := subscribers(250, "reader")
	contacts[7] = map[string]any{"email": "ana.petrova@example.com", "properties": map[string]any{"lead_score": 30, "aquascaping_experience": "intermediate"}}
	contacts[120]["properties"].(map[string]any)["lead_score"] = "plenty"
	out, err := e.h.Invoke(context.Background(), "contacts.upsert", map[string]any{"contacts": contacts})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%v %v %v %v", out["requests"], out["created"], out["updated"], out["failed"]) != "3 248 1 1" {
		t.Fatalf("requests/created/updated/failed = %v %v %v %v", out["requests"], out["created"], out["updated"], out["failed"])
	}
	results := out["results"].([]any)
	for i, r := range results {
		res := r.(map[string]any)
		if res["email"] != contacts[i]["email"] {
			t.Fatalf("results[%d] is %v, want %v", i, res["email"], contacts[i]["email"])
		}
	}
	bad := results[120].(map[string]any)["error"].(map[string]any)
	if bad["property"] != "lead_score" || bad["code"] != "INVALID_DECIMAL" {
		t.Fatalf("item error %v", bad)
	}
	ana, _ := e.sim.Contact("ana.petrova@example.com")
	if results[7].(map[string]any)["new"] != false || results[7].(map[string]any)["id"] != ana.ID || ana.Properties["lead_score"] != "30" {
		t.Fatalf("update result %v, stored %v", results[7], ana)
	}
	if c, ok := e.sim.Contact("reader0249@example.com"); !ok || c.Properties["newsletter_opt_in"] != "true" || c.Properties["lead_score"] != "49" {
		t.Fatalf("stored %v %v", c, ok)
	}
	if len(out["ids"].([]any)) != 249 {
		t.Fatalf("%d ids", len(out["ids"].([]any)))
	}
	e.spec.verify(t, "POST /crm/v3/objects/contacts/batch/upsert")
}

// A rate limit in the middle of a large upsert fails the step with the policy's wait; the
// retry sends only the batches HubSpot had not accepted.
func TestUpsertRetryResumesAfterRateLimit(t *testing.T) {
	now := time.Now()
	e := setup(t, sim.DefaultKey, nil, sim.WithRateLimits(2, 0, 0), sim.WithClock(func() time.Time { return now }))
	in := map[string]any{"contacts": subscribers(250, "burst")}
	_, err := e.h.Invoke(context.Background(), "contacts.upsert", in)
	if ae := plugintest.WantError(t, err, abi.KindRateLimited, ""); ae.RetryAfter() != 10*time.Second {
		t.Fatalf("retry after %s, want the ten-second window", ae.RetryAfter())
	}
	objs, _ := e.sim.Objects("contacts")
	if len(objs) != 3+200 {
		t.Fatalf("%d contacts after two accepted batches", len(objs))
	}
	e.sim.ResetRequests()
	now = now.Add(11 * time.Second)
	out, err := e.h.Invoke(context.Background(), "contacts.upsert", in)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(e.sim.Requests()); n != 1 || out["created"] != jsonNumber(250) || out["requests"] != jsonNumber(1) {
		t.Fatalf("retry sent %d requests, output %v %v", n, out["created"], out["requests"])
	}
	if objs, _ := e.sim.Objects("contacts"); len(objs) != 3+250 {
		t.Fatalf("%d contacts after the retry", len(objs))
	}
}

// jsonNumber is n as the harness decodes output numbers.
func jsonNumber(n int) any { return json.Number(strconv.Itoa(n)) }

func TestUpsertInvalid(t *testing.T) {
	two := subscribers(2, "x")
	two[1]["properties"].(map[string]any)["favourite_fish"] = "betta"
	dup := subscribers(2, "d")
	dup[1]["email"] = strings.ToUpper(dup[0]["email"].(string))
	tests := []struct {
		name      string
		input     map[string]any
		wantField string
	}{
		{"every contact rejected", map[string]any{"contacts": []map[string]any{{"email": "a@example.com", "properties": map[string]any{"lead_score": "x"}}}}, "contacts[0].properties.lead_score"},
		{"single contact rejected", map[string]any{"email": "a@example.com", "properties": map[string]any{"aquascaping_experience": "guru"}}, "properties.aquascaping_experience"},
		{"fail_on_error", map[string]any{"contacts": two, "fail_on_error": true}, "contacts[1].properties.favourite_fish"},
		{"duplicate email", map[string]any{"contacts": dup}, "contacts[1].email"},
		{"object value", map[string]any{"email": "a@example.com", "properties": map[string]any{"content_preferences": map[string]any{"a": 1}}}, "properties.content_preferences"},
		{"not an email", map[string]any{"contacts": []map[string]any{{"email": "nobody"}}}, "contacts[0].email"},
		{"nothing", map[string]any{}, "contacts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t, sim.DefaultKey, nil)
			_, err := e.h.Invoke(context.Background(), "contacts.upsert", tt.input)
			plugintest.WantError(t, err, abi.KindInvalidInput, tt.wantField)
			e.spec.verify(t)
		})
	}
}

func TestSearchPages(t *testing.T) {
	e := setup(t, sim.DefaultKey, nil, sim.WithoutSeed(), sim.WithRateLimits(0, 0, 0))
	ctx := context.Background()
	contacts := subscribers(25, "s")
	for i, c := range contacts {
		p := c["properties"].(map[string]any)
		p["lead_score"] = i
		if i%2 == 0 {
			p["aquascaping_experience"] = "advanced"
		}
	}
	if _, err := e.h.Invoke(ctx, "contacts.upsert", map[string]any{"contacts": contacts}); err != nil {
		t.Fatal(err)
	}
	e.sim.ResetRequests()
	out, err := e.h.Invoke(ctx, "contacts.search", map[string]any{
		"filters":    []map[string]any{{"property": "aquascaping_experience", "operator": "EQ", "value": "advanced"}, {"property": "lead_score", "operator": "GTE", "value": 4}},
		"sorts":      []map[string]any{{"property": "lead_score", "direction": "DESCENDING"}},
		"properties": []string{"email", "lead_score"},
		"page_size":  4,
	})
	if err != nil {
		t.Fatal(err)
	}
	got := out["contacts"].([]any)
	if out["count"] != jsonNumber(11) || out["total"] != jsonNumber(11) || len(e.sim.Requests()) != 3 {
		t.Fatalf("count %v total %v in %d requests", out["count"], out["total"], len(e.sim.Requests()))
	}
	if first := got[0].(map[string]any)["properties"].(map[string]any); first["lead_score"] != "24" {
		t.Fatalf("first %v", first)
	}
	out, err = e.h.Invoke(ctx, "contacts.search", map[string]any{
		"filter_groups": []map[string]any{
			{"filters": []map[string]any{{"property": "lead_score", "operator": "LT", "value": 2}}},
			{"filters": []map[string]any{{"property": "lead_score", "operator": "BETWEEN", "value": 10, "high_value": 11}}},
		},
		"page_size": 2, "one_page": true,
	})
	if err != nil || out["count"] != jsonNumber(2) || out["total"] != jsonNumber(4) || out["after"] != "2" {
		t.Fatalf("one page: %v, %v", out, err)
	}
	out, err = e.h.Invoke(ctx, "contacts.search", map[string]any{"query": "s0003", "after": "0"})
	if err != nil || out["count"] != jsonNumber(1) {
		t.Fatalf("query: %v, %v", out, err)
	}
	_, err = e.h.Invoke(ctx, "contacts.search", map[string]any{"filters": []map[string]any{{"property": "shoe_size", "operator": "EQ", "value": "9"}}})
	plugintest.WantError(t, err, abi.KindInvalidInput, "filters")
	_, err = e.h.Invoke(ctx, "contacts.search", map[string]any{"filters": []map[string]any{{"property": "email", "operator": "IN"}}})
	plugintest.WantError(t, err, abi.KindInvalidInput, "filters[0].values")
	e.spec.verify(t, "POST /crm/v3/objects/contacts/search")
}

func TestEvents(t *testing.T) {
	e := setup(t, sim.DefaultKey, map[string]any{"hub_id": fmt.Sprint(sim.DefaultHubID)})
	ctx := context.Background()
	in := map[string]any{"event_name": "content_engagement", "email": "ana.petrova@example.com", "occurred_at": "2025-08-06T10:00:00Z",
		"properties": map[string]any{"content_id": "CNT-1", "content_type": "newsletter_article", "engagement_type": "click", "quality_score": 87.5}}
	out, err := e.h.Invoke(ctx, "events.send", in)
	if err != nil {
		t.Fatal(err)
	}
	if out["event_name"] != e.sim.EventName("content_engagement") || len(fmt.Sprint(out["uuid"])) != 36 {
		t.Fatalf("output %v", out)
	}
	// The same step sent again (a retry) carries the same uuid: HubSpot keeps one occurrence.
	again, err := e.h.Invoke(ctx, "events.send", in)
	if err != nil || again["uuid"] != out["uuid"] {
		t.Fatalf("retry: %v, %v", again, err)
	}
	occ := e.sim.Occurrences()
	ana, _ := e.sim.Contact("ana.petrova@example.com")
	if len(occ) != 1 || occ[0].ContactID != ana.ID || occ[0].Properties["quality_score"] != "87.5" || !occ[0].OccurredAt.Equal(time.Date(2025, 8, 6, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("occurrences %+v", occ)
	}
	tests := []struct {
		name      string
		input     map[string]any
		wantField string
	}{
		{"unknown property", map[string]any{"event_name": "content_engagement", "email": "a@example.com", "properties": map[string]any{"mood": "happy"}}, "properties.mood"},
		{"unknown event", map[string]any{"event_name": "pe1_missing", "email": "a@example.com"}, "event_name"},
		{"nobody", map[string]any{"event_name": "content_engagement"}, "email"},
		{"unknown contact id", map[string]any{"event_name": "content_engagement", "object_id": "424242"}, "object_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.h.Invoke(ctx, "events.send", tt.input)
			plugintest.WantError(t, err, abi.KindInvalidInput, tt.wantField)
		})
	}
	e.spec.verify(t, "POST /events/v3/send")

	noHub := setup(t, sim.DefaultKey, nil)
	_, err = noHub.h.Invoke(ctx, "events.send", map[string]any{"event_name": "content_engagement", "email": "a@example.com"})
	plugintest.WantError(t, err, abi.KindInvalidInput, "event_name")
}

func TestAssociate(t *testing.T) {
	e := setup(t, sim.DefaultKey, nil)
	ctx := context.Background()
	maria, _ := e.sim.Contact("maria.dimitrova@example.com")
	companies, _ := e.sim.Objects("companies")
	out, err := e.h.Invoke(ctx, "associations.create", map[string]any{"from_type": "contacts", "from_id": maria.ID, "to_type": "companies", "to_id": companies[0].ID})
	if err != nil || fmt.Sprint(out["type_ids"]) != "[279]" {
		t.Fatalf("default: %v, %v", out, err)
	}
	out, err = e.h.Invoke(ctx, "associations.create", map[string]any{"from_type": "contacts", "from_id": maria.ID, "to_type": "companies", "to_id": companies[0].ID, "type_id": 1})
	if err != nil || fmt.Sprint(out["type_ids"]) != "[1]" {
		t.Fatalf("primary: %v, %v", out, err)
	}
	_, err = e.h.Invoke(ctx, "associations.create", map[string]any{"from_type": "contacts", "from_id": "1", "to_type": "companies", "to_id": companies[0].ID})
	plugintest.WantError(t, err, abi.KindNotFound, "")
	_, err = e.h.Invoke(ctx, "associations.create", map[string]any{"from_type": "contacts", "from_id": maria.ID, "to_type": "companies", "to_id": companies[0].ID, "type_id": 4})
	plugintest.WantError(t, err, abi.KindInvalidInput, "type_id")
}

func TestErrors(t *testing.T) {
	sofia, _ := time.LoadLocation("Europe/Sofia")
	get := map[string]any{"email": "ana.petrova@example.com"}
	tests := []struct {
		name      string
		token     string
		config    map[string]any
		opts      []sim.Option
		inject    int
		latency   time.Duration
		calls     int // calls before the one checked
		wantKind  abi.ErrorKind
		wantRetry func() time.Duration
	}{
		{"bad token", "pat-na1-wrong", nil, nil, 0, 0, 0, abi.KindAuth, nil},
		{"5xx", sim.DefaultKey, nil, nil, 502, 0, 0, abi.KindTransient, nil},
		{"ten-secondly", sim.DefaultKey, nil, nil, 429, 0, 0, abi.KindRateLimited, func() time.Duration { return 10 * time.Second }},
		{"daily until midnight in the account's zone", sim.DefaultKey, map[string]any{"account_timezone": "Europe/Sofia"},
			[]sim.Option{sim.WithRateLimits(0, 1, 0), sim.WithTimeZone(sofia)}, 0, 0, 1, abi.KindRateLimited, func() time.Duration {
				now := time.Now().In(sofia)
				y, m, d := now.Date()
				return time.Date(y, m, d+1, 0, 0, 0, 0, sofia).Sub(now)
			}},
		{"timeout", sim.DefaultKey, nil, nil, 0, 10 * time.Second, 0, abi.KindTransient, nil},
		{"bad time zone", sim.DefaultKey, map[string]any{"account_timezone": "Mars/Olympus"}, nil, 0, 0, 0, abi.KindPermanent, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t, tt.token, tt.config, tt.opts...)
			for range tt.calls {
				if _, err := e.h.Invoke(context.Background(), "contacts.get_by_email", get); err != nil {
					t.Fatal(err)
				}
			}
			if tt.inject != 0 {
				e.sim.Injector().Inject(tt.inject, 1)
			}
			e.sim.Injector().Set(simkit.Faults{Latency: tt.latency})
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			_, err := e.h.Invoke(ctx, "contacts.get_by_email", get)
			ae := plugintest.WantError(t, err, tt.wantKind, "")
			if tt.wantRetry != nil {
				want := tt.wantRetry()
				if d := ae.RetryAfter() - want; d < -5*time.Second || d > 5*time.Second {
					t.Fatalf("retry after %s, want about %s", ae.RetryAfter(), want)
				}
			}
			if tt.latency == 0 {
				e.spec.verify(t)
			}
		})
	}
}
