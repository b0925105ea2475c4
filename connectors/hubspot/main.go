// Command hubspot is aquahub's HubSpot connector, a WASI reactor module built with
// sdk/plugin: contacts by email, batch upsert, search, custom behavioral events and
// associations against HubSpot's CRM v3/v4 and events v3 APIs (or the simulator in ./sim).
// See README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	_ "time/tzdata" // account_timezone names an IANA zone; wasip1 has no zoneinfo files

	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/plugin"
)

// Contact is a contact as actions return it.
type Contact struct {
	ID         string            `json:"id"`
	Properties map[string]string `json:"properties"`
	CreatedAt  string            `json:"created_at,omitempty"`
	UpdatedAt  string            `json:"updated_at,omitempty"`
}

// GetIn is the input of contacts.get_by_email.
type GetIn struct {
	Email      string   `json:"email" jsonschema:"minLength=3"`
	Properties []string `json:"properties,omitempty" desc:"properties to return (default: HubSpot's defaults)"`
	// Require turns a missing contact into a not_found error instead of found: false.
	Require bool `json:"require,omitempty" desc:"fail with not_found when no contact has the email (default: found false)"`
}

// GetOut is the output of contacts.get_by_email.
type GetOut struct {
	Found bool `json:"found"`
	Contact
}

// UpsertContact is one contact to create or update, identified by email.
type UpsertContact struct {
	Email      string         `json:"email" jsonschema:"minLength=3"`
	Properties map[string]any `json:"properties,omitempty" desc:"property values: strings, numbers, booleans, lists (multi-select) or null (clears)"`
}

// UpsertIn is the input of contacts.upsert.
type UpsertIn struct {
	Contacts []UpsertContact `json:"contacts,omitempty" desc:"contacts to upsert by email; sent in batches of 100"`
	// Email and Properties are shorthand for one contact.
	Email      string         `json:"email,omitempty" desc:"shorthand for a single contact"`
	Properties map[string]any `json:"properties,omitempty" desc:"properties of the single contact"`
	// FailOnError makes any rejected contact fail the step (invalid_input) after the rest
	// were written; by default rejected contacts are reported in results.
	FailOnError bool `json:"fail_on_error,omitempty" desc:"fail the step when any contact is rejected"`
}

// ItemError is why HubSpot rejected one contact.
type ItemError struct {
	Code     string `json:"code,omitempty"`
	Message  string `json:"message"`
	Property string `json:"property,omitempty"`
}

// UpsertResult is the outcome for one input contact, in input order.
type UpsertResult struct {
	Email string     `json:"email"`
	ID    string     `json:"id,omitempty"`
	New   bool       `json:"new"`
	Error *ItemError `json:"error,omitempty"`
}

// UpsertOut is the output of contacts.upsert.
type UpsertOut struct {
	Results  []UpsertResult `json:"results"`
	IDs      []string       `json:"ids" desc:"ids of the contacts written, in input order"`
	ID       string         `json:"id,omitempty" desc:"the first contact's id"`
	Created  int            `json:"created"`
	Updated  int            `json:"updated"`
	Failed   int            `json:"failed"`
	Requests int            `json:"requests"`
}

// Filter is one search condition.
type Filter struct {
	Property  string `json:"property" jsonschema:"minLength=1"`
	Operator  string `json:"operator" jsonschema:"enum=EQ|NEQ|LT|LTE|GT|GTE|BETWEEN|IN|NOT_IN|HAS_PROPERTY|NOT_HAS_PROPERTY|CONTAINS_TOKEN|NOT_CONTAINS_TOKEN"`
	Value     any    `json:"value,omitempty"`
	HighValue any    `json:"high_value,omitempty" desc:"upper bound of BETWEEN"`
	Values    []any  `json:"values,omitempty" desc:"values of IN and NOT_IN"`
}

// FilterGroup is a set of filters that must all match.
type FilterGroup struct {
	Filters []Filter `json:"filters" jsonschema:"minItems=1,maxItems=6"`
}

// Sort orders search results.
type Sort struct {
	Property  string `json:"property" jsonschema:"minLength=1"`
	Direction string `json:"direction,omitempty" jsonschema:"enum=ASCENDING|DESCENDING"`
}

// SearchIn is the input of contacts.search.
type SearchIn struct {
	Filters      []Filter      `json:"filters,omitempty" desc:"conditions that must all match (one filter group)" jsonschema:"maxItems=6"`
	FilterGroups []FilterGroup `json:"filter_groups,omitempty" desc:"groups of which any must match" jsonschema:"maxItems=5"`
	Sorts        []Sort        `json:"sorts,omitempty" jsonschema:"maxItems=1"`
	Query        string        `json:"query,omitempty" desc:"free text over name, email, phone and company"`
	Properties   []string      `json:"properties,omitempty"`
	PageSize     int           `json:"page_size,omitempty" desc:"results per request (1-200, default 100)" jsonschema:"minimum=1,maximum=200"`
	MaxResults   int           `json:"max_results,omitempty" desc:"stop after this many (default 1000, at most 10000)" jsonschema:"minimum=1,maximum=10000"`
	After        string        `json:"after,omitempty" desc:"continue from this cursor"`
	OnePage      bool          `json:"one_page,omitempty" desc:"return one page and its cursor"`
}

// SearchOut is the output of contacts.search.
type SearchOut struct {
	Contacts []Contact `json:"contacts"`
	Count    int       `json:"count"`
	Total    int       `json:"total" desc:"matches HubSpot counted"`
	// After continues the search; empty when every match was returned.
	After string `json:"after,omitempty"`
}

// EventIn is the input of events.send.
type EventIn struct {
	EventName  string         `json:"event_name" desc:"fully qualified (pe<HubID>_name) or short when config hub_id is set" jsonschema:"minLength=1"`
	Email      string         `json:"email,omitempty"`
	ObjectID   string         `json:"object_id,omitempty" desc:"contact id"`
	UTK        string         `json:"utk,omitempty" desc:"visitor token (hubspotutk cookie)"`
	OccurredAt string         `json:"occurred_at,omitempty" desc:"ISO 8601 date-time (default: now)"`
	Properties map[string]any `json:"properties,omitempty"`
	UUID       string         `json:"uuid,omitempty" desc:"occurrence id (default: derived from the step, so retries are kept once)"`
}

// EventOut is the output of events.send.
type EventOut struct {
	EventName string `json:"event_name"`
	UUID      string `json:"uuid"`
}

// AssociateIn is the input of associations.create.
type AssociateIn struct {
	FromType string `json:"from_type" desc:"contacts, companies, deals or an object type id" jsonschema:"pattern=^[a-z0-9_-]+$"`
	FromID   string `json:"from_id" jsonschema:"minLength=1"`
	ToType   string `json:"to_type" jsonschema:"pattern=^[a-z0-9_-]+$"`
	ToID     string `json:"to_id" jsonschema:"minLength=1"`
	// TypeID picks a labelled association; without it the default association is made.
	TypeID   int    `json:"type_id,omitempty" desc:"association type id (default: the default association)" jsonschema:"minimum=1"`
	Category string `json:"category,omitempty" jsonschema:"enum=HUBSPOT_DEFINED|USER_DEFINED|INTEGRATOR_DEFINED"`
}

// AssociateOut is the output of associations.create.
type AssociateOut struct {
	FromID  string `json:"from_id"`
	ToID    string `json:"to_id"`
	TypeIDs []int  `json:"type_ids"`
}

// Connector is the HubSpot connector; plugintest runs it natively in tests.
var Connector = &plugin.Connector{
	ID: "hubspot", Version: "1.0.0",
	Description: "HubSpot CRM: contacts by email, batch upsert, search, custom behavioral events, associations.",
	Config: []plugin.ConfigSpec{
		{Name: "base_url", Description: "API origin (the simulator's in development)", Default: defaultBaseURL},
		{Name: "hub_id", Description: "account (portal) id; lets events.send take short event names"},
		{Name: "account_timezone", Description: "the account's IANA time zone, where the daily API limit resets", Default: "UTC"},
	},
	Secrets: []plugin.SecretSpec{{Name: "access_token", Description: "private app access token (pat-…)", Required: true}},
	Egress:  []string{defaultBaseURL},
	// Every tier allows at least 100 requests per ten seconds and search 5 per rolling
	// second; 5/s one at a time (no burst, which a rolling window would count twice) keeps
	// every pooled instance under both. "*" covers the simulator's origin too.
	RateLimits: []abi.RateLimit{{Origin: "*", PerSecond: 5, Burst: 1}},
	Actions: []plugin.Handler{
		plugin.Action[GetIn, GetOut]{Name: "contacts.get_by_email", Description: "Read one contact by email.", Handle: getByEmail},
		plugin.Action[UpsertIn, UpsertOut]{Name: "contacts.upsert", Description: "Create or update contacts by email, 100 per request, reporting each.", Handle: upsert},
		plugin.Action[SearchIn, SearchOut]{Name: "contacts.search", Description: "Search contacts with filter groups and a sort, every page or one.", Handle: search},
		plugin.Action[EventIn, EventOut]{Name: "events.send", Description: "Send a custom behavioral event occurrence.", Handle: sendEvent},
		plugin.Action[AssociateIn, AssociateOut]{Name: "associations.create", Description: "Associate two records (default or labelled).", Handle: associate},
	},
}

func init() { plugin.Main(Connector) }

func main() {}

type publicObject struct {
	ID         string            `json:"id"`
	Properties map[string]string `json:"properties"`
	CreatedAt  string            `json:"createdAt"`
	UpdatedAt  string            `json:"updatedAt"`
	New        bool              `json:"new"`
}

func (o publicObject) contact() Contact {
	p := o.Properties
	if p == nil {
		p = map[string]string{}
	}
	return Contact{ID: o.ID, Properties: p, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
}

func getByEmail(ctx context.Context, in GetIn) (GetOut, error) {
	c, err := newClient(ctx)
	if err != nil {
		return GetOut{}, err
	}
	q := url.Values{"idProperty": {"email"}}
	if len(in.Properties) > 0 {
		q.Set("properties", strings.Join(in.Properties, ","))
	}
	resp, err := c.do(ctx, http.MethodGet, "/crm/v3/objects/contacts/"+url.PathEscape(in.Email), q, nil,
		func(p, _ string) string { return "properties" })
	var nf *plugin.Error
	if errors.As(err, &nf) && nf.Kind == abi.KindNotFound && !in.Require {
		return GetOut{Found: false, Contact: Contact{Properties: map[string]string{}}}, nil
	}
	if err != nil {
		return GetOut{}, err
	}
	var o publicObject
	if err := decode(resp, "contact", &o); err != nil {
		return GetOut{}, err
	}
	return GetOut{Found: true, Contact: o.contact()}, nil
}

type upsertItem struct {
	IDProperty string            `json:"idProperty"`
	ID         string            `json:"id"`
	Properties map[string]string `json:"properties"`
}

// chunkProgress is what one batch request settled, kept in kv under the step's
// idempotency key so that a retry does not send accepted chunks again.
type chunkProgress struct {
	Results []UpsertResult `json:"results"`
}

func upsert(ctx context.Context, in UpsertIn) (UpsertOut, error) {
	contacts := in.Contacts
	switch {
	case len(contacts) > 0 && (in.Email != "" || in.Properties != nil):
		return UpsertOut{}, plugin.InvalidInput("email", errors.New("give contacts or email and properties, not both"))
	case in.Email != "":
		contacts = []UpsertContact{{Email: in.Email, Properties: in.Properties}}
	case len(contacts) == 0:
		return UpsertOut{}, plugin.InvalidInput("contacts", errors.New("no contacts to upsert"))
	}
	single := len(in.Contacts) == 0
	path := func(i int) string {
		if single {
			return ""
		}
		return fmt.Sprintf("contacts[%d].", i)
	}
	items := make([]upsertItem, len(contacts))
	seen := map[string]int{}
	for i, ct := range contacts {
		email := strings.ToLower(strings.TrimSpace(ct.Email))
		if !strings.Contains(email, "@") {
			return UpsertOut{}, plugin.InvalidInput(path(i)+"email", fmt.Errorf("%q is not an email address", ct.Email))
		}
		if j, dup := seen[email]; dup {
			return UpsertOut{}, plugin.InvalidInput(path(i)+"email", fmt.Errorf("%s is also contacts[%d]; give each contact once", email, j))
		}
		seen[email] = i
		p, err := propertyValues(ct.Properties, path(i)+"properties")
		if err != nil {
			return UpsertOut{}, err
		}
		if v, ok := p["email"]; ok && !strings.EqualFold(v, email) {
			return UpsertOut{}, plugin.InvalidInput(path(i)+"properties.email", errors.New("differs from the contact's email; the email identifies the contact"))
		}
		delete(p, "email")
		items[i] = upsertItem{IDProperty: "email", ID: email, Properties: p}
	}
	c, err := newClient(ctx)
	if err != nil {
		return UpsertOut{}, err
	}
	key := plugin.IdempotencyKey(ctx)
	out := UpsertOut{Results: make([]UpsertResult, 0, len(items)), IDs: []string{}}
	for start, n := 0, 0; start < len(items); start, n = start+maxBatch, n+1 {
		chunk := items[start:min(start+maxBatch, len(items))]
		kvKey := fmt.Sprintf("upsert/%s/%d", key, n)
		var done chunkProgress
		if key != "" {
			if b, ok, err := plugin.KVGet(ctx, kvKey); err != nil {
				return UpsertOut{}, err
			} else if ok && json.Unmarshal(b, &done) == nil && len(done.Results) == len(chunk) {
				out.add(done.Results)
				continue
			}
		}
		out.Requests++
		results, err := upsertChunk(ctx, c, chunk, func(i int) string { return path(start + i) })
		if err != nil {
			return UpsertOut{}, fmt.Errorf("contacts %d-%d: %w", start, start+len(chunk)-1, err)
		}
		if key != "" {
			b, _ := json.Marshal(chunkProgress{Results: results})
			if err := plugin.KVSet(ctx, kvKey, b); err != nil {
				return UpsertOut{}, err
			}
		}
		out.add(results)
	}
	if len(out.IDs) > 0 {
		out.ID = out.IDs[0]
	}
	if out.Failed > 0 && (in.FailOnError || out.Failed == len(items)) {
		for i, r := range out.Results {
			if r.Error != nil {
				field := path(i) + "email"
				if r.Error.Property != "" {
					field = path(i) + "properties." + r.Error.Property
				}
				return UpsertOut{}, plugin.InvalidInput(field, fmt.Errorf("hubspot rejected %d of %d contacts; first %s: %s", out.Failed, len(items), r.Email, r.Error.Message))
			}
		}
	}
	return out, nil
}

func (o *UpsertOut) add(rs []UpsertResult) {
	for _, r := range rs {
		o.Results = append(o.Results, r)
		switch {
		case r.Error != nil:
			o.Failed++
		case r.New:
			o.Created++
			o.IDs = append(o.IDs, r.ID)
		default:
			o.Updated++
			o.IDs = append(o.IDs, r.ID)
		}
	}
}

type batchAnswer struct {
	Results []publicObject `json:"results"`
	Errors  []apiError     `json:"errors"`
}

// upsertChunk sends one batch and returns a result per item in order. HubSpot answers in
// no particular order, so results are matched on email; rejected items (a 207, or a 400
// whose errors name the items) become item errors rather than a failed step.
func upsertChunk(ctx context.Context, c *client, chunk []upsertItem, path func(int) string) ([]UpsertResult, error) {
	index := make(map[string]int, len(chunk))
	for i, it := range chunk {
		index[it.ID] = i
	}
	fields := func(p, in string) string {
		if len(chunk) == 1 && p != "" {
			return path(0) + "properties." + p
		}
		return "contacts"
	}
	resp, err := c.do(ctx, http.MethodPost, "/crm/v3/objects/contacts/batch/upsert", nil, map[string]any{"inputs": chunk}, fields)
	var ans batchAnswer
	var pe *plugin.Error
	var ae *apiError
	switch {
	case err == nil:
		if err := decode(resp, "batch upsert", &ans); err != nil {
			return nil, err
		}
	case errors.As(err, &pe) && pe.Kind == abi.KindInvalidInput && errors.As(err, &ae) && itemIDs(*ae, index):
		ans.Errors = []apiError{*ae}
	default:
		return nil, err
	}
	results := make([]UpsertResult, len(chunk))
	for i, it := range chunk {
		results[i].Email = it.ID
	}
	filled := make([]bool, len(chunk))
	for _, o := range ans.Results {
		i, ok := index[strings.ToLower(o.Properties["email"])]
		if !ok {
			continue
		}
		results[i].ID, results[i].New, filled[i] = o.ID, o.New, true
	}
	for _, e := range ans.Errors {
		for _, d := range itemErrors(e) {
			if i, ok := index[strings.ToLower(d.id)]; ok && !filled[i] {
				results[i].Error, filled[i] = &d.err, true
			}
		}
	}
	for i, ok := range filled {
		if !ok {
			results[i].Error = &ItemError{Message: "hubspot returned no result for this contact"}
		}
	}
	return results, nil
}

// itemIDs reports whether a 400 is about items of the batch (its details carry their ids)
// rather than about the request.
func itemIDs(e apiError, index map[string]int) bool {
	for _, d := range itemErrors(e) {
		if _, ok := index[strings.ToLower(d.id)]; ok {
			return true
		}
	}
	return false
}

type idError struct {
	id  string
	err ItemError
}

// itemErrors splits a batch error into one error per item id it names: from the error's
// context.ids with its details, or from each detail's own context.ids.
func itemErrors(e apiError) []idError {
	var out []idError
	detailErr := func(d errorDetail) ItemError {
		ie := ItemError{Code: d.Code, Message: d.Message}
		if ps := d.Context["propertyName"]; len(ps) > 0 {
			ie.Property = ps[0]
		}
		return ie
	}
	for _, id := range e.Context["ids"] {
		ie := ItemError{Code: e.Category, Message: e.Message}
		if len(e.Errors) > 0 {
			ie = detailErr(e.Errors[0])
		} else if ps := embeddedProperties(e.Message); len(ps) > 0 {
			ie.Property = ps[0]
		}
		out = append(out, idError{id, ie})
	}
	for _, d := range e.Errors {
		for _, id := range d.Context["ids"] {
			out = append(out, idError{id, detailErr(d)})
		}
	}
	return out
}

// search request types, as HubSpot's search endpoint takes them.
type searchFilter struct {
	PropertyName string   `json:"propertyName"`
	Operator     string   `json:"operator"`
	Value        string   `json:"value,omitempty"`
	HighValue    string   `json:"highValue,omitempty"`
	Values       []string `json:"values,omitempty"`
}

type searchGroup struct {
	Filters []searchFilter `json:"filters"`
}

type searchSort struct {
	PropertyName string `json:"propertyName"`
	Direction    string `json:"direction"`
}

// searchBody sends every field, as HubSpot's OpenAPI document marks them all required.
type searchBody struct {
	FilterGroups []searchGroup `json:"filterGroups"`
	Sorts        []searchSort  `json:"sorts"`
	Query        string        `json:"query,omitempty"`
	Properties   []string      `json:"properties"`
	Limit        int           `json:"limit"`
	After        string        `json:"after"`
}

func searchFilters(fs []Filter, path string) ([]searchFilter, error) {
	out := make([]searchFilter, len(fs))
	for i, f := range fs {
		p := fmt.Sprintf("%s[%d]", path, i)
		sf := searchFilter{PropertyName: f.Property, Operator: f.Operator}
		var err error
		switch f.Operator {
		case "HAS_PROPERTY", "NOT_HAS_PROPERTY":
		case "IN", "NOT_IN":
			if len(f.Values) == 0 {
				return nil, plugin.InvalidInput(p+".values", fmt.Errorf("%s needs values", f.Operator))
			}
			for j, v := range f.Values {
				s, verr := propertyValue(v)
				if verr != nil {
					return nil, plugin.InvalidInput(fmt.Sprintf("%s.values[%d]", p, j), verr)
				}
				sf.Values = append(sf.Values, s)
			}
		default:
			if f.Value == nil {
				return nil, plugin.InvalidInput(p+".value", fmt.Errorf("%s needs a value", f.Operator))
			}
			if sf.Value, err = propertyValue(f.Value); err != nil {
				return nil, plugin.InvalidInput(p+".value", err)
			}
			if f.Operator == "BETWEEN" {
				if f.HighValue == nil {
					return nil, plugin.InvalidInput(p+".high_value", errors.New("BETWEEN needs high_value"))
				}
				if sf.HighValue, err = propertyValue(f.HighValue); err != nil {
					return nil, plugin.InvalidInput(p+".high_value", err)
				}
			}
		}
		out[i] = sf
	}
	return out, nil
}

// maxSearchResults is how far HubSpot's search paging reaches.
const maxSearchResults = 10000

func search(ctx context.Context, in SearchIn) (SearchOut, error) {
	body := searchBody{FilterGroups: []searchGroup{}, Sorts: []searchSort{}, Query: in.Query, Properties: in.Properties, Limit: 100, After: in.After}
	if body.Properties == nil {
		body.Properties = []string{}
	}
	if len(in.Filters) > 0 && len(in.FilterGroups) > 0 {
		return SearchOut{}, plugin.InvalidInput("filters", errors.New("give filters or filter_groups, not both"))
	}
	if len(in.Filters) > 0 {
		fs, err := searchFilters(in.Filters, "filters")
		if err != nil {
			return SearchOut{}, err
		}
		body.FilterGroups = []searchGroup{{Filters: fs}}
	}
	for i, g := range in.FilterGroups {
		fs, err := searchFilters(g.Filters, fmt.Sprintf("filter_groups[%d].filters", i))
		if err != nil {
			return SearchOut{}, err
		}
		body.FilterGroups = append(body.FilterGroups, searchGroup{Filters: fs})
	}
	for _, s := range in.Sorts {
		d := s.Direction
		if d == "" {
			d = "ASCENDING"
		}
		body.Sorts = append(body.Sorts, searchSort{PropertyName: s.Property, Direction: d})
	}
	if in.PageSize > 0 {
		body.Limit = in.PageSize
	}
	maxResults := in.MaxResults
	if maxResults == 0 {
		maxResults = 1000
	}
	c, err := newClient(ctx)
	if err != nil {
		return SearchOut{}, err
	}
	fields := func(p, at string) string {
		switch {
		case p != "" && len(in.FilterGroups) > 0:
			return "filter_groups"
		case p != "":
			return "filters"
		case at == "limit":
			return "page_size"
		case at == "after":
			return "after"
		case at == "sorts":
			return "sorts"
		}
		return ""
	}
	out := SearchOut{Contacts: []Contact{}}
	for {
		if remaining := maxResults - len(out.Contacts); remaining < body.Limit {
			body.Limit = remaining
		}
		resp, err := c.do(ctx, http.MethodPost, "/crm/v3/objects/contacts/search", nil, body, fields)
		if err != nil {
			return SearchOut{}, err
		}
		var page struct {
			Total   int            `json:"total"`
			Results []publicObject `json:"results"`
			Paging  *struct {
				Next *struct {
					After string `json:"after"`
				} `json:"next"`
			} `json:"paging"`
		}
		if err := decode(resp, "search", &page); err != nil {
			return SearchOut{}, err
		}
		out.Total = page.Total
		for _, o := range page.Results {
			out.Contacts = append(out.Contacts, o.contact())
		}
		next := ""
		if page.Paging != nil && page.Paging.Next != nil {
			next = page.Paging.Next.After
		}
		out.After = next
		if next == "" || in.OnePage || len(out.Contacts) >= maxResults || len(page.Results) == 0 {
			break
		}
		if n, err := strconv.Atoi(next); err == nil && n >= maxSearchResults {
			break
		}
		body.After = next
	}
	out.Count = len(out.Contacts)
	return out, nil
}

var qualifiedEvent = regexp.MustCompile(`^pe[0-9]+_[a-z0-9_]+$`)

type eventBody struct {
	EventName  string            `json:"eventName"`
	Email      string            `json:"email,omitempty"`
	ObjectID   string            `json:"objectId,omitempty"`
	UTK        string            `json:"utk,omitempty"`
	OccurredAt string            `json:"occurredAt,omitempty"`
	Properties map[string]string `json:"properties"`
	UUID       string            `json:"uuid"`
}

func sendEvent(ctx context.Context, in EventIn) (EventOut, error) {
	name := in.EventName
	if !qualifiedEvent.MatchString(name) {
		hub := plugin.ConfigString(ctx, "hub_id", "")
		if hub == "" {
			return EventOut{}, plugin.InvalidInput("event_name", fmt.Errorf("%q is not a fully qualified event name (pe<HubID>_<name>); give one or set config hub_id", name))
		}
		name = "pe" + hub + "_" + name
	}
	if in.Email == "" && in.ObjectID == "" && in.UTK == "" {
		return EventOut{}, plugin.InvalidInput("email", errors.New("give email, object_id or utk to say whose event it is"))
	}
	props, err := propertyValues(in.Properties, "properties")
	if err != nil {
		return EventOut{}, err
	}
	uuid := in.UUID
	if uuid == "" {
		uuid = uuidFor(plugin.IdempotencyKey(ctx) + "/" + name)
		if plugin.IdempotencyKey(ctx) == "" {
			uuid = uuidFor(fmt.Sprint(plugin.Now(ctx).UnixNano(), "/", name))
		}
	}
	c, err := newClient(ctx)
	if err != nil {
		return EventOut{}, err
	}
	body := eventBody{EventName: name, Email: in.Email, ObjectID: in.ObjectID, UTK: in.UTK, OccurredAt: in.OccurredAt, Properties: props, UUID: uuid}
	_, err = c.do(ctx, http.MethodPost, "/events/v3/send", nil, body, func(p, at string) string {
		switch {
		case strings.HasPrefix(at, "properties."):
			return at
		case at == "eventName":
			return "event_name"
		case at == "objectId":
			return "object_id"
		case at == "occurredAt":
			return "occurred_at"
		case at == "email", at == "utk":
			return at
		case p != "":
			return "properties." + p
		}
		return ""
	})
	if err != nil {
		return EventOut{}, err
	}
	return EventOut{EventName: name, UUID: uuid}, nil
}

func associate(ctx context.Context, in AssociateIn) (AssociateOut, error) {
	c, err := newClient(ctx)
	if err != nil {
		return AssociateOut{}, err
	}
	base := "/crm/v4/objects/" + url.PathEscape(in.FromType) + "/" + url.PathEscape(in.FromID) + "/associations/"
	fields := func(_, at string) string {
		if at == "associationTypeId" {
			return "type_id"
		}
		return ""
	}
	if in.TypeID == 0 {
		if in.Category != "" {
			return AssociateOut{}, plugin.InvalidInput("category", errors.New("category goes with type_id"))
		}
		resp, err := c.do(ctx, http.MethodPut, base+"default/"+url.PathEscape(in.ToType)+"/"+url.PathEscape(in.ToID), nil, nil, fields)
		if err != nil {
			return AssociateOut{}, err
		}
		var ans struct {
			Results []struct {
				From struct {
					ID string `json:"id"`
				} `json:"from"`
				AssociationSpec struct {
					AssociationTypeID int `json:"associationTypeId"`
				} `json:"associationSpec"`
			} `json:"results"`
		}
		if err := decode(resp, "association", &ans); err != nil {
			return AssociateOut{}, err
		}
		out := AssociateOut{FromID: in.FromID, ToID: in.ToID, TypeIDs: []int{}}
		for _, r := range ans.Results {
			if r.From.ID == in.FromID {
				out.TypeIDs = append(out.TypeIDs, r.AssociationSpec.AssociationTypeID)
			}
		}
		return out, nil
	}
	category := in.Category
	if category == "" {
		category = "HUBSPOT_DEFINED"
	}
	spec := []map[string]any{{"associationCategory": category, "associationTypeId": in.TypeID}}
	if _, err := c.do(ctx, http.MethodPut, base+url.PathEscape(in.ToType)+"/"+url.PathEscape(in.ToID), nil, spec, fields); err != nil {
		return AssociateOut{}, err
	}
	return AssociateOut{FromID: in.FromID, ToID: in.ToID, TypeIDs: []int{in.TypeID}}, nil
}
