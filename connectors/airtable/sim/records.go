package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit"
)

// listParams are the list-records parameters of both the GET and the POST listRecords form.
type listParams struct {
	PageSize              *int     `json:"pageSize,omitempty"`
	MaxRecords            *int     `json:"maxRecords,omitempty"`
	Offset                string   `json:"offset,omitempty"`
	View                  string   `json:"view,omitempty"`
	Fields                []string `json:"fields,omitempty"`
	Sort                  []Sort   `json:"sort,omitempty"`
	FilterByFormula       string   `json:"filterByFormula,omitempty"`
	CellFormat            string   `json:"cellFormat,omitempty"`
	TimeZone              string   `json:"timeZone,omitempty"`
	UserLocale            string   `json:"userLocale,omitempty"`
	ReturnFieldsByFieldID bool     `json:"returnFieldsByFieldId,omitempty"`
	RecordMetadata        []string `json:"recordMetadata,omitempty"`
}

var sortKey = regexp.MustCompile(`^sort\[(\d+)\]\[(field|direction)\]$`)

// listParamsFromQuery reads the jQuery-style query of the GET form.
func listParamsFromQuery(q url.Values) (listParams, error) {
	var p listParams
	sorts := map[int]*Sort{}
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch {
		case k == "pageSize" || k == "maxRecords":
			n, err := strconv.Atoi(v)
			if err != nil {
				return p, fmt.Errorf("Invalid request: parameter validation failed. Check your request data. (%s must be an integer)", k)
			}
			if k == "pageSize" {
				p.PageSize = &n
			} else {
				p.MaxRecords = &n
			}
		case k == "offset":
			p.Offset = v
		case k == "view":
			p.View = v
		case k == "fields[]" || k == "fields":
			p.Fields = append(p.Fields, vs...)
		case k == "filterByFormula":
			p.FilterByFormula = v
		case k == "cellFormat":
			p.CellFormat = v
		case k == "timeZone":
			p.TimeZone = v
		case k == "userLocale":
			p.UserLocale = v
		case k == "returnFieldsByFieldId":
			p.ReturnFieldsByFieldID = v == "true" || v == "1"
		case k == "recordMetadata[]":
			p.RecordMetadata = vs
		case sortKey.MatchString(k):
			m := sortKey.FindStringSubmatch(k)
			i, _ := strconv.Atoi(m[1])
			if i > 100 {
				return p, fmt.Errorf("Invalid request: parameter validation failed. Check your request data. (too many sort keys)")
			}
			if sorts[i] == nil {
				sorts[i] = &Sort{}
			}
			if m[2] == "field" {
				sorts[i].Field = v
			} else {
				sorts[i].Direction = v
			}
		default:
			return p, fmt.Errorf("Invalid request: parameter validation failed. Check your request data. (unknown parameter %q)", k)
		}
	}
	for i := 0; i < len(sorts); i++ {
		s, ok := sorts[i]
		if !ok {
			return p, fmt.Errorf("Invalid request: parameter validation failed. Check your request data. (sort indices must start at 0 and be contiguous)")
		}
		p.Sort = append(p.Sort, *s)
	}
	return p, nil
}

func (s *Server) list(w http.ResponseWriter, baseID string, t *table, p listParams) {
	pageSize := MaxPageSize
	if p.PageSize != nil {
		if *p.PageSize < 1 || *p.PageSize > MaxPageSize {
			apiError(w, http.StatusUnprocessableEntity, "INVALID_PAGE_SIZE", fmt.Sprintf("Invalid page size: %d. The page size must be between 1 and %d.", *p.PageSize, MaxPageSize))
			return
		}
		pageSize = *p.PageSize
	}
	if p.CellFormat != "" && p.CellFormat != "json" {
		apiError(w, http.StatusUnprocessableEntity, "INVALID_REQUEST_UNKNOWN", "The simulator supports cellFormat \"json\" only")
		return
	}
	for _, f := range p.Fields {
		if !t.known(f) && t.fieldName[f] == "" {
			apiError(w, http.StatusUnprocessableEntity, "UNKNOWN_FIELD_NAME", fmt.Sprintf("Unknown field name: %q", f))
			return
		}
	}
	now := s.now()
	var it *iterator
	if p.Offset != "" {
		it = s.iterators[p.Offset]
		if it == nil || it.base != baseID || it.table != t.id || now.After(it.expires) {
			apiError(w, http.StatusUnprocessableEntity, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE", "Iterator not available. Please restart the list request.")
			return
		}
		delete(s.iterators, p.Offset)
	} else {
		ids, status, typ, msg := s.query(t, p, now)
		if status != 0 {
			apiError(w, status, typ, msg)
			return
		}
		it = &iterator{ids: ids, base: baseID, table: t.id}
	}
	it.fields = nil
	for _, f := range p.Fields {
		if n, ok := t.fieldName[f]; ok {
			f = n
		}
		it.fields = append(it.fields, f)
	}
	if p.Fields == nil {
		it.fields = nil
	}
	it.byID = p.ReturnFieldsByFieldID
	records := []Record{}
	i := 0
	for ; i < len(it.ids) && len(records) < pageSize; i++ {
		if rec := t.byID[it.ids[i]]; rec != nil {
			records = append(records, t.view(rec, it.fields, it.byID))
		}
	}
	out := map[string]any{"records": records}
	if i < len(it.ids) {
		rest := &iterator{ids: it.ids[i:], base: baseID, table: t.id, expires: now.Add(10 * time.Minute)}
		token := "itr" + randomID() + "/" + it.ids[i]
		s.iterators[token] = rest
		s.itOrder = append(s.itOrder, token)
		if len(s.itOrder) > 1000 {
			delete(s.iterators, s.itOrder[0])
			s.itOrder = s.itOrder[1:]
		}
		out["offset"] = token
	}
	simkit.WriteJSON(w, http.StatusOK, out)
}

// query returns the ids of the records a list request selects, in order; on failure it
// returns the status, error type and message.
func (s *Server) query(t *table, p listParams, now time.Time) ([]string, int, string, string) {
	viewName := p.View
	if viewName == "" {
		viewName = "Grid view"
	}
	view, ok := t.views[viewName]
	if !ok {
		return nil, http.StatusUnprocessableEntity, "VIEW_NAME_NOT_FOUND", fmt.Sprintf("Could not find view %q in table %q", viewName, t.name)
	}
	var filters []node
	for _, src := range []string{view.Filter, p.FilterByFormula} {
		if strings.TrimSpace(src) == "" {
			continue
		}
		n, err := compileFormula(src, t.known)
		if err != nil {
			return nil, http.StatusUnprocessableEntity, "INVALID_FILTER_BY_FORMULA",
				"The formula for filtering records is invalid: " + err.Error()
		}
		filters = append(filters, n)
	}
	sorts := append(slices.Clone(p.Sort), view.Sort...)
	for _, so := range sorts {
		if !t.known(so.Field) {
			return nil, http.StatusUnprocessableEntity, "UNKNOWN_FIELD_NAME", fmt.Sprintf("Unknown field name: %q", so.Field)
		}
		if so.Direction != "" && so.Direction != "asc" && so.Direction != "desc" {
			return nil, http.StatusUnprocessableEntity, "INVALID_SORT_DIRECTION", fmt.Sprintf("Invalid sort direction %q: must be asc or desc", so.Direction)
		}
	}
	var selected []*record
	for _, r := range t.records {
		env := &formulaEnv{fields: r.fields, recordID: r.id, now: now}
		keep := true
		for _, f := range filters {
			if !truthy(f(env)) {
				keep = false
				break
			}
		}
		if keep {
			selected = append(selected, r)
		}
	}
	if len(sorts) > 0 {
		slices.SortStableFunc(selected, func(a, b *record) int {
			for _, so := range sorts {
				c := sortCompare(a.fields[so.Field], b.fields[so.Field])
				if so.Direction == "desc" {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return 0
		})
	}
	if p.MaxRecords != nil && *p.MaxRecords >= 0 && len(selected) > *p.MaxRecords {
		selected = selected[:*p.MaxRecords]
	}
	ids := make([]string, len(selected))
	for i, r := range selected {
		ids[i] = r.id
	}
	return ids, 0, "", ""
}

// sortCompare orders blanks first, then by compare.
func sortCompare(a, b any) int {
	ae, be := isEmpty(a), isEmpty(b)
	switch {
	case ae && be:
		return 0
	case ae:
		return -1
	case be:
		return 1
	}
	c, ok := compare(a, b)
	if !ok {
		return strings.Compare(toText(a), toText(b))
	}
	return c
}

type writeRecord struct {
	ID     string         `json:"id,omitempty"`
	Fields map[string]any `json:"fields"`
}

type writeBody struct {
	Records               []writeRecord  `json:"records"`
	Fields                map[string]any `json:"fields"`
	Typecast              bool           `json:"typecast"`
	ReturnFieldsByFieldID bool           `json:"returnFieldsByFieldId"`
	PerformUpsert         *struct {
		FieldsToMergeOn []string `json:"fieldsToMergeOn"`
	} `json:"performUpsert"`
}

func tooManyRecords(w http.ResponseWriter, n int) bool {
	if n < 1 || n > MaxRecordsPerRequest {
		apiError(w, http.StatusUnprocessableEntity, "INVALID_RECORDS",
			fmt.Sprintf("You must provide an array of up to %d record objects (got %d)", MaxRecordsPerRequest, n))
		return true
	}
	return false
}

// numbers turns the json.Number values of a decoded body into float64, as cell values.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, baseID string, t *table) {
	var b writeBody
	if !decodeStrict(w, r, &b) {
		return
	}
	single := b.Records == nil && b.Fields != nil
	if single {
		b.Records = []writeRecord{{Fields: b.Fields}}
	} else if b.Fields != nil {
		apiError(w, http.StatusUnprocessableEntity, "INVALID_REQUEST_UNKNOWN", "Provide either records or fields, not both")
		return
	}
	if b.PerformUpsert != nil {
		apiError(w, http.StatusUnprocessableEntity, "INVALID_REQUEST_UNKNOWN", "performUpsert is only valid with PATCH or PUT")
		return
	}
	if tooManyRecords(w, len(b.Records)) {
		return
	}
	for i, rec := range b.Records {
		if rec.ID != "" {
			apiError(w, http.StatusUnprocessableEntity, "INVALID_RECORDS", fmt.Sprintf("records[%d]: id is not allowed when creating records", i))
			return
		}
		if name := t.unknownField(rec.Fields); name != "" {
			apiError(w, http.StatusUnprocessableEntity, "UNKNOWN_FIELD_NAME", fmt.Sprintf("Unknown field name: %q", name))
			return
		}
	}
	now := s.now()
	var out []Record
	var created []*record
	for _, rec := range b.Records {
		nr := t.insert(now, numbers(rec.Fields).(map[string]any))
		created = append(created, nr)
		out = append(out, t.view(nr, nil, b.ReturnFieldsByFieldID))
	}
	s.changed(baseID, t, created, nil, nil)
	if single {
		simkit.WriteJSON(w, http.StatusOK, out[0])
		return
	}
	simkit.WriteJSON(w, http.StatusOK, map[string]any{"records": out})
}

// change is one record update, for webhook payloads.
type change struct {
	rec      *record
	previous map[string]any
}

// apply writes fields into rec, merging (PATCH) or replacing (PUT), and returns its previous
// cell values.
func (t *table) apply(rec *record, fields map[string]any, replace bool) change {
	prev := make(map[string]any, len(rec.fields))
	for k, v := range rec.fields {
		prev[k] = v
	}
	fields = t.normalizeFields(numbers(fields).(map[string]any))
	if replace {
		rec.fields = map[string]any{}
	}
	for k, v := range fields {
		if isEmpty(v) {
			delete(rec.fields, k)
		} else {
			rec.fields[k] = v
		}
	}
	return change{rec: rec, previous: prev}
}

func (s *Server) updateOne(w http.ResponseWriter, r *http.Request, baseID string, t *table, id string) {
	var b writeBody
	if !decodeStrict(w, r, &b) {
		return
	}
	if b.Records != nil || b.PerformUpsert != nil {
		apiError(w, http.StatusUnprocessableEntity, "INVALID_REQUEST_UNKNOWN", "Updating one record takes {\"fields\":{...}}")
		return
	}
	rec := t.byID[id]
	if rec == nil {
		apiError(w, http.StatusNotFound, "MODEL_ID_NOT_FOUND", "Record not found")
		return
	}
	if name := t.unknownField(b.Fields); name != "" {
		apiError(w, http.StatusUnprocessableEntity, "UNKNOWN_FIELD_NAME", fmt.Sprintf("Unknown field name: %q", name))
		return
	}
	c := t.apply(rec, b.Fields, r.Method == http.MethodPut)
	s.changed(baseID, t, nil, []change{c}, nil)
	simkit.WriteJSON(w, http.StatusOK, t.view(rec, nil, b.ReturnFieldsByFieldID))
}

func (s *Server) updateMany(w http.ResponseWriter, r *http.Request, baseID string, t *table) {
	var b writeBody
	if !decodeStrict(w, r, &b) {
		return
	}
	if b.Fields != nil {
		apiError(w, http.StatusUnprocessableEntity, "INVALID_REQUEST_UNKNOWN", "Updating many records takes {\"records\":[...]}")
		return
	}
	if tooManyRecords(w, len(b.Records)) {
		return
	}
	replace := r.Method == http.MethodPut
	var merge []string
	if b.PerformUpsert != nil {
		merge = b.PerformUpsert.FieldsToMergeOn
		if len(merge) < 1 || len(merge) > 3 {
			apiError(w, http.StatusUnprocessableEntity, "INVALID_REQUEST_UNKNOWN", "performUpsert.fieldsToMergeOn must name between 1 and 3 fields")
			return
		}
		for _, f := range merge {
			if !t.known(f) {
				apiError(w, http.StatusUnprocessableEntity, "UNKNOWN_FIELD_NAME", fmt.Sprintf("Unknown field name: %q", f))
				return
			}
		}
	}
	// Validate everything before writing anything: a failed request changes nothing.
	targets := make([]*record, len(b.Records))
	seenKeys := map[string]int{}
	for i, rec := range b.Records {
		if name := t.unknownField(rec.Fields); name != "" {
			apiError(w, http.StatusUnprocessableEntity, "UNKNOWN_FIELD_NAME", fmt.Sprintf("Unknown field name: %q", name))
			return
		}
		if rec.ID != "" {
			targets[i] = t.byID[rec.ID]
			if targets[i] == nil {
				apiError(w, http.StatusNotFound, "MODEL_ID_NOT_FOUND", fmt.Sprintf("Record %s not found", rec.ID))
				return
			}
			continue
		}
		if merge == nil {
			apiError(w, http.StatusUnprocessableEntity, "INVALID_RECORDS", fmt.Sprintf("records[%d]: id is required unless performUpsert is set", i))
			return
		}
		var key []string
		for _, f := range merge {
			v := numbers(rec.Fields[f])
			if isEmpty(v) {
				apiError(w, http.StatusUnprocessableEntity, "INVALID_VALUE_FOR_COLUMN",
					fmt.Sprintf("records[%d]: field %q is in performUpsert.fieldsToMergeOn and must have a value", i, f))
				return
			}
			key = append(key, toText(v))
		}
		k := strings.Join(key, "\x00")
		if j, dup := seenKeys[k]; dup {
			apiError(w, http.StatusUnprocessableEntity, "INVALID_RECORDS", fmt.Sprintf("records[%d] and records[%d] have the same fieldsToMergeOn values", j, i))
			return
		}
		seenKeys[k] = i
		var matches []*record
		for _, existing := range t.records {
			same := true
			for n, f := range merge {
				if toText(existing.fields[f]) != key[n] {
					same = false
					break
				}
			}
			if same {
				matches = append(matches, existing)
			}
		}
		if len(matches) > 1 {
			apiError(w, http.StatusUnprocessableEntity, "INVALID_RECORDS",
				fmt.Sprintf("records[%d]: %d existing records match fieldsToMergeOn; upsert needs at most one", i, len(matches)))
			return
		}
		if len(matches) == 1 {
			targets[i] = matches[0]
		}
	}
	now := s.now()
	out := make([]Record, len(b.Records))
	createdIDs, updatedIDs := []string{}, []string{}
	var created []*record
	var changes []change
	for i, rec := range b.Records {
		if targets[i] == nil {
			nr := t.insert(now, numbers(rec.Fields).(map[string]any))
			created = append(created, nr)
			createdIDs = append(createdIDs, nr.id)
			out[i] = t.view(nr, nil, b.ReturnFieldsByFieldID)
			continue
		}
		changes = append(changes, t.apply(targets[i], rec.Fields, replace))
		updatedIDs = append(updatedIDs, targets[i].id)
		out[i] = t.view(targets[i], nil, b.ReturnFieldsByFieldID)
	}
	s.changed(baseID, t, created, changes, nil)
	resp := map[string]any{"records": out}
	if merge != nil {
		resp["createdRecords"] = createdIDs
		resp["updatedRecords"] = updatedIDs
	}
	simkit.WriteJSON(w, http.StatusOK, resp)
}

func (s *Server) deleteMany(w http.ResponseWriter, r *http.Request, baseID string, t *table) {
	ids := r.URL.Query()["records[]"]
	if tooManyRecords(w, len(ids)) {
		return
	}
	for _, id := range ids {
		if t.byID[id] == nil {
			apiError(w, http.StatusNotFound, "MODEL_ID_NOT_FOUND", fmt.Sprintf("Record %s not found", id))
			return
		}
	}
	s.remove(baseID, t, ids)
	out := make([]map[string]any, len(ids))
	for i, id := range ids {
		out[i] = map[string]any{"id": id, "deleted": true}
	}
	simkit.WriteJSON(w, http.StatusOK, map[string]any{"records": out})
}

func (s *Server) remove(baseID string, t *table, ids []string) {
	for _, id := range ids {
		delete(t.byID, id)
	}
	t.records = slices.DeleteFunc(t.records, func(r *record) bool { return t.byID[r.id] == nil })
	s.changed(baseID, t, nil, nil, ids)
}
