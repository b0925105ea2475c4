// Command ga4 is aquahub's Google Analytics 4 connector, a WASI reactor module built with
// sdk/plugin: reports.run against the GA4 Data API v1beta (or its simulator in ./sim), with
// service-account auth whose JWT assertion the host signs. See README.md.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aquascene/aquahub/sdk/plugin"
)

const (
	defaultBaseURL = "https://analyticsdata.googleapis.com"
	// defaultPageSize is Google's default limit per request; maxPageSize its maximum.
	defaultPageSize, maxPageSize = 10000, 100000
	// defaultLimit bounds the rows one reports.run reads unless the input says otherwise.
	defaultLimit = 100000
)

// DateRange is a GA4 date range: YYYY-MM-DD, today, yesterday or NdaysAgo.
type DateRange struct {
	StartDate string `json:"start_date" jsonschema:"minLength=1"`
	EndDate   string `json:"end_date" jsonschema:"minLength=1"`
	Name      string `json:"name,omitempty"`
}

// OrderBy orders rows by one metric or one dimension.
type OrderBy struct {
	Metric    string `json:"metric,omitempty"`
	Dimension string `json:"dimension,omitempty"`
	OrderType string `json:"order_type,omitempty" desc:"dimensions: ALPHANUMERIC (default), CASE_INSENSITIVE_ALPHANUMERIC or NUMERIC" jsonschema:"enum=ALPHANUMERIC|CASE_INSENSITIVE_ALPHANUMERIC|NUMERIC"`
	Desc      bool   `json:"desc,omitempty"`
}

// RunIn is the input of reports.run.
type RunIn struct {
	PropertyID      string         `json:"property_id,omitempty" desc:"GA4 property id (default: config property_id)" jsonschema:"pattern=^[0-9]+$"`
	DateRanges      []DateRange    `json:"date_ranges,omitempty" desc:"default: the last 7 days" jsonschema:"maxItems=4"`
	Dimensions      []string       `json:"dimensions,omitempty" jsonschema:"maxItems=9"`
	Metrics         []string       `json:"metrics" jsonschema:"minItems=1,maxItems=10"`
	PagePath        string         `json:"page_path,omitempty" desc:"shorthand for an exact pagePath filter, ANDed with dimension_filter"`
	DimensionFilter map[string]any `json:"dimension_filter,omitempty" desc:"a GA4 FilterExpression as Google documents it (andGroup, orGroup, notExpression, filter{fieldName, stringFilter, inListFilter})"`
	OrderBys        []OrderBy      `json:"order_bys,omitempty"`
	Limit           int64          `json:"limit,omitempty" desc:"read at most this many rows (default 100,000)" jsonschema:"minimum=1,maximum=1000000"`
	PageSize        int64          `json:"page_size,omitempty" desc:"rows per request (default 10,000)" jsonschema:"minimum=1,maximum=100000"`
	KeepEmptyRows   bool           `json:"keep_empty_rows,omitempty"`
	ContentID       string         `json:"content_id,omitempty" desc:"passed through to the output and to content_metrics for page_path"`
}

// MetricHeader names a metric column and its type (TYPE_INTEGER, TYPE_FLOAT, TYPE_SECONDS…).
type MetricHeader struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Row is one report row, values as GA4 returns them (strings).
type Row struct {
	DimensionValues []string `json:"dimension_values"`
	MetricValues    []string `json:"metric_values"`
}

// ContentMetrics is one page's performance in the seed's content-metrics shape.
type ContentMetrics struct {
	PagePath  string `json:"page_path"`
	ContentID string `json:"content_id,omitempty"`
	PageViews int64  `json:"page_views"`
	// AvgSessionDuration (seconds) and BounceRate (0 to 1) are averages over the page's
	// rows weighted by sessions (or by page views when sessions were not requested); nil
	// when the metric was not requested.
	AvgSessionDuration *float64 `json:"avg_session_duration"`
	BounceRate         *float64 `json:"bounce_rate"`
	// TrafficSources are page views by sessionSource, when that dimension was requested.
	TrafficSources map[string]int64 `json:"traffic_sources"`
}

// RunOut is the output of reports.run.
type RunOut struct {
	PropertyID       string         `json:"property_id"`
	DimensionHeaders []string       `json:"dimension_headers"`
	MetricHeaders    []MetricHeader `json:"metric_headers"`
	Rows             []Row          `json:"rows"`
	// Records are the rows as objects keyed by dimension and metric name, metrics as
	// numbers, for rules.
	Records  []map[string]any `json:"records"`
	RowCount int64            `json:"row_count" desc:"rows in the whole report"`
	Pages    int              `json:"pages" desc:"requests made"`
	// Truncated is set when limit stopped reading before row_count.
	Truncated bool `json:"truncated,omitempty"`
	// ContentMetrics is set when the report has the pagePath dimension and the
	// screenPageViews metric.
	ContentMetrics []ContentMetrics `json:"content_metrics,omitempty"`
	ContentID      string           `json:"content_id,omitempty"`
}

// Connector is the GA4 connector; plugintest runs it natively in tests.
var Connector = &plugin.Connector{
	ID: "ga4", Version: "1.0.0",
	Description: "Google Analytics 4 Data API v1beta: run reports (every page), with content metrics per page path.",
	Config: []plugin.ConfigSpec{
		{Name: "base_url", Description: "Data API origin (the simulator's in development)", Default: defaultBaseURL},
		{Name: "property_id", Description: "the GA4 property id used when reports.run names none"},
		{Name: "client_email", Description: "the service account's email; default the client_email of the service_account key file"},
		{Name: "token_uri", Description: "the token endpoint; default the token_uri of the key file, else " + googleTokenURI},
		{Name: "scope", Description: "OAuth scope of the access token", Default: defaultScope},
	},
	Secrets: []plugin.SecretSpec{{Name: "service_account", Required: true, Use: plugin.SecretUseSign,
		Description: "the service account's key: the JSON key file Google issues, or its private key as PEM (then set client_email); the host signs with it and never sends it"}},
	Egress: []string{defaultBaseURL, "https://oauth2.googleapis.com"},
	Actions: []plugin.Handler{
		plugin.Action[RunIn, RunOut]{Name: "reports.run", Description: "Run a report and read every page; content metrics per page path when the report allows.", Handle: run},
	},
}

func init() { plugin.Main(Connector) }

func main() {}

// apiError is Google's error body.
type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("ga4: %d %s: %s", e.Code, e.Status, e.Message)
}

// request is the runReport body, in the Data API's JSON names.
type request struct {
	DateRanges      []map[string]string `json:"dateRanges"`
	Dimensions      []map[string]string `json:"dimensions,omitempty"`
	Metrics         []map[string]string `json:"metrics"`
	DimensionFilter map[string]any      `json:"dimensionFilter,omitempty"`
	OrderBys        []map[string]any    `json:"orderBys,omitempty"`
	Offset          string              `json:"offset,omitempty"`
	Limit           string              `json:"limit"`
	KeepEmptyRows   bool                `json:"keepEmptyRows,omitempty"`
}

type response struct {
	DimensionHeaders []struct {
		Name string `json:"name"`
	} `json:"dimensionHeaders"`
	MetricHeaders []MetricHeader `json:"metricHeaders"`
	Rows          []struct {
		DimensionValues []struct {
			Value string `json:"value"`
		} `json:"dimensionValues"`
		MetricValues []struct {
			Value string `json:"value"`
		} `json:"metricValues"`
	} `json:"rows"`
	RowCount int64 `json:"rowCount"`
}

func buildRequest(in RunIn) request {
	r := request{KeepEmptyRows: in.KeepEmptyRows}
	ranges := in.DateRanges
	if len(ranges) == 0 {
		ranges = []DateRange{{StartDate: "7daysAgo", EndDate: "today"}}
	}
	for _, d := range ranges {
		m := map[string]string{"startDate": d.StartDate, "endDate": d.EndDate}
		if d.Name != "" {
			m["name"] = d.Name
		}
		r.DateRanges = append(r.DateRanges, m)
	}
	for _, d := range in.Dimensions {
		r.Dimensions = append(r.Dimensions, map[string]string{"name": d})
	}
	for _, m := range in.Metrics {
		r.Metrics = append(r.Metrics, map[string]string{"name": m})
	}
	var filters []map[string]any
	if in.PagePath != "" {
		filters = append(filters, map[string]any{"filter": map[string]any{"fieldName": "pagePath",
			"stringFilter": map[string]any{"matchType": "EXACT", "value": in.PagePath}}})
	}
	if len(in.DimensionFilter) > 0 {
		filters = append(filters, in.DimensionFilter)
	}
	switch len(filters) {
	case 1:
		r.DimensionFilter = filters[0]
	case 2:
		r.DimensionFilter = map[string]any{"andGroup": map[string]any{"expressions": filters}}
	}
	for _, o := range in.OrderBys {
		m := map[string]any{}
		if o.Desc {
			m["desc"] = true
		}
		if o.Metric != "" {
			m["metric"] = map[string]string{"metricName": o.Metric}
		} else {
			d := map[string]string{"dimensionName": o.Dimension}
			if o.OrderType != "" {
				d["orderType"] = o.OrderType
			}
			m["dimension"] = d
		}
		r.OrderBys = append(r.OrderBys, m)
	}
	return r
}

func checkInput(in RunIn) error {
	for i, o := range in.OrderBys {
		if (o.Metric == "") == (o.Dimension == "") {
			return plugin.InvalidInput(fmt.Sprintf("order_bys[%d]", i), errors.New("give exactly one of metric and dimension"))
		}
	}
	return nil
}

func run(ctx context.Context, in RunIn) (RunOut, error) {
	property := in.PropertyID
	if property == "" {
		property = plugin.ConfigString(ctx, "property_id", "")
	}
	if property == "" {
		return RunOut{}, plugin.InvalidInput("property_id", errors.New("no property_id given and none configured"))
	}
	if err := checkInput(in); err != nil {
		return RunOut{}, err
	}
	limit, pageSize := in.Limit, in.PageSize
	if limit == 0 {
		limit = defaultLimit
	}
	if pageSize == 0 {
		pageSize = defaultPageSize
	}
	url := strings.TrimRight(plugin.ConfigString(ctx, "base_url", defaultBaseURL), "/") + "/v1beta/properties/" + property + ":runReport"
	req := buildRequest(in)
	out := RunOut{PropertyID: property, Rows: []Row{}, Records: []map[string]any{}, ContentID: in.ContentID}
	var offset int64
	for {
		req.Offset = ""
		if offset > 0 {
			req.Offset = strconv.FormatInt(offset, 10)
		}
		req.Limit = strconv.FormatInt(min(pageSize, limit-int64(len(out.Rows))), 10)
		resp, err := call(ctx, url, req, in)
		if err != nil {
			return RunOut{}, err
		}
		out.Pages++
		if out.Pages == 1 {
			out.DimensionHeaders = []string{}
			for _, h := range resp.DimensionHeaders {
				out.DimensionHeaders = append(out.DimensionHeaders, h.Name)
			}
			out.MetricHeaders = resp.MetricHeaders
		}
		for _, r := range resp.Rows {
			row := Row{DimensionValues: []string{}, MetricValues: []string{}}
			for _, v := range r.DimensionValues {
				row.DimensionValues = append(row.DimensionValues, v.Value)
			}
			for _, v := range r.MetricValues {
				row.MetricValues = append(row.MetricValues, v.Value)
			}
			out.Rows = append(out.Rows, row)
			out.Records = append(out.Records, record(out.DimensionHeaders, out.MetricHeaders, row))
		}
		out.RowCount = resp.RowCount
		offset += int64(len(resp.Rows))
		if len(resp.Rows) == 0 || offset >= resp.RowCount {
			break
		}
		if int64(len(out.Rows)) >= limit {
			out.Truncated = true
			break
		}
	}
	out.ContentMetrics = contentMetrics(out, in)
	return out, nil
}

// call sends one runReport, refreshing the access token once when the API refuses it.
func call(ctx context.Context, url string, body request, in RunIn) (*response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, plugin.InvalidInput("dimension_filter", err)
	}
	for attempt := 0; ; attempt++ {
		tok, err := accessToken(ctx, attempt > 0)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
		if err != nil {
			return nil, plugin.Permanent(fmt.Errorf("ga4: building request: %w", err))
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		resp, err := plugin.HTTPClient().Do(req)
		if err != nil {
			return nil, err
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, plugin.Transient(fmt.Errorf("ga4: reading response: %w", err))
		}
		if resp.StatusCode == http.StatusOK {
			var r response
			if err := json.Unmarshal(raw, &r); err != nil {
				return nil, plugin.Transient(fmt.Errorf("ga4: decoding the report: %w", err))
			}
			return &r, nil
		}
		var wrap struct {
			Error *apiError `json:"error"`
		}
		if json.Unmarshal(raw, &wrap) != nil || wrap.Error == nil {
			wrap.Error = &apiError{Code: resp.StatusCode, Status: http.StatusText(resp.StatusCode), Message: strings.TrimSpace(string(raw))}
		}
		e := wrap.Error
		e.Code = resp.StatusCode
		if (e.Code == http.StatusUnauthorized || e.Code == http.StatusForbidden) && attempt == 0 {
			// The kept token may have been revoked or belong to an older key: one new
			// token, one more try.
			forgetToken(ctx)
			continue
		}
		return nil, typed(e, resp.Header, in)
	}
}

// typed maps a Google error onto the hub's error classes.
func typed(e *apiError, h http.Header, in RunIn) error {
	switch {
	case e.Code == http.StatusTooManyRequests || e.Status == "RESOURCE_EXHAUSTED":
		return plugin.RateLimited(retryAfter(h, e.Message), e)
	case e.Code == http.StatusUnauthorized || e.Code == http.StatusForbidden:
		return plugin.Auth(e)
	case e.Code == http.StatusBadRequest || e.Status == "INVALID_ARGUMENT":
		return plugin.InvalidInput(fieldOf(e.Message, in), e)
	case e.Code == http.StatusNotFound:
		return plugin.NotFound(e)
	case e.Code >= 500 || e.Code == http.StatusRequestTimeout:
		return plugin.Transient(e)
	}
	return plugin.Permanent(e)
}

// retryAfter reads when to come back after a quota error: Retry-After, else the next hour
// for hourly quotas, the next day (midnight Pacific, as Google resets daily quotas) for
// daily ones, and a minute otherwise.
func retryAfter(h http.Header, msg string) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	now := time.Now().UTC()
	msg = strings.ToLower(msg)
	switch {
	case strings.Contains(msg, "per hour"):
		return max(time.Minute, now.Truncate(time.Hour).Add(time.Hour).Sub(now))
	case strings.Contains(msg, "per day"):
		pacific := now.Add(-8 * time.Hour)
		return max(time.Minute, pacific.Truncate(24*time.Hour).Add(24*time.Hour).Sub(pacific))
	}
	return time.Minute
}

var indexed = regexp.MustCompile(`(dateRanges|orderBys)\[([0-9]+)\]`)

// fieldOf names the input field an INVALID_ARGUMENT message is about.
func fieldOf(msg string, in RunIn) string {
	for i, d := range in.Dimensions {
		if strings.Contains(msg, "Field "+d+" ") || strings.Contains(msg, "dimension "+d+" ") {
			return fmt.Sprintf("dimensions[%d]", i)
		}
	}
	for i, m := range in.Metrics {
		if strings.Contains(msg, "Field "+m+" ") || strings.Contains(msg, "metric "+m+" ") {
			return fmt.Sprintf("metrics[%d]", i)
		}
	}
	if m := indexed.FindStringSubmatch(msg); m != nil {
		return map[string]string{"dateRanges": "date_ranges", "orderBys": "order_bys"}[m[1]] + "[" + m[2] + "]"
	}
	for api, input := range map[string]string{"dateRanges": "date_ranges", "orderBys": "order_bys", "dimensionFilter": "dimension_filter",
		"Invalid date": "date_ranges", "Property ID": "property_id", "limit": "page_size"} {
		if strings.Contains(msg, api) {
			return input
		}
	}
	return ""
}

// record turns a row into an object keyed by header name, metrics as numbers.
func record(dims []string, metrics []MetricHeader, r Row) map[string]any {
	out := make(map[string]any, len(dims)+len(metrics))
	for i, d := range dims {
		if i < len(r.DimensionValues) {
			out[d] = r.DimensionValues[i]
		}
	}
	for i, m := range metrics {
		if i < len(r.MetricValues) {
			if f, err := strconv.ParseFloat(r.MetricValues[i], 64); err == nil {
				out[m.Name] = f
			} else {
				out[m.Name] = r.MetricValues[i]
			}
		}
	}
	return out
}

// contentMetrics aggregates the report per page path in the seed's shape, or returns nil
// when the report lacks pagePath or screenPageViews.
func contentMetrics(out RunOut, in RunIn) []ContentMetrics {
	dim := func(name string) int {
		for i, d := range out.DimensionHeaders {
			if d == name {
				return i
			}
		}
		return -1
	}
	metric := func(name string) int {
		for i, m := range out.MetricHeaders {
			if m.Name == name {
				return i
			}
		}
		return -1
	}
	page, source := dim("pagePath"), dim("sessionSource")
	views, sessions, duration, bounce := metric("screenPageViews"), metric("sessions"), metric("averageSessionDuration"), metric("bounceRate")
	if page < 0 || views < 0 {
		return nil
	}
	type acc struct {
		cm                             *ContentMetrics
		weight, durationSum, bounceSum float64
	}
	byPage := map[string]*acc{}
	var order []string
	num := func(r Row, i int) float64 {
		f, _ := strconv.ParseFloat(r.MetricValues[i], 64)
		return f
	}
	for _, r := range out.Rows {
		p := r.DimensionValues[page]
		a, ok := byPage[p]
		if !ok {
			a = &acc{cm: &ContentMetrics{PagePath: p, TrafficSources: map[string]int64{}}}
			if in.ContentID != "" && in.PagePath == p {
				a.cm.ContentID = in.ContentID
			}
			byPage[p] = a
			order = append(order, p)
		}
		v := int64(num(r, views))
		a.cm.PageViews += v
		if source >= 0 {
			a.cm.TrafficSources[r.DimensionValues[source]] += v
		}
		w := float64(v)
		if sessions >= 0 {
			w = num(r, sessions)
		}
		a.weight += w
		if duration >= 0 {
			a.durationSum += w * num(r, duration)
		}
		if bounce >= 0 {
			a.bounceSum += w * num(r, bounce)
		}
	}
	list := make([]ContentMetrics, 0, len(order))
	for _, p := range order {
		a := byPage[p]
		if a.weight > 0 {
			if duration >= 0 {
				d := a.durationSum / a.weight
				a.cm.AvgSessionDuration = &d
			}
			if bounce >= 0 {
				b := a.bounceSum / a.weight
				a.cm.BounceRate = &b
			}
		}
		list = append(list, *a.cm)
	}
	return list
}
