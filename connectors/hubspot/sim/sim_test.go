package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit/simtest"
)

func newTestServer(t testing.TB, opts ...Option) (*Server, *httptest.Server) {
	t.Helper()
	return simtest.Start(t, New, WithClock, opts...)
}

// call sends one API request with the default token unless auth says otherwise.
func call(t testing.TB, ts *httptest.Server, method, path, body string, auth ...string) simtest.Response {
	t.Helper()
	req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	a := "Bearer " + DefaultKey
	if len(auth) > 0 {
		a = auth[0]
	}
	if a != "" {
		req.Header.Set("Authorization", a)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return simtest.Do(t, ts.Client(), req)
}

func TestAuth(t *testing.T) {
	_, ts := newTestServer(t)
	tests := []struct {
		name, auth string
		want       int
	}{
		{"no token", "", 401},
		{"wrong token", "Bearer pat-na1-nope", 401},
		{"basic", "Basic " + DefaultKey, 401},
		{"right token", "Bearer " + DefaultKey, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, ts, "GET", "/crm/v3/objects/contacts", "", tt.auth)
			if r.Status != tt.want {
				t.Fatalf("= %d %s", r.Status, r.Raw)
			}
			if tt.want == 401 && (r.Body["category"] != "INVALID_AUTHENTICATION" || r.Body["correlationId"] == "" || r.Body["status"] != "error") {
				t.Fatalf("401 body %s", r.Raw)
			}
		})
	}
}

func TestGetByEmail(t *testing.T) {
	_, ts := newTestServer(t)
	r := call(t, ts, "GET", "/crm/v3/objects/contacts/ANA.PETROVA@example.com?idProperty=email&properties=lead_score,aquascaping_experience", "")
	p, _ := r.Body["properties"].(map[string]any)
	if r.Status != 200 || p["lead_score"] != "12" || p["aquascaping_experience"] != "beginner" || p["hs_object_id"] != r.Body["id"] {
		t.Fatalf("= %d %s", r.Status, r.Raw)
	}
	if _, ok := p["firstname"]; ok {
		t.Fatalf("unrequested property returned: %s", r.Raw)
	}
	r = call(t, ts, "GET", "/crm/v3/objects/contacts/nobody@example.com?idProperty=email", "")
	if r.Status != 404 || r.Body["category"] != "OBJECT_NOT_FOUND" {
		t.Fatalf("missing = %d %s", r.Status, r.Raw)
	}
	r = call(t, ts, "GET", "/crm/v3/objects/contacts/x?idProperty=firstname", "")
	if r.Status != 400 {
		t.Fatalf("non-unique idProperty = %d %s", r.Status, r.Raw)
	}
}

func upsertBody(inputs ...string) string {
	return `{"inputs":[` + strings.Join(inputs, ",") + `]}`
}

func input(email, props string) string {
	return fmt.Sprintf(`{"idProperty":"email","id":%q,"properties":{%s}}`, email, props)
}

func TestBatchUpsert(t *testing.T) {
	many := make([]string, 101)
	for i := range many {
		many[i] = input(fmt.Sprintf("r%d@example.com", i), "")
	}
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantNew    map[string]bool // email → new
		wantErrIDs []string
		wantMsg    string
	}{
		{"create and update", upsertBody(input("new@example.com", `"firstname":"Nia","lead_score":"5"`), input("ana.petrova@example.com", `"lead_score":"20"`)),
			200, map[string]bool{"new@example.com": true, "ana.petrova@example.com": false}, nil, ""},
		{"numbers and booleans coerced", upsertBody(input("typed@example.com", `"lead_score":7,"newsletter_opt_in":true`)),
			200, map[string]bool{"typed@example.com": true}, nil, ""},
		{"one bad property is a 207", upsertBody(input("ok@example.com", `"firstname":"Ok"`), input("bad@example.com", `"lead_score":"lots"`)),
			207, map[string]bool{"ok@example.com": true}, []string{"bad@example.com"}, "INVALID_DECIMAL"},
		{"unknown property", upsertBody(input("ok2@example.com", ""), input("bad2@example.com", `"favourite_fish":"betta"`)),
			207, map[string]bool{"ok2@example.com": true}, []string{"bad2@example.com"}, "PROPERTY_DOESNT_EXIST"},
		{"invalid option", upsertBody(input("ok3@example.com", ""), input("bad3@example.com", `"aquascaping_experience":"guru"`)),
			207, map[string]bool{"ok3@example.com": true}, []string{"bad3@example.com"}, "INVALID_OPTION"},
		{"read-only property", upsertBody(input("ok4@example.com", ""), input("bad4@example.com", `"hubspotscore":"9"`)),
			207, map[string]bool{"ok4@example.com": true}, []string{"bad4@example.com"}, "READ_ONLY_VALUE"},
		{"invalid email", upsertBody(input("ok5@example.com", ""), input("not-an-email", "")),
			207, map[string]bool{"ok5@example.com": true}, []string{"not-an-email"}, "INVALID_EMAIL"},
		{"every input bad is a 400", upsertBody(input("bad6@example.com", `"lead_score":"x"`)), 400, nil, nil, "Property values were not valid"},
		{"duplicate ids", upsertBody(input("d@example.com", ""), input("D@example.com", "")), 400, nil, nil, "Duplicate IDs"},
		{"101 inputs", upsertBody(many...), 400, nil, nil, "limit is 100"},
		{"empty", upsertBody(), 400, nil, nil, "must not be empty"},
		{"not JSON", "{", 400, nil, nil, "Invalid input JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ts := newTestServer(t)
			r := call(t, ts, "POST", "/crm/v3/objects/contacts/batch/upsert", tt.body)
			if r.Status != tt.wantStatus || !strings.Contains(r.Raw, tt.wantMsg) {
				t.Fatalf("= %d %s", r.Status, r.Raw)
			}
			if tt.wantStatus == 400 {
				if r.Body["category"] != "VALIDATION_ERROR" {
					t.Fatalf("400 body %s", r.Raw)
				}
				return
			}
			results, _ := r.Body["results"].([]any)
			got := map[string]bool{}
			for _, x := range results {
				o := x.(map[string]any)
				got[o["properties"].(map[string]any)["email"].(string)] = o["new"].(bool)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.wantNew) || r.Body["status"] != "COMPLETE" {
				t.Fatalf("results %v, want %v: %s", got, tt.wantNew, r.Raw)
			}
			errs, _ := r.Body["errors"].([]any)
			if len(errs) != len(tt.wantErrIDs) {
				t.Fatalf("errors %s", r.Raw)
			}
			for i, e := range errs {
				ids := e.(map[string]any)["context"].(map[string]any)["ids"].([]any)
				if ids[0] != tt.wantErrIDs[i] {
					t.Fatalf("error ids %v", ids)
				}
			}
		})
	}
}

// Results are not in input order: HubSpot promises none, and clients must match on email.
func TestBatchUpsertOrderAndStore(t *testing.T) {
	s, ts := newTestServer(t)
	r := call(t, ts, "POST", "/crm/v3/objects/contacts/batch/upsert", upsertBody(
		input("zed@example.com", `"firstname":"Zed"`), input("maria.dimitrova@example.com", `"lifecyclestage":"evangelist"`)))
	results := r.Body["results"].([]any)
	first := results[0].(map[string]any)["properties"].(map[string]any)["email"]
	if r.Status != 200 || first != "maria.dimitrova@example.com" {
		t.Fatalf("= %d, first %v: %s", r.Status, first, r.Raw)
	}
	c, ok := s.Contact("ZED@example.com")
	if !ok || c.Properties["firstname"] != "Zed" {
		t.Fatalf("stored %v %v", c, ok)
	}
	m, _ := s.Contact("maria.dimitrova@example.com")
	if m.Properties["lifecyclestage"] != "evangelist" || m.Properties["lead_score"] != "87" {
		t.Fatalf("update lost or replaced properties: %v", m.Properties)
	}
	// A single create of an existing email conflicts.
	r = call(t, ts, "POST", "/crm/v3/objects/contacts", `{"properties":{"email":"zed@example.com"}}`)
	if r.Status != 409 || r.Body["category"] != "CONFLICT" || !strings.Contains(r.Raw, "Existing ID: "+c.ID) {
		t.Fatalf("duplicate create = %d %s", r.Status, r.Raw)
	}
	// An empty value clears a property.
	r = call(t, ts, "PATCH", "/crm/v3/objects/contacts/zed@example.com?idProperty=email", `{"properties":{"firstname":""}}`)
	if c, _ := s.Contact("zed@example.com"); r.Status != 200 || c.Properties["firstname"] != "" {
		t.Fatalf("clear = %d %s, %v", r.Status, r.Raw, c.Properties)
	}
}

func searchContacts(t testing.TB, ts *httptest.Server, body string) ([]string, simtest.Response) {
	t.Helper()
	r := call(t, ts, "POST", "/crm/v3/objects/contacts/search", body)
	results, ok := r.Body["results"].([]any)
	if !ok {
		t.Fatalf("search = %d %s", r.Status, r.Raw)
	}
	var emails []string
	for _, x := range results {
		emails = append(emails, x.(map[string]any)["properties"].(map[string]any)["email"].(string))
	}
	return emails, r
}

func TestSearch(t *testing.T) {
	_, ts := newTestServer(t, WithRateLimits(0, 0, 0))
	f := func(prop, op, value string) string {
		return fmt.Sprintf(`{"filterGroups":[{"filters":[{"propertyName":%q,"operator":%q,"value":%q}]}]}`, prop, op, value)
	}
	tests := []struct {
		name, body string
		want       string
	}{
		{"EQ is case-insensitive", f("email", "EQ", "ANA.PETROVA@example.com"), "[ana.petrova@example.com]"},
		{"NEQ", f("aquascaping_experience", "NEQ", "beginner"), "[georgi.ivanov@example.com maria.dimitrova@example.com]"},
		{"GT is numeric", f("lead_score", "GT", "20"), "[georgi.ivanov@example.com maria.dimitrova@example.com]"},
		{"LT is numeric", f("lead_score", "LT", "48"), "[ana.petrova@example.com]"},
		{"CONTAINS_TOKEN word", f("lastname", "CONTAINS_TOKEN", "ivanov"), "[georgi.ivanov@example.com]"},
		{"CONTAINS_TOKEN wildcard", f("email", "CONTAINS_TOKEN", "*.dimitrova@example.com"), "[maria.dimitrova@example.com]"},
		{"HAS_PROPERTY", `{"filterGroups":[{"filters":[{"propertyName":"company","operator":"HAS_PROPERTY"}]}]}`, "[maria.dimitrova@example.com]"},
		{"groups are ORed, filters ANDed", `{"filterGroups":[{"filters":[{"propertyName":"lead_score","operator":"GTE","value":"40"},{"propertyName":"lifecyclestage","operator":"EQ","value":"lead"}]},{"filters":[{"propertyName":"firstname","operator":"EQ","value":"Ana"}]}]}`,
			"[ana.petrova@example.com georgi.ivanov@example.com]"},
		{"IN", `{"filterGroups":[{"filters":[{"propertyName":"lifecyclestage","operator":"IN","values":["customer","lead"]}]}]}`, "[georgi.ivanov@example.com maria.dimitrova@example.com]"},
		{"sort descending object", `{"sorts":[{"propertyName":"lead_score","direction":"DESCENDING"}]}`, "[maria.dimitrova@example.com georgi.ivanov@example.com ana.petrova@example.com]"},
		{"sort as a string", `{"sorts":["-lead_score"]}`, "[maria.dimitrova@example.com georgi.ivanov@example.com ana.petrova@example.com]"},
		{"sort as serialised object", `{"sorts":["{\"propertyName\":\"firstname\",\"direction\":\"DESCENDING\"}"]}`, "[maria.dimitrova@example.com georgi.ivanov@example.com ana.petrova@example.com]"},
		{"query", `{"query":"georgi"}`, "[georgi.ivanov@example.com]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, r := searchContacts(t, ts, tt.body)
			if r.Status != 200 || fmt.Sprint(got) != tt.want {
				t.Fatalf("= %d %v, want %s: %s", r.Status, got, tt.want, r.Raw)
			}
		})
	}
}

func TestSearchPagingAndLimits(t *testing.T) {
	_, ts := newTestServer(t, WithoutSeed(), WithRateLimits(0, 0, 0))
	var inputs []string
	for i := range 25 {
		inputs = append(inputs, input(fmt.Sprintf("p%02d@example.com", i), fmt.Sprintf(`"lead_score":"%d"`, i)))
	}
	if r := call(t, ts, "POST", "/crm/v3/objects/contacts/batch/upsert", upsertBody(inputs...)); r.Status != 200 {
		t.Fatalf("seed: %d %s", r.Status, r.Raw)
	}
	var all []string
	after := ""
	for pages := 0; ; pages++ {
		body := `{"limit":10,"sorts":[{"propertyName":"lead_score","direction":"ASCENDING"}],"after":"` + after + `"}`
		got, r := searchContacts(t, ts, body)
		if r.Body["total"] != float64(25) {
			t.Fatalf("total %v", r.Body["total"])
		}
		all = append(all, got...)
		next, _ := r.Body["paging"].(map[string]any)
		if next == nil {
			if pages != 2 {
				t.Fatalf("%d pages", pages+1)
			}
			break
		}
		after = next["next"].(map[string]any)["after"].(string)
	}
	if len(all) != 25 || all[0] != "p00@example.com" || all[24] != "p24@example.com" {
		t.Fatalf("paged %v", all)
	}
	for _, tt := range []struct{ name, body, want string }{
		{"limit over 200", `{"limit":201}`, "limit must be between"},
		{"past 10000", `{"limit":100,"after":"9950"}`, "limited to 10000"},
		{"unknown property", `{"filterGroups":[{"filters":[{"propertyName":"shoe_size","operator":"EQ","value":"9"}]}]}`, "does not exist"},
		{"unknown operator", `{"filterGroups":[{"filters":[{"propertyName":"email","operator":"LIKE","value":"x"}]}]}`, "is not one of"},
		{"two sorts", `{"sorts":["email","firstname"]}`, "one sort"},
		{"six groups", `{"filterGroups":[{"filters":[]},{"filters":[]},{"filters":[]},{"filters":[]},{"filters":[]},{"filters":[]}]}`, "Too many filter groups"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, ts, "POST", "/crm/v3/objects/contacts/search", tt.body)
			if r.Status != 400 || !strings.Contains(r.Raw, tt.want) {
				t.Fatalf("= %d %s", r.Status, r.Raw)
			}
		})
	}
}

func TestEvents(t *testing.T) {
	s, ts := newTestServer(t)
	name := s.EventName("content_engagement")
	ana, _ := s.Contact("ana.petrova@example.com")
	send := func(body string) simtest.Response { return call(t, ts, "POST", "/events/v3/send", body) }
	tests := []struct {
		name, body string
		want       int
		wantMsg    string
	}{
		{"by email", `{"eventName":"` + name + `","email":"ana.petrova@example.com","properties":{"content_id":"CNT-1","quality_score":"87"},"uuid":"u-1"}`, 204, ""},
		{"by object id", `{"eventName":"` + name + `","objectId":"` + ana.ID + `","properties":{"content_id":"CNT-2"},"occurredAt":"2025-08-06T10:00:00Z"}`, 204, ""},
		{"same uuid again is kept once", `{"eventName":"` + name + `","email":"ana.petrova@example.com","properties":{"content_id":"CNT-1"},"uuid":"u-1"}`, 204, ""},
		{"unknown event", `{"eventName":"pe1_nope","email":"a@example.com","properties":{}}`, 400, "not found"},
		{"short name", `{"eventName":"content_engagement","email":"a@example.com","properties":{}}`, 400, "fully qualified"},
		{"no identity", `{"eventName":"` + name + `","properties":{}}`, 400, "One of email, objectId or utk"},
		{"unknown property", `{"eventName":"` + name + `","email":"a@example.com","properties":{"mood":"happy"}}`, 400, "is not defined on event"},
		{"number property", `{"eventName":"` + name + `","email":"a@example.com","properties":{"quality_score":"high"}}`, 400, "not a valid number"},
		{"unknown object", `{"eventName":"` + name + `","objectId":"999999","properties":{}}`, 400, "not an existing contact"},
		{"bad time", `{"eventName":"` + name + `","email":"a@example.com","occurredAt":"yesterday","properties":{}}`, 400, "occurredAt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := send(tt.body)
			if r.Status != tt.want || !strings.Contains(r.Raw, tt.wantMsg) {
				t.Fatalf("= %d %s", r.Status, r.Raw)
			}
		})
	}
	occ := s.Occurrences()
	if len(occ) != 2 || occ[0].ContactID != ana.ID || occ[1].ContactID != ana.ID || occ[0].Properties["quality_score"] != "87" {
		t.Fatalf("occurrences %+v", occ)
	}
	// A definition created through the API can be sent at once.
	r := call(t, ts, "POST", "/events/v3/event-definitions", `{"label":"Product review read","propertyDefinitions":[{"name":"product_id","label":"Product","type":"string"}]}`)
	if r.Status != 201 || r.Body["fullyQualifiedName"] != s.EventName("product_review_read") {
		t.Fatalf("define = %d %s", r.Status, r.Raw)
	}
	if r := send(`{"eventName":"` + s.EventName("product_review_read") + `","utk":"abc","properties":{"product_id":"42"}}`); r.Status != 204 {
		t.Fatalf("send new event = %d %s", r.Status, r.Raw)
	}
}

func TestAssociations(t *testing.T) {
	s, ts := newTestServer(t)
	maria, _ := s.Contact("maria.dimitrova@example.com")
	companies, _ := s.Objects("companies")
	green := companies[0].ID
	r := call(t, ts, "PUT", "/crm/v4/objects/contacts/"+maria.ID+"/associations/default/companies/"+green, "")
	if r.Status != 200 || !strings.Contains(r.Raw, `"associationTypeId":279`) || !strings.Contains(r.Raw, `"associationTypeId":280`) {
		t.Fatalf("default = %d %s", r.Status, r.Raw)
	}
	r = call(t, ts, "PUT", "/crm/v4/objects/contacts/"+maria.ID+"/associations/companies/"+green, `[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":1}]`)
	if r.Status != 201 || r.Body["toObjectTypeId"] != "0-2" {
		t.Fatalf("primary = %d %s", r.Status, r.Raw)
	}
	r = call(t, ts, "GET", "/crm/v4/objects/companies/"+green+"/associations/contacts", "")
	if r.Status != 200 || !strings.Contains(r.Raw, `"typeId":280`) || !strings.Contains(r.Raw, `"typeId":2`) {
		t.Fatalf("reverse = %d %s", r.Status, r.Raw)
	}
	r = call(t, ts, "GET", "/crm/v3/objects/contacts/"+maria.ID+"?associations=companies", "")
	if !strings.Contains(r.Raw, `"id":"`+green+`","type":"contact_to_company"`) {
		t.Fatalf("v3 read with associations: %s", r.Raw)
	}
	for _, tt := range []struct {
		name, path, body string
		want             int
	}{
		{"unknown contact", "/crm/v4/objects/contacts/1/associations/default/companies/" + green, "", 404},
		{"unknown company", "/crm/v4/objects/contacts/" + maria.ID + "/associations/default/companies/1", "", 404},
		{"wrong type id", "/crm/v4/objects/contacts/" + maria.ID + "/associations/companies/" + green, `[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":4}]`, 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if r := call(t, ts, "PUT", tt.path, tt.body); r.Status != tt.want {
				t.Fatalf("= %d %s", r.Status, r.Raw)
			}
		})
	}
}

func TestRateLimits(t *testing.T) {
	now := simtest.Now
	sofia, _ := time.LoadLocation("Europe/Sofia")
	s := New(WithClock(func() time.Time { return now }), WithRateLimits(3, 6, 2), WithTimeZone(sofia))
	ts := httptest.NewServer(s)
	defer ts.Close()
	policy := func(r simtest.Response) string { p, _ := r.Body["policyName"].(string); return p }
	get := func() simtest.Response { return call(t, ts, "GET", "/crm/v3/objects/contacts", "") }

	for i := range 3 {
		r := get()
		if r.Status != 200 || r.Header.Get("X-HubSpot-RateLimit-Remaining") != fmt.Sprint(2-i) || r.Header.Get("X-HubSpot-RateLimit-Max") != "3" {
			t.Fatalf("request %d = %d, headers %v", i, r.Status, r.Header)
		}
	}
	r := get()
	if r.Status != 429 || policy(r) != "TEN_SECONDLY_ROLLING" || r.Body["errorType"] != "RATE_LIMIT" || r.Header.Get("X-HubSpot-RateLimit-Interval-Milliseconds") != "10000" {
		t.Fatalf("4th = %d %s", r.Status, r.Raw)
	}
	// Event sends are exempt from both the ten-secondly and the daily limit.
	ev := `{"eventName":"` + s.EventName("content_engagement") + `","email":"a@example.com","properties":{}}`
	if r := call(t, ts, "POST", "/events/v3/send", ev); r.Status != 204 {
		t.Fatalf("exempt event send = %d %s", r.Status, r.Raw)
	}
	// Search has its own per-second limit and sends no rate-limit headers.
	for i := range 3 {
		r := call(t, ts, "POST", "/crm/v3/objects/contacts/search", `{}`)
		if i < 2 && (r.Status != 200 || r.Header.Get("X-HubSpot-RateLimit-Remaining") != "") {
			t.Fatalf("search %d = %d %v", i, r.Status, r.Header)
		}
		if i == 2 && (r.Status != 429 || policy(r) != "SECONDLY" || r.Body["message"] != "You have reached your secondly limit.") {
			t.Fatalf("3rd search = %d %s", r.Status, r.Raw)
		}
	}
	// The window rolls; the day's sixth request is the last.
	now = now.Add(11 * time.Second)
	if r := get(); r.Status != 200 || r.Header.Get("X-HubSpot-RateLimit-Daily-Remaining") != "0" {
		t.Fatalf("after the window = %d %v", r.Status, r.Header)
	}
	now = now.Add(11 * time.Second)
	if r := get(); r.Status != 429 || policy(r) != "DAILY" {
		t.Fatalf("over the day = %d %s", r.Status, r.Raw)
	}
	// 12:00 UTC is 15:00 in Sofia: the day ends at 21:00 UTC.
	if reset := s.DailyReset(now); !reset.Equal(time.Date(2025, 8, 6, 21, 0, 0, 0, time.UTC)) {
		t.Fatalf("reset %s", reset.UTC())
	}
	now = time.Date(2025, 8, 6, 21, 0, 1, 0, time.UTC)
	if r := get(); r.Status != 200 {
		t.Fatalf("after midnight in Sofia = %d %s", r.Status, r.Raw)
	}
}

func TestControlAndFaults(t *testing.T) {
	s, ts := newTestServer(t)
	r := call(t, ts, "GET", "/_sim/objects/contacts", "")
	var recs []Record
	if err := json.Unmarshal([]byte(r.Raw), &recs); err != nil || len(recs) != 3 {
		t.Fatalf("control objects = %d %s", r.Status, r.Raw)
	}
	if r := call(t, ts, "GET", "/_sim/objects/contacts", "", ""); r.Status != 401 {
		t.Fatalf("control without token = %d", r.Status)
	}
	s.Injector().Inject(503, 1)
	s.Injector().Inject(429, 1)
	if r := call(t, ts, "GET", "/crm/v3/objects/contacts", ""); r.Status != 503 || r.Body["category"] == nil {
		t.Fatalf("injected 503 = %d %s", r.Status, r.Raw)
	}
	if r := call(t, ts, "GET", "/crm/v3/objects/contacts", ""); r.Status != 429 || r.Body["policyName"] != "TEN_SECONDLY_ROLLING" {
		t.Fatalf("injected 429 = %d %s", r.Status, r.Raw)
	}
	if n := len(s.Requests()); n != 2 {
		t.Fatalf("%d recorded requests", n)
	}
}
