package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/aquascene/aquahub/core"
)

// invoke runs one action on the hostile connector for tenant "t1".
func invoke(tb testing.TB, c *Catalog, action string, input any) (map[string]any, error) {
	tb.Helper()
	in, _ := json.Marshal(input)
	var m map[string]any
	_ = json.Unmarshal(in, &m)
	res, err := c.Execute(context.Background(), ActionCall{
		Tenant: "t1", RunID: "run-1", StepID: "s1",
		Connector: "hostile", Action: action, Input: m, IdempotencyKey: "run-1/s1", Attempt: 1,
	})
	return res.Output, err
}

func TestLoadRefusesFaultyModules(t *testing.T) {
	tests := []struct {
		name  string
		file  func(t *testing.T) string
		wants []string
	}{
		{"no marker", func(t *testing.T) string { return rawGuest(t, "nomarker") }, []string{"no hub_abi_v1 export"}},
		{"wrong ABI version", func(t *testing.T) string { return rawGuest(t, "v2") }, []string{"speaks hub_abi_v2"}},
		{"failing describe", func(t *testing.T) string { return rawGuest(t, "baddescribe") }, []string{"hub_describe", "describe exploded on purpose"}},
		{"not wasm", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "junk")
			os.WriteFile(p, []byte("#!/bin/sh\necho hi\n"), 0o644)
			return p
		}, []string{"not a valid WebAssembly module"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := openCatalog(t, Config{}, Deps{}, map[string]string{"broken.wasm": tt.file(t), "raw.wasm": rawGuest(t, "v1")}, true)
			if err == nil {
				t.Fatal("Open accepted a faulty module")
			}
			want := append([]string{"broken.wasm", "refused"}, tt.wants...)
			if !containsAll(err.Error(), want...) {
				t.Fatalf("error %q should mention %q", err, want)
			}
			infos := c.Connectors()
			if len(infos) != 1 || infos[0].ID != "raw" {
				t.Fatalf("the good module should still load; got %+v", infos)
			}
		})
	}
}

func TestInfiniteLoopStopsAtDeadline(t *testing.T) {
	const timeout = 300 * time.Millisecond
	const bound = 50 * time.Millisecond // the "deadline plus 50 ms"
	c, _ := openCatalog(t, Config{CallTimeout: time.Minute, PoolSize: 2}, Deps{}, map[string]string{"hostile.wasm": hostileGuest(t)}, false)
	// Two warm instances, so that no attempt below pays for instantiation.
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := invoke(t, c, "noop", map[string]any{}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()

	// What the issue bounds is the host's reaction: from the moment the deadline fires to the
	// moment the call returns. The caller's context carries the deadline, so it is known
	// exactly. On a loaded 2-core CI machine a single measurement can be delayed by the
	// scheduler (the timer goroutine, wazero's watcher goroutine or this one not running for
	// a while), which says nothing about the host; so the measurement is repeated and the
	// best of the attempts must meet the bound. A host that did not stop the loop at its
	// deadline fails every attempt (the loop never ends on its own), and one that stops it
	// late fails them all too.
	const attempts = 5
	best := time.Duration(1<<63 - 1)
	for i := range attempts {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		deadline, _ := ctx.Deadline()
		done := make(chan error, 1)
		go func() {
			_, err := c.Execute(ctx, ActionCall{Tenant: "t1", RunID: "run-1", StepID: "s1", Connector: "hostile", Action: "loop", Input: map[string]any{}})
			done <- err
		}()
		if i == 0 {
			// The hub keeps serving while one instance spins.
			if _, err := invoke(t, c, "noop", map[string]any{}); err != nil {
				t.Fatalf("noop during the loop: %v", err)
			}
		}
		var err error
		select {
		case err = <-done:
		case <-time.After(timeout + 30*time.Second):
			t.Fatal("the loop was not stopped at its deadline")
		}
		overrun := time.Since(deadline)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
			t.Fatalf("loop: want a deadline error, got %v", err)
		}
		if cls := core.Classify(err).Class; cls != core.ClassTransient {
			t.Fatalf("loop: class %s, want transient", cls)
		}
		best = min(best, overrun)
		if best <= bound {
			break
		}
	}
	if best > bound {
		t.Fatalf("best of %d: the loop returned %s after its deadline, want within %s", attempts, best, bound)
	}
	if _, err := invoke(t, c, "noop", map[string]any{}); err != nil {
		t.Fatalf("noop after the loop: %v", err)
	}
}

func TestUnboundedAllocationIsOutOfMemory(t *testing.T) {
	c, _ := openCatalog(t, Config{MemoryLimitPages: 256}, Deps{}, map[string]string{"hostile.wasm": hostileGuest(t)}, false)
	_, err := invoke(t, c, "alloc", map[string]any{})
	if err == nil || !strings.Contains(err.Error(), "out of memory") {
		t.Fatalf("alloc: want an out of memory error, got %v", err)
	}
	if cls := core.Classify(err).Class; cls != core.ClassTransient {
		t.Fatalf("alloc: class %s, want transient", cls)
	}
	if _, err := invoke(t, c, "noop", map[string]any{}); err != nil {
		t.Fatalf("noop after OOM: %v", err)
	}
	if n := counterValue(c.metrics.discarded.WithLabelValues("hostile", "oom")); n != 1 {
		t.Fatalf("discarded instances (oom) = %v, want 1", n)
	}
	if n := counterValue(c.metrics.instances.WithLabelValues("hostile")); n != 2 {
		t.Fatalf("instances created = %v, want 2 (the broken one replaced)", n)
	}
}

func TestPanicSurfacesItsMessage(t *testing.T) {
	c, _ := openCatalog(t, Config{}, Deps{}, map[string]string{"hostile.wasm": hostileGuest(t)}, false)
	_, err := invoke(t, c, "panic", map[string]any{"message": "kaboom 42"})
	if err == nil || !strings.Contains(err.Error(), "panic: kaboom 42") {
		t.Fatalf("want the panic text in the error, got %v", err)
	}
	if cls := core.Classify(err).Class; cls != core.ClassTransient {
		t.Fatalf("class %s, want transient", cls)
	}
	if _, err := invoke(t, c, "noop", map[string]any{}); err != nil {
		t.Fatalf("noop after panic: %v", err)
	}
}

func TestGuestSeesNoFilesOrEnvironment(t *testing.T) {
	t.Setenv("AQUAHUB_TEST_SECRET", "should-not-leak")
	c, _ := openCatalog(t, Config{}, Deps{}, map[string]string{"hostile.wasm": hostileGuest(t)}, false)
	out, err := invoke(t, c, "probe", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	if out["file"] != "" || out["file_err"] == "" {
		t.Fatalf("reading /etc/passwd should fail; got %v", out)
	}
	if env, _ := out["env"].([]any); len(env) != 0 || out["home"] != "" || out["dir"] != nil {
		t.Fatalf("guest should see no environment and no directories; got %v", out)
	}
}

func TestOversizedResultIsCutOff(t *testing.T) {
	c, _ := openCatalog(t, Config{MaxResponseBytes: 64 << 10}, Deps{}, map[string]string{"hostile.wasm": hostileGuest(t)}, false)
	_, err := invoke(t, c, "big", map[string]any{"bytes": 200_000})
	if err == nil || !containsAll(err.Error(), "exceeds the 65536 byte limit", "cut off") {
		t.Fatalf("want a size error, got %v", err)
	}
	if cls := core.Classify(err).Class; cls != core.ClassPermanent {
		t.Fatalf("class %s, want permanent", cls)
	}
	if _, err := invoke(t, c, "big", map[string]any{"bytes": 1000}); err != nil {
		t.Fatalf("small result after a big one: %v", err)
	}
}

// countingListener counts accepted connections.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

func loopbackServer(t *testing.T, h http.Handler) (*httptest.Server, *countingListener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = cl
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, cl
}

func TestEgressRules(t *testing.T) {
	target, hits := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			w.Write(make([]byte, 200_000))
			return
		}
		fmt.Fprintf(w, "auth=%s", r.Header.Get("Authorization"))
	}))
	port := target.Listener.Addr().(*net.TCPAddr).Port
	redirector, _ := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	}))
	lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
		switch host {
		case "evil.test":
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		case "meta.test":
			return []netip.Addr{netip.MustParseAddr("169.254.169.254")}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var mu sync.Mutex
	grants := map[string]TenantConfig{}
	c, _ := openCatalog(t, Config{MaxResponseBytes: 64 << 10}, Deps{
		LookupIP: lookup,
		Grants: func(tenant, _ string) (TenantConfig, bool) {
			mu.Lock()
			defer mu.Unlock()
			g, ok := grants[tenant]
			return g, ok
		},
	}, map[string]string{"hostile.wasm": hostileGuest(t)}, false)

	evil := fmt.Sprintf("http://evil.test:%d", port)
	tests := []struct {
		name  string
		grant []string
		url   string
		want  string // substring of the error
		// connects says the request is allowed to reach the listener.
		connects bool
	}{
		{"ungranted host", nil, "https://api.not-granted.test/v1", "not granted", false},
		{"loopback by number", nil, target.URL + "/x", "not granted", false},
		{"loopback by name", nil, fmt.Sprintf("http://localhost:%d/x", port), "not granted", false},
		{"loopback as a decimal number", []string{fmt.Sprintf("http://2130706433:%d", port)}, fmt.Sprintf("http://2130706433:%d/x", port), "non-canonical numeric address", false},
		{"metadata by number", nil, "http://169.254.169.254/latest/meta-data/", "not granted", false},
		{"granted name resolving to loopback", []string{evil}, evil + "/x", "loopback", false},
		{"granted name resolving to metadata", []string{"http://meta.test"}, "http://meta.test/latest/meta-data/", "cloud metadata", false},
		{"metadata granted literally is still refused", []string{"http://169.254.169.254"}, "http://169.254.169.254/latest/", "cloud metadata", false},
		{"redirect to an ungranted loopback port", []string{redirector.URL}, redirector.URL + "/?to=" + target.URL + "/x", "not granted", false},
		{"redirect to metadata", []string{redirector.URL}, redirector.URL + "/?to=http://169.254.169.254/latest/", "not granted", false},
		{"oversized response", []string{target.URL}, target.URL + "/big", "response_too_large", true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tenant := fmt.Sprintf("tenant%d", i)
			mu.Lock()
			grants[tenant] = TenantConfig{Egress: tt.grant, Secrets: map[string]string{"token": "tok-123456"}}
			mu.Unlock()
			before := hits.n.Load()
			_, err := c.Execute(context.Background(), ActionCall{Tenant: tenant, Connector: "hostile", Action: "fetch", Input: map[string]any{"url": tt.url}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want an error containing %q, got %v", tt.want, err)
			}
			if n := hits.n.Load() - before; n != 0 && !tt.connects {
				t.Fatalf("the loopback listener saw %d connections, want 0", n)
			}
		})
	}

	t.Run("granted loopback address with secret injection", func(t *testing.T) {
		mu.Lock()
		grants["ok"] = TenantConfig{Egress: []string{target.URL}, Secrets: map[string]string{"token": "tok-123456"}}
		mu.Unlock()
		out, err := c.Execute(context.Background(), ActionCall{Tenant: "ok", Connector: "hostile", Action: "fetch", Input: map[string]any{"url": target.URL + "/x"}})
		if err != nil {
			t.Fatal(err)
		}
		if out.Output["body"] != "auth=Bearer [redacted]" {
			t.Fatalf("body %q: the host should inject the secret and scrub it from the reply", out.Output["body"])
		}
		if n := counterValue(c.metrics.egress.WithLabelValues("hostile", "allowed")); n < 1 {
			t.Fatalf("allowed egress counter = %v", n)
		}
		if n := counterValue(c.metrics.egress.WithLabelValues("hostile", "denied")); n < 9 {
			t.Fatalf("denied egress counter = %v, want every denial counted", n)
		}
	})
}

func TestKVIsScopedAndCapped(t *testing.T) {
	c, _ := openCatalog(t, Config{MaxKVValueBytes: 16}, Deps{KV: newMemKV()}, map[string]string{"hostile.wasm": hostileGuest(t)}, false)
	exec := func(tenant string, in map[string]any) (map[string]any, error) {
		res, err := c.Execute(context.Background(), ActionCall{Tenant: tenant, Connector: "hostile", Action: "kv", Input: in})
		return res.Output, err
	}
	if out, err := exec("t1", map[string]any{"key": "cursor", "value": "abc"}); err != nil || out["value"] != "abc" {
		t.Fatalf("set: %v %v", out, err)
	}
	if out, err := exec("t1", map[string]any{"key": "cursor"}); err != nil || out["value"] != "abc" || out["found"] != true {
		t.Fatalf("get same tenant: %v %v", out, err)
	}
	if out, err := exec("t2", map[string]any{"key": "cursor"}); err != nil || out["found"] != false {
		t.Fatalf("another tenant must not see the value: %v %v", out, err)
	}
	if _, err := exec("t1", map[string]any{"key": "big", "value": strings.Repeat("v", 17)}); err == nil || !strings.Contains(err.Error(), "too_large") {
		t.Fatalf("oversized value: want too_large, got %v", err)
	}
}

func TestErrorKindsMapOntoStepErrors(t *testing.T) {
	c, _ := openCatalog(t, Config{}, Deps{}, map[string]string{"hostile.wasm": hostileGuest(t)}, false)
	tests := []struct {
		name       string
		kind       string
		class      core.ErrorClass
		retryAfter time.Duration
	}{
		{"invalid input", "invalid_input", core.ClassInvalidInput, 0},
		{"auth", "auth", core.ClassAuth, 0},
		{"not found", "not_found", core.ClassNotFound, 0},
		{"rate limited honours retry_after", "rate_limited", core.ClassRateLimited, 1500 * time.Millisecond},
		{"transient", "transient", core.ClassTransient, 0},
		{"permanent", "permanent", core.ClassPermanent, 0},
		{"untyped is transient", "untyped", core.ClassTransient, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := invoke(t, c, "fail", map[string]any{"kind": tt.kind, "retry_after_ms": 1500})
			se := core.Classify(err)
			if se.Class != tt.class {
				t.Fatalf("class %s, want %s (%v)", se.Class, tt.class, err)
			}
			if tt.retryAfter > 0 && se.RetryAfter != tt.retryAfter {
				t.Fatalf("retry after %s, want %s", se.RetryAfter, tt.retryAfter)
			}
			if !strings.Contains(err.Error(), "key run-1/s1") {
				t.Fatalf("the idempotency key should reach the connector: %v", err)
			}
		})
	}
	t.Run("invalid input names the field", func(t *testing.T) {
		_, err := invoke(t, c, "fail", map[string]any{"kind": "auth", "extra": 1})
		var fe *core.FieldError
		if !errors.As(err, &fe) || fe.Path != "extra" || core.Classify(err).Class != core.ClassInvalidInput {
			t.Fatalf("want a field error on extra, got %v", err)
		}
	})
	t.Run("unknown action", func(t *testing.T) {
		_, err := invoke(t, c, "nope", map[string]any{})
		if core.Classify(err).Class != core.ClassInvalidInput || !strings.Contains(err.Error(), "no action") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("unknown connector", func(t *testing.T) {
		_, err := c.Execute(context.Background(), ActionCall{Connector: "ghost", Action: "x"})
		if core.Classify(err).Class != core.ClassPermanent || !strings.Contains(err.Error(), "not loaded") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestCheckStep(t *testing.T) {
	c, _ := openCatalog(t, Config{}, Deps{}, map[string]string{"hostile.wasm": hostileGuest(t)}, false)
	tests := []struct {
		name      string
		connector string
		action    string
		with      map[string]any
		want      string
	}{
		{"valid", "hostile", "big", map[string]any{"bytes": 10}, ""},
		{"expression where a number is expected", "hostile", "big", map[string]any{"bytes": "${{ event.data.n }}"}, ""},
		{"wrong type", "hostile", "big", map[string]any{"bytes": "ten"}, "bytes: must be a integer"},
		{"unknown field", "hostile", "big", map[string]any{"bytse": 10}, `bytse`},
		{"missing field", "hostile", "fetch", map[string]any{}, "url: required field missing"},
		{"enum", "hostile", "fail", map[string]any{"kind": "weird"}, "kind: must be one of"},
		{"unknown action", "hostile", "nope", nil, `no action "nope"`},
		{"unknown connector", "ghost", "x", nil, `connector "ghost" is not loaded`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.CheckStep(tt.connector, tt.action, tt.with)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want error containing %q, got %v", tt.want, err)
			}
		})
	}
}

func TestReloadSwapsPoolAndFinishesInFlightCalls(t *testing.T) {
	dir := t.TempDir()
	c, _ := openCatalog(t, Config{Dir: dir}, Deps{}, map[string]string{"raw.wasm": rawGuest(t, "v1")}, false)
	v2 := rawGuest(t, "v2release")

	call := func(action string, in map[string]any) (map[string]any, error) {
		res, err := c.Execute(context.Background(), ActionCall{Connector: "raw", Action: action, Input: in})
		return res.Output, err
	}
	slow := make(chan map[string]any, 1)
	go func() {
		out, err := call("slow", map[string]any{"ms": 600})
		if err != nil {
			t.Error(err)
		}
		slow <- out
	}()
	// Wait until the slow call holds an instance.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if info := c.Connectors(); len(info) == 1 && info[0].Idle == 0 {
			break
		}
	}
	copyInto(t, dir, map[string]string{"raw.wasm": v2})
	rep, err := c.Reload(context.Background())
	if err != nil || len(rep.Loaded) != 1 {
		t.Fatalf("reload: %+v %v", rep, err)
	}
	out, err := call("echo", map[string]any{})
	if err != nil || out["version"] != "2.0.0" {
		t.Fatalf("after reload: %v %v", out, err)
	}
	if old := <-slow; old["version"] != "1.0.0" {
		t.Fatalf("the call in flight should finish on the old version, got %v", old)
	}
	if info := c.Connectors(); info[0].Version != "2.0.0" {
		t.Fatalf("listing shows %s", info[0].Version)
	}
	// Unchanged files are kept.
	rep, err = c.Reload(context.Background())
	if err != nil || len(rep.Unchanged) != 1 || len(rep.Loaded) != 0 {
		t.Fatalf("second reload: %+v %v", rep, err)
	}
	os.Remove(filepath.Join(dir, "raw.wasm"))
	if rep, _ = c.Reload(context.Background()); len(rep.Removed) != 1 {
		t.Fatalf("removal: %+v", rep)
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}
