package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit"
)

type record struct {
	id      string
	obj     *object
	fields  map[string]any // canonical field name → string, float64, bool
	deleted bool
}

// Records returns every record of an object with all its fields, deleted ones included.
func (s *Server) Records(objectName string) ([]map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	obj := s.objects[strings.ToLower(objectName)]
	if obj == nil {
		return nil, false
	}
	out := []map[string]any{}
	for _, rec := range s.sorted(obj) {
		out = append(out, rec.view("/services/data/v59.0", nil))
	}
	return out, true
}

// Find returns the live records of an object whose field equals value (case-insensitively).
func (s *Server) Find(objectName, field, value string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	obj := s.objects[strings.ToLower(objectName)]
	if obj == nil || obj.field(field) == nil {
		return nil
	}
	var out []map[string]any
	for _, rec := range s.matching(obj, obj.field(field), value) {
		out = append(out, rec.view("/services/data/v59.0", nil))
	}
	return out
}

func (s *Server) sorted(obj *object) []*record {
	out := make([]*record, 0, len(s.records[strings.ToLower(obj.name)]))
	for _, r := range s.records[strings.ToLower(obj.name)] {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// view renders a record as the API shows it: attributes, then the named fields (every
// field, null when unset, when names is nil).
func (r *record) view(base string, names []string) map[string]any {
	out := map[string]any{"attributes": map[string]string{"type": r.obj.name, "url": base + "/sobjects/" + r.obj.name + "/" + r.id}}
	if names == nil {
		names = r.obj.order
	}
	for _, n := range names {
		f := r.obj.field(n)
		if f == nil {
			continue
		}
		out[f.Name] = r.fields[f.Name]
	}
	return out
}

func (s *Server) newID(obj *object) string {
	s.nextID++
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	n := s.nextID
	var tail [5]byte
	for i := 4; i >= 0; i-- {
		tail[i] = alphabet[n%len(alphabet)]
		n /= len(alphabet)
	}
	id15 := obj.prefix + "Aq" + "00000" + string(tail[:])
	return id15 + idChecksum(id15)
}

// apply validates a write (insert when rec is nil) of body to obj and returns the fields to
// store, or Salesforce's errors. allowID lets the body carry Id, as collection updates name
// their records there.
func (s *Server) apply(obj *object, rec *record, body map[string]json.RawMessage, allowID bool) (map[string]any, []*apiError) {
	next := map[string]any{}
	if rec != nil {
		for k, v := range rec.fields {
			next[k] = v
		}
	}
	var errs []*apiError
	for _, k := range sortedKeys(body) {
		if k == "attributes" {
			continue
		}
		f := obj.field(k)
		if f == nil {
			errs = append(errs, &apiError{ErrorCode: "INVALID_FIELD", Message: fmt.Sprintf("No such column '%s' on sobject of type %s", k, obj.name)})
			continue
		}
		if f.Name == "Id" && allowID {
			continue
		}
		if f.ReadOnly {
			errs = append(errs, fieldErr("INVALID_FIELD_FOR_INSERT_UPDATE", fmt.Sprintf(
				"Unable to create/update fields: %s. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", f.Name), f.Name))
			continue
		}
		v, err := coerce(obj, f, body[k])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if v == nil && f.Type == "boolean" {
			v = false
		}
		next[f.Name] = v
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if rec == nil {
		for _, n := range obj.order {
			f := obj.field(n)
			switch {
			case f.Default != nil && next[f.Name] == nil:
				next[f.Name] = f.Default
			case f.Type == "boolean" && !f.ReadOnly && next[f.Name] == nil:
				next[f.Name] = false // a checkbox is never null
			}
		}
	}
	var missing []string
	for _, n := range obj.order {
		if f := obj.field(n); f.Required && next[f.Name] == nil {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) > 0 {
		return nil, []*apiError{fieldErr("REQUIRED_FIELD_MISSING", fmt.Sprintf("Required fields are missing: [%s]", strings.Join(missing, ", ")), missing...)}
	}
	for _, n := range obj.order {
		f := obj.field(n)
		if !f.Unique || next[f.Name] == nil {
			continue
		}
		for _, other := range s.matching(obj, f, fmt.Sprint(next[f.Name])) {
			if rec == nil || other.id != rec.id {
				return nil, []*apiError{fieldErr("DUPLICATE_VALUE", fmt.Sprintf("duplicate value found: %s duplicates value on record with id: %s", f.Name, other.id))}
			}
		}
	}
	for _, rule := range s.rules {
		if strings.EqualFold(rule.Object, obj.name) {
			if msg := rule.Check(next); msg != "" {
				return nil, []*apiError{fieldErr("FIELD_CUSTOM_VALIDATION_EXCEPTION", msg, rule.Field)}
			}
		}
	}
	return next, nil
}

// matching returns the live records whose field equals value, case-insensitively; the
// caller holds s.mu.
func (s *Server) matching(obj *object, f *Field, value string) []*record {
	var out []*record
	for _, r := range s.sorted(obj) {
		if !r.deleted && r.fields[f.Name] != nil && strings.EqualFold(fmt.Sprint(r.fields[f.Name]), value) {
			out = append(out, r)
		}
	}
	return out
}

// store writes validated fields as a new record (rec nil) or onto rec; the caller holds s.mu.
func (s *Server) store(obj *object, rec *record, fields map[string]any) *record {
	now := stamp(s.now())
	if rec == nil {
		rec = &record{id: s.newID(obj), obj: obj}
		fields["Id"], fields["CreatedDate"], fields["CreatedById"], fields["IsDeleted"] = rec.id, now, userID, false
		if fields["OwnerId"] == nil {
			fields["OwnerId"] = userID
		}
		s.records[strings.ToLower(obj.name)][rec.id] = rec
	}
	fields["LastModifiedDate"], fields["SystemModstamp"], fields["LastModifiedById"] = now, now, userID
	if obj.field("Name") != nil && obj.field("Name").ReadOnly {
		fields["Name"] = strings.TrimSpace(strings.TrimSpace(fmt.Sprint(orEmpty(fields["FirstName"]))) + " " + fmt.Sprint(orEmpty(fields["LastName"])))
	}
	rec.fields = fields
	return rec
}

func orEmpty(v any) any {
	if v == nil {
		return ""
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// decodeObject reads a JSON object body, answering Salesforce's JSON_PARSER_ERROR otherwise.
func decodeObject(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, bool) {
	var body map[string]json.RawMessage
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil || body == nil {
		writeErrors(w, http.StatusBadRequest, &apiError{ErrorCode: "JSON_PARSER_ERROR", Message: "The request body is either invalid or incomplete."})
		return nil, false
	}
	return body, true
}

func notFound(w http.ResponseWriter) {
	writeErrors(w, http.StatusNotFound, &apiError{ErrorCode: "NOT_FOUND", Message: "The requested resource does not exist"})
}

func (s *Server) serveSObjects(rq *request) {
	w, r, segs := rq.w, rq.r, rq.segs
	if len(segs) == 1 && r.Method == http.MethodGet {
		var list []map[string]any
		for _, k := range sortedKeys(s.objects) {
			o := s.objects[k]
			list = append(list, map[string]any{"name": o.name, "label": o.name, "keyPrefix": o.prefix, "createable": true, "updateable": true, "queryable": true,
				"urls": map[string]string{"sobject": rq.base() + "/sobjects/" + o.name}})
		}
		simkit.WriteJSON(w, http.StatusOK, map[string]any{"encoding": "UTF-8", "maxBatchSize": MaxCollection, "sobjects": list})
		return
	}
	obj := s.objects[strings.ToLower(segs[1])]
	if obj == nil {
		notFound(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case len(segs) == 2 && r.Method == http.MethodPost:
		body, ok := decodeObject(w, r)
		if !ok {
			return
		}
		fields, errs := s.apply(obj, nil, body, false)
		if errs != nil {
			writeErrors(w, http.StatusBadRequest, errs...)
			return
		}
		rec := s.store(obj, nil, fields)
		simkit.WriteJSON(w, http.StatusCreated, map[string]any{"id": rec.id, "success": true, "errors": []any{}})
	case len(segs) == 2 && r.Method == http.MethodGet:
		simkit.WriteJSON(w, http.StatusOK, map[string]any{"objectDescribe": map[string]any{"name": obj.name, "keyPrefix": obj.prefix}, "recentItems": []any{}})
	case len(segs) == 3 && segs[2] == "describe" && r.Method == http.MethodGet:
		var fields []map[string]any
		for _, n := range obj.order {
			f := obj.field(n)
			var picks []map[string]any
			for _, v := range f.Values {
				picks = append(picks, map[string]any{"value": v, "label": v, "active": true})
			}
			fields = append(fields, map[string]any{"name": f.Name, "type": f.Type, "length": f.Length, "nillable": !f.Required,
				"createable": !f.ReadOnly, "updateable": !f.ReadOnly, "externalId": f.ExternalID, "unique": f.Unique,
				"custom": strings.HasSuffix(f.Name, "__c"), "restrictedPicklist": f.Restricted, "picklistValues": picks})
		}
		simkit.WriteJSON(w, http.StatusOK, map[string]any{"name": obj.name, "keyPrefix": obj.prefix, "fields": fields})
	case len(segs) == 3:
		s.serveRecord(rq, obj, segs[2])
	case len(segs) == 4:
		s.serveExternal(rq, obj, segs[2], segs[3])
	default:
		notFound(w)
	}
}

// lookup finds a record by 15- or 18-character id; the caller holds s.mu.
func (s *Server) lookup(obj *object, id string) *record {
	return s.records[strings.ToLower(obj.name)][normalizeID(id)]
}

func (s *Server) serveRecord(rq *request, obj *object, id string) {
	w, r := rq.w, rq.r
	rec := s.lookup(obj, id)
	if rec == nil {
		notFound(w)
		return
	}
	if rec.deleted {
		writeErrors(w, http.StatusNotFound, &apiError{ErrorCode: "ENTITY_IS_DELETED", Message: "entity is deleted", Fields: []string{}})
		return
	}
	switch r.Method {
	case http.MethodGet:
		var names []string
		if v := r.URL.Query().Get("fields"); v != "" {
			for _, n := range strings.Split(v, ",") {
				n = strings.TrimSpace(n)
				if obj.field(n) == nil {
					writeErrors(w, http.StatusBadRequest, &apiError{ErrorCode: "INVALID_FIELD", Message: fmt.Sprintf("No such column '%s' on sobject of type %s", n, obj.name)})
					return
				}
				names = append(names, n)
			}
			names = append([]string{"Id"}, names...)
		}
		simkit.WriteJSON(w, http.StatusOK, rec.view(rq.base(), names))
	case http.MethodPatch:
		body, ok := decodeObject(w, r)
		if !ok {
			return
		}
		fields, errs := s.apply(obj, rec, body, false)
		if errs != nil {
			writeErrors(w, http.StatusBadRequest, errs...)
			return
		}
		s.store(obj, rec, fields)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodDelete:
		rec.deleted = true
		rec.fields["IsDeleted"] = true
		w.WriteHeader(http.StatusNoContent)
	default:
		writeErrors(w, http.StatusMethodNotAllowed, &apiError{ErrorCode: "METHOD_NOT_ALLOWED", Message: "HTTP Method '" + r.Method + "' not allowed. Allowed are GET,PATCH,DELETE"})
	}
}

// externalField resolves the field of an upsert or a read by external id: an external id
// field or Id.
func externalField(obj *object, name string) *Field {
	f := obj.field(name)
	if f == nil || (!f.ExternalID && f.Name != "Id") {
		return nil
	}
	return f
}

// serveExternal serves /sobjects/{object}/{field}/{value}: read, upsert (PATCH) and delete
// by external id. An upsert creates (201, created true), updates the one match (200,
// created false; 204 before API v46) or answers 300 with the matches' URLs.
func (s *Server) serveExternal(rq *request, obj *object, fieldName, value string) {
	w, r := rq.w, rq.r
	f := externalField(obj, fieldName)
	if f == nil {
		notFound(w)
		return
	}
	var matches []*record
	if f.Name == "Id" {
		if rec := s.lookup(obj, value); rec != nil && !rec.deleted {
			matches = []*record{rec}
		}
	} else {
		matches = s.matching(obj, f, value)
	}
	if len(matches) > 1 {
		urls := make([]string, len(matches))
		for i, m := range matches {
			urls[i] = rq.base() + "/sobjects/" + obj.name + "/" + m.id
		}
		simkit.WriteJSON(w, http.StatusMultipleChoices, urls)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodDelete:
		if len(matches) == 0 {
			notFound(w)
			return
		}
		if r.Method == http.MethodDelete {
			matches[0].deleted, matches[0].fields["IsDeleted"] = true, true
			w.WriteHeader(http.StatusNoContent)
			return
		}
		simkit.WriteJSON(w, http.StatusOK, matches[0].view(rq.base(), nil))
	case http.MethodPatch, http.MethodPost:
		body, ok := decodeObject(w, r)
		if !ok {
			return
		}
		for k, raw := range body {
			if !strings.EqualFold(k, f.Name) {
				continue
			}
			var v any
			_ = json.Unmarshal(raw, &v)
			if !strings.EqualFold(fmt.Sprint(v), value) {
				writeErrors(w, http.StatusBadRequest, fieldErr("INVALID_FIELD", fmt.Sprintf("The value of %s in the body (%v) does not match the value in the URL (%s)", f.Name, v, value), f.Name))
				return
			}
			delete(body, k)
		}
		if len(matches) == 0 {
			if r.URL.Query().Get("updateOnly") == "true" {
				notFound(w)
				return
			}
			if f.Name == "Id" {
				notFound(w)
				return
			}
			raw, _ := json.Marshal(value)
			body[f.Name] = raw
			fields, errs := s.apply(obj, nil, body, false)
			if errs != nil {
				writeErrors(w, http.StatusBadRequest, errs...)
				return
			}
			rec := s.store(obj, nil, fields)
			simkit.WriteJSON(w, http.StatusCreated, map[string]any{"id": rec.id, "success": true, "errors": []any{}, "created": true})
			return
		}
		fields, errs := s.apply(obj, matches[0], body, false)
		if errs != nil {
			writeErrors(w, http.StatusBadRequest, errs...)
			return
		}
		s.store(obj, matches[0], fields)
		if rq.version < 46 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		simkit.WriteJSON(w, http.StatusOK, map[string]any{"id": matches[0].id, "success": true, "errors": []any{}, "created": false})
	default:
		writeErrors(w, http.StatusMethodNotAllowed, &apiError{ErrorCode: "METHOD_NOT_ALLOWED", Message: "HTTP Method '" + r.Method + "' not allowed. Allowed are GET,PATCH,DELETE"})
	}
}

// collectionResult is one record's outcome in an sObject Collections answer.
type collectionResult struct {
	ID      string      `json:"id,omitempty"`
	Success bool        `json:"success"`
	Errors  []*apiError `json:"errors"`
	Created *bool       `json:"created,omitempty"`
}

// asCollection turns errors into the collections form (statusCode instead of errorCode).
func asCollection(errs []*apiError) []*apiError {
	out := make([]*apiError, len(errs))
	for i, e := range errs {
		c := *e
		c.StatusCode, c.ErrorCode = e.ErrorCode, ""
		if c.Fields == nil {
			c.Fields = []string{}
		}
		out[i] = &c
	}
	return out
}

// serveCollections serves sObject Collections: create (POST), update (PATCH), upsert (PATCH
// /composite/sobjects/{object}/{externalIdField}) and delete (DELETE ?ids=), at most 200
// records, each succeeding or failing alone unless allOrNone, when one failure rolls every
// record back.
func (s *Server) serveCollections(rq *request) {
	w, r, segs := rq.w, rq.r, rq.segs
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Method == http.MethodDelete && len(segs) == 2 {
		q := r.URL.Query()
		var ids []string
		for _, v := range strings.Split(q.Get("ids"), ",") {
			if v = strings.TrimSpace(v); v != "" {
				ids = append(ids, v)
			}
		}
		if len(ids) > MaxCollection {
			writeErrors(w, http.StatusBadRequest, &apiError{ErrorCode: "EXCEEDED_ID_LIMIT", Message: "record limit reached. cannot submit more than 200 records into this call"})
			return
		}
		results := make([]collectionResult, len(ids))
		var doomed []*record
		failed := false
		for i, id := range ids {
			var rec *record
			for _, o := range s.objects {
				if rec = s.lookup(o, id); rec != nil {
					break
				}
			}
			switch {
			case rec == nil:
				results[i] = collectionResult{Errors: asCollection([]*apiError{fieldErr("MALFORMED_ID", "malformed id "+id)})}
				failed = true
			case rec.deleted:
				results[i] = collectionResult{Errors: asCollection([]*apiError{fieldErr("ENTITY_IS_DELETED", "entity is deleted")})}
				failed = true
			default:
				results[i] = collectionResult{ID: rec.id, Success: true, Errors: []*apiError{}}
				doomed = append(doomed, rec)
			}
		}
		if failed && q.Get("allOrNone") == "true" {
			rollBack(results)
			simkit.WriteJSON(w, http.StatusOK, results)
			return
		}
		for _, rec := range doomed {
			rec.deleted, rec.fields["IsDeleted"] = true, true
		}
		simkit.WriteJSON(w, http.StatusOK, results)
		return
	}
	var body struct {
		AllOrNone bool                         `json:"allOrNone"`
		Records   []map[string]json.RawMessage `json:"records"`
	}
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		writeErrors(w, http.StatusBadRequest, &apiError{ErrorCode: "JSON_PARSER_ERROR", Message: "The request body is either invalid or incomplete."})
		return
	}
	if len(body.Records) > MaxCollection {
		writeErrors(w, http.StatusBadRequest, &apiError{ErrorCode: "EXCEEDED_ID_LIMIT", Message: "record limit reached. cannot submit more than 200 records into this call"})
		return
	}
	var mode string
	var ext *Field
	var extObj *object
	switch {
	case len(segs) == 2 && r.Method == http.MethodPost:
		mode = "create"
	case len(segs) == 2 && r.Method == http.MethodPatch:
		mode = "update"
	case len(segs) == 4 && r.Method == http.MethodPatch:
		mode = "upsert"
		if extObj = s.objects[strings.ToLower(segs[2])]; extObj == nil {
			notFound(w)
			return
		}
		if ext = externalField(extObj, segs[3]); ext == nil {
			notFound(w)
			return
		}
	default:
		notFound(w)
		return
	}
	type pending struct {
		obj    *object
		rec    *record
		fields map[string]any
	}
	results := make([]collectionResult, len(body.Records))
	plans := make([]*pending, len(body.Records))
	failed := false
	seen := map[string]bool{}
	for i, raw := range body.Records {
		fail := func(errs ...*apiError) {
			results[i] = collectionResult{Success: false, Errors: asCollection(errs)}
			failed = true
		}
		var attrs struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(raw["attributes"], &attrs)
		obj := s.objects[strings.ToLower(attrs.Type)]
		if mode == "upsert" && obj != nil && obj != extObj {
			obj = nil
		}
		if obj == nil {
			fail(fieldErr("INVALID_TYPE", "The SObject type is missing or invalid: "+attrs.Type))
			continue
		}
		var rec *record
		switch mode {
		case "update":
			var id string
			for k, v := range raw {
				if strings.EqualFold(k, "Id") {
					_ = json.Unmarshal(v, &id)
				}
			}
			if rec = s.lookup(obj, id); rec == nil || rec.deleted {
				fail(fieldErr("MALFORMED_ID", "Id in the record is missing or invalid: "+id, "Id"))
				continue
			}
			if seen[rec.id] {
				fail(fieldErr("DUPLICATE_VALUE", "Maximum number of duplicate updates in one batch (1 allowed). Attempt to update Id more than once in this API call: "+rec.id))
				continue
			}
			seen[rec.id] = true
		case "upsert":
			var v any
			for k, x := range raw {
				if strings.EqualFold(k, ext.Name) {
					_ = json.Unmarshal(bytes.TrimSpace(x), &v)
				}
			}
			if v == nil || v == "" {
				fail(fieldErr("MISSING_ARGUMENT", ext.Name+" not specified", ext.Name))
				continue
			}
			matches := s.matching(obj, ext, fmt.Sprint(v))
			if len(matches) > 1 {
				fail(fieldErr("DUPLICATE_EXTERNAL_ID", fmt.Sprintf("%s: more than one record found for external id field: %d", ext.Name, len(matches)), ext.Name))
				continue
			}
			if len(matches) == 1 {
				rec = matches[0]
			}
		}
		fields, errs := s.apply(obj, rec, raw, mode != "create")
		if errs != nil {
			fail(errs...)
			continue
		}
		plans[i] = &pending{obj, rec, fields}
	}
	if failed && body.AllOrNone {
		rollBack(results)
		simkit.WriteJSON(w, http.StatusOK, results)
		return
	}
	for i, p := range plans {
		if p == nil {
			continue
		}
		created := p.rec == nil
		rec := s.store(p.obj, p.rec, p.fields)
		results[i] = collectionResult{ID: rec.id, Success: true, Errors: []*apiError{}}
		if mode == "upsert" {
			results[i].Created = &created
		}
	}
	simkit.WriteJSON(w, http.StatusOK, results)
}

// rollBack marks every successful result of an allOrNone request as rolled back.
func rollBack(results []collectionResult) {
	for i := range results {
		if results[i].Success || len(results[i].Errors) == 0 {
			results[i] = collectionResult{Success: false, Errors: []*apiError{{StatusCode: "ALL_OR_NONE_OPERATION_ROLLED_BACK",
				Message: "Record rolled back because not all records were valid and the request was using AllOrNone header", Fields: []string{}}}}
		}
	}
}

// seedOrg adds AquaScene's sample records: the Green Aqua account, three contacts (one the
// seed's customer-insights example) and a lead.
func (s *Server) seedOrg() {
	raw := func(m map[string]any) map[string]json.RawMessage {
		out := map[string]json.RawMessage{}
		for k, v := range m {
			b, _ := json.Marshal(v)
			out[k] = b
		}
		return out
	}
	at := time.Date(2025, 5, 1, 9, 0, 0, 0, time.UTC)
	now := s.now
	s.now = func() time.Time { return at }
	defer func() { s.now = now }()
	add := func(objName string, m map[string]any) *record {
		obj := s.objects[strings.ToLower(objName)]
		fields, errs := s.apply(obj, nil, raw(m), false)
		if errs != nil {
			panic(fmt.Sprintf("salesforce sim: seeding %s: %s", objName, errs[0].Message))
		}
		at = at.Add(time.Hour)
		return s.store(obj, nil, fields)
	}
	green := add("Account", map[string]any{"Name": "Green Aqua", "Industry": "Retail", "Type": "Partner", "Website": "https://greenaqua.hu", "BillingCity": "Budapest", "BillingCountry": "Hungary"})
	add("Contact", map[string]any{"FirstName": "Ana", "LastName": "Petrova", "Email": "ana.petrova@example.com", "Email__c": "ana.petrova@example.com",
		"AquaScaping_Interest_Level__c": "beginner", "Interaction_Score__c": 42, "Preferred_Content_Type__c": "newsletter_article",
		"Purchase_History__c": `{"orders":2,"total":93.3}`, "Last_Engagement_Date__c": "2025-08-01T10:00:00Z", "LeadSource": "AquaScene Newsletter"})
	add("Contact", map[string]any{"FirstName": "Maria", "LastName": "Dimitrova", "Email": "maria.dimitrova@example.com", "Email__c": "maria.dimitrova@example.com",
		"AquaScaping_Interest_Level__c": "advanced", "Interaction_Score__c": 87, "Preferred_Content_Type__c": "product_review",
		"Purchase_History__c": `{"orders":5,"total":612.4}`, "AccountId": green.id, "LeadSource": "Partner Referral"})
	add("Contact", map[string]any{"FirstName": "Georgi", "LastName": "Ivanov", "Email": "georgi.ivanov@example.com",
		"AquaScaping_Interest_Level__c": "intermediate", "Interaction_Score__c": 55})
	add("Lead", map[string]any{"FirstName": "Nikola", "LastName": "Stoyanov", "Company": "Reef & Rock Ltd", "Email": "nikola@reefrock.example", "LeadSource": "Web"})
}
