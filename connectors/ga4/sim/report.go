package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit"
)

// Pages are the seeded site's page paths with their titles and relative popularity.
var Pages = []struct {
	Path, Title string
	Weight      int
}{
	{"/", "AquaScene – Aquascaping, one tank at a time", 30},
	{"/blog/co2-basics", "CO2 basics for planted tanks", 22},
	{"/blog/iwagumi-layout-guide", "The Iwagumi layout guide", 18},
	{"/blog/carpet-plants-monte-carlo", "Carpet plants: growing Monte Carlo", 15},
	{"/blog/aqua-soil-explained", "Aqua soil explained", 12},
	{"/blog/lighting-for-planted-tanks", "Lighting for planted tanks", 11},
	{"/blog/algae-control", "Algae control without chemicals", 10},
	{"/guides/substrates", "Complete guide to substrates", 9},
	{"/guides/co2-systems", "Complete guide to CO2 systems", 8},
	{"/newsletter/2025-08-06", "This Week in Aquascaping – 6 August", 6},
	{"/partners/green-aqua", "Our partner: Green Aqua", 4},
	{"/about", "About AquaScene", 3},
}

// Sources are the seeded traffic sources with their share and engagement.
var Sources = []struct {
	Name, Medium string
	Weight       int
	Engagement   int // percent of engaged sessions
}{
	{"google", "organic", 40, 62},
	{"(direct)", "(none)", 20, 55},
	{"instagram", "social", 15, 48},
	{"newsletter", "email", 12, 71},
	{"facebook", "social", 8, 44},
	{"greenaqua.hu", "referral", 5, 66},
}

var devices = []struct {
	Name   string
	Weight int
}{{"mobile", 58}, {"desktop", 36}, {"tablet", 6}}

// fact is one day × page × source × device cell of the dataset, or with the eventName
// dimension one event name of such a cell.
type fact struct {
	dims                                      map[string]string
	sessions, views, engaged, duration, users int64
	newUsers, events                          int64
	// byEvent counts the cell's events per name (EventNames); nil in an event's own fact.
	byEvent map[string]int64
}

// EventNames are the events of the dataset: the automatically collected ones and the
// enhanced-measurement scroll and outbound click (`click`, a visitor following a link to
// another site, such as a partner's shop).
var EventNames = []string{"page_view", "session_start", "first_visit", "user_engagement", "scroll", "click"}

// perEvent splits f into one fact per event name, as GA4 reports a cell under the eventName
// dimension: eventCount is that event's count, screenPageViews counts page_view events only,
// and sessions, users and engagement are those of the sessions in which the event happened
// (all of the cell's for page_view and session_start).
func (f fact) perEvent() []fact {
	out := make([]fact, 0, len(EventNames))
	for _, name := range EventNames {
		n := f.byEvent[name]
		if n <= 0 {
			continue
		}
		dims := make(map[string]string, len(f.dims)+1)
		for k, v := range f.dims {
			dims[k] = v
		}
		dims["eventName"] = name
		e := fact{dims: dims, events: n, sessions: f.sessions, users: f.users, engaged: f.engaged}
		switch name {
		case "page_view":
			e.views, e.duration, e.newUsers = f.views, f.duration, f.newUsers
		case "session_start":
			e.newUsers = f.newUsers
		case "first_visit":
			e.sessions, e.users, e.engaged, e.newUsers = f.newUsers, f.newUsers, min(f.engaged, f.newUsers), f.newUsers
		default:
			e.sessions = min(n, f.sessions)
			e.users, e.engaged = min(e.sessions, f.users), min(e.sessions, f.engaged)
		}
		out = append(out, e)
	}
	return out
}

func mix(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		_, _ = h.Write([]byte(p))
		_, _ = h.Write([]byte{0})
	}
	return h.Sum64()
}

// facts returns the dataset's cells for one day, deterministic per date.
func facts(day time.Time) []fact {
	date := day.Format("20060102")
	weekday := int64(5)
	if d := day.Weekday(); d == time.Saturday || d == time.Sunday {
		weekday = 7
	}
	var out []fact
	for _, p := range Pages {
		for _, src := range Sources {
			for _, dev := range devices {
				h := mix(date, p.Path, src.Name, dev.Name)
				base := int64(p.Weight*src.Weight*dev.Weight) * weekday / 2000
				sessions := base + int64(h%uint64(base/3+2)) - base/6
				if sessions <= 0 {
					continue
				}
				engaged := sessions * int64(src.Engagement+int(h>>8%11)-5) / 100
				views := sessions + sessions*int64(h>>16%90)/100
				newUsers := sessions * 4 / 10
				byEvent := map[string]int64{
					"page_view": views, "session_start": sessions, "first_visit": newUsers, "user_engagement": engaged,
					"scroll": views * int64(35+h>>32%30) / 100, "click": views * int64(2+h>>40%7) / 100,
				}
				var events int64
				for _, n := range byEvent {
					events += n
				}
				out = append(out, fact{
					dims: map[string]string{"date": date, "pagePath": p.Path, "pageTitle": p.Title, "sessionSource": src.Name,
						"sessionMedium": src.Medium, "sessionSourceMedium": src.Name + " / " + src.Medium, "deviceCategory": dev.Name,
						"hostName": "aquascene.bg", "landingPage": p.Path},
					sessions: sessions, views: views, engaged: engaged,
					duration: sessions*45 + engaged*int64(60+h>>24%120), users: sessions * 9 / 10, newUsers: newUsers,
					events: events, byEvent: byEvent,
				})
			}
		}
	}
	return out
}

// metricTypes are the metrics the simulator serves, with Google's metric types.
var metricTypes = map[string]string{
	"sessions": "TYPE_INTEGER", "screenPageViews": "TYPE_INTEGER", "engagedSessions": "TYPE_INTEGER",
	"activeUsers": "TYPE_INTEGER", "totalUsers": "TYPE_INTEGER", "newUsers": "TYPE_INTEGER", "eventCount": "TYPE_INTEGER",
	"averageSessionDuration": "TYPE_SECONDS", "userEngagementDuration": "TYPE_SECONDS",
	"bounceRate": "TYPE_FLOAT", "engagementRate": "TYPE_FLOAT", "screenPageViewsPerSession": "TYPE_FLOAT",
}

var dimensionNames = map[string]bool{"date": true, "pagePath": true, "pageTitle": true, "sessionSource": true,
	"sessionMedium": true, "sessionSourceMedium": true, "deviceCategory": true, "hostName": true, "landingPage": true,
	"eventName": true}

// sums aggregates facts.
type sums struct{ sessions, views, engaged, duration, users, newUsers, events int64 }

func (s *sums) add(f fact) {
	s.sessions += f.sessions
	s.views += f.views
	s.engaged += f.engaged
	s.duration += f.duration
	s.users += f.users
	s.newUsers += f.newUsers
	s.events += f.events
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func (s sums) metric(name string) float64 {
	switch name {
	case "sessions":
		return float64(s.sessions)
	case "screenPageViews":
		return float64(s.views)
	case "engagedSessions":
		return float64(s.engaged)
	case "activeUsers", "totalUsers":
		return float64(s.users)
	case "newUsers":
		return float64(s.newUsers)
	case "eventCount":
		return float64(s.events)
	case "averageSessionDuration":
		return ratio(s.duration, s.sessions)
	case "userEngagementDuration":
		return float64(s.duration)
	case "bounceRate":
		return 1 - ratio(s.engaged, s.sessions)
	case "engagementRate":
		return ratio(s.engaged, s.sessions)
	case "screenPageViewsPerSession":
		return ratio(s.views, s.sessions)
	}
	return 0
}

func formatMetric(name string, v float64) string {
	if metricTypes[name] == "TYPE_INTEGER" {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// int64String reads an int64 sent as a JSON string (as Google's clients send them) or number.
type int64String struct {
	v   int64
	set bool
}

func (n *int64String) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("invalid int64 %s", b)
	}
	n.v, n.set = v, true
	return nil
}

type named struct {
	Name string `json:"name"`
}

type dateRange struct {
	StartDate string `json:"startDate"`
	EndDate   string `json:"endDate"`
	Name      string `json:"name"`
}

type stringFilter struct {
	MatchType     string `json:"matchType"`
	Value         string `json:"value"`
	CaseSensitive bool   `json:"caseSensitive"`
}

type inListFilter struct {
	Values        []string `json:"values"`
	CaseSensitive bool     `json:"caseSensitive"`
}

type filter struct {
	FieldName     string          `json:"fieldName"`
	StringFilter  *stringFilter   `json:"stringFilter"`
	InListFilter  *inListFilter   `json:"inListFilter"`
	NumericFilter json.RawMessage `json:"numericFilter"`
	BetweenFilter json.RawMessage `json:"betweenFilter"`
	EmptyFilter   json.RawMessage `json:"emptyFilter"`
}

type filterList struct {
	Expressions []filterExpression `json:"expressions"`
}

type filterExpression struct {
	AndGroup      *filterList       `json:"andGroup"`
	OrGroup       *filterList       `json:"orGroup"`
	NotExpression *filterExpression `json:"notExpression"`
	Filter        *filter           `json:"filter"`
}

type orderBy struct {
	Desc   bool `json:"desc"`
	Metric *struct {
		MetricName string `json:"metricName"`
	} `json:"metric"`
	Dimension *struct {
		DimensionName string `json:"dimensionName"`
		OrderType     string `json:"orderType"`
	} `json:"dimension"`
}

type runReportRequest struct {
	Property            string            `json:"property"`
	DateRanges          []dateRange       `json:"dateRanges"`
	Dimensions          []named           `json:"dimensions"`
	Metrics             []named           `json:"metrics"`
	DimensionFilter     *filterExpression `json:"dimensionFilter"`
	MetricFilter        json.RawMessage   `json:"metricFilter"`
	Offset              int64String       `json:"offset"`
	Limit               int64String       `json:"limit"`
	MetricAggregations  []string          `json:"metricAggregations"`
	OrderBys            []orderBy         `json:"orderBys"`
	CurrencyCode        string            `json:"currencyCode"`
	CohortSpec          json.RawMessage   `json:"cohortSpec"`
	KeepEmptyRows       bool              `json:"keepEmptyRows"`
	ReturnPropertyQuota bool              `json:"returnPropertyQuota"`
	Comparisons         json.RawMessage   `json:"comparisons"`
}

// invalid is a 400 INVALID_ARGUMENT answer.
type invalid string

func (e invalid) Error() string { return string(e) }

// exhausted is a 429 RESOURCE_EXHAUSTED answer.
type exhausted string

func (e exhausted) Error() string { return string(e) }

var relativeDate = regexp.MustCompile(`^([0-9]+)daysAgo$`)

func (s *Server) parseDate(v string) (time.Time, error) {
	today := s.now().UTC().Truncate(24 * time.Hour)
	switch {
	case v == "today":
		return today, nil
	case v == "yesterday":
		return today.AddDate(0, 0, -1), nil
	case relativeDate.MatchString(v):
		n, _ := strconv.Atoi(relativeDate.FindStringSubmatch(v)[1])
		return today.AddDate(0, 0, -n), nil
	}
	t, err := time.Parse("2006-01-02", v)
	if err != nil {
		return t, invalid(fmt.Sprintf("Invalid date value: %q. Date must be YYYY-MM-DD, today, yesterday or NdaysAgo.", v))
	}
	return t, nil
}

func fold(s string, caseSensitive bool) string {
	if caseSensitive {
		return s
	}
	return strings.ToLower(s)
}

// check validates a filter expression against the known dimensions.
func (e *filterExpression) check(path string) error {
	set := 0
	for _, b := range []bool{e.AndGroup != nil, e.OrGroup != nil, e.NotExpression != nil, e.Filter != nil} {
		if b {
			set++
		}
	}
	if set != 1 {
		return invalid(path + " must set exactly one of andGroup, orGroup, notExpression, filter.")
	}
	switch {
	case e.AndGroup != nil || e.OrGroup != nil:
		g := e.AndGroup
		if g == nil {
			g = e.OrGroup
		}
		for i := range g.Expressions {
			if err := g.Expressions[i].check(fmt.Sprintf("%s.expressions[%d]", path, i)); err != nil {
				return err
			}
		}
	case e.NotExpression != nil:
		return e.NotExpression.check(path + ".notExpression")
	default:
		f := e.Filter
		if !dimensionNames[f.FieldName] {
			return invalid(fmt.Sprintf("Field %s is not a valid dimension. For a list of valid dimensions and metrics, see https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema", f.FieldName))
		}
		if f.NumericFilter != nil || f.BetweenFilter != nil || f.EmptyFilter != nil {
			return invalid(path + ".filter: the simulator serves stringFilter and inListFilter only.")
		}
		if f.StringFilter == nil && f.InListFilter == nil {
			return invalid(path + ".filter must set stringFilter or inListFilter.")
		}
		if sf := f.StringFilter; sf != nil {
			switch sf.MatchType {
			case "", "EXACT", "BEGINS_WITH", "ENDS_WITH", "CONTAINS":
			case "FULL_REGEXP", "PARTIAL_REGEXP":
				if _, err := regexp.Compile(sf.Value); err != nil {
					return invalid(fmt.Sprintf("%s.filter.stringFilter.value: invalid regular expression %q.", path, sf.Value))
				}
			default:
				return invalid(fmt.Sprintf("%s.filter.stringFilter.matchType: unknown match type %q.", path, sf.MatchType))
			}
		}
	}
	return nil
}

// mentions reports whether the expression filters on the dimension name.
func (e *filterExpression) mentions(name string) bool {
	switch {
	case e.AndGroup != nil || e.OrGroup != nil:
		g := e.AndGroup
		if g == nil {
			g = e.OrGroup
		}
		for i := range g.Expressions {
			if g.Expressions[i].mentions(name) {
				return true
			}
		}
		return false
	case e.NotExpression != nil:
		return e.NotExpression.mentions(name)
	}
	return e.Filter != nil && e.Filter.FieldName == name
}

func (e *filterExpression) match(dims map[string]string) bool {
	switch {
	case e.AndGroup != nil:
		for i := range e.AndGroup.Expressions {
			if !e.AndGroup.Expressions[i].match(dims) {
				return false
			}
		}
		return true
	case e.OrGroup != nil:
		for i := range e.OrGroup.Expressions {
			if e.OrGroup.Expressions[i].match(dims) {
				return true
			}
		}
		return false
	case e.NotExpression != nil:
		return !e.NotExpression.match(dims)
	}
	f := e.Filter
	v := dims[f.FieldName]
	if l := f.InListFilter; l != nil {
		for _, x := range l.Values {
			if fold(x, l.CaseSensitive) == fold(v, l.CaseSensitive) {
				return true
			}
		}
		return false
	}
	sf := f.StringFilter
	val, want := fold(v, sf.CaseSensitive), fold(sf.Value, sf.CaseSensitive)
	switch sf.MatchType {
	case "BEGINS_WITH":
		return strings.HasPrefix(val, want)
	case "ENDS_WITH":
		return strings.HasSuffix(val, want)
	case "CONTAINS":
		return strings.Contains(val, want)
	case "FULL_REGEXP", "PARTIAL_REGEXP":
		expr := sf.Value
		if sf.MatchType == "FULL_REGEXP" {
			expr = "^(?:" + expr + ")$"
		}
		if !sf.CaseSensitive {
			expr = "(?i)" + expr
		}
		ok, _ := regexp.MatchString(expr, v)
		return ok
	}
	return val == want
}

func (s *Server) serveProperty(w http.ResponseWriter, r *http.Request, rest string) {
	id, method, ok := strings.Cut(rest, ":")
	if !ok || method != "runReport" {
		googleError(w, http.StatusNotFound, "NOT_FOUND", "Requested entity was not found.")
		return
	}
	if r.Method != http.MethodPost {
		googleError(w, http.StatusMethodNotAllowed, "INVALID_ARGUMENT", "Method not allowed; use POST.")
		return
	}
	if _, err := strconv.ParseUint(id, 10, 64); err != nil {
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", fmt.Sprintf("Invalid property ID: %s. A numeric Property ID is required. To learn more about Property ID, see https://developers.google.com/analytics/devguides/reporting/data/v1/property-id.", id))
		return
	}
	if id != s.property {
		googleError(w, http.StatusForbidden, "PERMISSION_DENIED", "User does not have sufficient permissions for this property. To learn more about Property ID, see https://developers.google.com/analytics/devguides/reporting/data/v1/property-id.")
		return
	}
	body, _ := io.ReadAll(r.Body)
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req runReportRequest
	if err := dec.Decode(&req); err != nil {
		msg := err.Error()
		if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
			msg = fmt.Sprintf("Invalid JSON payload received. Unknown name %s: Cannot find field.", name)
		} else {
			msg = "Invalid JSON payload received. " + msg
		}
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", msg)
		return
	}
	resp, err := s.runReport(&req)
	if err != nil {
		if e, ok := err.(invalid); ok {
			googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", string(e))
			return
		}
		googleError(w, http.StatusTooManyRequests, "RESOURCE_EXHAUSTED", err.Error())
		return
	}
	simkit.WriteJSON(w, http.StatusOK, resp)
}

type row struct {
	dims  []string
	sums  sums
	group string
}

func (s *Server) runReport(req *runReportRequest) (map[string]any, error) {
	if req.CohortSpec != nil || req.Comparisons != nil || req.MetricFilter != nil {
		return nil, invalid("The simulator does not serve cohortSpec, comparisons or metricFilter.")
	}
	if len(req.Metrics) == 0 {
		return nil, invalid("At least one metric is required.")
	}
	if len(req.DateRanges) == 0 {
		return nil, invalid("dateRanges: at least one date range is required.")
	}
	if len(req.DateRanges) > 4 {
		return nil, invalid("dateRanges: at most 4 date ranges may be requested.")
	}
	if len(req.Dimensions) > 9 || len(req.Metrics) > 10 {
		return nil, invalid("Requests are limited to 9 dimensions and 10 metrics.")
	}
	seen := map[string]bool{}
	for _, d := range req.Dimensions {
		if !dimensionNames[d.Name] {
			return nil, invalid(fmt.Sprintf("Field %s is not a valid dimension. For a list of valid dimensions and metrics, see https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema", d.Name))
		}
		if seen[d.Name] {
			return nil, invalid(fmt.Sprintf("Duplicate dimension %s in the request.", d.Name))
		}
		seen[d.Name] = true
	}
	for _, m := range req.Metrics {
		if _, ok := metricTypes[m.Name]; !ok {
			return nil, invalid(fmt.Sprintf("Field %s is not a valid metric. For a list of valid dimensions and metrics, see https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema", m.Name))
		}
		if seen[m.Name] {
			return nil, invalid(fmt.Sprintf("Duplicate metric %s in the request.", m.Name))
		}
		seen[m.Name] = true
	}
	if req.DimensionFilter != nil {
		if err := req.DimensionFilter.check("dimensionFilter"); err != nil {
			return nil, err
		}
	}
	for i, o := range req.OrderBys {
		switch {
		case o.Metric != nil && o.Dimension == nil:
			if !seen[o.Metric.MetricName] || metricTypes[o.Metric.MetricName] == "" {
				return nil, invalid(fmt.Sprintf("orderBys[%d]: metric %s must be in the request's metrics.", i, o.Metric.MetricName))
			}
		case o.Dimension != nil && o.Metric == nil:
			if !seen[o.Dimension.DimensionName] || !dimensionNames[o.Dimension.DimensionName] {
				return nil, invalid(fmt.Sprintf("orderBys[%d]: dimension %s must be in the request's dimensions.", i, o.Dimension.DimensionName))
			}
		default:
			return nil, invalid(fmt.Sprintf("orderBys[%d] must set exactly one of metric and dimension.", i))
		}
	}
	offset, limit := req.Offset.v, req.Limit.v
	if offset < 0 || req.Limit.set && limit <= 0 {
		return nil, invalid("offset must be at least 0 and limit positive.")
	}
	if !req.Limit.set {
		limit = 10000
	}
	limit = min(limit, 100000)

	dimNames := make([]string, 0, len(req.Dimensions)+1)
	for _, d := range req.Dimensions {
		dimNames = append(dimNames, d.Name)
	}
	multi := len(req.DateRanges) > 1
	if multi {
		dimNames = append(dimNames, "dateRange")
	}
	byEvent := seen["eventName"] || req.DimensionFilter != nil && req.DimensionFilter.mentions("eventName")
	groups := map[string]*row{}
	var order []string
	for i, dr := range req.DateRanges {
		start, err := s.parseDate(dr.StartDate)
		if err != nil {
			return nil, err
		}
		end, err := s.parseDate(dr.EndDate)
		if err != nil {
			return nil, err
		}
		if end.Before(start) {
			return nil, invalid(fmt.Sprintf("dateRanges[%d]: endDate %s is before startDate %s.", i, dr.EndDate, dr.StartDate))
		}
		if end.Sub(start) > 366*24*time.Hour*3 {
			return nil, invalid(fmt.Sprintf("dateRanges[%d]: the simulator serves ranges of up to three years.", i))
		}
		rangeName := dr.Name
		if rangeName == "" {
			rangeName = "date_range_" + strconv.Itoa(i)
		}
		for day := start; !day.After(end); day = day.AddDate(0, 0, 1) {
			cells := facts(day)
			if byEvent {
				var split []fact
				for _, f := range cells {
					split = append(split, f.perEvent()...)
				}
				cells = split
			}
			for _, f := range cells {
				if req.DimensionFilter != nil && !req.DimensionFilter.match(f.dims) {
					continue
				}
				vals := make([]string, 0, len(dimNames))
				for _, d := range req.Dimensions {
					vals = append(vals, f.dims[d.Name])
				}
				if multi {
					vals = append(vals, rangeName)
				}
				key := strings.Join(vals, "\x00")
				g, ok := groups[key]
				if !ok {
					g = &row{dims: vals, group: key}
					groups[key] = g
					order = append(order, key)
				}
				g.sums.add(f)
			}
		}
	}
	rows := make([]*row, 0, len(order))
	for _, k := range order {
		rows = append(rows, groups[k])
	}
	s.sortRows(rows, req, dimNames)

	resp := map[string]any{"kind": "analyticsData#runReport", "metadata": map[string]any{"currencyCode": "EUR", "timeZone": "Etc/GMT"}}
	dh := make([]map[string]string, 0, len(dimNames))
	for _, n := range dimNames {
		dh = append(dh, map[string]string{"name": n})
	}
	mh := make([]map[string]string, 0, len(req.Metrics))
	for _, m := range req.Metrics {
		mh = append(mh, map[string]string{"name": m.Name, "type": metricTypes[m.Name]})
	}
	if len(dh) > 0 {
		resp["dimensionHeaders"] = dh
	}
	resp["metricHeaders"] = mh
	if len(rows) > 0 {
		resp["rowCount"] = len(rows)
	}
	var out []map[string]any
	for i := offset; i < int64(len(rows)) && i < offset+limit; i++ {
		out = append(out, encodeRow(rows[i].dims, rows[i].sums, req.Metrics))
	}
	if len(out) > 0 {
		resp["rows"] = out
	}
	if len(req.MetricAggregations) > 0 {
		var total sums
		for _, r := range rows {
			total.sums(r.sums)
		}
		for _, agg := range req.MetricAggregations {
			switch agg {
			case "TOTAL":
				resp["totals"] = []map[string]any{encodeRow(aggregateDims(dimNames, "RESERVED_TOTAL"), total, req.Metrics)}
			case "MAXIMUM", "MINIMUM":
				resp[strings.ToLower(agg)+"s"] = []map[string]any{extreme(rows, req.Metrics, dimNames, agg)}
			default:
				return nil, invalid(fmt.Sprintf("metricAggregations: unknown aggregation %q.", agg))
			}
		}
	}
	quota, err := s.charge(int64(1 + len(rows)/100 + len(req.Dimensions)))
	if err != nil {
		return nil, err
	}
	if req.ReturnPropertyQuota {
		resp["propertyQuota"] = quota
	}
	return resp, nil
}

func (t *sums) sums(o sums) {
	t.sessions += o.sessions
	t.views += o.views
	t.engaged += o.engaged
	t.duration += o.duration
	t.users += o.users
	t.newUsers += o.newUsers
	t.events += o.events
}

func aggregateDims(names []string, v string) []string {
	out := make([]string, len(names))
	for i := range out {
		out[i] = v
	}
	return out
}

func encodeRow(dims []string, s sums, metrics []named) map[string]any {
	dv := make([]map[string]string, 0, len(dims))
	for _, d := range dims {
		dv = append(dv, map[string]string{"value": d})
	}
	mv := make([]map[string]string, 0, len(metrics))
	for _, m := range metrics {
		mv = append(mv, map[string]string{"value": formatMetric(m.Name, s.metric(m.Name))})
	}
	out := map[string]any{"metricValues": mv}
	if len(dv) > 0 {
		out["dimensionValues"] = dv
	}
	return out
}

func extreme(rows []*row, metrics []named, dimNames []string, agg string) map[string]any {
	dv := make([]map[string]string, 0, len(dimNames))
	for range dimNames {
		dv = append(dv, map[string]string{"value": map[string]string{"MAXIMUM": "RESERVED_MAX", "MINIMUM": "RESERVED_MIN"}[agg]})
	}
	mv := make([]map[string]string, 0, len(metrics))
	for _, m := range metrics {
		var v float64
		for i, r := range rows {
			if x := r.sums.metric(m.Name); i == 0 || agg == "MAXIMUM" && x > v || agg == "MINIMUM" && x < v {
				v = x
			}
		}
		mv = append(mv, map[string]string{"value": formatMetric(m.Name, v)})
	}
	out := map[string]any{"metricValues": mv}
	if len(dv) > 0 {
		out["dimensionValues"] = dv
	}
	return out
}

// sortRows applies orderBys, then dimension values, so that paging is stable.
func (s *Server) sortRows(rows []*row, req *runReportRequest, dimNames []string) {
	index := map[string]int{}
	for i, n := range dimNames {
		index[n] = i
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		for _, o := range req.OrderBys {
			var c int
			if o.Metric != nil {
				x, y := a.sums.metric(o.Metric.MetricName), b.sums.metric(o.Metric.MetricName)
				c = cmpFloat(x, y)
			} else {
				k := index[o.Dimension.DimensionName]
				x, y := a.dims[k], b.dims[k]
				switch o.Dimension.OrderType {
				case "NUMERIC":
					fx, _ := strconv.ParseFloat(x, 64)
					fy, _ := strconv.ParseFloat(y, 64)
					c = cmpFloat(fx, fy)
				case "CASE_INSENSITIVE_ALPHANUMERIC":
					c = strings.Compare(strings.ToLower(x), strings.ToLower(y))
				default:
					c = strings.Compare(x, y)
				}
			}
			if o.Desc {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		return a.group < b.group
	})
}

func cmpFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// charge spends tokens of the property's quota and returns the quota state; past the
// hourly quota it fails with Google's RESOURCE_EXHAUSTED message.
func (s *Server) charge(n int64) (map[string]any, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.hourStart) >= time.Hour {
		s.hourStart, s.hourTokens = now.Truncate(time.Hour), 0
	}
	if now.Sub(s.dayStart) >= 24*time.Hour {
		s.dayStart, s.dayTokens = now.Truncate(24*time.Hour), 0
	}
	if s.hourTokens >= s.tokensPerHour {
		return nil, exhausted("Exhausted property tokens per hour. Wait until the next hour to make more requests. To learn more, see https://developers.google.com/analytics/devguides/reporting/data/v1/quotas.")
	}
	s.hourTokens += int(n)
	s.dayTokens += int(n)
	q := func(consumed, limit int) map[string]int {
		return map[string]int{"consumed": consumed, "remaining": max(0, limit-consumed)}
	}
	return map[string]any{
		"tokensPerDay": q(s.dayTokens, 200000), "tokensPerHour": q(s.hourTokens, s.tokensPerHour),
		"concurrentRequests": q(0, 10), "serverErrorsPerProjectPerHour": q(0, 10),
		"potentiallyThresholdedRequestsPerHour": q(0, 120), "tokensPerProjectPerHour": q(int(n), 14000),
	}, nil
}
