package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aquascene/aquahub/sdk/netguard"
	"github.com/aquascene/aquahub/internal/webhooks"
	"github.com/aquascene/aquahub/internal/inbound"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

type webhookAPI struct {
	srv *Server
	svc *webhooks.Service
}

func newWebhookAPI(tb testing.TB) *webhookAPI {
	tb.Helper()
	st, eng := newTestEngine(tb)
	svc, err := webhooks.New(webhooks.Options{DB: st.DB(), Events: st, Publisher: eng,
		Policy: netguard.Policy{AllowHTTP: true, AllowLoopback: true}})
	if err != nil {
		tb.Fatal(err)
	}
	// The seed guide's /webhooks/content-updates: X-Signature-256 = sha256=<hex HMAC of the raw body>.
	src, err := inbound.NewSource("aquascene", "content-updates", inbound.Spec{
		Verifier: "hmac", Secret: "seed-secret", Header: "X-Signature-256", Prefix: "sha256=",
		Type: `"content." + body.event`, Subject: "body.data.content_id", Data: "body.data",
	})
	if err != nil {
		tb.Fatal(err)
	}
	recv, err := inbound.NewReceiver(inbound.ReceiverOptions{DB: st.DB(), Publisher: eng}, src)
	if err != nil {
		tb.Fatal(err)
	}
	keys := testKeys()
	srv := New(Options{Engine: eng, Auth: keys, Features: []Routes{WebhookRoutes(svc)}, Public: []Routes{HookRoutes(recv)}})
	return &webhookAPI{srv: srv, svc: svc}
}

func (a *webhookAPI) call(tb testing.TB, method, path, key string, body any, header map[string]string) (int, map[string]any) {
	tb.Helper()
	status, out, _ := callAPI(tb, a.srv, method, path, key, body, header)
	return status, out
}

func seedSignature(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// TestWebhooksEndToEnd registers an endpoint through the API, posts a signed inbound webhook,
// and checks the resulting event reaches the endpoint signed, with the attempt in the log.
func TestWebhooksEndToEnd(t *testing.T) {
	a := newWebhookAPI(t)
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

	code, created := a.call(t, "POST", "/api/v1/webhooks", "dev-key", map[string]any{"url": receiver.URL + "/in", "events": []string{"content.*"}}, nil)
	if code != 201 || created["webhook_id"] == nil || !strings.HasPrefix(created["secret"].(string), "whsec_") || created["status"] != "registered" {
		t.Fatalf("POST /webhooks = %d %v", code, created)
	}
	id, secret := created["id"].(string), created["secret"].(string)
	code, one := a.call(t, "GET", "/api/v1/webhooks/"+id, "dev-key", nil, nil)
	if code != 200 || one["secret"] != nil {
		t.Fatalf("GET /webhooks/{id} = %d %v (the secret must not be shown again)", code, one)
	}
	if code, _ := a.call(t, "GET", "/api/v1/webhooks/"+id, "other-key", nil, nil); code != 404 {
		t.Fatalf("other tenant GET = %d, want 404", code)
	}
	if code, _ := a.call(t, "GET", "/api/v1/webhooks", "", nil, nil); code != 401 {
		t.Fatalf("GET without a key = %d, want 401", code)
	}

	payload := []byte(`{"event":"updated","data":{"content_id":"gen-1","status":"approved"}}`)
	hook := map[string]string{"X-Signature-256": seedSignature("seed-secret", payload)}
	code, res := a.call(t, "POST", "/hooks/aquascene/content-updates", "", string(payload), hook)
	if code != 202 || res["status"] != "accepted" {
		t.Fatalf("signed inbound hook = %d %v", code, res)
	}
	if code, res := a.call(t, "POST", "/hooks/aquascene/content-updates", "", string(payload), hook); code != 202 || res["status"] != "duplicate" {
		t.Fatalf("repeated inbound hook = %d %v, want 202 duplicate", code, res)
	}
	bad := map[string]string{"X-Signature-256": seedSignature("wrong", payload)}
	if code, res := a.call(t, "POST", "/hooks/aquascene/content-updates", "", string(payload), bad); code != 401 || res["status"] != float64(401) {
		t.Fatalf("badly signed hook = %d %v, want 401 problem", code, res)
	}
	if code, _ := a.call(t, "POST", "/hooks/aquascene/content-updates", "", string(payload), nil); code != 401 {
		t.Fatalf("unsigned hook = %d, want 401", code)
	}
	if code, _ := a.call(t, "POST", "/hooks/aquascene/nope", "", string(payload), hook); code != 404 {
		t.Fatalf("unknown source = %d, want 404", code)
	}

	ctx := context.Background()
	if _, err := a.svc.FanOut(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.DeliverDue(ctx); err != nil {
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

	code, dl := a.call(t, "GET", "/api/v1/webhooks/"+id+"/deliveries", "dev-key", nil, nil)
	ds, _ := dl["deliveries"].([]any)
	if code != 200 || len(ds) != 1 || ds[0].(map[string]any)["state"] != "succeeded" {
		t.Fatalf("deliveries = %d %v", code, dl)
	}
	if code, _ := a.call(t, "POST", "/api/v1/webhooks/"+id+"/deliveries/"+msgID+"/replay", "dev-key", nil, nil); code != 202 {
		t.Fatalf("replay = %d, want 202", code)
	}
	if code, _ := a.call(t, "POST", "/api/v1/webhooks/"+id+"/deliveries/"+msgID+"/replay", "dev-key", nil, nil); code != 409 {
		t.Fatalf("replay of a pending message = %d, want 409", code)
	}
	if code, res := a.call(t, "POST", "/api/v1/webhooks/"+id+"/recover", "dev-key", map[string]any{"since": "yesterday"}, nil); code != 400 {
		t.Fatalf("recover with a bad time = %d %v", code, res)
	}
	if code, res := a.call(t, "POST", "/api/v1/webhooks/"+id+"/recover", "dev-key", map[string]any{"since": time.Now().Add(-time.Hour).Format(time.RFC3339)}, nil); code != 202 || res["queued"] != float64(0) {
		t.Fatalf("recover = %d %v", code, res)
	}
	code, rot := a.call(t, "POST", "/api/v1/webhooks/"+id+"/rotate", "dev-key", nil, nil)
	if code != 200 || rot["secret"] == secret || rot["rotation_ends_at"] == nil {
		t.Fatalf("rotate = %d %v", code, rot)
	}
	if code, res := a.call(t, "PUT", "/api/v1/webhooks/"+id, "dev-key", map[string]any{"url": "http://169.254.169.254/", "events": []string{"*"}}, nil); code != 400 {
		t.Fatalf("PUT with a metadata URL = %d %v", code, res)
	}
	if code, _ := a.call(t, "DELETE", "/api/v1/webhooks/"+id, "dev-key", nil, nil); code != 200 {
		t.Fatalf("DELETE = %d", code)
	}
}

func TestWebhookRoutesAreDocumented(t *testing.T) {
	a := newWebhookAPI(t)
	for _, r := range a.srv.App().GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/api/v1/webhooks") && !strings.HasPrefix(r.Path, "/hooks") {
			continue
		}
		if !a.srv.Document().Has(r.Method, r.Path) {
			t.Errorf("%s %s is not in the OpenAPI document", r.Method, r.Path)
		}
	}
}
