package sim

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit/simtest"

	"github.com/aquascene/aquahub/connectors/simkit"
)

func newTestServer(t testing.TB, opts ...Option) (*Server, *httptest.Server) {
	t.Helper()
	return simtest.Start(t, New, WithClock, opts...)
}

// response is a simulator answer.
type response = simtest.Response

func call(t testing.TB, ts *httptest.Server, auth, method, path, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, ts.URL+path, rd)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	return simtest.Do(t, ts.Client(), req)
}

var auth = BasicAuth(DefaultKey)

func TestSubscriberHashAndDataCenter(t *testing.T) {
	if got := SubscriberHash(" Reader@Example.COM "); got != SubscriberHash("reader@example.com") || len(got) != 32 {
		t.Fatalf("hash = %s", got)
	}
	// md5("urist.mcvankab@freddiesjokes.com"), Mailchimp's documented example.
	if got := SubscriberHash("Urist.McVankab@freddiesjokes.com"); got != "62eeb292278cc15f5817cb78f7790b08" {
		t.Fatalf("hash = %s", got)
	}
	tests := []struct{ key, want string }{{"abc-us21", "us21"}, {"a-b-us6", "us6"}, {"nodc", ""}, {"trailing-", ""}}
	for _, tt := range tests {
		if got := DataCenter(tt.key); got != tt.want {
			t.Errorf("DataCenter(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestErrors(t *testing.T) {
	s, ts := newTestServer(t)
	ready := call(t, ts, auth, "POST", "/3.0/campaigns", `{"type":"regular","recipients":{"list_id":"`+DefaultList+`"},"settings":{"subject_line":"s","from_name":"f","reply_to":"a@b.co"}}`)
	id := ready.Body["id"].(string)
	tests := []struct {
		name       string
		auth       string
		method     string
		path       string
		body       string
		wantStatus int
		wantTitle  string
	}{
		{"no auth", "", "GET", "/3.0/ping", "", 401, "API Key Invalid"},
		{"wrong key", BasicAuth("nope-us21"), "GET", "/3.0/ping", "", 401, "API Key Invalid"},
		{"unknown path", auth, "GET", "/3.0/nope", "", 404, "Resource Not Found"},
		{"unknown campaign", auth, "GET", "/3.0/campaigns/nope", "", 404, "Resource Not Found"},
		{"bad JSON", auth, "POST", "/3.0/campaigns", "{", 400, "JSON Parse Exception"},
		{"bad type", auth, "POST", "/3.0/campaigns", `{"type":"weekly"}`, 400, "Invalid Resource"},
		{"unknown list", auth, "POST", "/3.0/campaigns", `{"type":"regular","recipients":{"list_id":"nope"}}`, 400, "Invalid Resource"},
		{"send not ready", auth, "POST", "/3.0/campaigns/" + id + "/actions/send", "", 400, "Bad Request"},
		{"wrong method", auth, "PATCH", "/3.0/campaigns/" + id + "/content", "{}", 405, "Method Not Allowed"},
		{"member bad email", auth, "PUT", "/3.0/lists/" + DefaultList + "/members/x", `{"email_address":"nope","status_if_new":"subscribed"}`, 400, "Invalid Resource"},
		{"member hash mismatch", auth, "PUT", "/3.0/lists/" + DefaultList + "/members/0000", `{"email_address":"a@b.co","status_if_new":"subscribed"}`, 400, "Invalid Resource"},
		{"member no status", auth, "PUT", "/3.0/lists/" + DefaultList + "/members/" + SubscriberHash("a@b.co"), `{"email_address":"a@b.co"}`, 400, "Invalid Resource"},
		{"member unknown list", auth, "PUT", "/3.0/lists/nope/members/x", `{}`, 404, "Resource Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, ts, tt.auth, tt.method, tt.path, tt.body)
			if r.Status != tt.wantStatus || r.Body["title"] != tt.wantTitle || r.Body["status"] != float64(tt.wantStatus) {
				t.Fatalf("= %d %s, want %d %q", r.Status, r.Raw, tt.wantStatus, tt.wantTitle)
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
				t.Fatalf("Content-Type = %q", ct)
			}
			if r.Body["type"] != errorsDoc || r.Body["instance"] == "" {
				t.Fatalf("problem body %s", r.Raw)
			}
		})
	}
	if r := call(t, ts, auth, "POST", "/3.0/campaigns/"+id+"/actions/send", ""); !strings.Contains(r.Body["detail"].(string), "not ready") {
		t.Fatalf("not-ready detail: %s", r.Raw)
	}
	if n := len(s.Campaigns()); n != 1 {
		t.Fatalf("%d campaigns, want 1", n)
	}
}

func TestNewsletterFlow(t *testing.T) {
	s, ts := newTestServer(t)
	for _, email := range []string{"a@example.com", "B@example.com"} {
		r := call(t, ts, auth, "PUT", "/3.0/lists/"+DefaultList+"/members/"+SubscriberHash(email),
			`{"email_address":"`+email+`","status_if_new":"subscribed","merge_fields":{"FNAME":"Ann"}}`)
		if r.Status != 200 || r.Body["status"] != "subscribed" || r.Body["id"] != SubscriberHash(email) {
			t.Fatalf("upsert member = %d %s", r.Status, r.Raw)
		}
	}
	// An update keeps the member and its status.
	r := call(t, ts, auth, "PUT", "/3.0/lists/"+DefaultList+"/members/"+SubscriberHash("a@example.com"),
		`{"email_address":"a@example.com","status_if_new":"pending","merge_fields":{"LNAME":"Lee"}}`)
	if r.Body["status"] != "subscribed" || r.Body["full_name"] != "Ann Lee" {
		t.Fatalf("update member = %s", r.Raw)
	}
	r = call(t, ts, auth, "POST", "/3.0/lists/"+DefaultList+"/members", `{"email_address":"a@example.com","status":"subscribed"}`)
	if r.Status != 400 || r.Body["title"] != "Member Exists" {
		t.Fatalf("POST existing member = %d %s", r.Status, r.Raw)
	}

	r = call(t, ts, auth, "POST", "/3.0/campaigns", `{"type":"regular","recipients":{"list_id":"`+DefaultList+`"},
		"settings":{"subject_line":"This Week in Aquascaping","title":"AquaScene Newsletter","from_name":"AquaScene Team","reply_to":"hello@aquascene.bg","to_name":"*|FNAME|*"}}`)
	if r.Status != 200 || r.Body["status"] != "save" || len(r.Body["id"].(string)) != 10 {
		t.Fatalf("create = %d %s", r.Status, r.Raw)
	}
	id := r.Body["id"].(string)
	r = call(t, ts, auth, "PUT", "/3.0/campaigns/"+id+"/content", `{"html":"<h1>CO2</h1><p>Tips</p>"}`)
	if r.Status != 200 || r.Body["html"] != "<h1>CO2</h1><p>Tips</p>" || r.Body["plain_text"] != "CO2Tips" {
		t.Fatalf("content = %d %s", r.Status, r.Raw)
	}
	r = call(t, ts, auth, "GET", "/3.0/campaigns/"+id+"/send-checklist", "")
	if r.Body["is_ready"] != true {
		t.Fatalf("checklist = %s", r.Raw)
	}
	r = call(t, ts, auth, "POST", "/3.0/campaigns/"+id+"/actions/send", "")
	if r.Status != 204 || r.Raw != "" {
		t.Fatalf("send = %d %s", r.Status, r.Raw)
	}
	r = call(t, ts, auth, "POST", "/3.0/campaigns/"+id+"/actions/send", "")
	if r.Status != 400 {
		t.Fatalf("second send = %d", r.Status)
	}
	c := s.Campaigns()[0]
	if c.Status != "sent" || c.EmailsSent != 2 {
		t.Fatalf("campaign after send = %+v", c)
	}
	r = call(t, ts, auth, "GET", "/3.0/campaigns?status=sent&count=5", "")
	if r.Body["total_items"] != 1.0 {
		t.Fatalf("list = %s", r.Raw)
	}
}

func TestDataCenterHost(t *testing.T) {
	_, ts := newTestServer(t)
	req, _ := http.NewRequest("GET", ts.URL+"/3.0/ping", nil)
	req.Host = "us6.api.mailchimp.com"
	req.Header.Set("Authorization", auth)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("wrong data center = %d, want 401", resp.StatusCode)
	}
}

func TestConnectionLimit(t *testing.T) {
	s, ts := newTestServer(t, WithFaults(simkit.Faults{Latency: time.Second}))
	var wg sync.WaitGroup
	statuses := make(chan int, MaxConnections+5)
	for i := 0; i < MaxConnections+5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses <- call(t, ts, auth, "GET", "/3.0/ping", "").Status
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for st := range statuses {
		count[st]++
	}
	if count[429] == 0 || count[200] == 0 || count[200] > MaxConnections {
		t.Fatalf("statuses = %v", count)
	}
	s.Injector().Set(simkit.Faults{})
}
