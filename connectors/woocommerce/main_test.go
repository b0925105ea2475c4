//go:build !wasip1

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit"
	"github.com/aquascene/aquahub/connectors/simkit/simtest"
	"github.com/aquascene/aquahub/connectors/woocommerce/sim"
	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/plugin/plugintest"
	"github.com/aquascene/aquahub/sdk/signature"
)

type env struct {
	sim *sim.Server
	ts  *httptest.Server
	h   *plugintest.Harness
}

// setup starts a simulator (behind wrap, when given) and a harness pointed at it; config
// adds to or replaces the default connector config ("BASE/x" is the path /x under the
// simulator).
func setup(t testing.TB, secret string, config map[string]any, wrap func(http.Handler) http.Handler, opts ...sim.Option) env {
	t.Helper()
	s := sim.New(opts...)
	ts := simtest.Serve(t, s, wrap)
	cfg := map[string]any{"base_url": ts.URL, "consumer_key": sim.DefaultKey}
	for k, v := range config {
		if s, ok := v.(string); ok && strings.HasPrefix(s, "BASE") {
			v = ts.URL + strings.TrimPrefix(s, "BASE") // a path under the simulator
		}
		cfg[k] = v
	}
	harness := plugintest.Start(t, Connector, plugintest.Options{
		Config: cfg, Secrets: map[string]string{"consumer_secret": secret},
		Egress: []string{ts.URL}, Timeout: 5 * time.Second,
	})
	return env{s, ts, harness}
}

func names(v any) []string {
	var out []string
	for _, p := range v.([]any) {
		out = append(out, p.(map[string]any)["name"].(string))
	}
	return out
}

func TestListProducts(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name         string
		config       map[string]any
		input        map[string]any
		wantCount    int
		wantRequests int
		check        func(t *testing.T, out map[string]any)
	}{
		{"every page", nil, map[string]any{"per_page": 5, "orderby": "id", "order": "asc"}, 13, 3, func(t *testing.T, out map[string]any) {
			if fmt.Sprint(out["total"], out["total_pages"], out["pages_read"]) != "1333" || out["truncated"] != nil {
				t.Fatalf("paging %v %v %v %v", out["total"], out["total_pages"], out["pages_read"], out["truncated"])
			}
		}},
		{"short descriptions", nil, map[string]any{"max_description_length": 500, "per_page": 4, "orderby": "id", "order": "asc", "fields": []string{"id", "name"}}, 5, 4, func(t *testing.T, out map[string]any) {
			want := "[Tropica Aquarium Soil 3L Chihiros WRGB II 60 Dennerle Bio CO2 Set Eheim Classic 150 Green Aqua Spider Wood M]"
			if got := fmt.Sprint(names(out["products"])); got != want {
				t.Fatalf("products %s", got)
			}
			if p := out["products"].([]any)[0].(map[string]any); len(p) != 3 {
				t.Fatalf("fields not applied (description is added for the filter): %v", p)
			}
		}},
		{"one page", nil, map[string]any{"per_page": 5, "page": 2, "one_page": true, "orderby": "id", "order": "asc"}, 5, 1, func(t *testing.T, out map[string]any) {
			if out["next_page"] != json.Number("3") || names(out["products"])[0] != "Dennerle Bio CO2 Set" {
				t.Fatalf("one page %v %v", out["next_page"], names(out["products"]))
			}
		}},
		{"max_items", nil, map[string]any{"per_page": 5, "max_items": 7}, 7, 2, func(t *testing.T, out map[string]any) {
			if out["truncated"] != true {
				t.Fatalf("truncated %v", out["truncated"])
			}
		}},
		{"filters", nil, map[string]any{"category": 16, "on_sale": true}, 1, 1, nil},
		{"query-string auth", map[string]any{"auth": "query"}, map[string]any{"sku": "TS-600SA,DEN-NC-30"}, 2, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t, sim.DefaultSecret, tt.config, nil)
			out, err := e.h.Invoke(ctx, "products.list", tt.input)
			if err != nil {
				t.Fatal(err)
			}
			reqs := e.sim.Requests()
			if got := len(out["products"].([]any)); got != tt.wantCount || out["count"] != json.Number(fmt.Sprint(got)) || len(reqs) != tt.wantRequests {
				t.Fatalf("%d products (count %v) in %d requests, want %d in %d", got, out["count"], len(reqs), tt.wantCount, tt.wantRequests)
			}
			for _, r := range reqs {
				basic := r.Header.Get("Authorization") != ""
				query := strings.Contains(r.RawQuery, "consumer_secret="+sim.DefaultSecret)
				if tt.config["auth"] == "query" && (basic || !query) || tt.config["auth"] == nil && (!basic || query) {
					t.Fatalf("request auth: Authorization %q, query %q", r.Header.Get("Authorization"), r.RawQuery)
				}
			}
			if tt.check != nil {
				tt.check(t, out)
			}
		})
	}
}

func TestGetAndUpdate(t *testing.T) {
	ctx := context.Background()
	rc := &receiver{}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	e := setup(t, sim.DefaultSecret, nil, nil, sim.WithWebhooks(hook.URL, "hook-secret"))
	p, err := e.h.Invoke(ctx, "products.get", map[string]any{"id": 703})
	if err != nil || p["name"] != "Chihiros WRGB II 60" || p["description"] != "" {
		t.Fatalf("get: %v, %v", p["name"], err)
	}
	p, err = e.h.Invoke(ctx, "products.update", map[string]any{"id": 703, "description": "<h2>Review</h2><p>Bright.</p>",
		"sale_price": "199.00", "meta_data": []any{map[string]any{"key": "_aquahub_review", "value": "gen-1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if p["description"] != "<h2>Review</h2><p>Bright.</p>" || p["price"] != "199.00" || p["on_sale"] != true {
		t.Fatalf("updated %v %v %v", p["description"], p["price"], p["on_sale"])
	}
	// An empty sale price ends the sale: only given fields are sent, empty strings included.
	p, err = e.h.Invoke(ctx, "products.update", map[string]any{"id": 703, "sale_price": ""})
	if err != nil || p["price"] != "219.00" || p["description"] != "<h2>Review</h2><p>Bright.</p>" {
		t.Fatalf("end sale: %v %v, %v", p["price"], p["description"], err)
	}
	// Each update is delivered to the store's product.updated webhook, signed.
	e.sim.WaitWebhooks()
	if n := rc.verified(t, "hook-secret"); n != 2 {
		t.Fatalf("%d signed deliveries", n)
	}
	tests := []struct {
		name, action string
		input        map[string]any
		kind         abi.ErrorKind
		field        string
	}{
		{"missing product", "products.get", map[string]any{"id": 4242}, abi.KindNotFound, ""},
		{"update missing product", "products.update", map[string]any{"id": 4242, "name": "x"}, abi.KindNotFound, ""},
		{"duplicate sku", "products.update", map[string]any{"id": 703, "sku": "TS-600SA"}, abi.KindInvalidInput, "sku"},
		{"price as a number", "products.update", map[string]any{"id": 703, "regular_price": 10}, abi.KindInvalidInput, "regular_price"},
		{"bad status", "products.update", map[string]any{"id": 703, "status": "sold"}, abi.KindInvalidInput, "status"},
		{"nothing to change", "products.update", map[string]any{"id": 703}, abi.KindInvalidInput, ""},
		{"unknown field", "products.update", map[string]any{"id": 703, "descripton": "typo"}, abi.KindInvalidInput, "descripton"},
		{"bad date", "products.list", map[string]any{"modified_after": "yesterday"}, abi.KindInvalidInput, "modified_after"},
		{"page without one_page", "products.list", map[string]any{"page": 2}, abi.KindInvalidInput, "page"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.h.Invoke(ctx, tt.action, tt.input)
			plugintest.WantError(t, err, tt.kind, tt.field)
		})
	}
}

// receiver collects webhook deliveries.
type receiver struct {
	mu     sync.Mutex
	header []http.Header
	bodies [][]byte
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.header, rc.bodies = append(rc.header, r.Header.Clone()), append(rc.bodies, b)
	rc.mu.Unlock()
}

// verified returns how many deliveries carry a valid signature under secret, failing the
// test for any that does not.
func (rc *receiver) verified(t testing.TB, secret string) int {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for i, h := range rc.header {
		if err := signature.VerifyWooCommerce(secret, h.Get(signature.WooCommerceSignatureHeader), rc.bodies[i]); err != nil {
			t.Fatalf("delivery %d (%s): %v", i, h.Get(signature.WooCommerceTopicHeader), err)
		}
	}
	return len(rc.header)
}

func TestBatchSplitsReportsAndResumes(t *testing.T) {
	ctx := context.Background()
	e := setup(t, sim.DefaultSecret, nil, func(h http.Handler) http.Handler {
		return simtest.FailNth(h, "/products/batch", 2, http.StatusBadGateway)
	})
	var create, update []any
	for i := range 150 {
		create = append(create, map[string]any{"name": fmt.Sprintf("Plant %03d", i), "sku": fmt.Sprintf("PLANT-%03d", i), "regular_price": "4.50"})
	}
	create[10].(map[string]any)["sku"] = "TS-600SA" // taken
	for i := range 60 {
		update = append(update, map[string]any{"id": 700 + i%13, "menu_order": i})
	}
	update[5] = map[string]any{"id": 4242, "name": "gone"}
	in := map[string]any{"create": create, "update": update, "delete": []any{711, 712}}

	_, err := e.h.Invoke(ctx, "products.batch", in)
	plugintest.WantError(t, err, abi.KindTransient, "")
	before := len(e.sim.Products(""))
	e.sim.ResetRequests()
	out, err := e.h.Invoke(ctx, "products.batch", in)
	if err != nil {
		t.Fatal(err)
	}
	if reqs := e.sim.Requests(); len(reqs) != 2 || out["requests"] != json.Number("2") {
		t.Fatalf("retry sent %d requests (output %v), want the 2 not yet accepted", len(reqs), out["requests"])
	}
	// 150 creates (one rejected) and 2 deletes: 13 + 149 - 2 products, none created twice.
	if got := len(e.sim.Products("")); got != 13+149-2 || before != 13+99 {
		t.Fatalf("%d products after the retry (%d before)", got, before)
	}
	created := out["create"].([]any)
	if len(created) != 150 || created[0].(map[string]any)["sku"] != "PLANT-000" || created[149].(map[string]any)["id"] == nil {
		t.Fatalf("create results %v ... %v", created[0], created[149])
	}
	if e10 := created[10].(map[string]any)["error"].(map[string]any); e10["code"] != "product_invalid_sku" || e10["field"] != "sku" {
		t.Fatalf("create[10] %v", created[10])
	}
	if e5 := out["update"].([]any)[5].(map[string]any)["error"].(map[string]any); e5["code"] != "woocommerce_rest_product_invalid_id" || e5["field"] != "id" {
		t.Fatalf("update[5] %v", out["update"].([]any)[5])
	}
	if out["failed"] != json.Number("2") || out["delete"].([]any)[1].(map[string]any)["id"] != json.Number("712") {
		t.Fatalf("failed %v, delete %v", out["failed"], out["delete"])
	}
}

func TestBatchRejected(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		input map[string]any
		field string
	}{
		{"every item rejected", map[string]any{"update": []any{map[string]any{"id": 4242, "name": "x"}}}, "update[0].id"},
		{"fail_on_error", map[string]any{"create": []any{map[string]any{"name": "ok"}, map[string]any{"name": "dup", "sku": "TS-600SA"}}, "fail_on_error": true}, "create[1].sku"},
		{"nothing", map[string]any{}, "create"},
		{"bad delete id", map[string]any{"delete": []any{0}}, "delete[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t, sim.DefaultSecret, nil, nil)
			_, err := e.h.Invoke(ctx, "products.batch", tt.input)
			plugintest.WantError(t, err, abi.KindInvalidInput, tt.field)
		})
	}
}

func TestListOrders(t *testing.T) {
	e := setup(t, sim.DefaultSecret, nil, nil)
	out, err := e.h.Invoke(context.Background(), "orders.list", map[string]any{"status": []string{"completed", "on-hold"}, "per_page": 2, "orderby": "id", "order": "asc"})
	if err != nil {
		t.Fatal(err)
	}
	orders := out["orders"].([]any)
	if len(orders) != 3 || out["pages_read"] != json.Number("2") || orders[0].(map[string]any)["billing"].(map[string]any)["email"] != "ana.petrova@example.com" {
		t.Fatalf("orders %d, pages %v", len(orders), out["pages_read"])
	}
	_, err = e.h.Invoke(context.Background(), "orders.list", map[string]any{"status": []string{"lost"}})
	plugintest.WantError(t, err, abi.KindInvalidInput, "status")
}

func TestErrors(t *testing.T) {
	list := map[string]any{"per_page": 1, "one_page": true}
	tests := []struct {
		name      string
		secret    string
		config    map[string]any
		opts      []sim.Option
		inject    int
		latency   time.Duration
		action    string
		input     map[string]any
		wantKind  abi.ErrorKind
		wantRetry time.Duration
		wantMsg   string
	}{
		{"wrong secret", "cs_wrong_secret", nil, nil, 0, 0, "products.list", list, abi.KindAuth, 0, "Consumer secret is invalid"},
		{"read-only key writes", "cs_readonly", map[string]any{"consumer_key": "ck_ro"}, []sim.Option{sim.WithKey("ck_ro", "cs_readonly", sim.Read)}, 0, 0,
			"products.update", map[string]any{"id": 700, "name": "x"}, abi.KindAuth, 0, "woocommerce_rest_cannot_edit"},
		{"gateway 503 page", sim.DefaultSecret, nil, nil, 503, 0, "products.list", list, abi.KindTransient, 0, "503 Service Unavailable"},
		{"WordPress 500", sim.DefaultSecret, nil, nil, 500, 0, "products.list", list, abi.KindTransient, 0, "critical error"},
		{"429", sim.DefaultSecret, nil, nil, 429, 0, "products.list", list, abi.KindRateLimited, 5 * time.Second, "429"},
		{"timeout", sim.DefaultSecret, nil, nil, 0, 10 * time.Second, "products.list", list, abi.KindTransient, 0, ""},
		{"no base_url", sim.DefaultSecret, map[string]any{"base_url": ""}, nil, 0, 0, "products.list", list, abi.KindPermanent, 0, "base_url is not set"},
		{"no such route", sim.DefaultSecret, map[string]any{"base_url": "BASE/shop"}, nil, 0, 0, "products.list", list, abi.KindPermanent, 0, "rest_no_route"},
		{"bad auth mode", sim.DefaultSecret, map[string]any{"auth": "oauth"}, nil, 0, 0, "products.list", list, abi.KindPermanent, 0, "auth must be basic or query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t, tt.secret, tt.config, nil, tt.opts...)
			if tt.inject != 0 {
				e.sim.Injector().Inject(tt.inject, 1)
			}
			e.sim.Injector().Set(simkit.Faults{Latency: tt.latency})
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			_, err := e.h.Invoke(ctx, tt.action, tt.input)
			ae := plugintest.WantError(t, err, tt.wantKind, "")
			if ae.RetryAfter() != tt.wantRetry || !strings.Contains(ae.Message, tt.wantMsg) {
				t.Fatalf("retry after %s, message %q; want %s, %q", ae.RetryAfter(), ae.Message, tt.wantRetry, tt.wantMsg)
			}
		})
	}
}
