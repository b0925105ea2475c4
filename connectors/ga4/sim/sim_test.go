package sim

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2/google"
	analyticsdata "google.golang.org/api/analyticsdata/v1beta"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/aquascene/aquahub/connectors/simkit/simtest"
)

func newTestServer(t testing.TB, opts ...Option) (*Server, *httptest.Server) {
	t.Helper()
	s := New(opts...)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

// googleService is Google's own Go client for the Data API, authenticated by
// golang.org/x/oauth2's service-account JWT flow with the simulator's key file.
func googleService(t testing.TB, s *Server, ts *httptest.Server) *analyticsdata.Service {
	t.Helper()
	ctx := context.Background()
	cfg, err := google.JWTConfigFromJSON(s.ServiceAccountJSON(ts.URL), analyticsdata.AnalyticsReadonlyScope)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := analyticsdata.NewService(ctx, option.WithHTTPClient(cfg.Client(ctx)), option.WithEndpoint(ts.URL+"/"))
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// The vendor's own client reads every page of a report, exactly as it would from Google.
func TestGoogleClient(t *testing.T) {
	s, ts := newTestServer(t)
	svc := googleService(t, s, ts)
	req := &analyticsdata.RunReportRequest{
		DateRanges: []*analyticsdata.DateRange{{StartDate: "7daysAgo", EndDate: "today"}},
		Dimensions: []*analyticsdata.Dimension{{Name: "pagePath"}, {Name: "sessionSource"}},
		Metrics:    []*analyticsdata.Metric{{Name: "screenPageViews"}, {Name: "averageSessionDuration"}, {Name: "bounceRate"}},
		OrderBys:   []*analyticsdata.OrderBy{{Metric: &analyticsdata.MetricOrderBy{MetricName: "screenPageViews"}, Desc: true}},
		Limit:      25, ReturnPropertyQuota: true, MetricAggregations: []string{"TOTAL"},
	}
	var rows []*analyticsdata.Row
	var total int64
	for {
		resp, err := svc.Properties.RunReport("properties/"+DefaultProperty, req).Do()
		if err != nil {
			t.Fatal(err)
		}
		if resp.Kind != "analyticsData#runReport" || resp.MetricHeaders[0].Type != "TYPE_INTEGER" || resp.MetricHeaders[1].Type != "TYPE_SECONDS" || resp.PropertyQuota.TokensPerHour.Consumed == 0 {
			t.Fatalf("response %+v", resp)
		}
		rows = append(rows, resp.Rows...)
		total = resp.RowCount
		if views, _ := strconv.ParseInt(resp.Totals[0].MetricValues[0].Value, 10, 64); views == 0 {
			t.Fatal("no totals")
		}
		req.Offset += int64(len(resp.Rows))
		if req.Offset >= resp.RowCount || len(resp.Rows) == 0 {
			break
		}
	}
	if int64(len(rows)) != total || total != int64(len(Pages)*len(Sources)) {
		t.Fatalf("%d rows read, rowCount %d, want %d", len(rows), total, len(Pages)*len(Sources))
	}
	prev := int64(1 << 62)
	for _, r := range rows {
		v, _ := strconv.ParseInt(r.MetricValues[0].Value, 10, 64)
		if v > prev {
			t.Fatal("rows are not ordered by screenPageViews descending")
		}
		prev = v
	}

	// Google's errors reach the client as *googleapi.Error.
	_, err := svc.Properties.RunReport("properties/"+DefaultProperty, &analyticsdata.RunReportRequest{
		DateRanges: []*analyticsdata.DateRange{{StartDate: "7daysAgo", EndDate: "today"}},
		Metrics:    []*analyticsdata.Metric{{Name: "pageviews"}},
	}).Do()
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Code != 400 || !strings.Contains(ge.Message, "pageviews is not a valid metric") {
		t.Fatalf("error %v", err)
	}
	_, err = svc.Properties.RunReport("properties/999", req).Do()
	if !errors.As(err, &ge) || ge.Code != 403 {
		t.Fatalf("other property: %v", err)
	}
	if s.TokensIssued() != 1 {
		t.Fatalf("%d tokens issued, want 1 (the client caches it)", s.TokensIssued())
	}
}

type assertion struct {
	Iss   string `json:"iss"`
	Scope string `json:"scope,omitempty"`
	Aud   string `json:"aud"`
	Iat   int64  `json:"iat"`
	Exp   int64  `json:"exp"`
}

func signAssertion(t testing.TB, key *rsa.PrivateKey, kid string, c assertion) string {
	t.Helper()
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": kid})
	cb, _ := json.Marshal(c)
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(cb)
	d := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func postToken(t testing.TB, ts *httptest.Server, form url.Values) simtest.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", ts.URL+TokenPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return simtest.Do(t, ts.Client(), req)
}

func TestTokenEndpoint(t *testing.T) {
	s, ts := newTestServer(t)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	now := time.Now().Unix()
	good := assertion{Iss: DefaultKey, Scope: ScopeReadonly, Aud: ts.URL + TokenPath, Iat: now - 10, Exp: now + 3590}
	tests := []struct {
		name      string
		grant     string
		key       *rsa.PrivateKey
		edit      func(a *assertion)
		wantError string
	}{
		{"valid", "", s.key, nil, ""},
		{"aud is Google's token URI", "", s.key, func(a *assertion) { a.Aud = GoogleTokenURI }, ""},
		{"another key", "", other, nil, "invalid_grant"},
		{"another account", "", s.key, func(a *assertion) { a.Iss = "someone@x.iam.gserviceaccount.com" }, "invalid_grant"},
		{"wrong audience", "", s.key, func(a *assertion) { a.Aud = "https://example.com/token" }, "invalid_grant"},
		{"expired", "", s.key, func(a *assertion) { a.Iat, a.Exp = now-7200, now-3600 }, "invalid_grant"},
		{"too long-lived", "", s.key, func(a *assertion) { a.Exp = now + 7200 }, "invalid_grant"},
		{"no scope", "", s.key, func(a *assertion) { a.Scope = "" }, "invalid_scope"},
		{"wrong grant type", "client_credentials", s.key, nil, "unsupported_grant_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := good
			if tt.edit != nil {
				tt.edit(&a)
			}
			grant := tt.grant
			if grant == "" {
				grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
			}
			r := postToken(t, ts, url.Values{"grant_type": {grant}, "assertion": {signAssertion(t, tt.key, DevKeyID, a)}})
			if tt.wantError == "" {
				if r.Status != 200 || !strings.HasPrefix(r.Body["access_token"].(string), "ya29.") || r.Body["expires_in"].(float64) != 3599 || r.Body["token_type"] != "Bearer" {
					t.Fatalf("%d %s", r.Status, r.Raw)
				}
				return
			}
			if r.Status != 400 || r.Body["error"] != tt.wantError {
				t.Fatalf("%d %s, want 400 %s", r.Status, r.Raw, tt.wantError)
			}
		})
	}
}

// report runs one report with a fresh token and returns the answer.
func report(t testing.TB, s *Server, ts *httptest.Server, scope string, body string) simtest.Response {
	t.Helper()
	now := time.Now().Unix()
	r := postToken(t, ts, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"assertion": {signAssertion(t, s.key, DevKeyID, assertion{Iss: DefaultKey, Scope: scope, Aud: GoogleTokenURI, Iat: now, Exp: now + 3600})}})
	tok, _ := r.Body["access_token"].(string)
	req, _ := http.NewRequest("POST", ts.URL+"/v1beta/properties/"+DefaultProperty+":runReport", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	return simtest.Do(t, ts.Client(), req)
}

func dims(r simtest.Response, i int) []string {
	var out []string
	rows, _ := r.Body["rows"].([]any)
	for _, row := range rows {
		dv := row.(map[string]any)["dimensionValues"].([]any)
		out = append(out, dv[i].(map[string]any)["value"].(string))
	}
	return out
}

func TestRunReport(t *testing.T) {
	s, ts := newTestServer(t)
	const week = `"dateRanges":[{"startDate":"7daysAgo","endDate":"today"}]`
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantDims   string // dimension 0 of every row, joined by commas
		wantCount  float64
		wantInErr  string
	}{
		{"exact page filter, as the seed asks", `{` + week + `,"dimensions":[{"name":"pagePath"},{"name":"sessionSource"}],"metrics":[{"name":"screenPageViews"}],
			"dimensionFilter":{"filter":{"fieldName":"pagePath","stringFilter":{"matchType":"EXACT","value":"/blog/co2-basics"}}},"orderBys":[{"dimension":{"dimensionName":"sessionSource"}}]}`,
			200, "/blog/co2-basics,/blog/co2-basics,/blog/co2-basics,/blog/co2-basics,/blog/co2-basics,/blog/co2-basics", 6, ""},
		{"begins with, ordered", `{` + week + `,"dimensions":[{"name":"pagePath"}],"metrics":[{"name":"sessions"}],
			"dimensionFilter":{"filter":{"fieldName":"pagePath","stringFilter":{"matchType":"BEGINS_WITH","value":"/guides/"}}},"orderBys":[{"dimension":{"dimensionName":"pagePath"},"desc":true}]}`,
			200, "/guides/substrates,/guides/co2-systems", 2, ""},
		{"in list, not, and", `{` + week + `,"dimensions":[{"name":"sessionSource"}],"metrics":[{"name":"sessions"}],
			"dimensionFilter":{"andGroup":{"expressions":[{"filter":{"fieldName":"sessionSource","inListFilter":{"values":["google","Instagram","newsletter"]}}},
			{"notExpression":{"filter":{"fieldName":"sessionSource","stringFilter":{"matchType":"CONTAINS","value":"news"}}}}]}},"orderBys":[{"dimension":{"dimensionName":"sessionSource"}}]}`,
			200, "google,instagram", 2, ""},
		{"offset and limit", `{` + week + `,"dimensions":[{"name":"pagePath"}],"metrics":[{"name":"sessions"}],"orderBys":[{"dimension":{"dimensionName":"pagePath"}}],"offset":"10","limit":"5"}`,
			200, "/newsletter/2025-08-06,/partners/green-aqua", 12, ""},
		{"two date ranges add dateRange", `{"dateRanges":[{"startDate":"14daysAgo","endDate":"8daysAgo","name":"before"},{"startDate":"7daysAgo","endDate":"today","name":"after"}],
			"metrics":[{"name":"sessions"}]}`, 200, "", 2, ""},
		{"unknown dimension", `{` + week + `,"dimensions":[{"name":"page"}],"metrics":[{"name":"sessions"}]}`, 400, "", 0, "page is not a valid dimension"},
		{"unknown field", `{` + week + `,"metrics":[{"name":"sessions"}],"limits":"5"}`, 400, "", 0, `Unknown name "limits"`},
		{"order by a metric not requested", `{` + week + `,"metrics":[{"name":"sessions"}],"orderBys":[{"metric":{"metricName":"bounceRate"}}]}`, 400, "", 0, "orderBys[0]"},
		{"end before start", `{"dateRanges":[{"startDate":"today","endDate":"7daysAgo"}],"metrics":[{"name":"sessions"}]}`, 400, "", 0, "dateRanges[0]"},
		{"no date range", `{"metrics":[{"name":"sessions"}]}`, 400, "", 0, "dateRanges"},
		{"bad date", `{"dateRanges":[{"startDate":"last week","endDate":"today"}],"metrics":[{"name":"sessions"}]}`, 400, "", 0, "Invalid date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := report(t, s, ts, ScopeReadonly, tt.body)
			if r.Status != tt.wantStatus {
				t.Fatalf("%d %s", r.Status, r.Raw)
			}
			if tt.wantStatus != 200 {
				e := r.Body["error"].(map[string]any)
				if e["status"] != "INVALID_ARGUMENT" || !strings.Contains(e["message"].(string), tt.wantInErr) {
					t.Fatalf("error %v, want %q in it", e, tt.wantInErr)
				}
				return
			}
			if r.Body["rowCount"] != tt.wantCount {
				t.Fatalf("rowCount %v, want %v", r.Body["rowCount"], tt.wantCount)
			}
			if tt.wantDims != "" && strings.Join(dims(r, 0), ",") != tt.wantDims {
				t.Fatalf("rows %v", dims(r, 0))
			}
		})
	}
	// The same request answers the same numbers.
	body := `{` + week + `,"dimensions":[{"name":"pagePath"}],"metrics":[{"name":"screenPageViews"},{"name":"bounceRate"}]}`
	if a, b := report(t, s, ts, ScopeReadonly, body), report(t, s, ts, ScopeReadonly, body); a.Raw != b.Raw {
		t.Fatal("reports differ between calls")
	}
}

func TestAccess(t *testing.T) {
	tests := []struct {
		name       string
		opts       []Option
		scope      string
		prepare    func(s *Server)
		wantStatus int
		wantState  string
	}{
		{"insufficient scope", nil, "https://www.googleapis.com/auth/drive", nil, 403, "PERMISSION_DENIED"},
		{"expired token", nil, ScopeReadonly, func(s *Server) { s.ExpireTokens() }, 401, "UNAUTHENTICATED"},
		{"hourly quota", []Option{WithTokensPerHour(1)}, ScopeReadonly, nil, 429, "RESOURCE_EXHAUSTED"},
		{"injected 503", nil, ScopeReadonly, func(s *Server) { s.Injector().Inject(503, 1) }, 503, "UNAVAILABLE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ts := newTestServer(t, tt.opts...)
			body := `{"dateRanges":[{"startDate":"yesterday","endDate":"today"}],"metrics":[{"name":"sessions"}]}`
			if tt.name == "hourly quota" {
				report(t, s, ts, tt.scope, body)
			}
			if tt.prepare != nil {
				// Expire after the token is issued: report issues it, so expire in between.
				now := time.Now().Unix()
				r := postToken(t, ts, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
					"assertion": {signAssertion(t, s.key, DevKeyID, assertion{Iss: DefaultKey, Scope: tt.scope, Aud: GoogleTokenURI, Iat: now, Exp: now + 3600})}})
				tt.prepare(s)
				req, _ := http.NewRequest("POST", ts.URL+"/v1beta/properties/"+DefaultProperty+":runReport", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+r.Body["access_token"].(string))
				got := simtest.Do(t, ts.Client(), req)
				if got.Status != tt.wantStatus || got.Body["error"].(map[string]any)["status"] != tt.wantState {
					t.Fatalf("%d %s", got.Status, got.Raw)
				}
				return
			}
			r := report(t, s, ts, tt.scope, body)
			if r.Status != tt.wantStatus || r.Body["error"].(map[string]any)["status"] != tt.wantState {
				t.Fatalf("%d %s", r.Status, r.Raw)
			}
		})
	}
}

// metricOf returns metric i of every row, by dimension 0.
func metricOf(t testing.TB, r simtest.Response, i int) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	rows, _ := r.Body["rows"].([]any)
	for _, row := range rows {
		m := row.(map[string]any)
		d := m["dimensionValues"].([]any)[0].(map[string]any)["value"].(string)
		v, err := strconv.ParseFloat(m["metricValues"].([]any)[i].(map[string]any)["value"].(string), 64)
		if err != nil {
			t.Fatal(err)
		}
		out[d] += v
	}
	return out
}

// TestEventName checks the eventName dimension the hub reads outbound clicks through: a
// click filter yields click events only, page_view events are the page views, and every
// event of a cell adds up to its eventCount.
func TestEventName(t *testing.T) {
	s, ts := newTestServer(t)
	const week = `"dateRanges":[{"startDate":"7daysAgo","endDate":"today"}]`
	views := metricOf(t, report(t, s, ts, ScopeReadonly, `{`+week+`,"dimensions":[{"name":"pagePath"}],"metrics":[{"name":"screenPageViews"},{"name":"eventCount"}]}`), 0)
	events := metricOf(t, report(t, s, ts, ScopeReadonly, `{`+week+`,"dimensions":[{"name":"pagePath"}],"metrics":[{"name":"eventCount"}]}`), 0)
	clicks := report(t, s, ts, ScopeReadonly, `{`+week+`,"dimensions":[{"name":"pagePath"},{"name":"eventName"}],"metrics":[{"name":"eventCount"},{"name":"screenPageViews"}],
		"dimensionFilter":{"filter":{"fieldName":"eventName","stringFilter":{"value":"click"}}}}`)
	if clicks.Status != 200 {
		t.Fatalf("%d %s", clicks.Status, clicks.Raw)
	}
	for _, name := range dims(clicks, 1) {
		if name != "click" {
			t.Fatalf("event %q in a click report", name)
		}
	}
	clickCount, clickViews := metricOf(t, clicks, 0), metricOf(t, clicks, 1)
	for page, v := range views {
		if c := clickCount[page]; c <= 0 || c >= v {
			t.Errorf("%s: %v clicks for %v page views, want some but fewer", page, c, v)
		}
		if clickViews[page] != 0 {
			t.Errorf("%s: click rows carry %v page views", page, clickViews[page])
		}
	}
	all := report(t, s, ts, ScopeReadonly, `{`+week+`,"dimensions":[{"name":"pagePath"},{"name":"eventName"}],"metrics":[{"name":"eventCount"}],
		"dimensionFilter":{"filter":{"fieldName":"pagePath","stringFilter":{"value":"/blog/co2-basics"}}}}`)
	byEvent := map[string]float64{}
	rows, _ := all.Body["rows"].([]any)
	for i, name := range dims(all, 1) {
		v, _ := strconv.ParseFloat(rows[i].(map[string]any)["metricValues"].([]any)[0].(map[string]any)["value"].(string), 64)
		byEvent[name] += v
	}
	var sum float64
	for _, v := range byEvent {
		sum += v
	}
	if sum != events["/blog/co2-basics"] || byEvent["page_view"] != views["/blog/co2-basics"] || len(byEvent) != len(EventNames) {
		t.Fatalf("events by name %v (sum %v), want the page's %v events and %v page views", byEvent, sum, events["/blog/co2-basics"], views["/blog/co2-basics"])
	}
}
