// Command airtable is aquahub's Airtable connector, a WASI reactor module built with
// sdk/plugin: records.list, records.get, records.create, records.update and records.upsert
// against the Airtable Web API v0 (or its simulator in ./sim). See README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/plugin"
)

// Record is an Airtable record as the API returns it.
type Record struct {
	ID          string         `json:"id"`
	CreatedTime string         `json:"createdTime,omitempty"`
	Fields      map[string]any `json:"fields"`
}

// SortKey orders list results.
type SortKey struct {
	Field     string `json:"field" jsonschema:"minLength=1"`
	Direction string `json:"direction,omitempty" jsonschema:"enum=asc|desc,default=asc"`
}

// ListIn is the input of records.list.
type ListIn struct {
	Base            string    `json:"base,omitempty" desc:"base id (default: config base_id)"`
	Table           string    `json:"table" desc:"table name or id" jsonschema:"minLength=1"`
	FilterByFormula string    `json:"filter_by_formula,omitempty" desc:"Airtable formula; records for which it is truthy are returned"`
	View            string    `json:"view,omitempty" desc:"view name or id"`
	Fields          []string  `json:"fields,omitempty" desc:"only return these fields"`
	Sort            []SortKey `json:"sort,omitempty"`
	PageSize        int       `json:"page_size,omitempty" desc:"records per request (1-100)" jsonschema:"minimum=1,maximum=100"`
	MaxRecords      int       `json:"max_records,omitempty" desc:"stop after this many records" jsonschema:"minimum=1"`
	Offset          string    `json:"offset,omitempty" desc:"continue a one-page listing from this offset"`
	OnePage         bool      `json:"one_page,omitempty" desc:"return one page and its offset instead of every page"`
}

// ListOut is the output of records.list.
type ListOut struct {
	Records []Record `json:"records"`
	Count   int      `json:"count"`
	// Offset continues a one-page listing; empty on the last page.
	Offset string `json:"offset,omitempty"`
}

// GetIn is the input of records.get.
type GetIn struct {
	Base  string `json:"base,omitempty" desc:"base id (default: config base_id)"`
	Table string `json:"table" jsonschema:"minLength=1"`
	ID    string `json:"id" desc:"record id" jsonschema:"minLength=1"`
}

// WriteRecord is one record to create, update or upsert.
type WriteRecord struct {
	ID     string         `json:"id,omitempty" desc:"record id (required for records.update)"`
	Fields map[string]any `json:"fields"`
}

// WriteIn is the input of records.create, records.update and records.upsert.
type WriteIn struct {
	Base  string `json:"base,omitempty" desc:"base id (default: config base_id)"`
	Table string `json:"table" jsonschema:"minLength=1"`
	// Records are written in requests of 10; Fields is shorthand for one record.
	Records  []WriteRecord  `json:"records,omitempty"`
	Fields   map[string]any `json:"fields,omitempty" desc:"shorthand for a single record"`
	MergeOn  []string       `json:"merge_on,omitempty" desc:"records.upsert: fields identifying an existing record (1-3)" jsonschema:"maxItems=3"`
	Replace  bool           `json:"replace,omitempty" desc:"PUT semantics: clear fields not given (default: merge)"`
	Typecast bool           `json:"typecast,omitempty" desc:"let Airtable convert string values to the field types"`
}

// WriteOut is the output of the write actions.
type WriteOut struct {
	// Records are the written records; those written by an earlier attempt of the same step
	// carry only their id.
	Records []Record `json:"records"`
	IDs     []string `json:"ids"`
	// Created and Updated are set by records.upsert.
	Created []string `json:"created,omitempty"`
	Updated []string `json:"updated,omitempty"`
	// ID is the first record's id, convenient for single-record writes.
	ID string `json:"id,omitempty"`
}

// Connector is the Airtable connector; plugintest runs it natively in tests.
var Connector = &plugin.Connector{
	ID: "airtable", Version: "1.0.0",
	Description: "Airtable Web API v0: list, get, create, update and upsert records.",
	Config: []plugin.ConfigSpec{
		{Name: "base_url", Description: "API origin (the simulator's in development)", Default: defaultBaseURL},
		{Name: "base_id", Description: "default base id (app…) when an action names none"},
	},
	Secrets: []plugin.SecretSpec{{Name: "api_key", Description: "personal access token (pat…)", Required: true,
		Places: []plugin.SecretPlace{{Header: "Authorization"}}}},
	Egress: []string{defaultBaseURL},
	// Airtable allows 5 requests/s per base. Paths are /v0/{base}/..., so the first two
	// segments key one bucket per base; the host holds the buckets, shared by every pooled
	// instance, and waits before dialing. "*" covers the simulator's origin too.
	RateLimits: []abi.RateLimit{{Origin: "*", PathSegments: 2, PerSecond: requestsPerSecond, Burst: requestsPerSecond}},
	Actions: []plugin.Handler{
		plugin.Action[ListIn, ListOut]{Name: "records.list", Description: "List records: formula, view, fields, sort; every page or one.", Handle: list},
		plugin.Action[GetIn, Record]{Name: "records.get", Description: "Get one record by id.", Handle: get},
		plugin.Action[WriteIn, WriteOut]{Name: "records.create", Description: "Create records, 10 per request.", Handle: create},
		plugin.Action[WriteIn, WriteOut]{Name: "records.update", Description: "Update records by id, 10 per request.", Handle: update},
		plugin.Action[WriteIn, WriteOut]{Name: "records.upsert", Description: "Create or update records matched on merge_on fields (performUpsert).", Handle: upsert},
	},
}

func init() { plugin.Main(Connector) }

func main() {}

func baseOf(ctx context.Context, base string) (string, error) {
	if base == "" {
		base = plugin.ConfigString(ctx, "base_id", "")
	}
	if base == "" {
		return "", plugin.InvalidInput("base", errors.New("no base given and no base_id configured"))
	}
	return base, nil
}

type listBody struct {
	PageSize        int       `json:"pageSize,omitempty"`
	MaxRecords      int       `json:"maxRecords,omitempty"`
	Offset          string    `json:"offset,omitempty"`
	View            string    `json:"view,omitempty"`
	Fields          []string  `json:"fields,omitempty"`
	Sort            []SortKey `json:"sort,omitempty"`
	FilterByFormula string    `json:"filterByFormula,omitempty"`
}

type listPage struct {
	Records []Record `json:"records"`
	Offset  string   `json:"offset"`
}

// query encodes the GET form of a list request, jQuery style as airtable.js does.
func (b listBody) query() url.Values {
	q := url.Values{}
	if b.PageSize > 0 {
		q.Set("pageSize", strconv.Itoa(b.PageSize))
	}
	if b.MaxRecords > 0 {
		q.Set("maxRecords", strconv.Itoa(b.MaxRecords))
	}
	if b.Offset != "" {
		q.Set("offset", b.Offset)
	}
	if b.View != "" {
		q.Set("view", b.View)
	}
	if b.FilterByFormula != "" {
		q.Set("filterByFormula", b.FilterByFormula)
	}
	for _, f := range b.Fields {
		q.Add("fields[]", f)
	}
	for i, s := range b.Sort {
		q.Set(fmt.Sprintf("sort[%d][field]", i), s.Field)
		if s.Direction != "" {
			q.Set(fmt.Sprintf("sort[%d][direction]", i), s.Direction)
		}
	}
	return q
}

func (c *client) listPage(ctx context.Context, base, table string, b listBody) (listPage, error) {
	var page listPage
	path := tablePath(base, table)
	q := b.query()
	if len(c.baseURL)+len(path)+len(q.Encode()) > maxURLLength {
		return page, c.do(ctx, base, http.MethodPost, path+"/listRecords", nil, b, &page)
	}
	return page, c.do(ctx, base, http.MethodGet, path, q, nil, &page)
}

// maxPages bounds an all-pages listing (100,000 records at 100 per page).
const maxPages = 1000

func list(ctx context.Context, in ListIn) (ListOut, error) {
	base, err := baseOf(ctx, in.Base)
	if err != nil {
		return ListOut{}, err
	}
	c := newClient(ctx)
	b := listBody{PageSize: in.PageSize, MaxRecords: in.MaxRecords, Offset: in.Offset, View: in.View,
		Fields: in.Fields, Sort: in.Sort, FilterByFormula: in.FilterByFormula}
	out := ListOut{Records: []Record{}}
	if in.OnePage {
		page, err := c.listPage(ctx, base, in.Table, b)
		if err != nil {
			return ListOut{}, err
		}
		out.Records, out.Offset, out.Count = page.Records, page.Offset, len(page.Records)
		return out, nil
	}
	restarted := false
	for pages := 0; ; pages++ {
		if pages >= maxPages {
			return ListOut{}, plugin.Permanent(fmt.Errorf("airtable: listing %s stopped after %d pages; narrow it with a formula or max_records", in.Table, maxPages))
		}
		page, err := c.listPage(ctx, base, in.Table, b)
		if err != nil && isIteratorGone(err) && !restarted {
			// The offset expired mid-listing: start over once rather than fail.
			restarted, b.Offset, out.Records = true, in.Offset, []Record{}
			continue
		}
		if err != nil {
			return ListOut{}, err
		}
		out.Records = append(out.Records, page.Records...)
		if page.Offset == "" || (in.MaxRecords > 0 && len(out.Records) >= in.MaxRecords) {
			break
		}
		b.Offset = page.Offset
	}
	out.Count = len(out.Records)
	return out, nil
}

func get(ctx context.Context, in GetIn) (Record, error) {
	base, err := baseOf(ctx, in.Base)
	if err != nil {
		return Record{}, err
	}
	var rec Record
	err = newClient(ctx).do(ctx, base, http.MethodGet, tablePath(base, in.Table)+"/"+url.PathEscape(in.ID), nil, nil, &rec)
	return rec, err
}

func create(ctx context.Context, in WriteIn) (WriteOut, error) {
	if len(in.MergeOn) > 0 {
		return WriteOut{}, plugin.InvalidInput("merge_on", errors.New("merge_on belongs to records.upsert"))
	}
	return write(ctx, in, "create", http.MethodPost)
}

func update(ctx context.Context, in WriteIn) (WriteOut, error) {
	if len(in.MergeOn) > 0 {
		return WriteOut{}, plugin.InvalidInput("merge_on", errors.New("merge_on belongs to records.upsert"))
	}
	recs, _ := recordsOf(in)
	for i, r := range recs {
		if r.ID == "" {
			return WriteOut{}, plugin.InvalidInput(fmt.Sprintf("records[%d].id", i), errors.New("records.update needs the record id"))
		}
	}
	return write(ctx, in, "update", method(in))
}

func upsert(ctx context.Context, in WriteIn) (WriteOut, error) {
	if len(in.MergeOn) == 0 {
		return WriteOut{}, plugin.InvalidInput("merge_on", errors.New("records.upsert needs merge_on (1-3 field names)"))
	}
	recs, _ := recordsOf(in)
	for i, r := range recs {
		for _, f := range in.MergeOn {
			if v, ok := r.Fields[f]; r.ID == "" && (!ok || v == nil || v == "") {
				return WriteOut{}, plugin.InvalidInput(fmt.Sprintf("records[%d].fields.%s", i, f), errors.New("a merge_on field needs a value"))
			}
		}
	}
	return write(ctx, in, "upsert", method(in))
}

func method(in WriteIn) string {
	if in.Replace {
		return http.MethodPut
	}
	return http.MethodPatch
}

func recordsOf(in WriteIn) ([]WriteRecord, error) {
	switch {
	case len(in.Records) > 0 && in.Fields != nil:
		return nil, plugin.InvalidInput("fields", errors.New("give records or fields, not both"))
	case in.Fields != nil:
		return []WriteRecord{{Fields: in.Fields}}, nil
	case len(in.Records) == 0:
		return nil, plugin.InvalidInput("records", errors.New("no records to write"))
	}
	return in.Records, nil
}

// chunkResult is what one request of 10 wrote, kept in kv under the step's idempotency key
// so that a retry after a partial failure skips chunks already written.
type chunkResult struct {
	IDs     []string `json:"ids"`
	Created []string `json:"created,omitempty"`
	Updated []string `json:"updated,omitempty"`
}

type writeBody struct {
	Records       []WriteRecord `json:"records"`
	Typecast      bool          `json:"typecast"`
	PerformUpsert *upsertSpec   `json:"performUpsert,omitempty"`
}

type upsertSpec struct {
	FieldsToMergeOn []string `json:"fieldsToMergeOn"`
}

type writeResponse struct {
	Records        []Record `json:"records"`
	CreatedRecords []string `json:"createdRecords"`
	UpdatedRecords []string `json:"updatedRecords"`
}

func write(ctx context.Context, in WriteIn, op, httpMethod string) (WriteOut, error) {
	base, err := baseOf(ctx, in.Base)
	if err != nil {
		return WriteOut{}, err
	}
	recs, err := recordsOf(in)
	if err != nil {
		return WriteOut{}, err
	}
	c := newClient(ctx)
	key := plugin.IdempotencyKey(ctx)
	out := WriteOut{Records: []Record{}, IDs: []string{}}
	if op == "upsert" {
		out.Created, out.Updated = []string{}, []string{}
	}
	for start, n := 0, 0; start < len(recs); start, n = start+maxPerRequest, n+1 {
		chunk := recs[start:min(start+maxPerRequest, len(recs))]
		kvKey := fmt.Sprintf("write/%s/%s/%d", op, key, n)
		var done chunkResult
		if key != "" {
			if b, ok, err := plugin.KVGet(ctx, kvKey); err != nil {
				return WriteOut{}, err
			} else if ok && json.Unmarshal(b, &done) == nil {
				for _, id := range done.IDs {
					out.Records = append(out.Records, Record{ID: id})
				}
				out.merge(done)
				continue
			}
		}
		body := writeBody{Records: chunk, Typecast: in.Typecast}
		if op == "upsert" {
			body.PerformUpsert = &upsertSpec{FieldsToMergeOn: in.MergeOn}
		}
		var resp writeResponse
		if err := c.do(ctx, base, httpMethod, tablePath(base, in.Table), nil, body, &resp); err != nil {
			return WriteOut{}, fmt.Errorf("records %d-%d: %w", start, start+len(chunk)-1, err)
		}
		res := chunkResult{Created: resp.CreatedRecords, Updated: resp.UpdatedRecords}
		for _, r := range resp.Records {
			res.IDs = append(res.IDs, r.ID)
		}
		if key != "" {
			b, _ := json.Marshal(res)
			if err := plugin.KVSet(ctx, kvKey, b); err != nil {
				return WriteOut{}, err
			}
		}
		out.Records = append(out.Records, resp.Records...)
		out.merge(res)
	}
	if len(out.IDs) > 0 {
		out.ID = out.IDs[0]
	}
	return out, nil
}

func (o *WriteOut) merge(r chunkResult) {
	o.IDs = append(o.IDs, r.IDs...)
	if o.Created != nil {
		o.Created = append(o.Created, r.Created...)
		o.Updated = append(o.Updated, r.Updated...)
	}
}
