package webhooks_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/httpapi/apitest"
	"github.com/aquascene/aquahub/internal/webhooks"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// routeRig is the module over a real storage file, its events read from the pipeline's store,
// served by the HTTP kernel.
type routeRig struct {
	srv *apitest.Server
	mod *webhooks.Module
	h   *harness
}

func newRouteRig(t *testing.T) *routeRig {
	t.Helper()
	h := newHarness(t, nil)
	mod, err := webhooks.New(webhooks.Config{AllowHTTP: true, AllowLoopback: true}, webhooks.Deps{
		Store: h.db.Webhooks(), Events: h.db.Pipeline(), Publisher: h.pub, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &routeRig{srv: apitest.New(t, mod), mod: mod, h: h}
}

// TestWebhooksEndToEnd registers an endpoint through the API, stores an event in the
// pipeline, and checks the event reaches the endpoint signed, with the attempt in the log,
// and that the message can be replayed and recovered through the API.
func TestWebhooksEndToEnd(t *testing.T) {
	rig := newRouteRig(t)
	var mu sync.Mutex
	var got []*http.Request
	var bodies [][]byte
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, b)
		mu.Unlock()
	}))
	defer receiver.Close()

	code, created, _ := rig.srv.Call(t, "POST", "/api/v1/webhooks", "dev-key", map[string]any{"url": receiver.URL + "/in", "events": []string{"content.*"}}, nil)
	if code != 201 || created["webhook_id"] == nil || !strings.HasPrefix(created["secret"].(string), "whsec_") || created["status"] != "registered" {
		t.Fatalf("POST /webhooks = %d %v", code, created)
	}
	id, secret := created["id"].(string), created["secret"].(string)
	code, one, _ := rig.srv.Call(t, "GET", "/api/v1/webhooks/"+id, "dev-key", nil, nil)
	if code != 200 || one["secret"] != nil {
		t.Fatalf("GET /webhooks/{id} = %d %v (the secret must not be shown again)", code, one)
	}
	req := httptest.NewRequest("GET", "/api/v1/webhooks", nil)
	req.Header.Set("Authorization", "Bearer viewer-key")
	if resp, raw := rig.srv.Do(t, req); resp.StatusCode != 200 || strings.Contains(string(raw), "whsec_") || !strings.Contains(string(raw), id) {
		t.Fatalf("GET /webhooks = %d %s (listed, without its secret)", resp.StatusCode, raw)
	}
	if code, _, _ := rig.srv.Call(t, "GET", "/api/v1/webhooks/"+id, "other-key", nil, nil); code != 404 {
		t.Fatalf("other tenant GET = %d, want 404", code)
	}
	if code, _, _ := rig.srv.Call(t, "GET", "/api/v1/webhooks", "", nil, nil); code != 401 {
		t.Fatalf("GET without a key = %d, want 401", code)
	}
	if code, _, _ := rig.srv.Call(t, "POST", "/api/v1/webhooks", "viewer-key", map[string]any{"url": receiver.URL, "events": []string{"*"}}, nil); code != 403 {
		t.Fatalf("a viewer registering an endpoint = %d, want 403", code)
	}

	updated := []byte(`{"content_id":"gen-1","status":"approved"}`)
	_, err := rig.h.db.Pipeline().Accept(t.Context(), core.AcceptRequest{Tenant: "aquascene", Events: []core.Pending{{Event: core.Event{
		ID: "e1", Source: "aquahub/hooks/content-updates", Type: "content.updated", Subject: "gen-1", SpecVersion: "1.0",
		DataContentType: "application/json", Data: updated,
	}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rig.mod.FanOut(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := rig.mod.DeliverDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	wh, _ := standardwebhooks.NewWebhook(secret)
	if err := wh.Verify(bodies[0], got[0].Header); err != nil {
		t.Fatalf("reference verifier rejects the delivery: %v", err)
	}
	var ev map[string]any
	_ = json.Unmarshal(bodies[0], &ev)
	if ev["type"] != "content.updated" || ev["subject"] != "gen-1" || ev["source"] != "aquahub/hooks/content-updates" {
		t.Fatalf("delivered event = %v", ev)
	}
	msgID := got[0].Header.Get("webhook-id")
	mu.Unlock()

	code, dl, _ := rig.srv.Call(t, "GET", "/api/v1/webhooks/"+id+"/deliveries", "dev-key", nil, nil)
	ds, _ := dl["deliveries"].([]any)
	if code != 200 || len(ds) != 1 || ds[0].(map[string]any)["state"] != "succeeded" {
		t.Fatalf("deliveries = %d %v", code, dl)
	}
	if code, one, _ := rig.srv.Call(t, "GET", "/api/v1/webhooks/"+id+"/deliveries/"+msgID, "dev-key", nil, nil); code != 200 || one["id"] != msgID {
		t.Fatalf("delivery = %d %v", code, one)
	}
	if code, res, _ := rig.srv.Call(t, "GET", "/api/v1/webhooks/"+id+"/deliveries?state=lost", "dev-key", nil, nil); code != 400 {
		t.Fatalf("deliveries with an unknown state = %d %v, want 400", code, res)
	}
	if code, _, _ := rig.srv.Call(t, "POST", "/api/v1/webhooks/"+id+"/deliveries/"+msgID+"/replay", "dev-key", nil, nil); code != 202 {
		t.Fatalf("replay = %d, want 202", code)
	}
	if code, _, _ := rig.srv.Call(t, "POST", "/api/v1/webhooks/"+id+"/deliveries/"+msgID+"/replay", "dev-key", nil, nil); code != 409 {
		t.Fatalf("replay of a pending message = %d, want 409", code)
	}
	if code, res, _ := rig.srv.Call(t, "POST", "/api/v1/webhooks/"+id+"/recover", "dev-key", map[string]any{"since": "yesterday"}, nil); code != 400 {
		t.Fatalf("recover with a bad time = %d %v", code, res)
	}
	if code, res, _ := rig.srv.Call(t, "POST", "/api/v1/webhooks/"+id+"/recover", "dev-key", map[string]any{"since": time.Now().Add(-time.Hour).Format(time.RFC3339)}, nil); code != 202 || res["queued"] != float64(0) {
		t.Fatalf("recover = %d %v", code, res)
	}
	code, rot, _ := rig.srv.Call(t, "POST", "/api/v1/webhooks/"+id+"/rotate", "dev-key", nil, nil)
	if code != 200 || rot["secret"] == secret || !strings.HasPrefix(rot["secret"].(string), "whsec_") || rot["rotation_ends_at"] == nil || rot["status"] != "rotating" {
		t.Fatalf("rotate = %d %v", code, rot)
	}
	if code, res, _ := rig.srv.Call(t, "PUT", "/api/v1/webhooks/"+id, "dev-key", map[string]any{"url": "http://169.254.169.254/", "events": []string{"*"}}, nil); code != 400 {
		t.Fatalf("PUT with a metadata URL = %d %v", code, res)
	}
	if code, res, _ := rig.srv.Call(t, "PUT", "/api/v1/webhooks/"+id, "dev-key", map[string]any{"url": receiver.URL + "/v2", "events": []string{"*"}, "enabled": false}, nil); code != 200 || res["status"] != "updated" || res["enabled"] != false || res["secret"] != nil {
		t.Fatalf("PUT = %d %v", code, res)
	}
	if code, res, _ := rig.srv.Call(t, "DELETE", "/api/v1/webhooks/"+id, "dev-key", nil, nil); code != 200 || res["status"] != "deleted" {
		t.Fatalf("DELETE = %d %v", code, res)
	}
	if code, _, _ := rig.srv.Call(t, "GET", "/api/v1/webhooks/"+id, "dev-key", nil, nil); code != 404 {
		t.Fatalf("GET after DELETE = %d, want 404", code)
	}
}

func TestWebhookRoutesAreDocumented(t *testing.T) {
	rig := newRouteRig(t)
	n := 0
	for _, r := range rig.srv.App().GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/api/v1/webhooks") {
			continue
		}
		n++
		if !rig.srv.Document().Has(r.Method, r.Path) {
			t.Errorf("%s %s is not in the OpenAPI document", r.Method, r.Path)
		}
	}
	if n != 10 {
		t.Errorf("%d webhook operations, want 10", n)
	}
}

// TestEndpointDeliverySettingsRoutes: an endpoint's delivery settings are written and read
// through the API, and a bad one is refused naming its field.
func TestEndpointDeliverySettingsRoutes(t *testing.T) {
	rig := newRouteRig(t)
	body := map[string]any{"url": "http://127.0.0.1:9/in", "events": []string{"*"},
		"max_in_flight": 2, "rate_limit": 0.5, "timeout_ms": 1500}
	code, created, _ := rig.srv.Call(t, "POST", "/api/v1/webhooks", "dev-key", body, nil)
	if code != 201 || created["max_in_flight"] != float64(2) || created["rate_limit"] != 0.5 || created["timeout_ms"] != float64(1500) || created["ordered"] != nil {
		t.Fatalf("POST with settings = %d %v", code, created)
	}
	id := created["id"].(string)
	body = map[string]any{"url": "http://127.0.0.1:9/in", "events": []string{"*"}, "ordered": true}
	if code, res, _ := rig.srv.Call(t, "PUT", "/api/v1/webhooks/"+id, "dev-key", body, nil); code != 200 || res["ordered"] != true || res["max_in_flight"] != nil {
		t.Fatalf("PUT ordered = %d %v (settings are replaced as a whole)", code, res)
	}
	if code, one, _ := rig.srv.Call(t, "GET", "/api/v1/webhooks/"+id, "dev-key", nil, nil); code != 200 || one["ordered"] != true || one["circuit"] != nil {
		t.Fatalf("GET = %d %v", code, one)
	}
	tests := []struct {
		name  string
		extra map[string]any
		field string
	}{
		{name: "concurrency too high", extra: map[string]any{"max_in_flight": 1000}, field: "max_in_flight"},
		{name: "negative rate", extra: map[string]any{"rate_limit": -2}, field: "rate_limit"},
		{name: "timeout beyond the hub's", extra: map[string]any{"timeout_ms": 3600000}, field: "timeout_ms"},
		{name: "ordered and concurrent", extra: map[string]any{"ordered": true, "max_in_flight": 4}, field: "max_in_flight"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := map[string]any{"url": "http://127.0.0.1:9/in", "events": []string{"*"}}
			for k, v := range tc.extra {
				in[k] = v
			}
			code, res, _ := rig.srv.Call(t, "POST", "/api/v1/webhooks", "dev-key", in, nil)
			if code != 400 || !strings.Contains(res["detail"].(string), tc.field) {
				t.Fatalf("POST = %d %v, want 400 naming %s", code, res, tc.field)
			}
		})
	}
}
