// Command salesforce is aquahub's Salesforce connector, a WASI reactor module built with
// sdk/plugin: sObject create, read, update, delete and external-id upsert, sObject
// Collections and SOQL queries built so that rule data cannot change them, against a
// Salesforce org's REST API (or the simulator in ./sim), logged in by the OAuth 2.0 JWT
// bearer flow (the host signs the assertion) or the username-password flow. See README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/plugin"
)

// RecordRef names one record.
type RecordRef struct {
	Object string `json:"object" desc:"sObject API name (Contact, Lead, Account, Subscriber__c)" jsonschema:"pattern=^[A-Za-z][A-Za-z0-9_]*$,maxLength=80"`
	ID     string `json:"id" desc:"record id, 15 or 18 characters" jsonschema:"pattern=^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$"`
}

// CreateIn is the input of sobjects.create.
type CreateIn struct {
	Object string         `json:"object" jsonschema:"pattern=^[A-Za-z][A-Za-z0-9_]*$,maxLength=80"`
	Fields map[string]any `json:"fields" desc:"field API names and values (custom fields end in __c)"`
}

// UpdateIn is the input of sobjects.update.
type UpdateIn struct {
	RecordRef
	Fields map[string]any `json:"fields" desc:"fields to change; null clears"`
}

// GetIn is the input of sobjects.get: a record by id, or by an external id field.
type GetIn struct {
	Object          string   `json:"object" jsonschema:"pattern=^[A-Za-z][A-Za-z0-9_]*$,maxLength=80"`
	ID              string   `json:"id,omitempty" jsonschema:"pattern=^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$"`
	ExternalIDField string   `json:"external_id_field,omitempty" desc:"read by this external id field instead of id" jsonschema:"pattern=^[A-Za-z][A-Za-z0-9_]*$,maxLength=80"`
	ExternalID      string   `json:"external_id,omitempty" jsonschema:"maxLength=255"`
	Fields          []string `json:"fields,omitempty" desc:"only these fields (default: all)"`
}

// UpsertIn is the input of sobjects.upsert.
type UpsertIn struct {
	Object          string         `json:"object" jsonschema:"pattern=^[A-Za-z][A-Za-z0-9_]*$,maxLength=80"`
	ExternalIDField string         `json:"external_id_field" desc:"an External ID field (Email__c) or Id" jsonschema:"pattern=^[A-Za-z][A-Za-z0-9_]*$,maxLength=80"`
	ExternalID      string         `json:"external_id" jsonschema:"minLength=1,maxLength=255"`
	Fields          map[string]any `json:"fields"`
	UpdateOnly      bool           `json:"update_only,omitempty" desc:"never create: no match is not_found"`
}

// WriteOut is the output of the single-record writes.
type WriteOut struct {
	ID      string `json:"id"`
	Created bool   `json:"created"`
	// AlreadyDeleted says a delete found the record deleted (by an earlier attempt).
	AlreadyDeleted bool       `json:"already_deleted,omitempty"`
	LimitInfo      *LimitInfo `json:"limit_info,omitempty"`
}

// GetOut is the output of sobjects.get.
type GetOut struct {
	Record    map[string]any `json:"record"`
	LimitInfo *LimitInfo     `json:"limit_info,omitempty"`
}

// CompositeIn is the input of composite.sobjects.
type CompositeIn struct {
	Operation       string           `json:"operation" jsonschema:"enum=create|update|upsert|delete"`
	Object          string           `json:"object,omitempty" desc:"the records' sObject (create, update, upsert)" jsonschema:"pattern=^[A-Za-z][A-Za-z0-9_]*$,maxLength=80"`
	ExternalIDField string           `json:"external_id_field,omitempty" desc:"upsert: the External ID field each record carries" jsonschema:"pattern=^[A-Za-z][A-Za-z0-9_]*$,maxLength=80"`
	Records         []map[string]any `json:"records,omitempty" desc:"field maps; update needs Id in each" jsonschema:"maxItems=2000"`
	IDs             []string         `json:"ids,omitempty" desc:"delete: record ids" jsonschema:"maxItems=2000"`
	// AllOrNone rolls the request back when any record fails (then at most 200 records).
	AllOrNone bool `json:"all_or_none,omitempty" desc:"write every record or none (at most 200 records)"`
	// FailOnError fails the step when any record is rejected, after the rest were written.
	FailOnError bool `json:"fail_on_error,omitempty"`
}

// RecordError is why Salesforce rejected one record.
type RecordError struct {
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Fields  []string `json:"fields,omitempty"`
}

// CompositeResult is the outcome of one record, in input order.
type CompositeResult struct {
	ID      string        `json:"id,omitempty"`
	Success bool          `json:"success"`
	Created *bool         `json:"created,omitempty"`
	Errors  []RecordError `json:"errors,omitempty"`
}

// CompositeOut is the output of composite.sobjects.
type CompositeOut struct {
	Results   []CompositeResult `json:"results"`
	Succeeded int               `json:"succeeded"`
	Failed    int               `json:"failed"`
	Requests  int               `json:"requests"`
	LimitInfo *LimitInfo        `json:"limit_info,omitempty"`
}

// QueryIn is the input of query: the query builder (object, fields, where, order_by,
// limit, offset), a named query from config with binds, or a continuation.
type QueryIn struct {
	Object  string      `json:"object,omitempty" jsonschema:"pattern=^[A-Za-z][A-Za-z0-9_]*$,maxLength=80"`
	Fields  []string    `json:"fields,omitempty"`
	Where   []Condition `json:"where,omitempty"`
	Match   string      `json:"match,omitempty" desc:"all (AND, default) or any (OR) of where" jsonschema:"enum=all|any"`
	OrderBy []OrderBy   `json:"order_by,omitempty"`
	Limit   int         `json:"limit,omitempty" jsonschema:"minimum=1,maximum=50000"`
	Offset  int         `json:"offset,omitempty" jsonschema:"minimum=1,maximum=2000"`
	// Named picks a SOQL template from config queries; Binds fill its :names.
	Named string         `json:"named,omitempty" desc:"a SOQL template in config queries, with :binds" jsonschema:"pattern=^[A-Za-z_][A-Za-z0-9_]*$,maxLength=64"`
	Binds map[string]any `json:"binds,omitempty" desc:"values of the named query's :binds: strings, numbers, booleans, null, lists, or {date|datetime|date_literal: …}"`
	// NextRecordsURL continues a query that stopped at max_records.
	NextRecordsURL string `json:"next_records_url,omitempty" jsonschema:"pattern=^/services/data/v[0-9]+\\.[0-9]+/query/[A-Za-z0-9]+-[0-9]+$"`
	IncludeDeleted bool   `json:"include_deleted,omitempty" desc:"queryAll: deleted and archived records too"`
	MaxRecords     int    `json:"max_records,omitempty" desc:"stop after this many records (default 2000)" jsonschema:"minimum=1,maximum=50000"`
}

// QueryOut is the output of query.
type QueryOut struct {
	Records   []map[string]any `json:"records"`
	Count     int              `json:"count"`
	TotalSize int              `json:"total_size"`
	Done      bool             `json:"done"`
	// NextRecordsURL continues the query when max_records stopped it.
	NextRecordsURL string     `json:"next_records_url,omitempty"`
	SOQL           string     `json:"soql,omitempty" desc:"the query sent"`
	LimitInfo      *LimitInfo `json:"limit_info,omitempty"`
}

// Connector is the Salesforce connector; plugintest runs it natively in tests.
var Connector = &plugin.Connector{
	ID: "salesforce", Version: "1.0.0",
	Description: "Salesforce REST API: sObjects (create, get, update, delete, upsert by external id), sObject Collections, SOQL queries.",
	Config: []plugin.ConfigSpec{
		{Name: "login_url", Description: "where to log in: https://login.salesforce.com, https://test.salesforce.com for sandboxes, or the org's My Domain", Default: defaultLoginURL},
		{Name: "auth_flow", Description: "jwt (OAuth 2.0 JWT bearer, the connected app's certificate key) or password (username-password, for sandboxes)", Default: "jwt"},
		{Name: "client_id", Description: "the connected app's consumer key", Required: true},
		{Name: "username", Description: "the integration user", Required: true},
		{Name: "audience", Description: "the JWT's aud (default: login_url; https://login.salesforce.com or https://test.salesforce.com when login_url is a My Domain)"},
		{Name: "api_version", Description: "REST API version", Default: defaultAPIVersion},
		{Name: "instance_url", Description: "use this instance instead of the one the token names"},
		{Name: "queries", Description: "named SOQL templates for the query action ({name: \"SELECT … WHERE Email = :email\"}); written by the operator, never by rule data"},
	},
	Secrets: []plugin.SecretSpec{
		{Name: "private_key", Description: "jwt flow: the PEM private key of the connected app's certificate (the host signs with it)", Use: plugin.SecretUseSign},
		{Name: "client_secret", Description: "password flow: the connected app's consumer secret"},
		{Name: "password", Description: "password flow: the user's password followed by its security token"},
	},
	Egress: []string{defaultLoginURL, "https://test.salesforce.com", "https://*.salesforce.com", "https://*.force.com"},
	Actions: []plugin.Handler{
		plugin.Action[CreateIn, WriteOut]{Name: "sobjects.create", Description: "Create a record.", Handle: create},
		plugin.Action[GetIn, GetOut]{Name: "sobjects.get", Description: "Read a record by id or external id.", Handle: get},
		plugin.Action[UpdateIn, WriteOut]{Name: "sobjects.update", Description: "Update a record's fields.", Handle: update},
		plugin.Action[RecordRef, WriteOut]{Name: "sobjects.delete", Description: "Delete a record (an already deleted record counts as done).", Handle: remove},
		plugin.Action[UpsertIn, WriteOut]{Name: "sobjects.upsert", Description: "Create or update a record by an external id field.", Handle: upsert},
		plugin.Action[CompositeIn, CompositeOut]{Name: "composite.sobjects", Description: "Create, update, upsert or delete many records, 200 per request, reporting each.", Handle: composite},
		plugin.Action[QueryIn, QueryOut]{Name: "query", Description: "Run a SOQL query (built from the input, or a named template with binds), following nextRecordsUrl.", Handle: query},
	},
}

func init() { plugin.Main(Connector) }

func main() {}

// fieldsOf maps the field of a Salesforce error onto input.fields.<name>.
func fieldsOf(it errItem) string {
	if f := it.field(); f != "" {
		return "fields." + f
	}
	return "fields"
}

func create(ctx context.Context, in CreateIn) (WriteOut, error) {
	c, err := newClient(ctx)
	if err != nil {
		return WriteOut{}, err
	}
	// Salesforce takes no idempotency key on create: the id of a created record is kept
	// under the step's key, so a retry after a lost answer does not create it again.
	kvKey := "create/" + plugin.IdempotencyKey(ctx)
	if plugin.IdempotencyKey(ctx) != "" {
		if id, ok, err := plugin.KVGet(ctx, kvKey); err != nil {
			return WriteOut{}, err
		} else if ok {
			return WriteOut{ID: string(id), Created: true}, nil
		}
	}
	resp, err := c.do(ctx, http.MethodPost, c.path("/sobjects/"+in.Object), nil, in.Fields, fieldsOf)
	if isKind(err, abi.KindNotFound) {
		return WriteOut{}, plugin.InvalidInput("object", fmt.Errorf("no sObject %q in the org: %w", in.Object, err))
	}
	if err != nil {
		return WriteOut{}, err
	}
	var ans struct {
		ID string `json:"id"`
	}
	if err := decode(resp, "create", &ans); err != nil {
		return WriteOut{}, err
	}
	if plugin.IdempotencyKey(ctx) != "" {
		if err := plugin.KVSet(ctx, kvKey, []byte(ans.ID)); err != nil {
			return WriteOut{}, err
		}
	}
	return WriteOut{ID: ans.ID, Created: true, LimitInfo: c.limit}, nil
}

func get(ctx context.Context, in GetIn) (GetOut, error) {
	var path string
	switch {
	case in.ID != "" && in.ExternalIDField == "":
		path = "/sobjects/" + in.Object + "/" + in.ID
	case in.ID == "" && in.ExternalIDField != "" && in.ExternalID != "":
		if err := checkPathValue(in.ExternalID, "external_id"); err != nil {
			return GetOut{}, err
		}
		path = "/sobjects/" + in.Object + "/" + in.ExternalIDField + "/" + url.PathEscape(in.ExternalID)
	default:
		return GetOut{}, plugin.InvalidInput("id", errors.New("give id, or external_id_field and external_id"))
	}
	q := url.Values{}
	for i, f := range in.Fields {
		if !fieldPattern.MatchString(f) {
			return GetOut{}, plugin.InvalidInput(fmt.Sprintf("fields[%d]", i), fmt.Errorf("%q is not a field name", f))
		}
	}
	if len(in.Fields) > 0 {
		q.Set("fields", strings.Join(in.Fields, ","))
	}
	c, err := newClient(ctx)
	if err != nil {
		return GetOut{}, err
	}
	resp, err := c.do(ctx, http.MethodGet, c.path(path), q, nil, func(errItem) string { return "fields" })
	if err != nil {
		return GetOut{}, err
	}
	if resp.status == http.StatusMultipleChoices {
		return GetOut{}, plugin.InvalidInput("external_id", fmt.Errorf("several %s records have %s = %q", in.Object, in.ExternalIDField, in.ExternalID))
	}
	var rec map[string]any
	if err := decode(resp, "record", &rec); err != nil {
		return GetOut{}, err
	}
	strip(rec)
	return GetOut{Record: rec, LimitInfo: c.limit}, nil
}

func update(ctx context.Context, in UpdateIn) (WriteOut, error) {
	if len(in.Fields) == 0 {
		return WriteOut{}, plugin.InvalidInput("fields", errors.New("no fields to change"))
	}
	c, err := newClient(ctx)
	if err != nil {
		return WriteOut{}, err
	}
	if _, err := c.do(ctx, http.MethodPatch, c.path("/sobjects/"+in.Object+"/"+in.ID), nil, in.Fields, fieldsOf); err != nil {
		return WriteOut{}, err
	}
	return WriteOut{ID: in.ID, LimitInfo: c.limit}, nil
}

func remove(ctx context.Context, in RecordRef) (WriteOut, error) {
	c, err := newClient(ctx)
	if err != nil {
		return WriteOut{}, err
	}
	_, err = c.do(ctx, http.MethodDelete, c.path("/sobjects/"+in.Object+"/"+in.ID), nil, nil, nil)
	if errorCode(err) == "ENTITY_IS_DELETED" {
		// Deleted by an earlier attempt of this step, or by someone else: done either way.
		return WriteOut{ID: in.ID, AlreadyDeleted: true, LimitInfo: c.limit}, nil
	}
	if err != nil {
		return WriteOut{}, err
	}
	return WriteOut{ID: in.ID, LimitInfo: c.limit}, nil
}

// checkPathValue refuses a value that would change the path it is put in.
func checkPathValue(v, field string) error {
	if v == "." || v == ".." || strings.TrimSpace(v) == "" {
		return plugin.InvalidInput(field, fmt.Errorf("%q cannot name a record", v))
	}
	return nil
}

func upsert(ctx context.Context, in UpsertIn) (WriteOut, error) {
	if err := checkPathValue(in.ExternalID, "external_id"); err != nil {
		return WriteOut{}, err
	}
	fields := make(map[string]any, len(in.Fields))
	for k, v := range in.Fields {
		if strings.EqualFold(k, in.ExternalIDField) {
			// The external id travels in the URL; the same value in the body is dropped.
			if s, ok := v.(string); !ok || !strings.EqualFold(s, in.ExternalID) {
				return WriteOut{}, plugin.InvalidInput("fields."+k, fmt.Errorf("differs from external_id %q", in.ExternalID))
			}
			continue
		}
		fields[k] = v
	}
	c, err := newClient(ctx)
	if err != nil {
		return WriteOut{}, err
	}
	q := url.Values{}
	if in.UpdateOnly {
		q.Set("updateOnly", "true")
	}
	path := c.path("/sobjects/" + in.Object + "/" + in.ExternalIDField + "/" + url.PathEscape(in.ExternalID))
	resp, err := c.do(ctx, http.MethodPatch, path, q, fields, fieldsOf)
	switch {
	case isKind(err, abi.KindNotFound) && !in.UpdateOnly:
		return WriteOut{}, plugin.InvalidInput("external_id_field", fmt.Errorf("%s.%s is not an External ID field of the org (or %s is not an sObject): %w", in.Object, in.ExternalIDField, in.Object, err))
	case err != nil:
		return WriteOut{}, err
	case resp.status == http.StatusMultipleChoices:
		var urls []string
		_ = json.Unmarshal(resp.body, &urls)
		return WriteOut{}, plugin.InvalidInput("external_id", fmt.Errorf("%d %s records have %s = %q; an upsert needs at most one", len(urls), in.Object, in.ExternalIDField, in.ExternalID))
	case resp.status == http.StatusNoContent:
		// API versions before 46.0 answer an update with 204 and no body.
		return WriteOut{Created: false, LimitInfo: c.limit}, nil
	}
	var ans struct {
		ID      string `json:"id"`
		Created bool   `json:"created"`
	}
	if err := decode(resp, "upsert", &ans); err != nil {
		return WriteOut{}, err
	}
	if resp.status == http.StatusCreated {
		ans.Created = true
	}
	return WriteOut{ID: ans.ID, Created: ans.Created, LimitInfo: c.limit}, nil
}

// maxCollection is the most records one sObject Collections request takes.
const maxCollection = 200

var idPattern = regexp.MustCompile(`^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$`)

// compositeProgress is what one collections request settled, kept in kv under the step's
// idempotency key so that a retry does not send accepted requests again.
type compositeProgress struct {
	Results []CompositeResult `json:"results"`
}

func composite(ctx context.Context, in CompositeIn) (CompositeOut, error) {
	n := len(in.Records)
	if in.Operation == "delete" {
		n = len(in.IDs)
		if len(in.Records) > 0 {
			return CompositeOut{}, plugin.InvalidInput("records", errors.New("delete takes ids, not records"))
		}
		for i, id := range in.IDs {
			if !idPattern.MatchString(id) {
				return CompositeOut{}, plugin.InvalidInput(fmt.Sprintf("ids[%d]", i), fmt.Errorf("%q is not a record id", id))
			}
		}
	} else {
		if len(in.IDs) > 0 {
			return CompositeOut{}, plugin.InvalidInput("ids", errors.New("ids go with delete; give records"))
		}
		if in.Object == "" {
			return CompositeOut{}, plugin.InvalidInput("object", errors.New("name the records' sObject"))
		}
	}
	if n == 0 {
		return CompositeOut{}, plugin.InvalidInput("records", errors.New("no records"))
	}
	if in.AllOrNone && n > maxCollection {
		return CompositeOut{}, plugin.InvalidInput("records", fmt.Errorf("all_or_none holds within one request of at most %d records (got %d)", maxCollection, n))
	}
	if (in.Operation == "upsert") != (in.ExternalIDField != "") {
		return CompositeOut{}, plugin.InvalidInput("external_id_field", errors.New("upsert needs external_id_field, and only upsert takes it"))
	}
	bodies := make([]map[string]any, len(in.Records))
	for i, rec := range in.Records {
		b := map[string]any{"attributes": map[string]string{"type": in.Object}}
		hasID, hasExt := false, false
		for k, v := range rec {
			if k == "attributes" {
				return CompositeOut{}, plugin.InvalidInput(fmt.Sprintf("records[%d].attributes", i), errors.New("the sObject is the input's object"))
			}
			hasID = hasID || strings.EqualFold(k, "Id") && v != nil && v != ""
			hasExt = hasExt || strings.EqualFold(k, in.ExternalIDField) && v != nil && v != ""
			b[k] = v
		}
		switch {
		case in.Operation == "update" && !hasID:
			return CompositeOut{}, plugin.InvalidInput(fmt.Sprintf("records[%d].Id", i), errors.New("update needs each record's Id"))
		case in.Operation == "upsert" && !hasExt:
			return CompositeOut{}, plugin.InvalidInput(fmt.Sprintf("records[%d].%s", i, in.ExternalIDField), errors.New("upsert needs each record's external id"))
		}
		bodies[i] = b
	}
	c, err := newClient(ctx)
	if err != nil {
		return CompositeOut{}, err
	}
	key := plugin.IdempotencyKey(ctx)
	out := CompositeOut{Results: make([]CompositeResult, 0, n)}
	for start, chunkNo := 0, 0; start < n; start, chunkNo = start+maxCollection, chunkNo+1 {
		end := min(start+maxCollection, n)
		kvKey := fmt.Sprintf("composite/%s/%d", key, chunkNo)
		var done compositeProgress
		if key != "" {
			if b, ok, err := plugin.KVGet(ctx, kvKey); err != nil {
				return CompositeOut{}, err
			} else if ok && json.Unmarshal(b, &done) == nil && len(done.Results) == end-start {
				out.add(done.Results)
				continue
			}
		}
		out.Requests++
		var resp response
		switch in.Operation {
		case "delete":
			q := url.Values{"ids": {strings.Join(in.IDs[start:end], ",")}, "allOrNone": {fmt.Sprint(in.AllOrNone)}}
			resp, err = c.do(ctx, http.MethodDelete, c.path("/composite/sobjects"), q, nil, nil)
		case "create", "update", "upsert":
			method, path := http.MethodPost, c.path("/composite/sobjects")
			if in.Operation != "create" {
				method = http.MethodPatch
			}
			if in.Operation == "upsert" {
				path = c.path("/composite/sobjects/" + in.Object + "/" + in.ExternalIDField)
			}
			resp, err = c.do(ctx, method, path, nil, map[string]any{"allOrNone": in.AllOrNone, "records": bodies[start:end]},
				func(errItem) string { return "records" })
		}
		if err != nil {
			return CompositeOut{}, fmt.Errorf("records %d-%d: %w", start, end-1, err)
		}
		var results []struct {
			ID      string    `json:"id"`
			Success bool      `json:"success"`
			Created *bool     `json:"created"`
			Errors  []errItem `json:"errors"`
		}
		if err := decode(resp, "collections", &results); err != nil {
			return CompositeOut{}, err
		}
		if len(results) != end-start {
			return CompositeOut{}, plugin.Transient(fmt.Errorf("salesforce: %d results for %d records", len(results), end-start))
		}
		chunk := make([]CompositeResult, len(results))
		for i, r := range results {
			chunk[i] = CompositeResult{ID: r.ID, Success: r.Success, Created: r.Created}
			for _, e := range r.Errors {
				chunk[i].Errors = append(chunk[i].Errors, RecordError{Code: e.code(), Message: e.Message, Fields: e.Fields})
			}
		}
		if key != "" {
			b, _ := json.Marshal(compositeProgress{Results: chunk})
			if err := plugin.KVSet(ctx, kvKey, b); err != nil {
				return CompositeOut{}, err
			}
		}
		out.add(chunk)
	}
	out.LimitInfo = c.limit
	if out.Failed > 0 && (in.AllOrNone || in.FailOnError || out.Failed == n) {
		return CompositeOut{}, out.rejection(in)
	}
	return out, nil
}

func (o *CompositeOut) add(rs []CompositeResult) {
	for _, r := range rs {
		o.Results = append(o.Results, r)
		if r.Success {
			o.Succeeded++
		} else {
			o.Failed++
		}
	}
}

// rejection names the first record Salesforce rejected for its own reason (not rolled
// back for another's).
func (o *CompositeOut) rejection(in CompositeIn) error {
	list := "records"
	if in.Operation == "delete" {
		list = "ids"
	}
	for i, r := range o.Results {
		if r.Success || len(r.Errors) == 0 || r.Errors[0].Code == "ALL_OR_NONE_OPERATION_ROLLED_BACK" {
			continue
		}
		field := fmt.Sprintf("%s[%d]", list, i)
		if len(r.Errors[0].Fields) > 0 && in.Operation != "delete" {
			field += "." + r.Errors[0].Fields[0]
		}
		what := "rejected"
		if in.AllOrNone {
			what = "rejected, so none was written"
		}
		return plugin.InvalidInput(field, fmt.Errorf("salesforce %s %d of %d records; first: %s: %s", what, o.Failed, len(o.Results), r.Errors[0].Code, r.Errors[0].Message))
	}
	return plugin.InvalidInput(list, fmt.Errorf("salesforce rejected %d of %d records", o.Failed, len(o.Results)))
}

func query(ctx context.Context, in QueryIn) (QueryOut, error) {
	modes := 0
	for _, set := range []bool{in.Object != "", in.Named != "", in.NextRecordsURL != ""} {
		if set {
			modes++
		}
	}
	if modes != 1 {
		return QueryOut{}, plugin.InvalidInput("object", errors.New("give exactly one of object (the query builder), named, or next_records_url"))
	}
	if in.Object == "" && (len(in.Fields) > 0 || len(in.Where) > 0 || len(in.OrderBy) > 0 || in.Limit > 0 || in.Offset > 0 || in.Match != "") {
		return QueryOut{}, plugin.InvalidInput("fields", errors.New("fields, where, order_by, limit and offset belong to the query builder (object)"))
	}
	if in.Named == "" && len(in.Binds) > 0 {
		return QueryOut{}, plugin.InvalidInput("binds", errors.New("binds belong to a named query"))
	}
	var soql string
	var mapField fieldMapper
	switch {
	case in.Object != "":
		var err error
		if soql, err = buildQuery(in); err != nil {
			var fe *fieldError
			if errors.As(err, &fe) {
				return QueryOut{}, plugin.InvalidInput(fe.field, fe.err)
			}
			return QueryOut{}, plugin.InvalidInput("", err)
		}
		mapField = builderField(in)
	case in.Named != "":
		queries, _ := plugin.Config(ctx, "queries").(map[string]any)
		template, ok := queries[in.Named].(string)
		if !ok {
			names := make([]string, 0, len(queries))
			for k := range queries {
				names = append(names, k)
			}
			return QueryOut{}, plugin.InvalidInput("named", fmt.Errorf("no query %q in config queries (have %v)", in.Named, names))
		}
		var err error
		if soql, err = expandNamed(template, in.Binds); err != nil {
			var fe *fieldError
			if errors.As(err, &fe) {
				return QueryOut{}, plugin.InvalidInput(fe.field, fe.err)
			}
			return QueryOut{}, plugin.Permanent(fmt.Errorf("salesforce: config queries.%s: %w", in.Named, err))
		}
		mapField = func(errItem) string { return "named" }
	}
	c, err := newClient(ctx)
	if err != nil {
		return QueryOut{}, err
	}
	maxRecords := in.MaxRecords
	if maxRecords == 0 {
		maxRecords = 2000
	}
	out := QueryOut{Records: []map[string]any{}, SOQL: soql}
	next := in.NextRecordsURL
	if next == "" {
		resource := "/query"
		if in.IncludeDeleted {
			resource = "/queryAll"
		}
		next = c.path(resource)
	}
	q := url.Values{}
	if soql != "" {
		q.Set("q", soql)
	}
	for {
		resp, err := c.do(ctx, http.MethodGet, next, q, nil, mapField)
		if err != nil {
			if errorCode(err) == "INVALID_QUERY_LOCATOR" {
				return QueryOut{}, plugin.InvalidInput("next_records_url", fmt.Errorf("the query's cursor expired (15 minutes unused); run the query again: %w", err))
			}
			return QueryOut{}, err
		}
		var page struct {
			TotalSize      int              `json:"totalSize"`
			Done           bool             `json:"done"`
			NextRecordsURL string           `json:"nextRecordsUrl"`
			Records        []map[string]any `json:"records"`
		}
		if err := decode(resp, "query", &page); err != nil {
			return QueryOut{}, err
		}
		for _, r := range page.Records {
			out.Records = append(out.Records, strip(r).(map[string]any))
		}
		out.TotalSize, out.Done, out.NextRecordsURL = page.TotalSize, page.Done, page.NextRecordsURL
		if page.Done || page.NextRecordsURL == "" || len(out.Records) >= maxRecords {
			break
		}
		next, q = page.NextRecordsURL, nil
	}
	out.Count, out.LimitInfo = len(out.Records), c.limit
	return out, nil
}

// builderField names the input field a query error is about: the object for
// INVALID_TYPE, else the field list, where condition (its value for a value of the wrong
// type) or order key naming the column, else the where clause.
func builderField(in QueryIn) fieldMapper {
	return func(it errItem) string {
		if it.code() == "INVALID_TYPE" {
			return "object"
		}
		column := it.field()
		for i, w := range in.Where {
			if column != "" && strings.EqualFold(w.Field, column) {
				if strings.Contains(it.Message, "filter criterion") {
					return fmt.Sprintf("where[%d].value", i)
				}
				return fmt.Sprintf("where[%d].field", i)
			}
		}
		for i, f := range in.Fields {
			if column != "" && strings.EqualFold(f, column) {
				return fmt.Sprintf("fields[%d]", i)
			}
		}
		for i, o := range in.OrderBy {
			if column != "" && strings.EqualFold(o.Field, column) {
				return fmt.Sprintf("order_by[%d].field", i)
			}
		}
		return "where"
	}
}
