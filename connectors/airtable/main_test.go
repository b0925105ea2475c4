//go:build !wasip1

package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/airtable/sim"
	"github.com/aquascene/aquahub/connectors/simkit"
	"github.com/aquascene/aquahub/connectors/simkit/simtest"
	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/plugin/plugintest"
)

// setup starts a simulator (rate limit off: the connector's own limiter is tested by request
// spacing elsewhere) and a harness configured against it.
func setup(t testing.TB, key string, opts ...sim.Option) (*sim.Server, *plugintest.Harness) {
	t.Helper()
	s := sim.New(append([]sim.Option{sim.WithRateLimit(0, 0)}, opts...)...)
	ts := simtest.Serve(t, s, nil)
	h := plugintest.Start(t, Connector, plugintest.Options{
		Config:  map[string]any{"base_url": ts.URL, "base_id": sim.DefaultBase},
		Secrets: map[string]string{"api_key": key},
		Egress:  []string{ts.URL},
		Timeout: 5 * time.Second,
	})
	return s, h
}

func abiErr(t testing.TB, err error) *abi.Error {
	t.Helper()
	var e *abi.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *abi.Error", err)
	}
	return e
}

func records(n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"fields": map[string]any{"Content_ID": fmt.Sprintf("c-%02d", i), "Quality_Score": i, "Status": "Generated"}}
	}
	return out
}

func TestCreateInChunksAndList(t *testing.T) {
	s, h := setup(t, sim.DefaultKey)
	ctx := context.Background()
	out, err := h.Invoke(ctx, "records.create", map[string]any{"table": "Content_Master", "records": records(25)})
	if err != nil {
		t.Fatal(err)
	}
	if ids := out["ids"].([]any); len(ids) != 25 {
		t.Fatalf("created %d ids", len(ids))
	}
	posts := 0
	for _, r := range s.Requests() {
		if r.Method == "POST" {
			posts++
		}
	}
	if posts != 3 {
		t.Fatalf("%d create requests, want 3 (10+10+5)", posts)
	}

	s.ResetRequests()
	out, err = h.Invoke(ctx, "records.list", map[string]any{
		"table": "Content_Master", "page_size": 10, "filter_by_formula": "{Quality_Score}>=5",
		"sort": []map[string]any{{"field": "Quality_Score", "direction": "desc"}}, "fields": []string{"Content_ID"},
	})
	if err != nil {
		t.Fatal(err)
	}
	recs := out["records"].([]any)
	if len(recs) != 20 || recs[0].(map[string]any)["fields"].(map[string]any)["Content_ID"] != "c-24" {
		t.Fatalf("list = %d records, first %v", len(recs), recs[0])
	}
	if n := len(s.Requests()); n != 2 {
		t.Fatalf("%d list requests, want 2 pages", n)
	}
	q := s.Requests()[0].RawQuery
	if !strings.Contains(q, "fields%5B%5D=Content_ID") || !strings.Contains(q, "sort%5B0%5D%5Bdirection%5D=desc") {
		t.Fatalf("query %s is not jQuery-style", q)
	}

	out, err = h.Invoke(ctx, "records.list", map[string]any{"table": "Content_Master", "page_size": 7, "one_page": true})
	if err != nil {
		t.Fatal(err)
	}
	if len(out["records"].([]any)) != 7 || out["offset"] == "" {
		t.Fatalf("one page = %v", out)
	}
	next, err := h.Invoke(ctx, "records.list", map[string]any{"table": "Content_Master", "page_size": 7, "one_page": true, "offset": out["offset"]})
	if err != nil || len(next["records"].([]any)) != 7 {
		t.Fatalf("next page = %v, %v", next, err)
	}
}

func TestGetAndUpsert(t *testing.T) {
	s, h := setup(t, sim.DefaultKey)
	seeded, _ := s.Seed(sim.DefaultBase, "Content_Master", map[string]any{"Content_ID": "a", "Title": "A"})
	ctx := context.Background()
	got, err := h.Invoke(ctx, "records.get", map[string]any{"table": "Content_Master", "id": seeded[0].ID})
	if err != nil || got["fields"].(map[string]any)["Title"] != "A" {
		t.Fatalf("get = %v, %v", got, err)
	}
	out, err := h.Invoke(ctx, "records.upsert", map[string]any{
		"table": "Content_Master", "merge_on": []string{"Content_ID"},
		"records": []map[string]any{{"fields": map[string]any{"Content_ID": "a", "Status": "Generated"}}, {"fields": map[string]any{"Content_ID": "b"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if u := out["updated"].([]any); len(u) != 1 || u[0] != seeded[0].ID || len(out["created"].([]any)) != 1 {
		t.Fatalf("upsert = %v", out)
	}
	all, _ := s.Records(sim.DefaultBase, "Content_Master")
	if len(all) != 2 || all[0].Fields["Title"] != "A" || all[0].Fields["Status"] != "Generated" {
		t.Fatalf("table after upsert = %+v", all)
	}
}

func TestUpdate(t *testing.T) {
	s, h := setup(t, sim.DefaultKey)
	seeded, _ := s.Seed(sim.DefaultBase, "Content_Master", map[string]any{"Content_ID": "a", "Title": "A"})
	out, err := h.Invoke(context.Background(), "records.update", map[string]any{
		"table": "Content_Master", "records": []map[string]any{{"id": seeded[0].ID, "fields": map[string]any{"Status": "Published"}}},
	})
	if err != nil || out["id"] != seeded[0].ID {
		t.Fatalf("update = %v, %v", out, err)
	}
	all, _ := s.Records(sim.DefaultBase, "Content_Master")
	if all[0].Fields["Title"] != "A" || all[0].Fields["Status"] != "Published" {
		t.Fatalf("merge lost fields: %+v", all[0])
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name      string
		key       string
		inject    int
		action    string
		input     map[string]any
		wantKind  abi.ErrorKind
		wantField string
		wantRetry time.Duration
	}{
		{"bad key", "patWrong", 0, "records.list", map[string]any{"table": "Content_Master"}, abi.KindAuth, "", 0},
		{"unknown table", sim.DefaultKey, 0, "records.list", map[string]any{"table": "Nope"}, abi.KindAuth, "", 0},
		{"unsupported formula", sim.DefaultKey, 0, "records.list", map[string]any{"table": "Content_Master", "filter_by_formula": "REGEX_MATCH({Title},'x')"}, abi.KindInvalidInput, "filter_by_formula", 0},
		{"unknown field", sim.DefaultKey, 0, "records.create", map[string]any{"table": "Content_Master", "fields": map[string]any{"Nope": 1}}, abi.KindInvalidInput, "fields", 0},
		{"unknown record", sim.DefaultKey, 0, "records.get", map[string]any{"table": "Content_Master", "id": "recNope0000000000"}, abi.KindNotFound, "", 0},
		{"update without id", sim.DefaultKey, 0, "records.update", map[string]any{"table": "Content_Master", "fields": map[string]any{"Title": "x"}}, abi.KindInvalidInput, "records[0].id", 0},
		{"upsert without merge_on", sim.DefaultKey, 0, "records.upsert", map[string]any{"table": "Content_Master", "fields": map[string]any{"Title": "x"}}, abi.KindInvalidInput, "merge_on", 0},
		{"upsert missing merge value", sim.DefaultKey, 0, "records.upsert", map[string]any{"table": "Content_Master", "merge_on": []string{"Content_ID"}, "fields": map[string]any{"Title": "x"}}, abi.KindInvalidInput, "records[0].fields.Content_ID", 0},
		{"unknown input field", sim.DefaultKey, 0, "records.list", map[string]any{"table": "Content_Master", "tabel": "x"}, abi.KindInvalidInput, "tabel", 0},
		{"429", sim.DefaultKey, 429, "records.list", map[string]any{"table": "Content_Master"}, abi.KindRateLimited, "", 30 * time.Second},
		{"503", sim.DefaultKey, 503, "records.list", map[string]any{"table": "Content_Master"}, abi.KindTransient, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, h := setup(t, tt.key)
			if tt.inject != 0 {
				s.Injector().Inject(tt.inject, 1)
			}
			_, err := h.Invoke(context.Background(), tt.action, tt.input)
			e := abiErr(t, err)
			if e.Kind != tt.wantKind || e.Field != tt.wantField || e.RetryAfter() != tt.wantRetry {
				t.Fatalf("error = %+v, want kind %s field %q retry %s", e, tt.wantKind, tt.wantField, tt.wantRetry)
			}
			if tt.inject != 0 {
				// The same call succeeds once the fault has passed.
				if _, err := h.Invoke(context.Background(), tt.action, tt.input); err != nil {
					t.Fatalf("after the fault: %v", err)
				}
			}
		})
	}
}

// A create that fails halfway resumes after the written chunks when retried with the same
// idempotency key, so no record is written twice.
func TestCreateResumesAfterPartialFailure(t *testing.T) {
	s, h := setup(t, sim.DefaultKey)
	ctx := context.Background()
	in := map[string]any{"table": "Content_Master", "records": records(15)}
	// The first chunk is served, the second answered 429.
	s.Injector().Set(simkit.Faults{RateLimitEvery: 1, RateLimitBurst: 1})
	_, err := h.Invoke(ctx, "records.create", in)
	if e := abiErr(t, err); e.Kind != abi.KindRateLimited {
		t.Fatalf("first attempt = %+v", e)
	}
	s.Injector().Set(simkit.Faults{})
	out, err := h.Invoke(ctx, "records.create", in)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := s.Records(sim.DefaultBase, "Content_Master")
	if len(all) != 15 || len(out["ids"].([]any)) != 15 {
		t.Fatalf("%d records in the table, %d ids returned; want 15 and 15", len(all), len(out["ids"].([]any)))
	}
}

func TestTimeout(t *testing.T) {
	s, h := setup(t, sim.DefaultKey)
	s.Injector().Set(simkit.Faults{Latency: 10 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := h.Invoke(ctx, "records.list", map[string]any{"table": "Content_Master"})
	if e := abiErr(t, err); e.Kind != abi.KindTransient {
		t.Fatalf("timeout = %+v, want transient", e)
	}
}
