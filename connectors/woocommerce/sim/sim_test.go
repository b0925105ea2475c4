package sim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit/simtest"
	"github.com/aquascene/aquahub/sdk/signature"
)

func newTestServer(t testing.TB, opts ...Option) (*Server, *httptest.Server) {
	t.Helper()
	return simtest.Start(t, New, WithClock, opts...)
}

// call sends a request to the API path with Basic auth unless auth is given ("" for none).
func call(t testing.TB, ts *httptest.Server, method, path, body string, auth ...func(*http.Request)) simtest.Response {
	t.Helper()
	req, _ := http.NewRequest(method, ts.URL+APIPath+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if len(auth) == 0 {
		req.SetBasicAuth(DefaultKey, DefaultSecret)
	}
	for _, a := range auth {
		a(req)
	}
	return simtest.Do(t, ts.Client(), req)
}

func noAuth(*http.Request) {}

func basic(key, secret string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(key, secret) }
}

func query(key, secret string) func(*http.Request) {
	return func(r *http.Request) {
		q := r.URL.Query()
		q.Set("consumer_key", key)
		q.Set("consumer_secret", secret)
		r.URL.RawQuery = q.Encode()
	}
}

// oauth signs r as a one-legged OAuth 1.0a client does (RFC 5849 §3.4 with HMAC-SHA256).
func oauth(key, secret, nonce string, at time.Time) func(*http.Request) {
	return func(r *http.Request) {
		q := r.URL.Query()
		q.Set("oauth_consumer_key", key)
		q.Set("oauth_nonce", nonce)
		q.Set("oauth_signature_method", "HMAC-SHA256")
		q.Set("oauth_timestamp", fmt.Sprint(at.Unix()))
		q.Set("oauth_version", "1.0")
		var pairs []string
		for k, vs := range q {
			for _, v := range vs {
				pairs = append(pairs, pct(k)+"="+pct(v))
			}
		}
		sort.Strings(pairs)
		base := r.Method + "&" + pct("http://"+r.URL.Host+r.URL.Path) + "&" + pct(strings.Join(pairs, "&"))
		mac := hmac.New(sha256.New, []byte(secret+"&"))
		mac.Write([]byte(base))
		q.Set("oauth_signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		r.URL.RawQuery = q.Encode()
	}
}

func pct(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

func code(a simtest.Response) string { c, _ := a.Body["code"].(string); return c }

func TestAuth(t *testing.T) {
	_, ts := newTestServer(t, WithKey(DefaultKey, DefaultSecret, ReadWrite), WithKey("ck_readonly", "cs_readonly", Read))
	tests := []struct {
		name       string
		method     string
		auth       func(*http.Request)
		wantStatus int
		wantCode   string
	}{
		{"basic", "GET", basic(DefaultKey, DefaultSecret), 200, ""},
		{"query string", "GET", query(DefaultKey, DefaultSecret), 200, ""},
		{"oauth", "GET", oauth(DefaultKey, DefaultSecret, "n1", simtest.Now), 200, ""},
		{"oauth nonce reused", "GET", oauth(DefaultKey, DefaultSecret, "n1", simtest.Now), 401, "woocommerce_rest_authentication_error"},
		{"oauth wrong secret", "GET", oauth(DefaultKey, "cs_wrong", "n2", simtest.Now), 401, "woocommerce_rest_authentication_error"},
		{"oauth stale", "GET", oauth(DefaultKey, DefaultSecret, "n3", simtest.Now.Add(-16*time.Minute)), 401, "woocommerce_rest_authentication_error"},
		{"no credentials", "GET", noAuth, 401, "woocommerce_rest_cannot_view"},
		{"unknown key", "GET", basic("ck_nope", DefaultSecret), 401, "woocommerce_rest_authentication_error"},
		{"wrong secret", "GET", query(DefaultKey, "cs_nope"), 401, "woocommerce_rest_authentication_error"},
		{"read-only key writes", "PUT", basic("ck_readonly", "cs_readonly"), 401, "woocommerce_rest_cannot_edit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, body := "/products?per_page=1", ""
			if tt.method == "PUT" {
				path, body = "/products/700", `{"name":"x"}`
			}
			a := call(t, ts, tt.method, path, body, tt.auth)
			if a.Status != tt.wantStatus || code(a) != tt.wantCode {
				t.Fatalf("= %d %s", a.Status, a.Raw)
			}
			if tt.wantStatus == 401 && a.Body["data"].(map[string]any)["status"] != float64(401) {
				t.Fatalf("error data %s", a.Raw)
			}
		})
	}
}

func TestListPaging(t *testing.T) {
	_, ts := newTestServer(t)
	var names []string
	for page := 1; page <= 3; page++ {
		a := call(t, ts, "GET", fmt.Sprintf("/products?per_page=5&page=%d&orderby=id&order=asc", page), "")
		if a.Status != 200 || a.Header.Get("X-WP-Total") != "13" || a.Header.Get("X-WP-TotalPages") != "3" {
			t.Fatalf("page %d = %d %v", page, a.Status, a.Header)
		}
		link := a.Header.Get("Link")
		next, _, _ := strings.Cut(link, `rel="next"`)
		if page < 3 && !strings.Contains(next, fmt.Sprintf("&page=%d&", page+1)) || page == 3 && strings.Contains(link, `rel="next"`) {
			t.Fatalf("page %d Link %q", page, link)
		}
		for _, p := range a.List {
			names = append(names, p["name"].(string))
		}
	}
	if len(names) != 13 || names[0] != "ADA Aqua Soil Amazonia Ver.2 9L" {
		t.Fatalf("names %v", names)
	}
	a := call(t, ts, "GET", "/products?per_page=101", "")
	if a.Status != 400 || code(a) != "rest_invalid_param" || !strings.Contains(a.Raw, `"per_page":"per_page must be between 1 (inclusive) and 100 (inclusive)"`) {
		t.Fatalf("per_page 101 = %d %s", a.Status, a.Raw)
	}
	if a := call(t, ts, "GET", "/products?page=9&per_page=100", ""); a.Status != 200 || len(a.List) != 0 {
		t.Fatalf("page past the end = %d %s", a.Status, a.Raw)
	}
}

func TestListFilters(t *testing.T) {
	_, ts := newTestServer(t)
	tests := []struct {
		query string
		want  string
	}{
		{"category=16&orderby=title&order=asc", "[Chihiros WRGB II 60 Twinstar Light 600SA]"},
		{"search=soil&orderby=id&order=asc", "[ADA Aqua Soil Amazonia Ver.2 9L Tropica Aquarium Soil 3L]"},
		{"sku=EHEIM-CL-150", "[Eheim Classic 150]"},
		{"stock_status=outofstock", "[Eheim Classic 150]"},
		{"on_sale=true", "[Twinstar Light 600SA]"},
		{"tag=30&orderby=price&order=asc", "[Tropica Aquarium Soil 3L Dennerle Bio CO2 Set Dennerle Nano Cube 30L]"},
		{"include=705,700&orderby=include", "[Dennerle Bio CO2 Set ADA Aqua Soil Amazonia Ver.2 9L]"},
		{"min_price=200&max_price=260&orderby=price", "[Oase BioMaster Thermo 250 Twinstar Light 600SA Chihiros WRGB II 60]"},
		{"featured=true&order=asc", "[ADA Aqua Soil Amazonia Ver.2 9L Twinstar Light 600SA]"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			a := call(t, ts, "GET", "/products?"+tt.query, "")
			var names []string
			for _, p := range a.List {
				names = append(names, p["name"].(string))
			}
			if fmt.Sprint(names) != tt.want {
				t.Fatalf("= %d %v, want %s", a.Status, names, tt.want)
			}
		})
	}
	for _, bad := range []string{"status=sold", "orderby=colour", "featured=maybe", "include=a"} {
		if a := call(t, ts, "GET", "/products?"+bad, ""); a.Status != 400 || code(a) != "rest_invalid_param" {
			t.Fatalf("%s = %d %s", bad, a.Status, a.Raw)
		}
	}
	a := call(t, ts, "GET", "/products?per_page=1&_fields=id,name", "")
	if len(a.List) != 1 || len(a.List[0]) != 2 {
		t.Fatalf("_fields: %s", a.Raw)
	}
}

func TestProductWrites(t *testing.T) {
	s, ts := newTestServer(t)
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantCode, wantMsg        string
	}{
		{"missing product", "GET", "/products/1", "", 404, "woocommerce_rest_product_invalid_id", "Invalid ID."},
		{"update", "PUT", "/products/703", `{"description":"<p>New</p>","regular_price":"199.00","meta_data":[{"key":"_review","value":"r1"}]}`, 200, "", ""},
		{"price as a number", "PUT", "/products/703", `{"regular_price":199}`, 400, "rest_invalid_param", "regular_price is not of type string."},
		{"price not a number", "PUT", "/products/703", `{"regular_price":"cheap"}`, 400, "rest_invalid_param", "regular_price"},
		{"bad status", "PUT", "/products/703", `{"status":"sold"}`, 400, "rest_invalid_param", "status is not one of draft, pending, private, publish, future."},
		{"duplicate sku", "PUT", "/products/703", `{"sku":"TS-600SA"}`, 400, "product_invalid_sku", "Invalid or duplicated SKU."},
		{"not JSON", "PUT", "/products/703", `{`, 400, "rest_invalid_json", ""},
		{"create", "POST", "/products", `{"name":"Green Aqua Bonsai Wood","regular_price":"31.00","categories":[{"id":20},{"id":999}]}`, 201, "", ""},
		{"unknown route", "GET", "/prodcts", "", 404, "rest_no_route", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := call(t, ts, tt.method, tt.path, tt.body)
			if a.Status != tt.wantStatus || code(a) != tt.wantCode || !strings.Contains(a.Raw, tt.wantMsg) {
				t.Fatalf("= %d %s", a.Status, a.Raw)
			}
		})
	}
	p, _ := s.Product(703)
	if p["description"] != "<p>New</p>" || p["regular_price"] != "199.00" || p["price"] != "199.00" {
		t.Fatalf("updated product %v", p)
	}
	// meta_data merges by key.
	call(t, ts, "PUT", "/products/703", `{"meta_data":[{"key":"_review","value":"r2"},{"key":"_other","value":1}]}`)
	p, _ = s.Product(703)
	if meta := p["meta_data"].([]any); len(meta) != 2 || meta[0].(map[string]any)["value"] != "r2" {
		t.Fatalf("meta_data %v", p["meta_data"])
	}
	// Delete moves to the trash unless forced.
	if a := call(t, ts, "DELETE", "/products/710", ""); a.Status != 200 || a.Body["status"] != "trash" {
		t.Fatalf("trash = %d %s", a.Status, a.Raw)
	}
	if a := call(t, ts, "GET", "/products?sku=GA-SPIDER-M", ""); len(a.List) != 0 {
		t.Fatalf("trashed product listed: %s", a.Raw)
	}
	if a := call(t, ts, "DELETE", "/products/710?force=true", ""); a.Status != 200 {
		t.Fatalf("force delete = %d", a.Status)
	}
	if a := call(t, ts, "GET", "/products/710", ""); a.Status != 404 {
		t.Fatalf("deleted product = %d", a.Status)
	}
}

func TestBatch(t *testing.T) {
	s, ts := newTestServer(t)
	a := call(t, ts, "POST", "/products/batch", `{
		"create":[{"name":"New A","regular_price":"1.00"},{"name":"New B","sku":"TS-600SA"}],
		"update":[{"id":700,"short_description":"<p>x</p>"},{"id":4242,"name":"y"},{"id":701,"regular_price":3}],
		"delete":[712,4243]}`)
	if a.Status != 200 {
		t.Fatalf("= %d %s", a.Status, a.Raw)
	}
	var out map[string][]map[string]any
	_ = json.Unmarshal([]byte(a.Raw), &out)
	errCode := func(m map[string]any) string {
		e, _ := m["error"].(map[string]any)
		c, _ := e["code"].(string)
		return c
	}
	got := fmt.Sprintln(
		out["create"][0]["name"], errCode(out["create"][1]), out["create"][1]["id"],
		out["update"][0]["short_description"], errCode(out["update"][1]), out["update"][1]["id"], errCode(out["update"][2]),
		out["delete"][0]["id"], errCode(out["delete"][1]))
	want := "New A product_invalid_sku 0 <p>x</p> woocommerce_rest_product_invalid_id 4242 rest_invalid_param 712 woocommerce_rest_product_invalid_id\n"
	if got != want {
		t.Fatalf("batch\n got %s\nwant %s\n%s", got, want, a.Raw)
	}
	if _, ok := s.Product(712); ok {
		t.Fatal("batch delete left the product")
	}
	items := make([]string, 101)
	for i := range items {
		items[i] = `{"name":"x"}`
	}
	if a := call(t, ts, "POST", "/products/batch", `{"create":[`+strings.Join(items, ",")+`]}`); a.Status != 413 || code(a) != "woocommerce_rest_request_entity_too_large" {
		t.Fatalf("101 items = %d %s", a.Status, a.Raw)
	}
}

func TestOrders(t *testing.T) {
	_, ts := newTestServer(t)
	a := call(t, ts, "GET", "/orders?status=completed&orderby=id&order=asc", "")
	if a.Status != 200 || len(a.List) != 2 || a.Header.Get("X-WP-Total") != "2" || a.List[0]["total"] != "93.30" {
		t.Fatalf("completed orders = %d %s", a.Status, a.Raw)
	}
	if a := call(t, ts, "GET", "/orders?search=ana.petrova", ""); len(a.List) != 2 {
		t.Fatalf("search %s", a.Raw)
	}
	a = call(t, ts, "POST", "/orders", `{"billing":{"email":"new@example.com"},"line_items":[{"product_id":702,"quantity":2}],"set_paid":true}`)
	if a.Status != 201 || a.Body["status"] != "processing" || a.Body["total"] != "518.00" {
		t.Fatalf("create = %d %s", a.Status, a.Raw)
	}
	if a := call(t, ts, "POST", "/orders", `{"line_items":[{"product_id":1,"quantity":1}]}`); a.Status != 400 || code(a) != "woocommerce_rest_invalid_product_id" {
		t.Fatalf("unknown product = %d %s", a.Status, a.Raw)
	}
	if a := call(t, ts, "GET", "/orders/1", ""); a.Status != 404 || code(a) != "woocommerce_rest_shop_order_invalid_id" {
		t.Fatalf("unknown order = %d %s", a.Status, a.Raw)
	}
	if a := call(t, ts, "GET", "/orders?status=lost", ""); a.Status != 400 {
		t.Fatalf("bad status = %d %s", a.Status, a.Raw)
	}
}

// receiver records webhook deliveries and answers with status.
type receiver struct {
	mu     sync.Mutex
	status int
	got    []*http.Request
	bodies [][]byte
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.got, rc.bodies = append(rc.got, r), append(rc.bodies, b)
	w.WriteHeader(rc.status)
}

func TestWebhooks(t *testing.T) {
	rc := &receiver{status: 200}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	s, ts := newTestServer(t, WithWebhooks(hook.URL+"/hooks/aquascene/woocommerce", "wc-secret"))
	call(t, ts, "PUT", "/products/703", `{"description":"<p>Reviewed</p>"}`)
	call(t, ts, "POST", "/products", `{"name":"Hygger Timer"}`)
	call(t, ts, "POST", "/orders", `{"line_items":[{"product_id":700,"quantity":1}]}`)
	call(t, ts, "PUT", "/orders/713", `{"status":"completed"}`) // order.updated: no webhook registered
	s.WaitWebhooks()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.got) != 3 {
		t.Fatalf("%d deliveries", len(rc.got))
	}
	topics := map[string]bool{}
	for i, r := range rc.got {
		d := signature.WooCommerceDeliveryOf(r.Header)
		if err := signature.VerifyWooCommerce("wc-secret", d.Signature, rc.bodies[i]); err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
		if d.Source != ts.URL+"/" || d.Resource+"."+d.Event != d.Topic || d.DeliveryID == "" || d.WebhookID == "" || r.URL.Path != "/hooks/aquascene/woocommerce" {
			t.Fatalf("delivery %d headers %+v", i, d)
		}
		topics[d.Topic] = true
		if d.Topic == "product.updated" && !strings.Contains(string(rc.bodies[i]), `"description":"\u003cp\u003eReviewed\u003c/p\u003e"`) {
			t.Fatalf("payload %s", rc.bodies[i])
		}
	}
	if len(topics) != 3 {
		t.Fatalf("topics %v", topics)
	}
}

func TestWebhookDisabledAfterFailures(t *testing.T) {
	rc := &receiver{status: 500}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	s, ts := newTestServer(t)
	a := call(t, ts, "POST", "/webhooks", `{"name":"reviews","topic":"product.updated","delivery_url":"`+hook.URL+`","secret":"x"}`)
	if a.Status != 201 || a.Body["status"] != "active" || a.Body["resource"] != "product" {
		t.Fatalf("create = %d %s", a.Status, a.Raw)
	}
	for i := range MaxDeliveryFailures + 1 {
		call(t, ts, "PUT", "/products/700", fmt.Sprintf(`{"menu_order":%d}`, i))
		s.WaitWebhooks()
	}
	d := s.Deliveries()
	if len(d) != MaxDeliveryFailures+1 || !d[0].Ping || d[1].Ping || d[1].Status != 500 {
		t.Fatalf("%d deliveries: %+v", len(d), d)
	}
	if hooks := s.Webhooks(); hooks[0].Status != "disabled" {
		t.Fatalf("webhook %+v", hooks[0])
	}
	for _, tt := range []struct{ body, want string }{
		{`{"topic":"product.sold","delivery_url":"https://x.test"}`, "woocommerce_rest_webhook_invalid_topic"},
		{`{"topic":"order.created","delivery_url":"ftp://x.test"}`, "woocommerce_rest_webhook_invalid_delivery_url"},
	} {
		if a := call(t, ts, "POST", "/webhooks", tt.body); a.Status != 400 || code(a) != tt.want {
			t.Fatalf("%s = %d %s", tt.body, a.Status, a.Raw)
		}
	}
	if a := call(t, ts, "DELETE", "/webhooks/1", ""); a.Status != 501 {
		t.Fatalf("delete without force = %d", a.Status)
	}
}

// TestWebhookPing checks the ping WooCommerce sends when a webhook is created through the
// API: unsigned, form-encoded webhook_id, and pending until answered 200, so that saving the
// webhook active again pings again.
func TestWebhookPing(t *testing.T) {
	rc := &receiver{status: http.StatusAccepted}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	s, ts := newTestServer(t)
	a := call(t, ts, "POST", "/webhooks", `{"name":"reviews","topic":"product.created","delivery_url":"`+hook.URL+`/hooks/aquascene/woocommerce","secret":"x"}`)
	if a.Status != 201 {
		t.Fatalf("create = %d %s", a.Status, a.Raw)
	}
	id := fmt.Sprint(a.Body["id"])
	check := func(n int, wantErr bool) {
		t.Helper()
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if len(rc.got) != n {
			t.Fatalf("%d requests, want %d", len(rc.got), n)
		}
		r, body := rc.got[n-1], string(rc.bodies[n-1])
		if body != "webhook_id="+id || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
			r.Header.Get(signature.WooCommerceSignatureHeader) != "" || r.Header.Get(signature.WooCommerceTopicHeader) != "" ||
			!strings.HasPrefix(r.Header.Get("User-Agent"), "WooCommerce/") {
			t.Fatalf("ping %q with %v", body, r.Header)
		}
		d := s.Deliveries()
		if last := d[len(d)-1]; !last.Ping || (last.Error != "") != wantErr {
			t.Fatalf("recorded %+v", last)
		}
	}
	check(1, true) // 202 is not the 200 WooCommerce wants
	call(t, ts, "PUT", "/webhooks/"+id, `{"name":"product reviews"}`)
	check(2, true) // still pending: saved active, pinged again
	rc.mu.Lock()
	rc.status = http.StatusOK
	rc.mu.Unlock()
	call(t, ts, "PUT", "/webhooks/"+id, `{"status":"active"}`)
	check(3, false)
	call(t, ts, "PUT", "/webhooks/"+id, `{"name":"renamed"}`)
	check(3, false) // answered: no more pings until the delivery URL changes
	call(t, ts, "PUT", "/webhooks/"+id, `{"delivery_url":"`+hook.URL+`/elsewhere"}`)
	check(4, false)
	// A paused webhook is not pinged.
	call(t, ts, "POST", "/webhooks", `{"topic":"order.created","delivery_url":"`+hook.URL+`","status":"paused"}`)
	check(4, false)
}

func TestFaults(t *testing.T) {
	s, ts := newTestServer(t)
	s.Injector().Inject(503, 1)
	s.Injector().Inject(429, 1)
	a := call(t, ts, "GET", "/products", "")
	if a.Status != 503 || !strings.HasPrefix(a.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("503 = %v %s", a.Header, a.Raw)
	}
	if a := call(t, ts, "GET", "/products", ""); a.Status != 429 || a.Header.Get("Retry-After") != "5" {
		t.Fatalf("429 = %d %v", a.Status, a.Header)
	}
	now := simtest.Now
	limited := New(WithClock(func() time.Time { return now }), WithRateLimit(2))
	lts := httptest.NewServer(limited)
	defer lts.Close()
	for i, want := range []int{200, 200, 429} {
		if a := call(t, lts, "GET", "/products?per_page=1", ""); a.Status != want {
			t.Fatalf("request %d = %d", i, a.Status)
		}
	}
}
