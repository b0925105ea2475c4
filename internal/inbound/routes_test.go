package inbound_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/httpapi/apitest"
	"github.com/aquascene/aquahub/internal/inbound"
	"github.com/aquascene/aquahub/internal/storage/bolt"
	"github.com/aquascene/aquahub/sdk/signature"
)

// noRules matches nothing: these tests follow events into the pipeline, not through rules.
type noRules struct{}

func (noRules) Match(*core.Event) ([]string, error) { return nil, nil }
func (noRules) Plan(string) (core.RulePlan, bool)   { return core.RulePlan{}, false }
func (noRules) Schedules() []core.Schedule          { return nil }

// TestHookRoute posts the seed guide's signed content update to its source through the HTTP
// kernel, with the pipeline's engine as publisher.
func TestHookRoute(t *testing.T) {
	db, err := bolt.Open(bolt.Config{Path: filepath.Join(t.TempDir(), "hub.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	eng, err := core.NewEngine(core.EngineOptions{Store: db.Pipeline(), Rules: noRules{}})
	if err != nil {
		t.Fatal(err)
	}
	// The seed guide's /webhooks/content-updates: X-Signature-256 = sha256=<hex HMAC of the raw body>.
	m, err := inbound.New(map[string]map[string]inbound.SourceConfig{"aquascene": {"content-updates": {
		Verifier: "hmac", Secret: "seed-secret", Header: "X-Signature-256", Prefix: "sha256=",
		Type: `"content." + body.event`, Subject: "body.data.content_id", Data: "body.data",
	}}}, inbound.Deps{Store: db.Inbound(), Publisher: eng})
	if err != nil {
		t.Fatal(err)
	}
	srv := apitest.New(t, m)

	payload := `{"event":"updated","data":{"content_id":"gen-1","status":"approved"}}`
	hook := map[string]string{"X-Signature-256": seedSig("seed-secret", payload)}
	code, res, _ := srv.Call(t, "POST", "/hooks/aquascene/content-updates", "", payload, hook)
	ev, _ := res["event"].(map[string]any)
	if code != 202 || res["status"] != "accepted" || ev["source"] != "aquahub/hooks/content-updates" || ev["seq"] == nil {
		t.Fatalf("signed inbound hook = %d %v", code, res)
	}
	stored, err := db.Pipeline().Events(t.Context(), "aquascene", ev["id"].(string), "")
	if err != nil || len(stored) != 1 || stored[0].Type != "content.updated" || stored[0].Subject != "gen-1" {
		t.Fatalf("stored event = %+v, %v", stored, err)
	}
	if code, res, _ := srv.Call(t, "POST", "/hooks/aquascene/content-updates", "", payload, hook); code != 202 || res["status"] != "duplicate" {
		t.Fatalf("repeated inbound hook = %d %v, want 202 duplicate", code, res)
	}
	bad := map[string]string{"X-Signature-256": seedSig("wrong", payload)}
	if code, res, _ := srv.Call(t, "POST", "/hooks/aquascene/content-updates", "", payload, bad); code != 401 || res["status"] != float64(401) || !strings.Contains(res["detail"].(string), "does not match") {
		t.Fatalf("badly signed hook = %d %v, want 401 problem", code, res)
	}
	if code, _, _ := srv.Call(t, "POST", "/hooks/aquascene/content-updates", "", payload, nil); code != 401 {
		t.Fatalf("unsigned hook = %d, want 401", code)
	}
	if code, _, _ := srv.Call(t, "POST", "/hooks/aquascene/nope", "", payload, hook); code != 404 {
		t.Fatalf("unknown source = %d, want 404", code)
	}
	if code, _, _ := srv.Call(t, "POST", "/hooks/other/content-updates", "", payload, hook); code != 404 {
		t.Fatalf("another tenant's path = %d, want 404", code)
	}
	notJSON := `{"data":{}}` // body.event is missing: the type expression fails
	if code, res, _ := srv.Call(t, "POST", "/hooks/aquascene/content-updates", "", notJSON, map[string]string{"X-Signature-256": seedSig("seed-secret", notJSON)}); code != 400 {
		t.Fatalf("a payload that does not map = %d %v, want 400", code, res)
	}
}

// TestWooCommerceHookRoute: a store's ping on webhook creation is answered 200 (the store
// counts anything else as failed), and its signed deliveries 202.
func TestWooCommerceHookRoute(t *testing.T) {
	db, err := bolt.Open(bolt.Config{Path: filepath.Join(t.TempDir(), "hub.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	eng, err := core.NewEngine(core.EngineOptions{Store: db.Pipeline(), Rules: noRules{}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := inbound.New(map[string]map[string]inbound.SourceConfig{"aquascene": {"woocommerce": {Verifier: "woocommerce", Secret: "wc-secret"}}},
		inbound.Deps{Store: db.Inbound(), Publisher: eng})
	if err != nil {
		t.Fatal(err)
	}
	srv := apitest.New(t, m)
	code, res, _ := srv.Call(t, "POST", "/hooks/aquascene/woocommerce", "", "webhook_id=12", map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if code != 200 || res["status"] != "handshake" || res["source"] != "aquahub/hooks/woocommerce" {
		t.Fatalf("ping = %d %v, want 200 handshake", code, res)
	}
	body := `{"id":703,"name":"Chihiros WRGB II 60"}`
	h := map[string]string{}
	for k, v := range wcDelivery("wc-secret", "product.created", "d1", body) {
		h[k] = v[0]
	}
	code, res, _ = srv.Call(t, "POST", "/hooks/aquascene/woocommerce", "", body, h)
	if ev, _ := res["event"].(map[string]any); code != 202 || res["status"] != "accepted" || ev["seq"] == nil {
		t.Fatalf("delivery = %d %v", code, res)
	}
	stored, err := db.Pipeline().Events(t.Context(), "aquascene", res["event"].(map[string]any)["id"].(string), "")
	if err != nil || len(stored) != 1 || stored[0].Type != "woocommerce.product.created" || stored[0].Subject != "703" {
		t.Fatalf("stored = %+v, %v", stored, err)
	}
	h[http.CanonicalHeaderKey(signature.WooCommerceSignatureHeader)] = signature.SignWooCommerce("other", []byte(body))
	if code, _, _ := srv.Call(t, "POST", "/hooks/aquascene/woocommerce", "", body, h); code != 401 {
		t.Fatalf("forged delivery = %d, want 401", code)
	}
}
