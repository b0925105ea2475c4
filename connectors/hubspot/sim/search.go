package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/aquascene/aquahub/connectors/simkit"
)

// Limits of a search request.
const (
	maxFilterGroups   = 5
	maxFiltersInGroup = 6
	maxFilters        = 18
)

type searchFilter struct {
	PropertyName string            `json:"propertyName"`
	Operator     string            `json:"operator"`
	Value        json.RawMessage   `json:"value"`
	HighValue    json.RawMessage   `json:"highValue"`
	Values       []json.RawMessage `json:"values"`
}

type searchRequest struct {
	FilterGroups []struct {
		Filters []searchFilter `json:"filters"`
	} `json:"filterGroups"`
	Sorts      []json.RawMessage `json:"sorts"`
	Query      string            `json:"query"`
	Properties []string          `json:"properties"`
	Limit      *int              `json:"limit"`
	After      json.RawMessage   `json:"after"`
}

// scalar reads a JSON string, number or boolean as the string HubSpot compares.
func scalar(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return strings.TrimSpace(string(raw)), true
	}
	return "", false
}

type sortKey struct {
	property   string
	descending bool
}

// parseSort reads one sort in any of the forms clients send: an object {propertyName,
// direction}, that object serialised into a string, or a bare property name.
func parseSort(raw json.RawMessage) (sortKey, error) {
	var obj struct {
		PropertyName string `json:"propertyName"`
		Direction    string `json:"direction"`
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		if strings.HasPrefix(strings.TrimSpace(str), "{") {
			raw = json.RawMessage(str)
		} else {
			return sortKey{property: strings.TrimPrefix(str, "-"), descending: strings.HasPrefix(str, "-")}, nil
		}
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.PropertyName == "" {
		return sortKey{}, fmt.Errorf("sorts: each sort needs a propertyName")
	}
	switch obj.Direction {
	case "", "ASCENDING":
		return sortKey{property: obj.PropertyName}, nil
	case "DESCENDING":
		return sortKey{property: obj.PropertyName, descending: true}, nil
	}
	return sortKey{}, fmt.Errorf("sorts: direction must be ASCENDING or DESCENDING (got %q)", obj.Direction)
}

// search runs a CRM search: filter groups are ORed, filters in a group ANDed; one sort;
// pages of at most MaxSearchLimit; after is an offset; no more than MaxSearchResults.
func (s *Server) search(w http.ResponseWriter, r *http.Request, t *objectType) {
	var req searchRequest
	if !decodeBody(w, r, &req) {
		return
	}
	limit := 10
	if req.Limit != nil {
		limit = *req.Limit
	}
	if limit < 0 || limit > MaxSearchLimit {
		validationError(w, fmt.Sprintf("limit must be between 0 and %d (got %d)", MaxSearchLimit, limit),
			errorDetail{Message: fmt.Sprintf("must be less than or equal to %d", MaxSearchLimit), In: "limit"})
		return
	}
	offset := 0
	if a, ok := scalar(req.After); ok && a != "" {
		n, err := strconv.Atoi(a)
		if err != nil || n < 0 {
			validationError(w, fmt.Sprintf("after must be a non-negative integer offset (got %q)", a), errorDetail{Message: "invalid", In: "after"})
			return
		}
		offset = n
	}
	if offset+limit > MaxSearchResults {
		validationError(w, fmt.Sprintf("Search results are limited to %d; narrow the filters (after %d + limit %d)", MaxSearchResults, offset, limit))
		return
	}
	if len(req.FilterGroups) > maxFilterGroups {
		validationError(w, fmt.Sprintf("Too many filter groups: %d given, the limit is %d", len(req.FilterGroups), maxFilterGroups))
		return
	}
	total := 0
	for _, g := range req.FilterGroups {
		if len(g.Filters) > maxFiltersInGroup {
			validationError(w, fmt.Sprintf("Too many filters in a filter group: %d given, the limit is %d", len(g.Filters), maxFiltersInGroup))
			return
		}
		total += len(g.Filters)
		for _, f := range g.Filters {
			if err := t.checkFilter(f); err != nil {
				validationError(w, err.Error(), errorDetail{Message: err.Error(), In: "filterGroups",
					Context: map[string][]string{"propertyName": {f.PropertyName}}})
				return
			}
		}
	}
	if total > maxFilters {
		validationError(w, fmt.Sprintf("Too many filters: %d given, the limit is %d", total, maxFilters))
		return
	}
	if len(req.Sorts) > 1 {
		validationError(w, "Only one sort is supported", errorDetail{Message: "size must be at most 1", In: "sorts"})
		return
	}
	var order *sortKey
	if len(req.Sorts) == 1 {
		k, err := parseSort(req.Sorts[0])
		if err != nil {
			validationError(w, err.Error(), errorDetail{Message: err.Error(), In: "sorts"})
			return
		}
		order = &k
	}
	var hits []*record
	for _, rec := range t.sorted() {
		if !rec.archived && t.matchesQuery(rec, req.Query) && t.matchesGroups(rec, req.FilterGroups) {
			hits = append(hits, rec)
		}
	}
	if order != nil {
		def := t.defs[order.property]
		sort.SliceStable(hits, func(i, j int) bool {
			a, aok := hits[i].props[order.property]
			b, bok := hits[j].props[order.property]
			if aok != bok {
				return aok // records without the property come last either way
			}
			c := compare(def, a, b)
			if order.descending {
				return c > 0
			}
			return c < 0
		})
	}
	out := struct {
		Total   int            `json:"total"`
		Results []publicObject `json:"results"`
		Paging  *paging        `json:"paging,omitempty"`
	}{Total: len(hits), Results: []publicObject{}}
	end := min(offset+limit, len(hits))
	if offset < end {
		for _, rec := range hits[offset:end] {
			out.Results = append(out.Results, t.view(rec, req.Properties))
		}
	}
	if end < len(hits) && end < MaxSearchResults {
		out.Paging = &paging{Next: &nextPage{After: strconv.Itoa(end)}}
	}
	simkit.WriteJSON(w, http.StatusOK, out)
}

var operators = []string{"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN",
	"HAS_PROPERTY", "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}

func (t *objectType) checkFilter(f searchFilter) error {
	if _, ok := t.defs[f.PropertyName]; !ok {
		return fmt.Errorf("Property %q does not exist on %s", f.PropertyName, t.name)
	}
	if !slices.Contains(operators, f.Operator) {
		return fmt.Errorf("operator %q is not one of %s", f.Operator, strings.Join(operators, ", "))
	}
	_, hasValue := scalar(f.Value)
	switch f.Operator {
	case "HAS_PROPERTY", "NOT_HAS_PROPERTY":
	case "IN", "NOT_IN":
		if len(f.Values) == 0 {
			return fmt.Errorf("operator %s on %q needs values", f.Operator, f.PropertyName)
		}
	case "BETWEEN":
		if _, ok := scalar(f.HighValue); !ok || !hasValue {
			return fmt.Errorf("operator BETWEEN on %q needs value and highValue", f.PropertyName)
		}
	default:
		if !hasValue {
			return fmt.Errorf("operator %s on %q needs a value", f.Operator, f.PropertyName)
		}
	}
	return nil
}

func (t *objectType) matchesGroups(rec *record, groups []struct {
	Filters []searchFilter `json:"filters"`
}) bool {
	if len(groups) == 0 {
		return true
	}
	for _, g := range groups {
		all := true
		for _, f := range g.Filters {
			if !t.matches(rec, f) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func (t *objectType) matches(rec *record, f searchFilter) bool {
	def := t.defs[f.PropertyName]
	v, has := rec.props[f.PropertyName]
	want, _ := scalar(f.Value)
	switch f.Operator {
	case "HAS_PROPERTY":
		return has
	case "NOT_HAS_PROPERTY":
		return !has
	case "EQ":
		return has && compare(def, v, want) == 0
	case "NEQ":
		return !has || compare(def, v, want) != 0
	case "LT":
		return has && compare(def, v, want) < 0
	case "LTE":
		return has && compare(def, v, want) <= 0
	case "GT":
		return has && compare(def, v, want) > 0
	case "GTE":
		return has && compare(def, v, want) >= 0
	case "BETWEEN":
		high, _ := scalar(f.HighValue)
		return has && compare(def, v, want) >= 0 && compare(def, v, high) <= 0
	case "IN", "NOT_IN":
		in := false
		for _, raw := range f.Values {
			if x, ok := scalar(raw); ok && has && compare(def, v, x) == 0 {
				in = true
			}
		}
		return in == (f.Operator == "IN")
	case "CONTAINS_TOKEN":
		return has && containsToken(v, want)
	case "NOT_CONTAINS_TOKEN":
		return !has || !containsToken(v, want)
	}
	return false
}

// compare orders two values of a property: numbers and dates numerically, everything else
// as case-insensitive strings.
func compare(def Property, a, b string) int {
	switch def.Type {
	case "number":
		x, err1 := strconv.ParseFloat(a, 64)
		y, err2 := strconv.ParseFloat(b, 64)
		if err1 == nil && err2 == nil {
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		}
	case "datetime", "date":
		x, ok1 := parseTime(a)
		y, ok2 := parseTime(b)
		if ok1 && ok2 {
			return x.Compare(y)
		}
	}
	return strings.Compare(strings.ToLower(a), strings.ToLower(b))
}

// tokens splits a value into lower-case words, as HubSpot's token filters see it.
func tokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// containsToken reports whether value holds the token want; a want with * matches the
// whole value as a wildcard pattern ("*@example.com").
func containsToken(value, want string) bool {
	if strings.Contains(want, "*") {
		ok, _ := path.Match(strings.ToLower(want), strings.ToLower(value))
		return ok
	}
	wt := tokens(want)
	if len(wt) == 0 {
		return false
	}
	vt := tokens(value)
	for i := 0; i+len(wt) <= len(vt); i++ {
		if slices.Equal(vt[i:i+len(wt)], wt) {
			return true
		}
	}
	return false
}

// matchesQuery applies the free-text query to the type's searchable default properties.
func (t *objectType) matchesQuery(rec *record, q string) bool {
	q = strings.TrimSpace(q)
	if q == "" {
		return true
	}
	fields := map[string][]string{
		"contacts":  {"firstname", "lastname", "email", "phone", "company"},
		"companies": {"name", "domain", "website", "phone"},
		"deals":     {"dealname"},
	}[t.name]
	for _, f := range fields {
		v := strings.ToLower(rec.props[f])
		if v == "" {
			continue
		}
		if strings.Contains(v, strings.ToLower(q)) || containsToken(v, q) {
			return true
		}
	}
	return false
}
