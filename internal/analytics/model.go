package analytics

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/aquascene/aquahub/core"
)

// Target is where one content piece lives, so that its performance can be read.
type Target struct {
	ContentID string
	// ExternalID is the id the content team's tools know the piece by (the Content_ID of
	// Airtable's Content_Master); empty means ContentID.
	ExternalID string
	// PagePath is the piece's path on the site, as GA4's pagePath dimension reports it.
	PagePath string
	// InstagramMediaIDs are the Instagram posts that carry the piece.
	InstagramMediaIDs []string
	// TrackedAt is when the piece was first tracked; UpdatedAt when its target last changed.
	TrackedAt, UpdatedAt time.Time
}

// Observation is what one source measured of one content piece on one day.
type Observation struct {
	ContentID string
	// Source names where the numbers come from: ga4, instagram, or any name a rule uses.
	Source string
	// Day is the UTC date the numbers are of.
	Day time.Time
	// Cumulative marks running totals as of Day (Instagram's lifetime insights) rather than
	// the day's own values.
	Cumulative bool
	// Metrics holds the values by metric name (Metrics lists them).
	Metrics map[string]float64
	// RecordedAt is when the observation was last written.
	RecordedAt time.Time
}

// Metric names an observation may carry.
const (
	MetricPageViews         = "page_views"
	MetricSessions          = "sessions"
	MetricEngagedSessions   = "engaged_sessions"
	MetricEngagementSeconds = "engagement_seconds"
	MetricClicks            = "clicks"
	MetricViews             = "views"
	MetricReach             = "reach"
	MetricInteractions      = "interactions"
	MetricLikes             = "likes"
	MetricComments          = "comments"
	MetricShares            = "shares"
	MetricSaves             = "saves"
)

// Metrics are the metric names an observation may carry, with what each counts.
var Metrics = map[string]string{
	MetricPageViews:         "page views of the piece's page (GA4 screenPageViews)",
	MetricSessions:          "sessions that viewed the page (GA4 sessions)",
	MetricEngagedSessions:   "engaged sessions on the page (GA4 engagedSessions)",
	MetricEngagementSeconds: "engagement time on the page in seconds (GA4 userEngagementDuration)",
	MetricClicks:            "outbound link clicks from the page, such as affiliate links (GA4 click events)",
	MetricViews:             "views of the piece's Instagram posts",
	MetricReach:             "accounts the Instagram posts reached",
	MetricInteractions:      "likes, comments, shares and saves of the Instagram posts (total_interactions)",
	MetricLikes:             "Instagram likes",
	MetricComments:          "Instagram comments",
	MetricShares:            "Instagram shares",
	MetricSaves:             "Instagram saves",
}

// metricNames lists Metrics' keys in order, for messages.
func metricNames() string {
	names := make([]string, 0, len(Metrics))
	for n := range Metrics {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// Totals are a content piece's performance over a period.
type Totals struct {
	PageViews, Sessions, EngagedSessions, EngagementSeconds, Clicks float64
	InstagramViews, Reach, Interactions                             float64
}

// Views are page views plus Instagram views.
func (t Totals) Views() float64 { return t.PageViews + t.InstagramViews }

// Engagement is engaged sessions on the page plus interactions with the Instagram posts.
func (t Totals) Engagement() float64 { return t.EngagedSessions + t.Interactions }

// CTR is clicks per page view, 0 without page views.
func (t Totals) CTR() float64 { return ratio(t.Clicks, t.PageViews) }

// AvgEngagementSeconds is engagement time per session, 0 without sessions.
func (t Totals) AvgEngagementSeconds() float64 { return ratio(t.EngagementSeconds, t.Sessions) }

// BounceRate is the share of sessions that were not engaged, 0 without sessions.
func (t Totals) BounceRate() float64 {
	if t.Sessions == 0 {
		return 0
	}
	return 1 - t.EngagedSessions/t.Sessions
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// add counts metric name's value v into t.
func (t *Totals) add(name string, v float64) {
	switch name {
	case MetricPageViews:
		t.PageViews += v
	case MetricSessions:
		t.Sessions += v
	case MetricEngagedSessions:
		t.EngagedSessions += v
	case MetricEngagementSeconds:
		t.EngagementSeconds += v
	case MetricClicks:
		t.Clicks += v
	case MetricViews:
		t.InstagramViews += v
	case MetricReach:
		t.Reach += v
	case MetricInteractions:
		t.Interactions += v
	}
}

// Period is the days from From through To, both UTC dates.
type Period struct{ From, To time.Time }

// LastDays is the period of the n days ending on the day of now.
func LastDays(now time.Time, n int) Period {
	to := Day(now)
	return Period{From: to.AddDate(0, 0, -(n - 1)), To: to}
}

// Day returns the UTC date of t.
func Day(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// ParseDay reads a date as sources write it: 2025-08-06, 20250806 (GA4's date dimension)
// or an RFC 3339 time.
func ParseDay(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02", "20060102", time.RFC3339Nano} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return Day(t), nil
		}
	}
	return time.Time{}, fmt.Errorf("want a date such as 2025-08-06 or 20250806 (got %q)", s)
}

// TotalsOf sums observations (of one content piece, any sources) over p: daily values of
// days in p, and for each cumulative source its last total in p less its last total before
// p. obs must be ordered by source and day, as Store.Observations returns them.
func TotalsOf(obs []Observation, p Period) Totals {
	var t Totals
	type span struct{ before, last map[string]float64 }
	cum := map[string]*span{}
	for _, o := range obs {
		if o.Day.After(p.To) {
			continue
		}
		if !o.Cumulative {
			if !o.Day.Before(p.From) {
				for name, v := range o.Metrics {
					t.add(name, v)
				}
			}
			continue
		}
		s := cum[o.Source]
		if s == nil {
			s = &span{before: map[string]float64{}, last: map[string]float64{}}
			cum[o.Source] = s
		}
		dst := s.last
		if o.Day.Before(p.From) {
			dst = s.before
		}
		for name, v := range o.Metrics {
			dst[name] = v
		}
	}
	for _, s := range cum {
		for name, v := range s.last {
			t.add(name, math.Max(0, v-s.before[name]))
		}
	}
	return t
}

// checkTarget refuses a target a store could not key or a source could not read.
func checkTarget(t Target) error {
	if err := checkID("content_id", t.ContentID); err != nil {
		return err
	}
	if t.PagePath != "" && !strings.HasPrefix(t.PagePath, "/") {
		return core.Invalid("page_path", "must start with / (got %q)", t.PagePath)
	}
	for i, id := range t.InstagramMediaIDs {
		if err := checkID(fmt.Sprintf("instagram_media_ids[%d]", i), id); err != nil {
			return err
		}
	}
	return nil
}

// checkID refuses an empty id, a long one, or one with control characters (which a key
// made of zero-separated parts cannot hold).
func checkID(field, id string) error {
	switch {
	case id == "":
		return core.Invalid(field, "required")
	case len(id) > 200:
		return core.Invalid(field, "at most 200 characters (got %d)", len(id))
	case strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return core.Invalid(field, "must not contain control characters")
	}
	return nil
}
