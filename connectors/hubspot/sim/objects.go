package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit"
)

// Property is a property definition of an object type.
type Property struct {
	Name string
	// Type is string, number, enumeration, datetime, date or bool.
	Type string
	// Options are the allowed values of an enumeration.
	Options []string
	// ReadOnly properties are set by HubSpot and rejected in writes.
	ReadOnly bool
}

// Record is a CRM record as the control endpoints and Objects return it.
type Record struct {
	ID         string            `json:"id"`
	Properties map[string]string `json:"properties"`
	CreatedAt  time.Time         `json:"createdAt"`
	UpdatedAt  time.Time         `json:"updatedAt"`
	Archived   bool              `json:"archived"`
}

type objectType struct {
	name     string // contacts
	typeID   string // 0-1
	singular string // contact
	defs     map[string]Property
	// defaults are the properties returned when a request names none.
	defaults []string
	// unique is the property whose values identify a record besides its id ("email").
	unique string
	byID   map[string]*record
	byKey  map[string]string // lower-cased unique value → id
}

type record struct {
	id       string
	props    map[string]string
	created  time.Time
	updated  time.Time
	archived bool
}

func props(kind string, names ...string) []Property {
	out := make([]Property, len(names))
	for i, n := range names {
		out[i] = Property{Name: n, Type: kind}
	}
	return out
}

func newType(name, typeID, singular, unique string, defaults []string, defs ...[]Property) *objectType {
	t := &objectType{name: name, typeID: typeID, singular: singular, unique: unique, defaults: defaults,
		defs: map[string]Property{}, byID: map[string]*record{}, byKey: map[string]string{}}
	common := []Property{
		{Name: "hs_object_id", Type: "number", ReadOnly: true},
		{Name: "createdate", Type: "datetime", ReadOnly: true},
		{Name: "lastmodifieddate", Type: "datetime", ReadOnly: true},
		{Name: "hs_lastmodifieddate", Type: "datetime", ReadOnly: true},
	}
	for _, list := range append(defs, common) {
		for _, p := range list {
			t.defs[p.Name] = p
		}
	}
	return t
}

// defaultTypes returns contacts, companies and deals with HubSpot's default properties and
// the AquaScene portal's custom contact properties (lead_score, aquascaping_experience,
// content_preferences).
func defaultTypes() map[string]*objectType {
	contacts := newType("contacts", "0-1", "contact", "email",
		[]string{"createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"},
		props("string", "email", "firstname", "lastname", "phone", "company", "website", "city", "country",
			"jobtitle", "content_preferences"),
		[]Property{
			{Name: "lifecyclestage", Type: "enumeration", Options: []string{"subscriber", "lead", "marketingqualifiedlead",
				"salesqualifiedlead", "opportunity", "customer", "evangelist", "other"}},
			{Name: "hs_lead_status", Type: "enumeration", Options: []string{"NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL",
				"UNQUALIFIED", "ATTEMPTED_TO_CONTACT", "CONNECTED", "BAD_TIMING"}},
			{Name: "aquascaping_experience", Type: "enumeration", Options: []string{"beginner", "intermediate", "advanced", "expert"}},
			{Name: "hubspotscore", Type: "number", ReadOnly: true},
			{Name: "lead_score", Type: "number"},
			{Name: "newsletter_opt_in", Type: "bool"},
			{Name: "last_engagement_date", Type: "datetime"},
		})
	companies := newType("companies", "0-2", "company", "",
		[]string{"createdate", "domain", "hs_object_id", "name", "hs_lastmodifieddate"},
		props("string", "name", "domain", "industry", "city", "country", "phone", "website"),
		[]Property{{Name: "numberofemployees", Type: "number"}})
	deals := newType("deals", "0-3", "deal", "",
		[]string{"amount", "closedate", "createdate", "dealname", "dealstage", "hs_lastmodifieddate", "hs_object_id", "pipeline"},
		props("string", "dealname", "pipeline", "dealstage"),
		[]Property{{Name: "amount", Type: "number"}, {Name: "closedate", Type: "datetime"}})
	return map[string]*objectType{"contacts": contacts, "companies": companies, "deals": deals}
}

// lookupType finds an object type by plural name, singular name or type id.
func (s *Server) lookupType(name string) *objectType {
	if t, ok := s.types[name]; ok {
		return t
	}
	for _, t := range s.types {
		if t.singular == name || t.typeID == name {
			return t
		}
	}
	return nil
}

// seedSamples adds the AquaScene sample records New starts with unless WithoutSeed: three
// subscribers and the Green Aqua partner company.
func (s *Server) seedSamples() {
	now := s.now()
	c := s.types["contacts"]
	for _, p := range []map[string]string{
		{"email": "ana.petrova@example.com", "firstname": "Ana", "lastname": "Petrova", "lifecyclestage": "subscriber",
			"aquascaping_experience": "beginner", "lead_score": "12"},
		{"email": "georgi.ivanov@example.com", "firstname": "Georgi", "lastname": "Ivanov", "lifecyclestage": "lead",
			"aquascaping_experience": "intermediate", "lead_score": "48"},
		{"email": "maria.dimitrova@example.com", "firstname": "Maria", "lastname": "Dimitrova", "lifecyclestage": "customer",
			"aquascaping_experience": "advanced", "lead_score": "87", "company": "Green Aqua"},
	} {
		s.insert(c, p, now)
	}
	s.insert(s.types["companies"], map[string]string{"name": "Green Aqua", "domain": "greenaqua.hu", "industry": "Retail", "city": "Budapest"}, now)
}

// Objects returns every record of an object type in id order, archived ones included.
func (s *Server) Objects(objectType string) ([]Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookupType(objectType)
	if t == nil {
		return nil, false
	}
	out := []Record{}
	for _, r := range t.sorted() {
		out = append(out, Record{ID: r.id, Properties: maps(r.props), CreatedAt: r.created, UpdatedAt: r.updated, Archived: r.archived})
	}
	return out, true
}

// Contact returns the contact with email (any case), if there is one.
func (s *Server) Contact(email string) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.types["contacts"]
	r := t.byID[t.byKey[strings.ToLower(email)]]
	if r == nil || r.archived {
		return Record{}, false
	}
	return Record{ID: r.id, Properties: maps(r.props), CreatedAt: r.created, UpdatedAt: r.updated}, true
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (t *objectType) sorted() []*record {
	out := make([]*record, 0, len(t.byID))
	for _, r := range t.byID {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return idLess(out[i].id, out[j].id) })
	return out
}

func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// insert creates a record from already validated properties; the caller holds s.mu.
func (s *Server) insert(t *objectType, p map[string]string, now time.Time) *record {
	id := strconv.FormatInt(s.nextID, 10)
	s.nextID++
	r := &record{id: id, props: map[string]string{}, created: now.UTC(), updated: now.UTC()}
	for k, v := range p {
		if v != "" {
			r.props[k] = v
		}
	}
	r.props["hs_object_id"] = id
	r.props["createdate"] = stamp(now)
	r.props["lastmodifieddate"] = stamp(now)
	r.props["hs_lastmodifieddate"] = stamp(now)
	t.byID[id] = r
	if t.unique != "" && r.props[t.unique] != "" {
		t.byKey[strings.ToLower(r.props[t.unique])] = id
	}
	return r
}

// update merges validated properties into r; an empty value clears a property.
func (t *objectType) update(r *record, p map[string]string, now time.Time) {
	for k, v := range p {
		if t.unique == k {
			delete(t.byKey, strings.ToLower(r.props[k]))
			if v != "" {
				t.byKey[strings.ToLower(v)] = r.id
			}
		}
		if v == "" {
			delete(r.props, k)
		} else {
			r.props[k] = v
		}
	}
	r.updated = now.UTC()
	r.props["lastmodifieddate"] = stamp(now)
	r.props["hs_lastmodifieddate"] = stamp(now)
}

// propertyError is one invalid property of a write, in HubSpot's words.
type propertyError struct {
	Name    string
	Code    string
	Message string
}

func (e propertyError) detail() errorDetail {
	return errorDetail{Message: e.Message, Code: e.Code, Context: map[string][]string{"propertyName": {e.Name}}}
}

// validationMessage is HubSpot's message for invalid property values: a JSON array of the
// per-property findings after a fixed prefix.
func validationMessage(errs []propertyError) string {
	type finding struct {
		IsValid               bool   `json:"isValid"`
		Message               string `json:"message"`
		Error                 string `json:"error"`
		Name                  string `json:"name"`
		LocalizedErrorMessage string `json:"localizedErrorMessage"`
	}
	fs := make([]finding, len(errs))
	for i, e := range errs {
		fs[i] = finding{Message: e.Message, Error: e.Code, Name: e.Name, LocalizedErrorMessage: e.Message}
	}
	b, _ := json.Marshal(fs)
	return "Property values were not valid: " + string(b)
}

func writePropertyErrors(w http.ResponseWriter, errs []propertyError) {
	details := make([]errorDetail, len(errs))
	for i, e := range errs {
		details[i] = e.detail()
	}
	validationError(w, validationMessage(errs), details...)
}

// coerce turns the JSON values of a properties object into strings, as HubSpot accepts
// numbers and booleans for string-typed values; objects and arrays are invalid.
func coerce(raw map[string]json.RawMessage) (map[string]string, []propertyError) {
	out := make(map[string]string, len(raw))
	var errs []propertyError
	for _, k := range sortedKeys(raw) {
		v := raw[k]
		var x any
		_ = json.Unmarshal(v, &x)
		switch y := x.(type) {
		case nil:
			out[k] = ""
		case string:
			out[k] = y
		case bool:
			out[k] = strconv.FormatBool(y)
		case float64:
			out[k] = strings.TrimSpace(string(v))
		default:
			errs = append(errs, propertyError{Name: k, Code: "INVALID_PROPERTY_VALUE", Message: fmt.Sprintf("Property %q must be a string, number or boolean", k)})
		}
	}
	return out, errs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// validate checks property values against the definitions and normalises them (lower-case
// email, ISO date-times).
func (t *objectType) validate(p map[string]string) []propertyError {
	var errs []propertyError
	for _, k := range sortedKeys(p) {
		v := p[k]
		def, ok := t.defs[k]
		if !ok {
			errs = append(errs, propertyError{k, "PROPERTY_DOESNT_EXIST", fmt.Sprintf("Property %q does not exist", k)})
			continue
		}
		if def.ReadOnly {
			errs = append(errs, propertyError{k, "READ_ONLY_VALUE", fmt.Sprintf("%q is a read only property; its value cannot be set.", k)})
			continue
		}
		if v == "" {
			continue
		}
		switch def.Type {
		case "number":
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				errs = append(errs, propertyError{k, "INVALID_DECIMAL", fmt.Sprintf("%q was not a valid number.", v)})
			}
		case "bool":
			if v != "true" && v != "false" {
				errs = append(errs, propertyError{k, "INVALID_BOOLEAN", fmt.Sprintf("%q was not a valid boolean (true or false).", v)})
			}
		case "enumeration":
			if !slices.Contains(def.Options, v) {
				errs = append(errs, propertyError{k, "INVALID_OPTION", fmt.Sprintf("%q was not one of the allowed options: [%s]", v, strings.Join(def.Options, ", "))})
			}
		case "datetime", "date":
			ts, ok := parseTime(v)
			if !ok {
				errs = append(errs, propertyError{k, "INVALID_DATE", fmt.Sprintf("%q is not a valid date: use an ISO 8601 date-time or epoch milliseconds", v)})
				continue
			}
			if def.Type == "date" && (ts.Hour() != 0 || ts.Minute() != 0 || ts.Second() != 0 || ts.Nanosecond() != 0) {
				errs = append(errs, propertyError{k, "INVALID_DATE", fmt.Sprintf("%q is not midnight UTC; a date property holds days", v)})
				continue
			}
			p[k] = stamp(ts)
		}
		if k == "email" {
			if !validEmail(v) {
				errs = append(errs, propertyError{k, "INVALID_EMAIL", fmt.Sprintf("Email address %s is invalid", v)})
				continue
			}
			p[k] = strings.ToLower(v)
		}
	}
	return errs
}

// parseTime reads epoch milliseconds or an ISO 8601 date or date-time.
func parseTime(v string) (time.Time, bool) {
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func validEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 || strings.ContainsAny(s, " \t\r\n<>,;()[]\\\"") {
		return false
	}
	return strings.Contains(s[at+1:], ".")
}

// publicObject is SimplePublicObject(WithAssociations) and, with New set, SimplePublicUpsertObject.
type publicObject struct {
	ID           string                `json:"id"`
	Properties   map[string]string     `json:"properties"`
	CreatedAt    string                `json:"createdAt"`
	UpdatedAt    string                `json:"updatedAt"`
	Archived     bool                  `json:"archived"`
	ArchivedAt   string                `json:"archivedAt,omitempty"`
	New          *bool                 `json:"new,omitempty"`
	Associations map[string]assocsList `json:"associations,omitempty"`
}

type assocsList struct {
	Results []assocRef `json:"results"`
}

type assocRef struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// view renders r with the named properties (those it has) plus the always-returned ones,
// or the type's defaults when names is empty.
func (t *objectType) view(r *record, names []string) publicObject {
	if len(names) == 0 {
		names = t.defaults
	} else {
		names = append(append([]string(nil), names...), "hs_object_id", "createdate", "lastmodifieddate")
	}
	p := map[string]string{}
	for _, n := range names {
		if v, ok := r.props[n]; ok {
			p[n] = v
		}
	}
	o := publicObject{ID: r.id, Properties: p, CreatedAt: stamp(r.created), UpdatedAt: stamp(r.updated), Archived: r.archived}
	if r.archived {
		o.ArchivedAt = stamp(r.updated)
	}
	return o
}

// listParam reads a comma-separated or repeated query parameter.
func listParam(q url.Values, name string) []string {
	var out []string
	for _, v := range q[name] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// find resolves an id or, with idProperty, a unique property value; the caller holds s.mu.
func (t *objectType) find(id, idProperty string) (*record, error) {
	switch idProperty {
	case "", "hs_object_id":
		return t.byID[id], nil
	case t.unique:
		return t.byID[t.byKey[strings.ToLower(id)]], nil
	}
	return nil, fmt.Errorf("%s is not a unique property of %s", idProperty, t.name)
}

func (s *Server) serveObjects(w http.ResponseWriter, r *http.Request, segs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookupType(segs[0])
	if t == nil {
		writeError(w, http.StatusBadRequest, apiError{Message: fmt.Sprintf("Unable to infer object type from: %s", segs[0]), Category: "VALIDATION_ERROR"})
		return
	}
	now := s.now()
	switch {
	case len(segs) == 1 && r.Method == http.MethodGet:
		s.list(w, r, t)
	case len(segs) == 1 && r.Method == http.MethodPost:
		s.create(w, r, t, now)
	case len(segs) == 2 && segs[1] == "search" && r.Method == http.MethodPost:
		s.search(w, r, t)
	case len(segs) == 3 && segs[1] == "batch" && segs[2] == "upsert" && r.Method == http.MethodPost:
		s.batchUpsert(w, r, t, now)
	case len(segs) == 3 && segs[1] == "batch" && segs[2] == "read" && r.Method == http.MethodPost:
		s.batchRead(w, r, t)
	case len(segs) == 2 && r.Method == http.MethodGet:
		s.get(w, r, t, segs[1])
	case len(segs) == 2 && r.Method == http.MethodPatch:
		s.patch(w, r, t, segs[1], now)
	case len(segs) == 2 && r.Method == http.MethodDelete:
		rec := t.byID[segs[1]]
		if rec != nil && !rec.archived {
			rec.archived, rec.updated = true, now.UTC()
			if t.unique != "" {
				delete(t.byKey, strings.ToLower(rec.props[t.unique]))
			}
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		noRoute(w, r)
	}
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, t *objectType) {
	q := r.URL.Query()
	limit := 10
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			validationError(w, "limit must be between 1 and 100", errorDetail{Message: "must be between 1 and 100", In: "limit"})
			return
		}
		limit = n
	}
	archived := q.Get("archived") == "true"
	var all []*record
	for _, rec := range t.sorted() {
		if rec.archived == archived {
			all = append(all, rec)
		}
	}
	// after is the id of the first record of the next page.
	start := 0
	if a := q.Get("after"); a != "" {
		start = len(all)
		for i, rec := range all {
			if !idLess(rec.id, a) {
				start = i
				break
			}
		}
	}
	names := listParam(q, "properties")
	out := struct {
		Results []publicObject `json:"results"`
		Paging  *paging        `json:"paging,omitempty"`
	}{Results: []publicObject{}}
	end := min(start+limit, len(all))
	for _, rec := range all[start:end] {
		out.Results = append(out.Results, t.view(rec, names))
	}
	if end < len(all) {
		next := all[end].id
		out.Paging = &paging{Next: &nextPage{After: next, Link: fmt.Sprintf("https://api.hubapi.com/crm/v3/objects/%s?after=%s", t.name, next)}}
	}
	simkit.WriteJSON(w, http.StatusOK, out)
}

type paging struct {
	Next *nextPage `json:"next,omitempty"`
}

type nextPage struct {
	After string `json:"after"`
	Link  string `json:"link,omitempty"`
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, t *objectType, id string) {
	q := r.URL.Query()
	rec, err := t.find(id, q.Get("idProperty"))
	if err != nil {
		validationError(w, err.Error(), errorDetail{Message: err.Error(), In: "idProperty"})
		return
	}
	if rec == nil || rec.archived != (q.Get("archived") == "true") {
		notFound(w, id)
		return
	}
	o := t.view(rec, listParam(q, "properties"))
	for _, to := range listParam(q, "associations") {
		tt := s.lookupType(to)
		if tt == nil {
			continue
		}
		var refs []assocRef
		for _, link := range s.linksFrom(t, rec.id, tt) {
			refs = append(refs, assocRef{ID: link.toID, Type: t.singular + "_to_" + tt.singular})
		}
		if len(refs) > 0 {
			if o.Associations == nil {
				o.Associations = map[string]assocsList{}
			}
			o.Associations[tt.name] = assocsList{Results: refs}
		}
	}
	simkit.WriteJSON(w, http.StatusOK, o)
}

type writeInput struct {
	Properties   map[string]json.RawMessage `json:"properties"`
	Associations []json.RawMessage          `json:"associations"`
}

// readProperties decodes the body of a create or an update and checks its properties
// against t, answering HubSpot's error when they are refused. self is the record updated
// ("" on create): it may keep its own unique value.
func readProperties(w http.ResponseWriter, r *http.Request, t *objectType, self string) (map[string]string, bool) {
	var in writeInput
	if !decodeBody(w, r, &in) {
		return nil, false
	}
	p, errs := coerce(in.Properties)
	errs = append(errs, t.validate(p)...)
	if len(errs) > 0 {
		writePropertyErrors(w, errs)
		return nil, false
	}
	if t.unique != "" && p[t.unique] != "" {
		if other, dup := t.byKey[strings.ToLower(p[t.unique])]; dup && other != self {
			writeError(w, http.StatusConflict, apiError{Message: "Contact already exists. Existing ID: " + other, Category: "CONFLICT"})
			return nil, false
		}
	}
	return p, true
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, t *objectType, now time.Time) {
	p, ok := readProperties(w, r, t, "")
	if !ok {
		return
	}
	simkit.WriteJSON(w, http.StatusCreated, t.view(s.insert(t, p, now), sortedKeys(p)))
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request, t *objectType, id string, now time.Time) {
	rec, err := t.find(id, r.URL.Query().Get("idProperty"))
	if err != nil {
		validationError(w, err.Error(), errorDetail{Message: err.Error(), In: "idProperty"})
		return
	}
	if rec == nil || rec.archived {
		notFound(w, id)
		return
	}
	p, ok := readProperties(w, r, t, rec.id)
	if !ok {
		return
	}
	t.update(rec, p, now)
	simkit.WriteJSON(w, http.StatusOK, t.view(rec, sortedKeys(p)))
}

// batchResult is BatchResponseSimplePublic(Upsert)Object(WithErrors).
type batchResult struct {
	Status      string          `json:"status"`
	Results     []publicObject  `json:"results"`
	Errors      []standardError `json:"errors,omitempty"`
	NumErrors   int             `json:"numErrors,omitempty"`
	RequestedAt string          `json:"requestedAt,omitempty"`
	StartedAt   string          `json:"startedAt"`
	CompletedAt string          `json:"completedAt"`
}

// standardError is the per-item error of a batch answer.
type standardError struct {
	Status   string              `json:"status"`
	Category string              `json:"category"`
	Message  string              `json:"message"`
	Context  map[string][]string `json:"context"`
	Errors   []errorDetail       `json:"errors"`
	Links    map[string]string   `json:"links"`
}

func (s *Server) writeBatch(w http.ResponseWriter, results []publicObject, errs []standardError, started time.Time) {
	sort.Slice(results, func(i, j int) bool { return idLess(results[i].ID, results[j].ID) })
	out := batchResult{Status: "COMPLETE", Results: results, StartedAt: stamp(started), CompletedAt: stamp(s.now())}
	status := http.StatusOK
	if len(errs) > 0 {
		out.Errors, out.NumErrors, status = errs, len(errs), http.StatusMultiStatus
	}
	simkit.WriteJSON(w, status, out)
}

type upsertInput struct {
	ID                 string                     `json:"id"`
	IDProperty         string                     `json:"idProperty"`
	ObjectWriteTraceID string                     `json:"objectWriteTraceId"`
	Properties         map[string]json.RawMessage `json:"properties"`
}

// batchUpsert creates or updates each input by its id property. Invalid inputs fail alone
// (207 with errors); a batch in which every input fails is a 400. Results come back in id
// order, not input order, as HubSpot gives no order.
func (s *Server) batchUpsert(w http.ResponseWriter, r *http.Request, t *objectType, now time.Time) {
	var in struct {
		Inputs []upsertInput `json:"inputs"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if !checkBatchSize(w, len(in.Inputs)) {
		return
	}
	seen := map[string]bool{}
	var dups []string
	for _, x := range in.Inputs {
		k := strings.ToLower(x.IDProperty + "\x00" + x.ID)
		if seen[k] {
			dups = append(dups, x.ID)
		}
		seen[k] = true
	}
	if len(dups) > 0 {
		validationError(w, fmt.Sprintf("Duplicate IDs found in batch input: [%s]. IDs must be unique", strings.Join(dups, ", ")))
		return
	}
	var results []publicObject
	var errs []standardError
	for _, x := range in.Inputs {
		res, serr := s.upsertOne(t, x, now)
		if serr != nil {
			errs = append(errs, *serr)
			continue
		}
		results = append(results, res)
	}
	if len(results) == 0 && len(errs) > 0 {
		var details []errorDetail
		for _, e := range errs {
			for _, d := range e.Errors {
				d.Context = mergeContext(d.Context, e.Context)
				details = append(details, d)
			}
		}
		validationError(w, errs[0].Message, details...)
		return
	}
	s.writeBatch(w, results, errs, now)
}

func mergeContext(a, b map[string][]string) map[string][]string {
	out := map[string][]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func checkBatchSize(w http.ResponseWriter, n int) bool {
	if n == 0 {
		validationError(w, "inputs: must not be empty", errorDetail{Message: "must not be empty", In: "inputs"})
		return false
	}
	if n > MaxBatchInputs {
		validationError(w, fmt.Sprintf("Batch input limit exceeded: %d inputs given, the limit is %d", n, MaxBatchInputs),
			errorDetail{Message: fmt.Sprintf("size must be between 1 and %d", MaxBatchInputs), In: "inputs"})
		return false
	}
	return true
}

func itemError(id, msg string, details ...errorDetail) *standardError {
	if details == nil {
		details = []errorDetail{{Message: msg}}
	}
	return &standardError{Status: "error", Category: "VALIDATION_ERROR", Message: msg,
		Context: map[string][]string{"ids": {id}}, Errors: details, Links: map[string]string{}}
}

func (s *Server) upsertOne(t *objectType, x upsertInput, now time.Time) (publicObject, *standardError) {
	if x.ID == "" {
		return publicObject{}, itemError(x.ID, "id: must not be empty")
	}
	p, perrs := coerce(x.Properties)
	if x.IDProperty == t.unique && t.unique != "" {
		if v, ok := p[t.unique]; ok && !strings.EqualFold(v, x.ID) {
			return publicObject{}, itemError(x.ID, fmt.Sprintf("%s in properties (%s) differs from the id (%s)", t.unique, v, x.ID))
		}
		p[t.unique] = x.ID
	}
	perrs = append(perrs, t.validate(p)...)
	if len(perrs) > 0 {
		details := make([]errorDetail, len(perrs))
		for i, e := range perrs {
			details[i] = e.detail()
		}
		return publicObject{}, itemError(x.ID, validationMessage(perrs), details...)
	}
	rec, err := t.find(x.ID, x.IDProperty)
	if err != nil {
		return publicObject{}, itemError(x.ID, err.Error(), errorDetail{Message: err.Error(), In: "idProperty"})
	}
	created := rec == nil || rec.archived
	if created {
		if x.IDProperty == "" || x.IDProperty == "hs_object_id" {
			return publicObject{}, itemError(x.ID, "Object not found.  objectId are usually numeric.")
		}
		rec = s.insert(t, p, now)
	} else {
		t.update(rec, p, now)
	}
	o := t.view(rec, sortedKeys(p))
	o.New = &created
	return o, nil
}

func (s *Server) batchRead(w http.ResponseWriter, r *http.Request, t *objectType) {
	var in struct {
		Inputs     []struct{ ID string } `json:"inputs"`
		IDProperty string                `json:"idProperty"`
		Properties []string              `json:"properties"`
	}
	if !decodeBody(w, r, &in) || !checkBatchSize(w, len(in.Inputs)) {
		return
	}
	started := s.now()
	var results []publicObject
	var missing []string
	for _, x := range in.Inputs {
		rec, err := t.find(x.ID, in.IDProperty)
		if err != nil {
			validationError(w, err.Error(), errorDetail{Message: err.Error(), In: "idProperty"})
			return
		}
		if rec == nil || rec.archived {
			missing = append(missing, x.ID)
			continue
		}
		results = append(results, t.view(rec, in.Properties))
	}
	var errs []standardError
	if len(missing) > 0 {
		errs = append(errs, standardError{Status: "error", Category: "OBJECT_NOT_FOUND",
			Message: fmt.Sprintf("Could not get some %s objects, they may be deleted or not exist. Check that ids are valid.", strings.ToUpper(t.singular)),
			Context: map[string][]string{"ids": missing}, Errors: []errorDetail{}, Links: map[string]string{}})
	}
	if results == nil {
		results = []publicObject{}
	}
	s.writeBatch(w, results, errs, started)
}
