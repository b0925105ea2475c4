package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit/simtest"

	"github.com/aquascene/aquahub/sdk/signature"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newTestServer starts a simulator with the default base, rate limiting off and a fixed clock.
func newTestServer(t testing.TB, opts ...Option) (*Server, *httptest.Server, *fakeClock) {
	t.Helper()
	clock := &fakeClock{t: time.Date(2025, 8, 6, 12, 0, 0, 0, time.UTC)}
	s := New(append([]Option{WithClock(clock.now), WithRateLimit(0, 0)}, opts...)...)
	ts := simtest.Serve(t, s, nil)
	return s, ts, clock
}

// response is a simulator answer.
type response = simtest.Response

func call(t testing.TB, ts *httptest.Server, key, method, path string, body any) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, ts.URL+path, rd)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return simtest.Do(t, ts.Client(), req)
}

func errType(r response) string {
	if e, ok := r.Body["error"].(map[string]any); ok {
		s, _ := e["type"].(string)
		return s
	}
	s, _ := r.Body["error"].(string)
	return s
}

const cm = "/v0/" + DefaultBase + "/Content_Master"

func TestAuthAndRouting(t *testing.T) {
	_, ts, _ := newTestServer(t)
	tests := []struct {
		name       string
		key        string
		method     string
		path       string
		wantStatus int
		wantType   string
	}{
		{"no credential", "", "GET", cm, 401, "AUTHENTICATION_REQUIRED"},
		{"wrong token", "patWrong", "GET", cm, 401, "AUTHENTICATION_REQUIRED"},
		{"unknown base", DefaultKey, "GET", "/v0/appNope0000000000/Content_Master", 403, "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND"},
		{"unknown table", DefaultKey, "GET", "/v0/" + DefaultBase + "/Nope", 403, "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND"},
		{"unknown route", DefaultKey, "GET", "/v1/x", 404, "NOT_FOUND"},
		{"unknown record", DefaultKey, "GET", cm + "/recNope0000000000", 404, "MODEL_ID_NOT_FOUND"},
		{"unknown query parameter", DefaultKey, "GET", cm + "?bogus=1", 422, "INVALID_REQUEST_UNKNOWN"},
		{"page size too large", DefaultKey, "GET", cm + "?pageSize=101", 422, "INVALID_PAGE_SIZE"},
		{"unknown view", DefaultKey, "GET", cm + "?view=Nope", 422, "VIEW_NAME_NOT_FOUND"},
		{"unknown field in fields[]", DefaultKey, "GET", cm + "?fields%5B%5D=Nope", 422, "UNKNOWN_FIELD_NAME"},
		{"unsupported formula", DefaultKey, "GET", cm + "?filterByFormula=" + url.QueryEscape("SEARCH('a',{Title})"), 422, "INVALID_FILTER_BY_FORMULA"},
		{"formula with unknown field", DefaultKey, "GET", cm + "?filterByFormula=" + url.QueryEscape("{Nope}=1"), 422, "INVALID_FILTER_BY_FORMULA"},
		{"stale offset", DefaultKey, "GET", cm + "?offset=itrX/recY", 422, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE"},
		{"table name URL-encoded", DefaultKey, "GET", "/v0/" + DefaultBase + "/Content%5FMaster", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, ts, tt.key, tt.method, tt.path, nil)
			if r.Status != tt.wantStatus || errType(r) != tt.wantType {
				t.Fatalf("%s %s = %d %s, want %d %s", tt.method, tt.path, r.Status, r.Raw, tt.wantStatus, tt.wantType)
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type = %q", ct)
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	s, ts, _ := newTestServer(t)
	recs, _ := s.Seed(DefaultBase, "Content_Master", map[string]any{"Content_ID": "dup"}, map[string]any{"Content_ID": "dup"})
	eleven := make([]map[string]any, 11)
	for i := range eleven {
		eleven[i] = map[string]any{"fields": map[string]any{"Title": fmt.Sprint(i)}}
	}
	tests := []struct {
		name       string
		method     string
		body       any
		wantStatus int
		wantType   string
	}{
		{"bad JSON", "POST", "{", 400, "INVALID_REQUEST_BODY"},
		{"eleven records", "POST", map[string]any{"records": eleven}, 422, "INVALID_RECORDS"},
		{"no records", "POST", map[string]any{"records": []any{}}, 422, "INVALID_RECORDS"},
		{"unknown field", "POST", map[string]any{"records": []any{map[string]any{"fields": map[string]any{"Nope": 1}}}}, 422, "UNKNOWN_FIELD_NAME"},
		{"unknown body key", "POST", map[string]any{"records": []any{}, "extra": 1}, 422, "INVALID_REQUEST_UNKNOWN"},
		{"update without id", "PATCH", map[string]any{"records": []any{map[string]any{"fields": map[string]any{"Title": "x"}}}}, 422, "INVALID_RECORDS"},
		{"update unknown id", "PATCH", map[string]any{"records": []any{map[string]any{"id": "recNope0000000000", "fields": map[string]any{"Title": "x"}}}}, 404, "MODEL_ID_NOT_FOUND"},
		{"upsert missing merge field", "PATCH", map[string]any{
			"records": []any{map[string]any{"fields": map[string]any{"Title": "x"}}}, "performUpsert": map[string]any{"fieldsToMergeOn": []string{"Content_ID"}},
		}, 422, "INVALID_VALUE_FOR_COLUMN"},
		{"upsert ambiguous match", "PATCH", map[string]any{
			"records": []any{map[string]any{"fields": map[string]any{"Content_ID": "dup"}}}, "performUpsert": map[string]any{"fieldsToMergeOn": []string{"Content_ID"}},
		}, 422, "INVALID_RECORDS"},
		{"upsert unknown merge field", "PATCH", map[string]any{
			"records": []any{map[string]any{"fields": map[string]any{"Content_ID": "x"}}}, "performUpsert": map[string]any{"fieldsToMergeOn": []string{"Nope"}},
		}, 422, "UNKNOWN_FIELD_NAME"},
		{"upsert on POST", "POST", map[string]any{
			"records": []any{map[string]any{"fields": map[string]any{"Content_ID": "x"}}}, "performUpsert": map[string]any{"fieldsToMergeOn": []string{"Content_ID"}},
		}, 422, "INVALID_REQUEST_UNKNOWN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, ts, DefaultKey, tt.method, cm, tt.body)
			if r.Status != tt.wantStatus || errType(r) != tt.wantType {
				t.Fatalf("= %d %s, want %d %s", r.Status, r.Raw, tt.wantStatus, tt.wantType)
			}
		})
	}
	after, _ := s.Records(DefaultBase, "Content_Master")
	if len(after) != len(recs) {
		t.Fatalf("failed requests changed the table: %d records, want %d", len(after), len(recs))
	}
}

func TestCreateListPaginate(t *testing.T) {
	_, ts, _ := newTestServer(t)
	for batch := 0; batch < 3; batch++ {
		var recs []any
		for i := 0; i < 10 && batch*10+i < 25; i++ {
			n := batch*10 + i
			recs = append(recs, map[string]any{"fields": map[string]any{"Content_ID": fmt.Sprintf("c-%02d", n), "Quality_Score": n, "Status": []string{"Draft", "Generated"}[n%2]}})
		}
		r := call(t, ts, DefaultKey, "POST", cm, map[string]any{"records": recs, "typecast": false})
		if r.Status != 200 || len(r.Body["records"].([]any)) != len(recs) {
			t.Fatalf("create = %d %s", r.Status, r.Raw)
		}
	}
	// Every page of 7 via GET, echoing offset back.
	var ids []string
	path := cm + "?pageSize=7&sort%5B0%5D%5Bfield%5D=Quality_Score&sort%5B0%5D%5Bdirection%5D=desc"
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
		r := call(t, ts, DefaultKey, "GET", path, nil)
		if r.Status != 200 {
			t.Fatalf("list = %d %s", r.Status, r.Raw)
		}
		for _, rec := range r.Body["records"].([]any) {
			ids = append(ids, rec.(map[string]any)["fields"].(map[string]any)["Content_ID"].(string))
		}
		off, ok := r.Body["offset"].(string)
		if !ok {
			break
		}
		if !strings.HasPrefix(off, "itr") || !strings.Contains(off, "/rec") {
			t.Fatalf("offset %q does not look like Airtable's", off)
		}
		path = cm + "?pageSize=7&offset=" + url.QueryEscape(off)
	}
	if len(ids) != 25 || ids[0] != "c-24" || ids[24] != "c-00" {
		t.Fatalf("got %d ids, first %v last %v", len(ids), ids[0], ids[len(ids)-1])
	}
	// POST listRecords with a formula, fields and maxRecords.
	r := call(t, ts, DefaultKey, "POST", cm+"/listRecords", map[string]any{
		"filterByFormula": "AND({Status}='Generated', {Quality_Score}>=10)", "fields": []string{"Content_ID"},
		"sort": []map[string]string{{"field": "Content_ID"}}, "maxRecords": 3,
	})
	if r.Status != 200 {
		t.Fatalf("listRecords = %d %s", r.Status, r.Raw)
	}
	got := r.Body["records"].([]any)
	if len(got) != 3 || r.Body["offset"] != nil {
		t.Fatalf("listRecords returned %d records, offset %v", len(got), r.Body["offset"])
	}
	first := got[0].(map[string]any)["fields"].(map[string]any)
	if first["Content_ID"] != "c-11" || len(first) != 1 {
		t.Fatalf("first record fields = %v", first)
	}
}

func TestGetUpdateUpsertDelete(t *testing.T) {
	s, ts, _ := newTestServer(t)
	recs, _ := s.Seed(DefaultBase, "Content_Master", map[string]any{"Content_ID": "a", "Title": "A", "Status": "Draft"})
	id := recs[0].ID
	r := call(t, ts, DefaultKey, "PATCH", cm+"/"+id, map[string]any{"fields": map[string]any{"Status": "Generated"}})
	if r.Status != 200 || r.Body["fields"].(map[string]any)["Title"] != "A" || r.Body["fields"].(map[string]any)["Status"] != "Generated" {
		t.Fatalf("PATCH merges: %d %s", r.Status, r.Raw)
	}
	r = call(t, ts, DefaultKey, "PUT", cm+"/"+id, map[string]any{"fields": map[string]any{"Content_ID": "a"}})
	if r.Status != 200 || len(r.Body["fields"].(map[string]any)) != 1 {
		t.Fatalf("PUT replaces: %d %s", r.Status, r.Raw)
	}
	r = call(t, ts, DefaultKey, "PATCH", cm, map[string]any{
		"records": []any{
			map[string]any{"fields": map[string]any{"Content_ID": "a", "Quality_Score": 91}},
			map[string]any{"fields": map[string]any{"Content_ID": "b", "Quality_Score": 70}},
		},
		"performUpsert": map[string]any{"fieldsToMergeOn": []string{"Content_ID"}}, "typecast": false,
	})
	if r.Status != 200 {
		t.Fatalf("upsert = %d %s", r.Status, r.Raw)
	}
	created, updated := r.Body["createdRecords"].([]any), r.Body["updatedRecords"].([]any)
	if len(created) != 1 || len(updated) != 1 || updated[0] != id {
		t.Fatalf("upsert created %v updated %v", created, updated)
	}
	r = call(t, ts, DefaultKey, "GET", cm+"/"+id, nil)
	if r.Status != 200 || r.Body["fields"].(map[string]any)["Quality_Score"] != 91.0 || r.Body["createdTime"] != "2025-08-06T12:00:00.000Z" {
		t.Fatalf("get = %d %s", r.Status, r.Raw)
	}
	r = call(t, ts, DefaultKey, "DELETE", cm+"?records%5B%5D="+id, nil)
	if r.Status != 200 {
		t.Fatalf("delete = %d %s", r.Status, r.Raw)
	}
	if all, _ := s.Records(DefaultBase, "Content_Master"); len(all) != 1 {
		t.Fatalf("%d records left, want 1", len(all))
	}
}

func TestScheduledView(t *testing.T) {
	s, ts, _ := newTestServer(t)
	_, err := s.Seed(DefaultBase, "Publishing_Calendar",
		map[string]any{"Schedule_ID": "s1", "Status": "Scheduled", "Publish_Date": "2025-08-09"},
		map[string]any{"Schedule_ID": "s2", "Status": "Scheduled", "Publish_Date": "2025-08-01"},
		map[string]any{"Schedule_ID": "s3", "Status": "Draft", "Publish_Date": "2025-08-09"},
		map[string]any{"Schedule_ID": "s4", "Status": "Scheduled", "Publish_Date": "2025-08-06"},
	)
	if err != nil {
		t.Fatal(err)
	}
	r := call(t, ts, DefaultKey, "GET", "/v0/"+DefaultBase+"/Publishing_Calendar?view=Scheduled", nil)
	var got []string
	for _, rec := range r.Body["records"].([]any) {
		got = append(got, rec.(map[string]any)["fields"].(map[string]any)["Schedule_ID"].(string))
	}
	if strings.Join(got, ",") != "s4,s1" {
		t.Fatalf("Scheduled view = %v, want [s4 s1]", got)
	}
}

func TestRateLimit(t *testing.T) {
	_, ts, clock := newTestServer(t, WithRateLimit(5, 30*time.Second))
	for i := 0; i < 5; i++ {
		if r := call(t, ts, DefaultKey, "GET", cm, nil); r.Status != 200 {
			t.Fatalf("request %d = %d", i, r.Status)
		}
	}
	r := call(t, ts, DefaultKey, "GET", cm, nil)
	if r.Status != 429 {
		t.Fatalf("sixth request in a second = %d, want 429", r.Status)
	}
	clock.add(2 * time.Second)
	if r := call(t, ts, DefaultKey, "GET", cm, nil); r.Status != 429 {
		t.Fatalf("within the 30 s penalty = %d, want 429", r.Status)
	}
	clock.add(29 * time.Second)
	if r := call(t, ts, DefaultKey, "GET", cm, nil); r.Status != 200 {
		t.Fatalf("after the penalty = %d, want 200", r.Status)
	}
}

func TestInjectedFaults(t *testing.T) {
	s, ts, _ := newTestServer(t)
	s.Injector().Inject(503, 1)
	s.Injector().Inject(429, 1)
	want := []int{503, 429, 200}
	for i, w := range want {
		r := call(t, ts, DefaultKey, "GET", cm, nil)
		if r.Status != w {
			t.Fatalf("request %d = %d, want %d", i, r.Status, w)
		}
	}
	reqs := s.Requests()
	if len(reqs) != 3 || reqs[0].Status != 503 || reqs[2].Status != 200 || reqs[2].Header.Get("Authorization") != "Bearer "+DefaultKey {
		t.Fatalf("recorded %+v", reqs)
	}
	// The control endpoint queues faults too.
	r := call(t, ts, DefaultKey, "POST", "/_sim/inject", map[string]any{"status": 500, "count": 1})
	if r.Status != 204 {
		t.Fatalf("inject = %d %s", r.Status, r.Raw)
	}
	if r := call(t, ts, DefaultKey, "GET", cm, nil); r.Status != 500 || errType(r) != "SERVER_ERROR" {
		t.Fatalf("after inject = %d %s", r.Status, r.Raw)
	}
	if r := call(t, ts, "bad", "GET", "/_sim/requests", nil); r.Status != 401 {
		t.Fatalf("control endpoint without the key = %d", r.Status)
	}
}

func TestWebhooks(t *testing.T) {
	type ping struct {
		mac  string
		body []byte
	}
	pings := make(chan ping, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		pings <- ping{r.Header.Get(signature.AirtableHeader), b}
	}))
	defer receiver.Close()
	s, ts, _ := newTestServer(t, WithWebhookClient(receiver.Client()))

	meta := call(t, ts, DefaultKey, "GET", "/v0/meta/bases/"+DefaultBase+"/tables", nil)
	var tableID string
	for _, tb := range meta.Body["tables"].([]any) {
		if tb.(map[string]any)["name"] == "Content_Master" {
			tableID = tb.(map[string]any)["id"].(string)
		}
	}
	r := call(t, ts, DefaultKey, "POST", "/v0/bases/"+DefaultBase+"/webhooks", map[string]any{
		"notificationUrl": receiver.URL + "/hooks/aquascene/airtable",
		"specification": map[string]any{"options": map[string]any{
			"filters":  map[string]any{"dataTypes": []string{"tableData"}, "recordChangeScope": tableID},
			"includes": map[string]any{"includeCellValuesInFieldIds": "all"},
		}},
	})
	if r.Status != 200 || !strings.HasPrefix(r.Body["id"].(string), "ach") {
		t.Fatalf("create webhook = %d %s", r.Status, r.Raw)
	}
	hookID, secret := r.Body["id"].(string), r.Body["macSecretBase64"].(string)

	call(t, ts, DefaultKey, "POST", cm, map[string]any{"fields": map[string]any{"Content_ID": "x", "Title": "T"}})
	// A change in another table is out of the webhook's scope.
	call(t, ts, DefaultKey, "POST", "/v0/"+DefaultBase+"/Content_Templates", map[string]any{"fields": map[string]any{"Template_ID": "t"}})
	select {
	case p := <-pings:
		key, err := signature.ParseAirtableSecret(secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := signature.VerifyAirtable(key, p.mac, p.body); err != nil {
			t.Fatalf("ping signature: %v (%s)", err, p.body)
		}
		var body map[string]any
		_ = json.Unmarshal(p.body, &body)
		if body["webhook"].(map[string]any)["id"] != hookID || body["base"].(map[string]any)["id"] != DefaultBase {
			t.Fatalf("ping body %s", p.body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no ping")
	}
	s.WaitPings()

	r = call(t, ts, DefaultKey, "GET", "/v0/bases/"+DefaultBase+"/webhooks/"+hookID+"/payloads?cursor=1", nil)
	payloads := r.Body["payloads"].([]any)
	if r.Status != 200 || len(payloads) != 1 || r.Body["cursor"] != 2.0 || r.Body["mightHaveMore"] != false {
		t.Fatalf("payloads = %d %s", r.Status, r.Raw)
	}
	changed := payloads[0].(map[string]any)["changedTablesById"].(map[string]any)[tableID].(map[string]any)
	if len(changed["createdRecordsById"].(map[string]any)) != 1 {
		t.Fatalf("payload %v", changed)
	}
	r = call(t, ts, DefaultKey, "GET", "/v0/bases/"+DefaultBase+"/webhooks/"+hookID+"/payloads?cursor=2", nil)
	if len(r.Body["payloads"].([]any)) != 0 || r.Body["cursor"] != 2.0 {
		t.Fatalf("payloads after cursor = %s", r.Raw)
	}
	// Manual ping through the control endpoint.
	if r := call(t, ts, DefaultKey, "POST", "/_sim/webhooks/"+DefaultBase+"/"+hookID+"/ping", nil); r.Status != 204 {
		t.Fatalf("control ping = %d %s", r.Status, r.Raw)
	}
	<-pings
	if errs := s.PingErrors(); len(errs) != 0 {
		t.Fatalf("ping errors: %v", errs)
	}
}
