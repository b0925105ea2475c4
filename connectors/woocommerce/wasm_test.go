//go:build !wasip1

package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit/simtest"
	"github.com/aquascene/aquahub/connectors/woocommerce/sim"
	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/plugins"
	"github.com/aquascene/aquahub/plugins/wasmtest"
)

// TestWASMThroughHost builds the connector for wasip1 and runs it through the real host
// (package plugins) against the simulator, whose webhooks deliver to a receiver.
func TestWASMThroughHost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the wasm module")
	}
	rc := &receiver{}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	s := sim.New(sim.WithWebhooks(hook.URL, "hook-secret"))
	ts := httptest.NewServer(simtest.FailNth(s, "/products/batch", 2, http.StatusServiceUnavailable))
	defer ts.Close()
	grant := func(secret string) plugins.TenantConfig {
		return plugins.TenantConfig{
			Config:  map[string]any{"base_url": ts.URL, "consumer_key": sim.DefaultKey},
			Secrets: map[string]string{"consumer_secret": secret},
			Egress:  []string{ts.URL},
		}
	}
	cat := wasmtest.Connector(t, ".", grant(sim.DefaultSecret), plugins.Config{CallTimeout: 2 * time.Second, PoolSize: 1})
	exec := wasmtest.Step(cat, "aquascene", "woocommerce")

	// The seed's flow: products with short descriptions, every page read, one of them
	// reviewed; the store delivers the signed product.updated webhook.
	out, err := exec("short", "products.list", map[string]any{"max_description_length": 500, "per_page": 3, "status": "publish"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(out["count"], "/", out["pages_read"]) != "5/5" {
		t.Fatalf("short descriptions: count %v in %v pages", out["count"], out["pages_read"])
	}
	first := out["products"].([]any)[0].(map[string]any)
	out, err = exec("review", "products.update", map[string]any{"id": first["id"], "description": "<h2>Overview</h2><p>A long review.</p>"})
	if err != nil || out["description"] != "<h2>Overview</h2><p>A long review.</p>" {
		t.Fatalf("update: %v, %v", out["description"], err)
	}
	s.WaitWebhooks()
	if n := rc.verified(t, "hook-secret"); n != 1 {
		t.Fatalf("%d webhook deliveries", n)
	}

	// A batch of 150 creates and one bad update over two requests; the second fails with a
	// 503, and the retry of the step sends only that one.
	var create []any
	for i := range 150 {
		create = append(create, map[string]any{"name": fmt.Sprintf("Moss %03d", i), "regular_price": "6.00"})
	}
	in := map[string]any{"create": create, "update": []any{map[string]any{"id": 4242, "name": "gone"}}}
	_, err = exec("batch", "products.batch", in)
	if wasmtest.Class(err) != core.ClassTransient {
		t.Fatalf("first attempt: %v", err)
	}
	s.ResetRequests()
	out, err = exec("batch", "products.batch", in)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Requests()) != 1 || fmt.Sprint(out["failed"]) != "1" || len(s.Products("")) != 13+150 {
		t.Fatalf("retry: %d requests, failed %v, %d products", len(s.Requests()), out["failed"], len(s.Products("")))
	}

	wasmtest.RunFaults(t, s.Injector(), exec, "products.update", []wasmtest.Fault{
		{Name: "4xx", Input: map[string]any{"id": 703, "sku": "TS-600SA"}, WantClass: core.ClassInvalidInput},
		{Name: "404", Input: map[string]any{"id": 4242, "name": "x"}, WantClass: core.ClassNotFound},
		{Name: "429 then success", Inject: 429, Input: map[string]any{"id": 703, "menu_order": 1}, WantClass: core.ClassRateLimited, RetryOK: true},
		{Name: "5xx then success", Inject: 502, Input: map[string]any{"id": 703, "menu_order": 2}, WantClass: core.ClassTransient, RetryOK: true},
		{Name: "timeout", Latency: 5 * time.Second, Input: map[string]any{"id": 703, "menu_order": 3}, WantClass: core.ClassTransient, RetryOK: true},
	})

	bad := wasmtest.Connector(t, ".", grant("cs_revoked"), plugins.Config{CallTimeout: 2 * time.Second, PoolSize: 1})
	_, err = wasmtest.Steps(bad, "aquascene", "woocommerce")("orders.list", map[string]any{})
	if wasmtest.Class(err) != core.ClassAuth {
		t.Fatalf("bad secret: %v", err)
	}
}
