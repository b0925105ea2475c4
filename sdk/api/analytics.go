package api

import "time"

// ContentMetrics is one content piece's performance over a period, as the analytics
// sources measured it. Views are page views plus Instagram views; engagement is engaged
// sessions on the page plus likes, comments, shares and saves of its Instagram posts;
// clicks are outbound link clicks from the page (affiliate links among them).
type ContentMetrics struct {
	ContentID string `json:"content_id"`
	// ExternalID is the id the content team's tools use (Airtable's Content_ID).
	ExternalID        string   `json:"external_id,omitempty"`
	PagePath          string   `json:"page_path,omitempty"`
	InstagramMediaIDs []string `json:"instagram_media_ids"`
	// Rank is the piece's place in a ranking, from 1; 0 outside one.
	Rank int `json:"rank,omitempty"`

	Views           float64 `json:"views"`
	PageViews       float64 `json:"page_views"`
	InstagramViews  float64 `json:"instagram_views"`
	Sessions        float64 `json:"sessions"`
	EngagedSessions float64 `json:"engaged_sessions"`
	Clicks          float64 `json:"clicks"`
	// CTR is clicks per page view.
	CTR          float64 `json:"ctr"`
	Engagement   float64 `json:"engagement"`
	Interactions float64 `json:"interactions"`
	Reach        float64 `json:"reach"`
	// AvgEngagementSeconds is engagement time per session; BounceRate the share of sessions
	// that were not engaged.
	AvgEngagementSeconds float64 `json:"avg_engagement_seconds"`
	BounceRate           float64 `json:"bounce_rate"`
}

// ContentRanking is GET /api/v1/analytics/content: content ranked by one measure over the
// last period_days days.
type ContentRanking struct {
	PeriodDays int `json:"period_days"`
	// From and To are the period's first and last dates (YYYY-MM-DD, UTC).
	From    string           `json:"from"`
	To      string           `json:"to"`
	Sort    string           `json:"sort" jsonschema:"enum=views,enum=clicks,enum=engagement"`
	Content []ContentMetrics `json:"content"`
}

// ContentAnalytics is GET /api/v1/analytics/content/{id}: one piece's totals over the
// period and the observations they come from.
type ContentAnalytics struct {
	ContentMetrics
	PeriodDays int    `json:"period_days"`
	From       string `json:"from"`
	To         string `json:"to"`
	// Tracked says whether a rule recorded where the piece lives.
	Tracked      bool                 `json:"tracked"`
	Observations []MetricsObservation `json:"observations"`
}

// MetricsObservation is what one source measured of a piece on one day.
type MetricsObservation struct {
	Date   string `json:"date"`
	Source string `json:"source"`
	// Cumulative observations hold running totals as of the date (Instagram's lifetime
	// insights), the others the day's own values.
	Cumulative bool               `json:"cumulative"`
	Metrics    map[string]float64 `json:"metrics"`
	RecordedAt time.Time          `json:"recorded_at"`
}
