package analytics

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aquascene/aquahub/core"
)

// StepKind is the rule step kind `analytics`, with the operation as its target and the
// input under `with`:
//
//	analytics: track     content_id, and what is known of where it lives: page_path (or url,
//	                     whose path is taken), instagram_media_id, external_id. Output: the
//	                     target (content_id, external_id, page_path, instagram_media_ids).
//	analytics: targets   max_age_days (only pieces first tracked within it), limit. Output:
//	                     targets (as track outputs them) and count.
//	analytics: record    content_id, source, cumulative (running totals, as Instagram's
//	                     lifetime insights are), and either observations, a list of
//	                     {date, <metric>: value…}, or metrics {<metric>: value…} with an
//	                     optional date (default today). Output: content_id, source, days,
//	                     totals and performance_metrics (the piece's totals to date, the
//	                     shape written back to Airtable's Performance_Metrics).
//
// Metric names are those of Metrics. Recording the same day again replaces the metrics it
// names, so a retried step or an overlapping pull counts nothing twice.
type StepKind struct{ m *Module }

// Syntax implements core.StepKind.
func (StepKind) Syntax() core.StepSyntax { return core.StepSyntax{Name: "analytics", Target: true} }

var operations = map[string]func(in map[string]any, complete bool, now time.Time) (any, error){
	"track":   func(in map[string]any, c bool, _ time.Time) (any, error) { return trackInput(in, c) },
	"targets": func(in map[string]any, c bool, _ time.Time) (any, error) { return targetsInput(in, c) },
	"record":  func(in map[string]any, c bool, now time.Time) (any, error) { return recordInput(in, c, now) },
}

// Check implements core.StepKind: the operation, unknown fields and literal values.
func (k StepKind) Check(def core.StepDef) error {
	parse, ok := operations[def.Target]
	if !ok {
		return fmt.Errorf("analytics: unknown operation %q (want track, targets or record)", def.Target)
	}
	_, err := parse(def.Literals(), false, time.Now())
	return err
}

// Execute implements core.StepKind.
func (k StepKind) Execute(ctx context.Context, call core.StepCall) (core.StepResult, error) {
	parse, ok := operations[call.Target]
	if !ok {
		return core.StepResult{}, core.Permanent(fmt.Errorf("analytics: unknown operation %q", call.Target))
	}
	in, err := parse(call.Input, true, k.m.now())
	if err != nil {
		return core.StepResult{}, &core.StepError{Class: core.ClassInvalidInput, Err: err}
	}
	switch v := in.(type) {
	case Target:
		t, err := k.m.Track(ctx, call.Tenant, v)
		if err != nil {
			return core.StepResult{}, err
		}
		return core.StepResult{Output: targetOutput(t)}, nil
	case targetsQuery:
		ts, err := k.m.Targets(ctx, call.Tenant, v.maxAge)
		if err != nil {
			return core.StepResult{}, err
		}
		if v.limit > 0 && len(ts) > v.limit {
			ts = ts[:v.limit]
		}
		out := make([]any, len(ts))
		for i, t := range ts {
			out[i] = targetOutput(t)
		}
		return core.StepResult{Output: map[string]any{"targets": out, "count": len(out)}}, nil
	case recording:
		if err := k.m.Record(ctx, call.Tenant, v.obs); err != nil {
			return core.StepResult{}, err
		}
		now := k.m.now()
		all, err := k.m.ContentTotals(ctx, call.Tenant, []string{v.contentID}, Period{To: Day(now)})
		if err != nil {
			return core.StepResult{}, err
		}
		tot := all[v.contentID]
		return core.StepResult{Output: map[string]any{
			"content_id": v.contentID, "source": v.source, "days": len(v.obs),
			"totals":              totalsOutput(tot),
			"performance_metrics": performanceMetrics(v.contentID, tot, now),
		}}, nil
	}
	return core.StepResult{}, core.Permanent(fmt.Errorf("analytics: operation %q has no handler", call.Target))
}

func targetOutput(t Target) map[string]any {
	ext := t.ExternalID
	if ext == "" {
		ext = t.ContentID
	}
	ids := make([]any, len(t.InstagramMediaIDs))
	for i, id := range t.InstagramMediaIDs {
		ids[i] = id
	}
	return map[string]any{
		"content_id": t.ContentID, "external_id": ext, "page_path": t.PagePath,
		"instagram_media_ids": ids, "tracked_at": t.TrackedAt.UTC().Format(time.RFC3339),
	}
}

// totalsOutput is Totals as a step output.
func totalsOutput(t Totals) map[string]any {
	return map[string]any{
		"views": t.Views(), "page_views": t.PageViews, "instagram_views": t.InstagramViews, "sessions": t.Sessions,
		"engaged_sessions": t.EngagedSessions, "clicks": t.Clicks, "ctr": round4(t.CTR()), "engagement": t.Engagement(),
		"interactions": t.Interactions, "reach": t.Reach, "avg_engagement_seconds": round4(t.AvgEngagementSeconds()),
		"bounce_rate": round4(t.BounceRate()),
	}
}

// performanceMetrics is the object the seed's update_performance_metrics writes to
// Performance_Metrics: the piece's numbers to date.
func performanceMetrics(contentID string, t Totals, now time.Time) map[string]any {
	out := totalsOutput(t)
	out["content_id"] = contentID
	out["updated_at"] = now.UTC().Format(time.RFC3339)
	return out
}

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }

// fields refuses keys of in outside allowed, naming the first one.
func fields(in map[string]any, allowed ...string) error {
	var keys []string
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			return core.Invalid(k, "unknown field (want %s)", strings.Join(allowed, ", "))
		}
	}
	return nil
}

// optString reads an optional string field; nil is unknown at load time, absent is "".
func optString(in map[string]any, key string) (string, error) {
	v, ok := in[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", core.Invalid(key, "must be a string (got %T)", v)
	}
	return strings.TrimSpace(s), nil
}

// required reports a missing field once values are known.
func required(in map[string]any, key string, complete bool) error {
	v, given := in[key]
	if !given || complete && (v == nil || v == "") {
		return core.Invalid(key, "required")
	}
	return nil
}

func trackInput(in map[string]any, complete bool) (Target, error) {
	var t Target
	if err := fields(in, "content_id", "page_path", "url", "instagram_media_id", "external_id"); err != nil {
		return t, err
	}
	if err := required(in, "content_id", complete); err != nil {
		return t, err
	}
	var err error
	if t.ContentID, err = optString(in, "content_id"); err != nil {
		return t, err
	}
	if t.ExternalID, err = optString(in, "external_id"); err != nil {
		return t, err
	}
	if t.PagePath, err = optString(in, "page_path"); err != nil {
		return t, err
	}
	raw, err := optString(in, "url")
	if err != nil {
		return t, err
	}
	if raw != "" {
		if t.PagePath != "" {
			return t, core.Invalid("url", "give page_path or url, not both")
		}
		if t.PagePath, err = pathOf(raw); err != nil {
			return t, err
		}
	}
	media, err := optString(in, "instagram_media_id")
	if err != nil {
		return t, err
	}
	if media != "" {
		t.InstagramMediaIDs = []string{media}
	}
	if !complete {
		return t, nil
	}
	return t, checkTarget(t)
}

// pathOf returns the path of an absolute URL or a path, as GA4's pagePath has it (no query).
func pathOf(raw string) (string, error) {
	s := raw
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			return "/", nil
		}
		s = rest[j:]
	}
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	if !strings.HasPrefix(s, "/") {
		return "", core.Invalid("url", "must be an absolute URL or a path starting with / (got %q)", raw)
	}
	return s, nil
}

type targetsQuery struct {
	maxAge time.Duration
	limit  int
}

func targetsInput(in map[string]any, complete bool) (targetsQuery, error) {
	var q targetsQuery
	if err := fields(in, "max_age_days", "limit"); err != nil {
		return q, err
	}
	days, err := optInt(in, "max_age_days", 0, 3650)
	if err != nil {
		return q, err
	}
	q.maxAge = time.Duration(days) * 24 * time.Hour
	q.limit, err = optInt(in, "limit", 1, 10000)
	return q, err
}

// optInt reads an optional whole number within [lo, hi]; 0 when absent or unknown.
func optInt(in map[string]any, key string, lo, hi int) (int, error) {
	v, ok := in[key]
	if !ok || v == nil {
		return 0, nil
	}
	f, ok := number(v)
	if !ok || f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		return 0, core.Invalid(key, "must be a whole number from %d to %d (got %v)", lo, hi, v)
	}
	return int(f), nil
}

// number reads a JSON number, or a string holding one (GA4 sends metric values as strings).
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
		return f, err == nil
	}
	return 0, false
}

var sourceName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

type recording struct {
	contentID, source string
	obs               []Observation
}

func recordInput(in map[string]any, complete bool, now time.Time) (recording, error) {
	var r recording
	if err := fields(in, "content_id", "source", "cumulative", "observations", "metrics", "date"); err != nil {
		return r, err
	}
	for _, k := range []string{"content_id", "source"} {
		if err := required(in, k, complete); err != nil {
			return r, err
		}
	}
	var err error
	if r.contentID, err = optString(in, "content_id"); err != nil {
		return r, err
	}
	if complete {
		if err := checkID("content_id", r.contentID); err != nil {
			return r, err
		}
	}
	if r.source, err = optString(in, "source"); err != nil {
		return r, err
	}
	if r.source != "" && !sourceName.MatchString(r.source) {
		return r, core.Invalid("source", "must match %s (got %q)", sourceName, r.source)
	}
	cumulative := false
	if v, ok := in["cumulative"]; ok && v != nil {
		b, ok := v.(bool)
		if !ok {
			return r, core.Invalid("cumulative", "must be true or false (got %v)", v)
		}
		cumulative = b
	}
	_, list := in["observations"]
	_, single := in["metrics"]
	switch {
	case list && single:
		return r, core.Invalid("metrics", "give observations or metrics, not both")
	case !list && !single:
		return r, core.Invalid("observations", "required (or metrics)")
	case list && in["date"] != nil:
		return r, core.Invalid("date", "each observation carries its date")
	}
	var items []any
	var paths []string
	if list {
		raw := in["observations"]
		if raw == nil && !complete {
			return r, nil
		}
		arr, ok := raw.([]any)
		if !ok {
			return r, core.Invalid("observations", "must be a list of {date, <metric>: value} (got %T)", raw)
		}
		for i, it := range arr {
			items = append(items, it)
			paths = append(paths, fmt.Sprintf("observations[%d]", i))
		}
	} else {
		raw := in["metrics"]
		if raw == nil && !complete {
			return r, nil
		}
		m, ok := raw.(map[string]any)
		if !ok {
			return r, core.Invalid("metrics", "must be an object of metric to value (got %T)", raw)
		}
		obj := map[string]any{"date": in["date"]}
		if in["date"] == nil {
			obj["date"] = Day(now).Format("2006-01-02")
		}
		for k, v := range m {
			obj[k] = v
		}
		items, paths = []any{obj}, []string{"metrics"}
	}
	if len(items) > 1000 {
		return r, core.Invalid("observations", "at most 1000 (got %d)", len(items))
	}
	days := map[time.Time]int{}
	for i, it := range items {
		o, err := observation(it, paths[i], list, complete)
		if err != nil {
			return r, err
		}
		if o == nil {
			continue
		}
		o.ContentID, o.Source, o.Cumulative = r.contentID, r.source, cumulative
		if j, dup := days[o.Day]; dup {
			// Two rows of one day (a report split by another dimension) add up.
			for k, v := range o.Metrics {
				r.obs[j].Metrics[k] += v
			}
			continue
		}
		days[o.Day] = len(r.obs)
		r.obs = append(r.obs, *o)
	}
	return r, nil
}

// observation reads one {date, <metric>: value…} object at path; metric paths are named
// under path (metrics.reach) or, in a list, after it (observations[2].clicks).
func observation(it any, path string, list, complete bool) (*Observation, error) {
	if it == nil && !complete {
		return nil, nil
	}
	m, ok := it.(map[string]any)
	if !ok {
		return nil, core.Invalid(path, "must be an object of date and metric values (got %T)", it)
	}
	o := &Observation{Metrics: map[string]float64{}}
	datePath := path + ".date"
	if !list {
		datePath = "date"
	}
	if d, ok := m["date"]; ok && d != nil {
		s, isStr := d.(string)
		if !isStr {
			if f, isNum := d.(float64); isNum {
				s = strconv.FormatFloat(f, 'f', -1, 64)
			}
		}
		day, err := ParseDay(s)
		if err != nil {
			return nil, core.Invalid(datePath, "%v", err)
		}
		o.Day = day
	} else if complete {
		return nil, core.Invalid(datePath, "required")
	}
	for k, v := range m {
		if k == "date" {
			continue
		}
		if _, known := Metrics[k]; !known {
			return nil, core.Invalid(path+"."+k, "unknown metric (want %s)", metricNames())
		}
		if v == nil && !complete {
			continue
		}
		f, ok := number(v)
		if !ok || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, core.Invalid(path+"."+k, "must be a number of at least 0 (got %v)", v)
		}
		o.Metrics[k] = f
	}
	return o, nil
}

var _ core.StepKind = StepKind{}
