package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/httpapi"
	"github.com/aquascene/aquahub/internal/metrics"
	"github.com/aquascene/aquahub/internal/storage/bolt"
	"github.com/aquascene/aquahub/rules"
)

type testServer struct {
	srv   *httpapi.Server
	store *bolt.Store
	eng   *core.Engine
}

func newServer(t *testing.T, bodyLimit int) *testServer {
	t.Helper()
	set, err := rules.Parse(map[string][]byte{"r.yaml": []byte(`
rules:
  - id: note
    on: content.*
    steps:
      - id: log
        log: { message: "${{ event.type }}", level: debug }
`)}, []string{"r.yaml"}, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := bolt.Open(filepath.Join(t.TempDir(), "db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := metrics.New()
	m.WatchQueue(st)
	eng, err := core.NewEngine(core.EngineOptions{Store: st, Rules: set, Logger: quiet, Observer: m})
	if err != nil {
		t.Fatal(err)
	}
	keys := httpapi.NewAPIKeys()
	keys.Add("acme-key", "acme", "admin")
	keys.Add("other-key", "other", "admin")
	keys.Add("viewer-key", "acme", "viewer")
	srv := httpapi.New(httpapi.Options{Engine: eng, Auth: keys, BodyLimit: bodyLimit, Logger: quiet, Metrics: m})
	t.Cleanup(func() { st.Close() })
	return &testServer{srv: srv, store: st, eng: eng}
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (ts *testServer) do(t *testing.T, method, path, key, ctype, body string, headers ...string) answer {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := ts.srv.App().Test(req, 10_000)
	if err != nil && strings.Contains(err.Error(), "body size exceeds") {
		// fiber's in-memory test transport stops before the server answers; ask a real
		// listener so the client sees what a real client would.
		resp, err = ts.overTheWire(req, body)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func (ts *testServer) overTheWire(req *http.Request, body string) (*http.Response, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go ts.srv.Serve(ln)
	defer ln.Close()
	out, err := http.NewRequest(req.Method, "http://"+ln.Addr().String()+req.URL.Path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	out.Header = req.Header
	return http.DefaultClient.Do(out)
}

const ce = "application/cloudevents+json"

func event(id string) string {
	return `{"specversion":"1.0","id":"` + id + `","source":"app","type":"content.requested","data":{"topic":"CO2"}}`
}

func TestIngestStructuredAndFetch(t *testing.T) {
	ts := newServer(t, 0)
	a := ts.do(t, "POST", "/api/v1/events", "acme-key", ce, event("e1"))
	if a.status != 202 || a.body["id"] != "e1" || len(a.body["runs"].([]any)) != 1 {
		t.Fatalf("ingest: %d %s", a.status, a.raw)
	}
	got := ts.do(t, "GET", "/api/v1/events/e1", "acme-key", "", "")
	if got.status != 200 || !strings.Contains(got.raw, `"topic":"CO2"`) || len(got.body["runs"].([]any)) != 1 {
		t.Fatalf("fetch: %d %s", got.status, got.raw)
	}
	if other := ts.do(t, "GET", "/api/v1/events/e1", "other-key", "", ""); other.status != 404 {
		t.Fatalf("another tenant must get 404, got %d", other.status)
	}
}

func TestIngestBatchAndBinary(t *testing.T) {
	ts := newServer(t, 0)
	a := ts.do(t, "POST", "/api/v1/events", "acme-key", "application/cloudevents-batch+json", "["+event("b1")+","+event("b2")+"]")
	if a.status != 202 || len(a.body["events"].([]any)) != 2 {
		t.Fatalf("batch: %d %s", a.status, a.raw)
	}
	b := ts.do(t, "POST", "/api/v1/events", "acme-key", "application/json", `{"topic":"moss"}`,
		"ce-specversion", "1.0", "ce-id", "bin1", "ce-source", "app", "ce-type", "content.requested", "ce-traceparent", "00-abc")
	if b.status != 202 || b.body["id"] != "bin1" {
		t.Fatalf("binary: %d %s", b.status, b.raw)
	}
	got := ts.do(t, "GET", "/api/v1/events/bin1", "acme-key", "", "")
	if !strings.Contains(got.raw, `"topic":"moss"`) || !strings.Contains(got.raw, `traceparent`) {
		t.Fatalf("binary event stored wrong: %s", got.raw)
	}
}

func TestIngestBadInput(t *testing.T) {
	ts := newServer(t, 2048)
	tests := []struct {
		name   string
		key    string
		ctype  string
		body   string
		status int
		field  string
		detail string
	}{
		{"malformed JSON", "acme-key", ce, `{"id":`, 400, "", "malformed JSON"},
		{"missing id", "acme-key", ce, `{"specversion":"1.0","source":"s","type":"t"}`, 400, "id", "required"},
		{"missing source", "acme-key", ce, `{"specversion":"1.0","id":"1","type":"t"}`, 400, "source", "required"},
		{"missing type", "acme-key", ce, `{"specversion":"1.0","id":"1","source":"s"}`, 400, "type", "required"},
		{"missing specversion", "acme-key", ce, `{"id":"1","source":"s","type":"t"}`, 400, "specversion", "required"},
		{"unsupported specversion", "acme-key", ce, `{"specversion":"0.3","id":"1","source":"s","type":"t"}`, 400, "specversion", "unsupported"},
		{"unknown attribute", "acme-key", ce, `{"specversion":"1.0","id":"1","source":"s","type":"t","Tenant":"evil"}`, 400, "Tenant", "unknown attribute"},
		{"batch item invalid", "acme-key", "application/cloudevents-batch+json", "[" + event("ok") + `,{"specversion":"1.0","id":"2","source":"s"}]`, 400, "[1].type", "required"},
		{"empty batch", "acme-key", "application/cloudevents-batch+json", `[]`, 400, "", "empty batch"},
		{"unknown content type", "acme-key", "text/plain", "hello", 415, "", "not accepted"},
		{"no content type", "acme-key", "", "hello", 415, "", "not accepted"},
		{"body over the limit", "acme-key", ce, `{"specversion":"1.0","id":"big","source":"s","type":"t","data":"` + strings.Repeat("x", 4096) + `"}`, 413, "", "body limit"},
		{"missing API key", "", ce, event("x"), 401, "", "missing credential"},
		{"unknown API key", "nope", ce, event("x"), 401, "", "unknown API key"},
		{"viewer cannot write", "viewer-key", ce, event("x"), 403, "", "write_content"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := ts.do(t, "POST", "/api/v1/events", tc.key, tc.ctype, tc.body)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %s", a.status, tc.status, a.raw)
			}
			if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("content type %q, want application/problem+json", ct)
			}
			if !strings.Contains(a.raw, tc.detail) {
				t.Fatalf("answer %s does not say %q", a.raw, tc.detail)
			}
			if tc.field != "" && !strings.Contains(a.raw, `"field":"`+tc.field+`"`) {
				t.Fatalf("answer %s does not name field %q", a.raw, tc.field)
			}
		})
	}
	st, _ := ts.store.Stats(context.Background())
	if st.Events != 0 || st.Queued != 0 {
		t.Fatalf("bad input stored something: %+v", st)
	}
}

func TestDuplicatesAndIdempotencyKey(t *testing.T) {
	ts := newServer(t, 0)
	first := ts.do(t, "POST", "/api/v1/events", "acme-key", ce, event("d1"))
	again := ts.do(t, "POST", "/api/v1/events", "acme-key", ce, event("d1"))
	if again.status != 202 || again.body["seq"] != first.body["seq"] || again.body["duplicate"] != true {
		t.Fatalf("duplicate: %s vs %s", again.raw, first.raw)
	}
	k1 := ts.do(t, "POST", "/api/v1/events", "acme-key", ce, event("i1"), "Idempotency-Key", "req-1")
	k2 := ts.do(t, "POST", "/api/v1/events", "acme-key", ce, event("i2"), "Idempotency-Key", "req-1")
	if k2.raw != k1.raw || k2.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("idempotency key: %s vs %s", k2.raw, k1.raw)
	}
	if got := ts.do(t, "GET", "/api/v1/events/i2", "acme-key", "", ""); got.status != 404 {
		t.Fatalf("replayed request stored its body: %d", got.status)
	}
	runs, _ := ts.store.Runs(context.Background(), "acme", core.RunFilter{})
	if len(runs) != 2 {
		t.Fatalf("want 2 runs (d1, i1), got %d", len(runs))
	}
}

func TestRunsAndDLQEndpoints(t *testing.T) {
	ts := newServer(t, 0)
	if err := ts.eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		ts.eng.Drain(ctx)
	}()
	acc := ts.do(t, "POST", "/api/v1/events", "acme-key", ce, event("r1"))
	runID := acc.body["runs"].([]any)[0].(string)
	deadline := time.Now().Add(5 * time.Second)
	for {
		a := ts.do(t, "GET", "/api/v1/runs/"+runID, "acme-key", "", "")
		if a.body["status"] == "succeeded" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run did not succeed: %s", a.raw)
		}
		time.Sleep(10 * time.Millisecond)
	}
	list := ts.do(t, "GET", "/api/v1/runs?status=succeeded", "acme-key", "", "")
	if list.status != 200 || len(list.body["runs"].([]any)) != 1 {
		t.Fatalf("list: %s", list.raw)
	}
	if bad := ts.do(t, "GET", "/api/v1/runs?status=done", "acme-key", "", ""); bad.status != 400 || !strings.Contains(bad.raw, `"field":"status"`) {
		t.Fatalf("bad filter: %d %s", bad.status, bad.raw)
	}
	if bad := ts.do(t, "GET", "/api/v1/runs?limit=0", "acme-key", "", ""); bad.status != 400 {
		t.Fatalf("bad limit: %d %s", bad.status, bad.raw)
	}
	if r := ts.do(t, "POST", "/api/v1/dlq/"+runID+"/replay", "acme-key", "", ""); r.status != 409 {
		t.Fatalf("replaying a succeeded run: want 409, got %d %s", r.status, r.raw)
	}
	if r := ts.do(t, "DELETE", "/api/v1/dlq/"+runID, "other-key", "", ""); r.status != 404 {
		t.Fatalf("discard across tenants: want 404, got %d", r.status)
	}
	if r := ts.do(t, "POST", "/api/v1/dlq/"+runID+"/replay", "viewer-key", "", ""); r.status != 403 {
		t.Fatalf("viewer replay: want 403, got %d", r.status)
	}
	if r := ts.do(t, "GET", "/api/v1/dlq", "acme-key", "", ""); r.status != 200 || len(r.body["runs"].([]any)) != 0 {
		t.Fatalf("dlq: %s", r.raw)
	}
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	ts := newServer(t, 0)
	a := ts.do(t, "GET", "/openapi.json", "", "", "")
	if a.status != 200 || a.body["openapi"] != "3.1.0" {
		t.Fatalf("openapi: %d", a.status)
	}
	paths := a.body["paths"].(map[string]any)
	for _, r := range ts.srv.App().GetRoutes(true) {
		if r.Method == "HEAD" || r.Path == "/" || strings.HasSuffix(r.Path, "*") {
			continue
		}
		p := r.Path
		for _, seg := range strings.Split(p, "/") {
			if strings.HasPrefix(seg, ":") {
				p = strings.Replace(p, seg, "{"+seg[1:]+"}", 1)
			}
		}
		item, ok := paths[p].(map[string]any)
		if !ok || item[strings.ToLower(r.Method)] == nil {
			t.Errorf("route %s %s is not in /openapi.json", r.Method, r.Path)
		}
	}
}

func TestHealthAndMetrics(t *testing.T) {
	ts := newServer(t, 0)
	if a := ts.do(t, "GET", "/healthz", "", "", ""); a.status != 200 {
		t.Fatalf("healthz %d", a.status)
	}
	if a := ts.do(t, "GET", "/readyz", "", "", ""); a.status != 200 {
		t.Fatalf("readyz %d", a.status)
	}
	ts.do(t, "POST", "/api/v1/events", "acme-key", ce, event("m1"))
	m := ts.do(t, "GET", "/metrics", "", "", "")
	for _, want := range []string{`aquahub_events_accepted_total{tenant="acme"} 1`, "aquahub_queue_depth 1", "aquahub_dlq_size 0"} {
		if !strings.Contains(m.raw, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if a := ts.do(t, "GET", "/nope", "", "", ""); a.status != 404 || a.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("unknown route: %d %s", a.status, a.raw)
	}
}
