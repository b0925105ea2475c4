package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2/google"
	analyticsdata "google.golang.org/api/analyticsdata/v1beta"
	"google.golang.org/api/option"

	ga4sim "github.com/aquascene/aquahub/connectors/ga4/sim"
	instagramsim "github.com/aquascene/aquahub/connectors/instagram/sim"
	partnersim "github.com/aquascene/aquahub/connectors/partner/sim"
	"github.com/aquascene/aquahub/sdk/api"
	"github.com/aquascene/aquahub/sdk/client"
	"github.com/aquascene/aquahub/sdk/signature"
)

// postEvent sends a CloudEvent built from its parts.
func (d *devSandbox) postEvent(t *testing.T, id, source, typ string, data any) client.Accepted {
	t.Helper()
	body, err := json.Marshal(map[string]any{"specversion": "1.0", "id": id, "source": source, "type": typ, "data": data})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := d.hub.SendRaw(context.Background(), body, "")
	if err != nil {
		t.Fatalf("posting %s: %v", typ, err)
	}
	return acc
}

// runSucceeded reports "" once every run of acc succeeded.
func (d *devSandbox) runSucceeded(acc client.Accepted) string {
	for _, id := range acc.Runs {
		run, err := d.hub.Run(context.Background(), id)
		if err != nil || run.Status != "succeeded" {
			return fmt.Sprintf("run %s: %+v %v", id, run, err)
		}
	}
	return ""
}

// webhookReceiver collects the deliveries of the hub's outbound webhooks.
type webhookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	sigs   []string
}

func newWebhookReceiver(t *testing.T) *webhookReceiver {
	r := &webhookReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies, r.sigs = append(r.bodies, b), append(r.sigs, req.Header.Get(signature.Signature256Header))
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

// ga4Truth reads the page's page views and outbound clicks of 7daysAgo..today from a GA4
// simulator of this process with Google's own client: its data is a function of the date, so
// it is what the sandbox's simulator served.
func ga4Truth(t *testing.T, path string) (views, clicks float64) {
	t.Helper()
	s := ga4sim.New()
	ts := httptest.NewServer(s)
	defer ts.Close()
	ctx := context.Background()
	cfg, err := google.JWTConfigFromJSON(s.ServiceAccountJSON(ts.URL), analyticsdata.AnalyticsReadonlyScope)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := analyticsdata.NewService(ctx, option.WithHTTPClient(cfg.Client(ctx)), option.WithEndpoint(ts.URL+"/"))
	if err != nil {
		t.Fatal(err)
	}
	page := &analyticsdata.FilterExpression{Filter: &analyticsdata.Filter{FieldName: "pagePath", StringFilter: &analyticsdata.StringFilter{MatchType: "EXACT", Value: path}}}
	sum := func(metric string, filter *analyticsdata.FilterExpression) float64 {
		resp, err := svc.Properties.RunReport("properties/"+ga4sim.DefaultProperty, &analyticsdata.RunReportRequest{
			DateRanges: []*analyticsdata.DateRange{{StartDate: "7daysAgo", EndDate: "today"}},
			Metrics:    []*analyticsdata.Metric{{Name: metric}}, DimensionFilter: filter,
		}).Do()
		if err != nil {
			t.Fatal(err)
		}
		var total float64
		for _, row := range resp.Rows {
			v, _ := strconv.ParseFloat(row.MetricValues[0].Value, 64)
			total += v
		}
		return total
	}
	click := &analyticsdata.FilterExpression{AndGroup: &analyticsdata.FilterExpressionList{Expressions: []*analyticsdata.FilterExpression{page,
		{Filter: &analyticsdata.Filter{FieldName: "eventName", StringFilter: &analyticsdata.StringFilter{MatchType: "EXACT", Value: "click"}}}}}}
	return sum("screenPageViews", page), sum("eventCount", click)
}

// TestDevSandboxSocialAndPartnerFlows runs the seed's distribution, performance and
// partnership loops end to end through `aquahub dev`: a finished article is posted to the
// Instagram simulator and social.posted reaches a registered webhook, signed; a Green Aqua
// product guide is generated from the partner simulator's catalog with Green Aqua's
// guidelines and tracked link, and Green Aqua receives a verified notification; the
// published guide's GA4 metrics are pulled by the scheduled rule into content analytics and
// Airtable; orders are attributed (one twice), and the ROI endpoint returns the scenario's
// figures.
func TestDevSandboxSocialAndPartnerFlows(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole sandbox")
	}
	d := startDev(t)
	for _, name := range []string{"airtable", "instagram", "ga4", "partner"} {
		if d.sims[name] == "" {
			t.Fatalf("aquahub dev did not print the %s simulator's address", name)
		}
	}
	ctx := context.Background()

	// --- Instagram: the scheduled article is teased, posted, and social.posted is delivered.
	rc := newWebhookReceiver(t)
	hook, err := d.hub.CreateWebhook(ctx, api.WebhookEndpointInput{URL: rc.URL + "/social", Events: []string{"social.posted"}})
	if err != nil {
		t.Fatal(err)
	}
	d.send(t, "content-scheduled.json")
	var posted map[string]any
	eventually(t, "social.posted delivered to the webhook", func() string {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		for i, b := range rc.bodies {
			var msg struct {
				Type string         `json:"type"`
				Data map[string]any `json:"data"`
			}
			if json.Unmarshal(b, &msg) != nil || msg.Type != "social.posted" {
				continue
			}
			if rc.sigs[i] != signature.SignSHA256Hex(hook.Secret, b) {
				return fmt.Sprintf("delivery not signed with the endpoint's secret: %q", rc.sigs[i])
			}
			posted = msg.Data
			return ""
		}
		return fmt.Sprintf("%d deliveries, no social.posted", len(rc.bodies))
	})
	article, _ := posted["content_id"].(string)
	if posted["platform"] != "instagram" || posted["post_type"] != "photo" || posted["post_id"] == "" || !strings.HasPrefix(article, "gen-") {
		t.Fatalf("social.posted data %v", posted)
	}
	// The engagement is what Graph reported for the post when the connector read it back.
	req, _ := http.NewRequest("GET", d.sims["instagram"]+"/"+instagramsim.APIVersion+"/"+url.PathEscape(fmt.Sprint(posted["post_id"]))+
		"?fields=like_count,comments_count&access_token="+instagramsim.DefaultKey, nil)
	var counts struct {
		Likes    float64 `json:"like_count"`
		Comments float64 `json:"comments_count"`
	}
	simGet(t, req, &counts)
	if m, _ := posted["engagement_metrics"].(map[string]any); m["initial_likes"] != counts.Likes || m["initial_comments"] != counts.Comments || m["initial_shares"] != 0.0 {
		t.Fatalf("engagement_metrics %v, want Graph's like_count %v and comments_count %v", posted["engagement_metrics"], counts.Likes, counts.Comments)
	}
	req, _ = http.NewRequest("GET", d.sims["instagram"]+"/_sim/media?access_token="+instagramsim.DefaultKey, nil)
	var media []struct {
		ID, Caption string
	}
	simGet(t, req, &media)
	if len(media) != 1 || media[0].ID != posted["post_id"] || !strings.Contains(media[0].Caption, "#") || len(media[0].Caption) > 2200 {
		t.Fatalf("Instagram media %+v, want the one post of social.posted with its hashtags", media)
	}

	// --- Green Aqua: a featured product becomes a guide, and Green Aqua is told.
	featured := d.send(t, "partner-product-featured.json")
	eventually(t, "product guide run", func() string { return d.runSucceeded(featured) })
	guides, err := d.hub.ListContent(ctx, client.ContentFilter{Partner: "green-aqua"})
	if err != nil || len(guides) != 1 {
		t.Fatalf("content of partner green-aqua: %+v %v", guides, err)
	}
	guide := guides[0]
	pt := guide.Request.Partnership
	if pt == nil || pt.Partner != "Green Aqua" || pt.ProductID != "GA-CO2-PRO-2L" || !strings.Contains(pt.AffiliateLink, "utm_content="+guide.ID) ||
		pt.CallToAction == "" || guide.Quality == nil {
		t.Fatalf("guide %s partnership %+v", guide.ID, pt)
	}
	if others, _ := d.hub.ListContent(ctx, client.ContentFilter{Partner: "aquaflora"}); len(others) != 0 {
		t.Fatalf("content of another partner: %+v", others)
	}
	req, _ = http.NewRequest("GET", d.sims["partner"]+"/_sim/notifications", nil)
	req.Header.Set("X-Api-Key", partnersim.DefaultKey)
	var notes []struct {
		Verified bool `json:"verified"`
		Body     struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		} `json:"body"`
	}
	simGet(t, req, &notes)
	if len(notes) != 1 || !notes[0].Verified || notes[0].Body.Type != "content.generated" || notes[0].Body.Data["content_id"] != guide.ID {
		t.Fatalf("notifications at Green Aqua: %+v", notes)
	}

	// --- Performance: the guide goes live, the morning pull reads GA4 and writes Airtable.
	const page = "/guides/co2-systems"
	pub := d.postEvent(t, "cms-publish-"+guide.ID, "cms/aquascene.bg", "content.published", map[string]any{"content_id": guide.ID, "url": "https://aquascene.bg" + page})
	eventually(t, "guide tracked", func() string { return d.runSucceeded(pub) })
	d.postEvent(t, "content-metrics-pull@test", "aquahub/schedule", "aquahub.schedule.fired", map[string]any{"rule": "content-metrics-pull", "scheduled_time": "2025-08-07T05:00:00Z"})
	wantViews, wantClicks := ga4Truth(t, page)
	if wantViews == 0 || wantClicks == 0 {
		t.Fatalf("the GA4 simulator has %v views and %v clicks for %s", wantViews, wantClicks, page)
	}
	eventually(t, "GA4 metrics in content analytics", func() string {
		// GA4's 7daysAgo..today, which the rule asks for, is eight days, today included.
		a, err := d.hub.ContentAnalytics(ctx, guide.ID, 8)
		if err != nil || a.PageViews != wantViews || a.Clicks != wantClicks || a.PagePath != page {
			return fmt.Sprintf("analytics %+v %v; want %v page views, %v clicks", a.ContentMetrics, err, wantViews, wantClicks)
		}
		return ""
	})
	eventually(t, "Performance_Metrics written back to Airtable", func() string {
		q := url.Values{"filterByFormula": {"{Content_ID}='" + guide.ID + "'"}}
		req, _ := http.NewRequest("GET", d.sims["airtable"]+"/v0/appAquaSceneDev01/Content_Master?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer patAquahubDev00.simulator")
		var rows struct {
			Records []struct {
				Fields map[string]any `json:"fields"`
			} `json:"records"`
		}
		if msg := simGet(t, req, &rows); msg != "" {
			return msg
		}
		if len(rows.Records) != 1 {
			return fmt.Sprintf("rows %+v", rows.Records)
		}
		f := rows.Records[0].Fields
		var perf map[string]any
		raw, _ := f["Performance_Metrics"].(string)
		if json.Unmarshal([]byte(raw), &perf) != nil || perf["page_views"] != wantViews || perf["clicks"] != wantClicks || f["Last_Updated"] == nil {
			return fmt.Sprintf("fields %v", f)
		}
		return ""
	})
	rank, err := d.hub.ContentRanking(ctx, "clicks", 8, 0)
	if err != nil || len(rank.Content) == 0 || rank.Content[0].ContentID != guide.ID || rank.Content[0].Rank != 1 {
		t.Fatalf("ranking by clicks: %+v %v", rank, err)
	}

	// --- Revenue and ROI: three order events, one of them a repeat of an order.
	for i, o := range []struct {
		order  string
		amount float64
	}{{"GA-ORD-5521", 249}, {"GA-ORD-5521", 249}, {"GA-ORD-5530", 150.9}} {
		acc := d.postEvent(t, fmt.Sprint("order-event-", i), "partners/green-aqua/orders", "partner.revenue.attributed",
			map[string]any{"partner_id": "green-aqua", "content_id": guide.ID, "order_id": o.order, "amount": o.amount, "currency": "EUR"})
		eventually(t, "attribution "+o.order, func() string { return d.runSucceeded(acc) })
	}
	if rev, err := d.hub.PartnerRevenue(ctx, "green-aqua"); err != nil || len(rev) != 2 {
		t.Fatalf("attributions %+v %v, want the two orders once each", rev, err)
	}
	roi, err := d.hub.PartnershipROI(ctx, "green-aqua", 30)
	if err != nil {
		t.Fatal(err)
	}
	// Green Aqua's terms (examples/aquascene/partners/green-aqua.json): 8% commission, €20
	// production cost per piece; the builtin writer costs nothing. €399.90 attributed earns
	// €31.99; ROI (31.99 − 20) / 20 = 59.95%.
	checks := []struct {
		name      string
		got, want float64
	}{
		{"content pieces", float64(roi.ContentPiecesGenerated), 1},
		{"average quality", roi.AverageQualityScore, math.Round(guide.Quality.Score*100) / 100},
		{"page views", roi.TotalPageViews, wantViews},
		{"clicks", roi.TotalClicks, wantClicks},
		{"attributed revenue", roi.AttributedRevenue, 399.9},
		{"orders", float64(roi.Orders), 2},
		{"earnings", roi.Earnings, 31.99},
		{"total cost", roi.TotalCost, 20},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("ROI %s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if roi.ROIPercentage == nil || *roi.ROIPercentage != 59.95 || roi.Currency != "EUR" {
		t.Fatalf("ROI %+v, want 59.95%% in EUR", roi)
	}

	eventually(t, "all runs finished", func() string {
		runs, err := d.hub.Runs(ctx, client.RunFilter{Limit: 1000})
		if err != nil {
			return err.Error()
		}
		for _, r := range runs {
			if r.Status != "succeeded" {
				return fmt.Sprintf("run %s (%s) is %s: %s", r.ID, r.RuleID, r.Status, r.LastError)
			}
		}
		return ""
	})
}
