package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/analytics"
)

// Run runs the contract suite; open returns a new empty store and registers its cleanup.
func Run(t *testing.T, open func(t testing.TB) analytics.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s analytics.Store)
	}{
		{"targets are created, updated and listed by content id", testTargets},
		{"a failing update stores nothing", testTargetUpdateError},
		{"recording the same day merges metrics", testRecordMerges},
		{"observations are read by content, source and day up to a date", testObservations},
		{"tenants do not see each other", testIsolation},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

var (
	ctx = context.Background()
	d1  = time.Date(2025, 8, 4, 0, 0, 0, 0, time.UTC)
	d2  = d1.AddDate(0, 0, 1)
	d3  = d1.AddDate(0, 0, 2)
)

func update(t testing.TB, s analytics.Store, tenant, id string, fn func(tg *analytics.Target, exists bool) error) analytics.Target {
	t.Helper()
	tg, err := s.UpdateTarget(ctx, tenant, id, fn)
	if err != nil {
		t.Fatalf("UpdateTarget(%s): %v", id, err)
	}
	return tg
}

func testTargets(t *testing.T, s analytics.Store) {
	var sawExisting []bool
	for _, id := range []string{"gen-b", "gen-a"} {
		update(t, s, "acme", id, func(tg *analytics.Target, exists bool) error {
			sawExisting = append(sawExisting, exists)
			tg.PagePath, tg.TrackedAt = "/blog/"+id, d1
			return nil
		})
	}
	got := update(t, s, "acme", "gen-a", func(tg *analytics.Target, exists bool) error {
		sawExisting = append(sawExisting, exists)
		if tg.PagePath != "/blog/gen-a" {
			t.Errorf("update sees page path %q", tg.PagePath)
		}
		tg.InstagramMediaIDs = append(tg.InstagramMediaIDs, "17890001")
		return nil
	})
	if !reflect.DeepEqual(sawExisting, []bool{false, false, true}) {
		t.Fatalf("exists flags %v", sawExisting)
	}
	if got.ContentID != "gen-a" || got.PagePath != "/blog/gen-a" || len(got.InstagramMediaIDs) != 1 {
		t.Fatalf("updated target %+v", got)
	}
	one, err := s.Target(ctx, "acme", "gen-a")
	if err != nil || !reflect.DeepEqual(one.InstagramMediaIDs, []string{"17890001"}) || !one.TrackedAt.Equal(d1) {
		t.Fatalf("Target = %+v, %v", one, err)
	}
	all, err := s.Targets(ctx, "acme")
	if err != nil || len(all) != 2 || all[0].ContentID != "gen-a" || all[1].ContentID != "gen-b" {
		t.Fatalf("Targets = %+v, %v", all, err)
	}
	if _, err := s.Target(ctx, "acme", "gen-c"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("missing target: %v, want ErrNotFound", err)
	}
}

func testTargetUpdateError(t *testing.T, s analytics.Store) {
	boom := errors.New("boom")
	if _, err := s.UpdateTarget(ctx, "acme", "gen-a", func(tg *analytics.Target, _ bool) error {
		tg.PagePath = "/x"
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("error %v, want fn's", err)
	}
	if _, err := s.Target(ctx, "acme", "gen-a"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("a failed update stored a target: %v", err)
	}
}

func record(t testing.TB, s analytics.Store, tenant string, obs ...analytics.Observation) {
	t.Helper()
	if err := s.Record(ctx, tenant, obs); err != nil {
		t.Fatalf("Record: %v", err)
	}
}

func obs(id, source string, day time.Time, m map[string]float64) analytics.Observation {
	return analytics.Observation{ContentID: id, Source: source, Day: day, Metrics: m, RecordedAt: day.Add(time.Hour)}
}

func testRecordMerges(t *testing.T, s analytics.Store) {
	record(t, s, "acme", obs("gen-a", "ga4", d1, map[string]float64{"page_views": 10, "sessions": 8}))
	record(t, s, "acme", obs("gen-a", "ga4", d1, map[string]float64{"clicks": 2, "page_views": 12}))
	got, err := s.Observations(ctx, "acme", []string{"gen-a"}, d3)
	if err != nil || len(got) != 1 {
		t.Fatalf("Observations = %+v, %v", got, err)
	}
	want := map[string]float64{"page_views": 12, "sessions": 8, "clicks": 2}
	if !reflect.DeepEqual(got[0].Metrics, want) || !got[0].Day.Equal(d1) || got[0].Source != "ga4" {
		t.Fatalf("merged observation %+v, want metrics %v", got[0], want)
	}
	c := obs("gen-a", "instagram", d2, map[string]float64{"views": 100})
	c.Cumulative = true
	record(t, s, "acme", c)
	got, _ = s.Observations(ctx, "acme", []string{"gen-a"}, d3)
	if len(got) != 2 || !got[1].Cumulative || got[0].Cumulative {
		t.Fatalf("cumulative flag not kept: %+v", got)
	}
}

func testObservations(t *testing.T, s analytics.Store) {
	record(t, s, "acme",
		obs("gen-b", "ga4", d2, map[string]float64{"page_views": 1}),
		obs("gen-a", "instagram", d1, map[string]float64{"views": 5}),
		obs("gen-a", "ga4", d3, map[string]float64{"page_views": 3}),
		obs("gen-a", "ga4", d1, map[string]float64{"page_views": 2}),
		obs("gen-ab", "ga4", d1, map[string]float64{"page_views": 9}),
	)
	type key struct {
		id, source string
		day        time.Time
	}
	keys := func(list []analytics.Observation) []key {
		var out []key
		for _, o := range list {
			out = append(out, key{o.ContentID, o.Source, o.Day})
		}
		return out
	}
	tests := []struct {
		name string
		ids  []string
		to   time.Time
		want []key
	}{
		{"every piece, ordered", nil, d3, []key{{"gen-a", "ga4", d1}, {"gen-a", "ga4", d3}, {"gen-a", "instagram", d1}, {"gen-ab", "ga4", d1}, {"gen-b", "ga4", d2}}},
		{"up to a date", nil, d2, []key{{"gen-a", "ga4", d1}, {"gen-a", "instagram", d1}, {"gen-ab", "ga4", d1}, {"gen-b", "ga4", d2}}},
		{"some pieces, in id order, not prefixes of others", []string{"gen-b", "gen-a"}, d3, []key{{"gen-a", "ga4", d1}, {"gen-a", "ga4", d3}, {"gen-a", "instagram", d1}, {"gen-b", "ga4", d2}}},
		{"an unknown piece", []string{"gen-z"}, d3, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Observations(ctx, "acme", tt.ids, tt.to)
			if err != nil || !reflect.DeepEqual(keys(got), tt.want) {
				t.Fatalf("Observations(%v, %s) = %v, %v; want %v", tt.ids, tt.to.Format("2006-01-02"), keys(got), err, tt.want)
			}
		})
	}
}

func testIsolation(t *testing.T, s analytics.Store) {
	update(t, s, "acme", "gen-a", func(tg *analytics.Target, _ bool) error { tg.PagePath = "/a"; return nil })
	record(t, s, "acme", obs("gen-a", "ga4", d1, map[string]float64{"page_views": 1}))
	if _, err := s.Target(ctx, "other", "gen-a"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("other tenant's target: %v", err)
	}
	if ts, _ := s.Targets(ctx, "other"); len(ts) != 0 {
		t.Fatalf("other tenant lists %v", ts)
	}
	if o, _ := s.Observations(ctx, "other", nil, d3); len(o) != 0 {
		t.Fatalf("other tenant reads %v", o)
	}
	if o, _ := s.Observations(ctx, "acm", nil, d3); len(o) != 0 {
		t.Fatalf("a tenant whose id prefixes another's reads %v", o)
	}
}
