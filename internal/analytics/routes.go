package analytics

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/httpapi"
	"github.com/aquascene/aquahub/sdk/api"
)

// Routes implements httpapi.RouteModule: the content ranking and one piece's analytics
// under /api/v1/analytics, for callers with view_analytics. A module built without a Store
// serves none.
func (m *Module) Routes(mux *httpapi.Mux) {
	if m.st == nil {
		return
	}
	period := httpapi.Param{Name: "period_days", Description: "the last this many days, today included (default 30, 1 to 730)"}
	mux.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/analytics/content", Summary: "Content ranked by views, clicks or engagement over a period",
		Tag: "analytics", Permission: core.PermViewAnalytics,
		Query: []httpapi.Param{period, {Name: "sort", Description: "views (default), clicks or engagement"},
			{Name: "limit", Description: "at most this many (default 20, max 500)"}},
		Responses: []httpapi.Response{{Status: 200, Description: "The ranking, highest first", Body: api.ContentRanking{}},
			{Status: 400, Description: "Invalid period_days, sort or limit"}}}, m.ranking)
	mux.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/analytics/content/:id", Summary: "One content piece's totals over a period and the observations behind them",
		Tag: "analytics", Permission: core.PermViewAnalytics, Query: []httpapi.Param{period},
		Responses: []httpapi.Response{{Status: 200, Description: "The piece's analytics", Body: api.ContentAnalytics{}},
			{Status: 400, Description: "Invalid period_days"}, {Status: 404, Description: "The piece is neither tracked nor observed"}}}, m.content)
}

// intQuery reads an optional whole-number query parameter within [lo, hi].
func intQuery(c *fiber.Ctx, name string, def, lo, hi int) (int, error) {
	raw := c.Query(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		return 0, core.Invalid(name, "must be a whole number from %d to %d (got %q)", lo, hi, raw)
	}
	return n, nil
}

func (m *Module) ranking(c *fiber.Ctx) error {
	days, err := intQuery(c, "period_days", 30, 1, 730)
	if err != nil {
		return err
	}
	limit, err := intQuery(c, "limit", 20, 1, 500)
	if err != nil {
		return err
	}
	by := c.Query("sort", SortViews)
	p := LastDays(m.now(), days)
	ranked, err := m.Ranking(c.UserContext(), httpapi.Tenant(c), p, by, limit)
	if err != nil {
		return err
	}
	out := api.ContentRanking{PeriodDays: days, From: date(p.From), To: date(p.To), Sort: by, Content: make([]api.ContentMetrics, len(ranked))}
	for i, r := range ranked {
		out.Content[i] = metricsToAPI(r.Target, r.Totals)
		out.Content[i].Rank = i + 1
	}
	return c.JSON(out)
}

func (m *Module) content(c *fiber.Ctx) error {
	days, err := intQuery(c, "period_days", 30, 1, 730)
	if err != nil {
		return err
	}
	p := LastDays(m.now(), days)
	d, err := m.Content(c.UserContext(), httpapi.Tenant(c), c.Params("id"), p)
	if err != nil {
		return err
	}
	out := api.ContentAnalytics{ContentMetrics: metricsToAPI(d.Target, d.Totals), PeriodDays: days, From: date(p.From), To: date(p.To),
		Tracked: d.Tracked, Observations: make([]api.MetricsObservation, len(d.Observations))}
	for i, o := range d.Observations {
		out.Observations[i] = api.MetricsObservation{Date: date(o.Day), Source: o.Source, Cumulative: o.Cumulative, Metrics: o.Metrics, RecordedAt: o.RecordedAt}
	}
	return c.JSON(out)
}

var _ httpapi.RouteModule = (*Module)(nil)
