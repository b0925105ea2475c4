package analytics_test

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/analytics"
	"github.com/aquascene/aquahub/internal/httpapi/apitest"
	"github.com/aquascene/aquahub/internal/storage/bolt"
)

var today = time.Date(2025, 8, 20, 15, 4, 0, 0, time.UTC)

func day(n int) time.Time { return analytics.Day(today).AddDate(0, 0, -n) }

func newModule(t testing.TB) *analytics.Module {
	t.Helper()
	db, err := bolt.Open(bolt.Config{Path: filepath.Join(t.TempDir(), "aquahub.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return analytics.New(analytics.Deps{Store: db.Analytics(), Now: func() time.Time { return today }})
}

func TestTotalsOf(t *testing.T) {
	daily := func(n int, m map[string]float64) analytics.Observation {
		return analytics.Observation{ContentID: "c", Source: "ga4", Day: day(n), Metrics: m}
	}
	cum := func(n int, m map[string]float64) analytics.Observation {
		return analytics.Observation{ContentID: "c", Source: "instagram", Day: day(n), Cumulative: true, Metrics: m}
	}
	obs := []analytics.Observation{
		daily(40, map[string]float64{"page_views": 1000}),
		daily(6, map[string]float64{"page_views": 100, "clicks": 5, "sessions": 80, "engaged_sessions": 60}),
		daily(1, map[string]float64{"page_views": 50, "clicks": 3, "sessions": 40, "engaged_sessions": 20}),
		cum(10, map[string]float64{"views": 300, "interactions": 30}),
		cum(3, map[string]float64{"views": 500, "interactions": 45}),
		cum(0, map[string]float64{"views": 800, "interactions": 70}),
	}
	tests := []struct {
		name   string
		period analytics.Period
		want   analytics.Totals
	}{
		{"last 7 days: daily sums, cumulative growth since before", analytics.LastDays(today, 7),
			analytics.Totals{PageViews: 150, Clicks: 8, Sessions: 120, EngagedSessions: 80, InstagramViews: 500, Interactions: 40}},
		{"everything", analytics.Period{To: analytics.Day(today)},
			analytics.Totals{PageViews: 1150, Clicks: 8, Sessions: 120, EngagedSessions: 80, InstagramViews: 800, Interactions: 70}},
		{"a window ending before the last readings", analytics.Period{From: day(8), To: day(2)},
			analytics.Totals{PageViews: 100, Clicks: 5, Sessions: 80, EngagedSessions: 60, InstagramViews: 200, Interactions: 15}},
		{"nothing in it", analytics.Period{From: day(30), To: day(20)}, analytics.Totals{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := analytics.TotalsOf(obs, tt.period); got != tt.want {
				t.Fatalf("TotalsOf = %+v, want %+v", got, tt.want)
			}
		})
	}
	tot := analytics.TotalsOf(obs, analytics.LastDays(today, 7))
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
	if tot.Views() != 650 || tot.Engagement() != 120 || !near(tot.CTR(), 8.0/150) || !near(tot.BounceRate(), 1.0/3) {
		t.Fatalf("derived measures of %+v", tot)
	}
}

func TestStepCheck(t *testing.T) {
	k := analytics.New(analytics.Deps{}).StepKinds()[0]
	tests := []struct {
		name, op string
		in       map[string]any
		want     string
	}{
		{"track", "track", map[string]any{"content_id": "${{ event.data.content_id }}", "url": "${{ event.data.url }}"}, ""},
		{"unknown operation", "pull", map[string]any{}, `unknown operation "pull"`},
		{"track needs a content id", "track", map[string]any{"page_path": "/a"}, "content_id: required"},
		{"track refuses unknown fields", "track", map[string]any{"content_id": "c", "path": "/a"}, "path: unknown field"},
		{"track refuses a relative url", "track", map[string]any{"content_id": "c", "url": "blog/a"}, "url: must be an absolute URL"},
		{"targets", "targets", map[string]any{"max_age_days": 90}, ""},
		{"targets refuses a fraction", "targets", map[string]any{"max_age_days": 1.5}, "max_age_days: must be a whole number"},
		{"record from a report", "record", map[string]any{"content_id": "c", "source": "ga4", "observations": "${{ map(steps.r.records, {}) }}"}, ""},
		{"record needs a source", "record", map[string]any{"content_id": "c", "metrics": map[string]any{"views": 1}}, "source: required"},
		{"record refuses an unknown metric", "record", map[string]any{"content_id": "c", "source": "instagram", "metrics": map[string]any{"impressions": 1}}, "metrics.impressions: unknown metric"},
		{"record refuses a negative value", "record", map[string]any{"content_id": "c", "source": "ga4", "observations": []any{map[string]any{"date": "20250806", "clicks": -1}}}, "observations[0].clicks: must be a number of at least 0"},
		{"record refuses a bad date", "record", map[string]any{"content_id": "c", "source": "ga4", "observations": []any{map[string]any{"date": "yesterday", "clicks": 1}}}, "observations[0].date: want a date"},
		{"record wants one of observations and metrics", "record", map[string]any{"content_id": "c", "source": "ga4"}, "observations: required (or metrics)"},
		{"record refuses a bad source name", "record", map[string]any{"content_id": "c", "source": "GA 4", "metrics": map[string]any{}}, "source: must match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := k.Check(core.StepDef{Kind: "analytics", Target: tt.op, Input: tt.in})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func step(t testing.TB, m *analytics.Module, op string, in map[string]any) map[string]any {
	t.Helper()
	res, err := m.StepKinds()[0].Execute(context.Background(), core.StepCall{Tenant: "aquascene", Target: op, Input: in})
	if err != nil {
		t.Fatalf("analytics: %s: %v", op, err)
	}
	return res.Output
}

// TestPullCycle runs the steps the example rules run: track a piece, list the targets,
// record a GA4 report split by date and a re-read of it, and Instagram's lifetime insights.
func TestPullCycle(t *testing.T) {
	m := newModule(t)
	tracked := step(t, m, "track", map[string]any{"content_id": "gen-1", "url": "https://aquascene.bg/guides/co2-systems?utm_source=x", "external_id": "CNT-7"})
	if tracked["page_path"] != "/guides/co2-systems" || tracked["external_id"] != "CNT-7" {
		t.Fatalf("track output %v", tracked)
	}
	step(t, m, "track", map[string]any{"content_id": "gen-1", "instagram_media_id": "17900001"})
	step(t, m, "track", map[string]any{"content_id": "gen-2", "page_path": "/blog/co2-basics"})
	targets := step(t, m, "targets", map[string]any{})
	if targets["count"] != 2 {
		t.Fatalf("targets %v", targets)
	}
	first := targets["targets"].([]any)[0].(map[string]any)
	if first["page_path"] != "/guides/co2-systems" || len(first["instagram_media_ids"].([]any)) != 1 {
		t.Fatalf("target kept page path and media: %v", first)
	}

	report := []any{
		map[string]any{"date": day(2).Format("20060102"), "page_views": 40.0, "sessions": 30.0, "engaged_sessions": 20.0},
		map[string]any{"date": day(1).Format("20060102"), "page_views": "60", "sessions": 45.0, "engaged_sessions": 30.0},
		map[string]any{"date": day(1).Format("20060102"), "page_views": 10.0},
	}
	step(t, m, "record", map[string]any{"content_id": "gen-1", "source": "ga4", "observations": report})
	clicks := []any{map[string]any{"date": day(1).Format("2006-01-02"), "clicks": 7.0}}
	step(t, m, "record", map[string]any{"content_id": "gen-1", "source": "ga4", "observations": clicks})
	// The same report read again the next day replaces what it names.
	step(t, m, "record", map[string]any{"content_id": "gen-1", "source": "ga4", "observations": report})
	out := step(t, m, "record", map[string]any{"content_id": "gen-1", "source": "instagram", "cumulative": true,
		"metrics": map[string]any{"views": 900.0, "reach": 700.0, "interactions": 55.0}})
	perf := out["performance_metrics"].(map[string]any)
	want := map[string]any{"content_id": "gen-1", "page_views": 110.0, "clicks": 7.0, "sessions": 75.0, "instagram_views": 900.0,
		"views": 1010.0, "engagement": 105.0, "ctr": 0.0636, "bounce_rate": 0.3333}
	for k, v := range want {
		if perf[k] != v {
			t.Errorf("performance_metrics[%s] = %v, want %v (all: %v)", k, perf[k], v, perf)
		}
	}
	tot, err := m.ContentTotals(context.Background(), "aquascene", []string{"gen-1", "gen-2"}, analytics.LastDays(today, 30))
	if err != nil || tot["gen-1"].PageViews != 110 || tot["gen-1"].Clicks != 7 {
		t.Fatalf("ContentTotals = %+v, %v", tot, err)
	}
	if _, has := tot["gen-2"]; has {
		t.Fatalf("a piece without observations has totals: %+v", tot["gen-2"])
	}
}

func TestRoutes(t *testing.T) {
	m := newModule(t)
	step(t, m, "track", map[string]any{"content_id": "gen-1", "page_path": "/guides/co2-systems"})
	step(t, m, "record", map[string]any{"content_id": "gen-1", "source": "ga4", "observations": []any{
		map[string]any{"date": day(1).Format("20060102"), "page_views": 100.0, "clicks": 2.0, "engaged_sessions": 10.0},
		map[string]any{"date": day(40).Format("20060102"), "page_views": 5000.0}}})
	step(t, m, "record", map[string]any{"content_id": "gen-2", "source": "ga4", "observations": []any{
		map[string]any{"date": day(3).Format("20060102"), "page_views": 80.0, "clicks": 9.0, "engaged_sessions": 3.0}}})
	step(t, m, "record", map[string]any{"content_id": "gen-3", "source": "instagram", "cumulative": true,
		"metrics": map[string]any{"views": 95.0, "interactions": 40.0}})
	srv := apitest.New(t, m)

	rank := func(query string) []string {
		t.Helper()
		code, body, _ := srv.Call(t, "GET", "/api/v1/analytics/content"+query, "viewer-key", nil, nil)
		if code != 200 {
			t.Fatalf("GET %s = %d %v", query, code, body)
		}
		var ids []string
		for _, c := range body["content"].([]any) {
			ids = append(ids, c.(map[string]any)["content_id"].(string))
		}
		return ids
	}
	tests := []struct {
		name, query string
		want        string
	}{
		{"by views, default", "", "gen-1,gen-3,gen-2"},
		{"by clicks", "?sort=clicks", "gen-2,gen-1,gen-3"},
		{"by engagement", "?sort=engagement", "gen-3,gen-1,gen-2"},
		{"a longer period counts the old page views", "?period_days=60&sort=views&limit=1", "gen-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Join(rank(tt.query), ","); got != tt.want {
				t.Fatalf("ranking %s = %s, want %s", tt.query, got, tt.want)
			}
		})
	}
	code, body, _ := srv.Call(t, "GET", "/api/v1/analytics/content/gen-1?period_days=7", "dev-key", nil, nil)
	if code != 200 || body["page_views"] != 100.0 || body["tracked"] != true || body["ctr"] != 0.02 || len(body["observations"].([]any)) != 1 {
		t.Fatalf("GET /analytics/content/gen-1 = %d %v", code, body)
	}
	bad := []struct{ path, field string }{
		{"/api/v1/analytics/content?sort=likes", "sort"},
		{"/api/v1/analytics/content?period_days=0", "period_days"},
		{"/api/v1/analytics/content?limit=many", "limit"},
		{"/api/v1/analytics/content/gen-1?period_days=9999", "period_days"},
	}
	for _, b := range bad {
		code, body, _ := srv.Call(t, "GET", b.path, "dev-key", nil, nil)
		if code != 400 || !strings.Contains(body["detail"].(string)+errorsOf(body), b.field) {
			t.Errorf("GET %s = %d %v, want 400 naming %s", b.path, code, body, b.field)
		}
	}
	if code, _, _ := srv.Call(t, "GET", "/api/v1/analytics/content/gen-9", "dev-key", nil, nil); code != 404 {
		t.Errorf("an unknown piece = %d, want 404", code)
	}
	if code, _, _ := srv.Call(t, "GET", "/api/v1/analytics/content", "", nil, nil); code != 401 {
		t.Errorf("no key = %d, want 401", code)
	}
	if code, body, _ := srv.Call(t, "GET", "/api/v1/analytics/content", "other-key", nil, nil); code != 200 || len(body["content"].([]any)) != 0 {
		t.Errorf("another tenant sees %v", body)
	}
}

func errorsOf(body map[string]any) string {
	var s []string
	list, _ := body["errors"].([]any)
	for _, e := range list {
		s = append(s, e.(map[string]any)["field"].(string))
	}
	return strings.Join(s, ",")
}

func TestNoStore(t *testing.T) {
	m := analytics.New(analytics.Deps{})
	_, err := m.StepKinds()[0].Execute(context.Background(), core.StepCall{Target: "targets", Input: map[string]any{}})
	if err == nil || errors.Is(err, core.ErrNotFound) {
		t.Fatalf("a module without storage executed a step: %v", err)
	}
}
