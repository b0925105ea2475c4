package analytics

import (
	"time"

	"github.com/aquascene/aquahub/sdk/api"
)

// metricsToAPI converts a piece's target and totals for an answer.
func metricsToAPI(t Target, tot Totals) api.ContentMetrics {
	ids := t.InstagramMediaIDs
	if ids == nil {
		ids = []string{}
	}
	return api.ContentMetrics{
		ContentID: t.ContentID, ExternalID: t.ExternalID, PagePath: t.PagePath, InstagramMediaIDs: ids,
		Views: tot.Views(), PageViews: tot.PageViews, InstagramViews: tot.InstagramViews, Sessions: tot.Sessions,
		EngagedSessions: tot.EngagedSessions, Clicks: tot.Clicks, CTR: round4(tot.CTR()), Engagement: tot.Engagement(),
		Interactions: tot.Interactions, Reach: tot.Reach, AvgEngagementSeconds: round4(tot.AvgEngagementSeconds()),
		BounceRate: round4(tot.BounceRate()),
	}
}

// date formats a UTC date for the API.
func date(t time.Time) string { return t.UTC().Format("2006-01-02") }
