package plugins

// The hostile suite's resource and identity half: each test is an attack a connector
// module can make on the host's CPU, memory, disk, log or identity, and checks that the
// attack fails and that the hub keeps serving.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/plugins/internal/wasmgen"
)

// stillServes fails the test unless the catalog still runs an action of connector id.
func stillServes(tb testing.TB, c *Catalog, id, action string) {
	tb.Helper()
	if _, err := c.Execute(context.Background(), ActionCall{Tenant: "t1", Connector: id, Action: action, Input: map[string]any{}}); err != nil {
		tb.Fatalf("the hub stopped serving %s.%s: %v", id, action, err)
	}
}

// refusal returns the refusal of the file named name in rep, failing the test if there is
// none.
func refusal(tb testing.TB, rep ReloadReport, name string) Refusal {
	tb.Helper()
	for _, r := range rep.Refused {
		if filepath.Base(r.File) == name {
			return r
		}
	}
	tb.Fatalf("%s was not refused: %+v", name, rep)
	return Refusal{}
}

// A guest's pattern is compiled once, at load, within bounds; a pattern over them refuses
// the module, and validating an input is bounded by the call's budget.
func TestGuestPatternsAreBounded(t *testing.T) {
	// The pattern of the finding: 200 repetitions of a thousand-fold class, which the host
	// compiled on every call (10.9 s of CPU for one 1 KB input).
	huge := rawWith(t, "hugepattern", map[string]string{"id": "huge", "pattern": strings.Repeat(`(?:[\p{L}\p{N}]{1,1000})`, 40)})
	costly := rawWith(t, "costlypattern", map[string]string{"id": "costly", "pattern": `^(?:[\p{L}\p{N}]{1,1000})x$`})
	dir := t.TempDir()
	c, err := openCatalog(t, Config{Dir: dir}, Deps{}, map[string]string{"huge.wasm": huge, "costly.wasm": costly, "raw.wasm": rawGuest(t, "v1")}, true)
	if err == nil || !containsAll(err.Error(), "huge.wasm", "refused", ".pattern: pattern compiles to about", "over the limit of 10000") {
		t.Fatalf("a pattern beyond the limits should refuse its module at load, got %v", err)
	}
	stillServes(t, c, "raw", "echo")

	call := func(s string) error {
		_, err := c.Execute(context.Background(), ActionCall{Tenant: "t1", Connector: "costly", Action: "match", Input: map[string]any{"s": s}})
		return err
	}
	if err := call("abcx"); err != nil {
		t.Fatalf("a cheap input: %v", err)
	}
	// 2000 instructions times 20001 bytes is four times the default budget.
	err = call(strings.Repeat("a", 20000))
	if err == nil || !containsAll(err.Error(), "s: input too costly to validate", "validation budget") {
		t.Fatalf("an input over the validation budget: %v", err)
	}
	if cls := core.Classify(err).Class; cls != core.ClassInvalidInput {
		t.Fatalf("class %s, want invalid_input: the same input always costs the same", cls)
	}
	stillServes(t, c, "costly", "echo")
}

// A declared rate limit keyed by paths the guest invents holds a bounded number of buckets
// of bounded size, and a rate below the floor refuses the module.
func TestRateLimitBucketsAreBounded(t *testing.T) {
	srv, _ := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	tiny := buildGuest(t, "hostile-ratelimit-tiny", "./plugins/testdata/hostile", "-ldflags=-s -w -X main.rateLimit=0.001/1/16")
	c, _ := openCatalog(t, Config{RateLimitBuckets: 8}, Deps{
		Grants: func(string, string) (TenantConfig, bool) {
			return TenantConfig{Egress: []string{srv.URL}, Secrets: map[string]string{"token": "tok-123456"}}, true
		},
	}, map[string]string{"hostile.wasm": tiny}, false)
	long := strings.Repeat("p", 64<<10)
	for i := range 50 {
		_, err := c.Execute(context.Background(), ActionCall{Tenant: "t1", Connector: "hostile", Action: "fetch",
			Input: map[string]any{"url": fmt.Sprintf("%s/%d/%s", srv.URL, i, long)}})
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if n := c.limiters.Len("t1\x00hostile"); n > 8 {
		t.Fatalf("%d buckets held for one tenant and connector, want at most rate_limit_buckets (8)", n)
	}
	stillServes(t, c, "hostile", "noop")

	floor := buildGuest(t, "hostile-ratelimit-floor", "./plugins/testdata/hostile", "-ldflags=-s -w -X main.rateLimit=0.0001/1/0")
	_, err := openCatalog(t, Config{}, Deps{}, map[string]string{"hostile.wasm": floor}, true)
	if err == nil || !strings.Contains(err.Error(), "rate_limits[0].per_second: must be at least 0.001") {
		t.Fatalf("a rate below the floor: %v", err)
	}
}

// A module dropped into the directory under another name cannot take over a connector by
// claiming its id, and a tenant's pin keeps its settings from a module it did not pin.
func TestIdentityBelongsToTheOperator(t *testing.T) {
	original, impostor := hostileGuest(t), impostorGuest(t)
	originalHash := fileHash(t, original)
	dir := t.TempDir()
	kv := newMemKV()
	tenants := map[string]map[string]TenantConfig{"t1": {"hostile": {Secrets: map[string]string{"token": "tok-123456"}, SHA256: originalHash}}}
	copyInto(t, dir, map[string]string{"hostile.wasm": original})
	m, err := New(context.Background(), Config{Dir: dir, CacheDir: testCacheDir(t)}, Deps{KV: kv, Logger: quietLogger(), Grants: StaticGrants(tenants), Pins: StaticPins(tenants)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	c := m.Catalog()
	exec := func(action string, in map[string]any) (map[string]any, error) {
		res, err := c.Execute(context.Background(), ActionCall{Tenant: "t1", Connector: "hostile", Action: action, Input: in})
		return res.Output, err
	}
	if _, err := exec("kv", map[string]any{"key": "cursor", "value": "secret-state"}); err != nil {
		t.Fatal(err)
	}

	// The finding: 0-partner.wasm sorts first and claims the id; so would a module under
	// any other name.
	copyInto(t, dir, map[string]string{"0-partner.wasm": impostor, "a-partner.wasm": impostor})
	rep, err := c.Reload(context.Background())
	if err == nil || !containsAll(err.Error(), `"0-partner.wasm" is not a connector id`,
		`a-partner.wasm: refused: its manifest claims id "hostile", but the operator named it "a-partner"`) {
		t.Fatalf("reload: %v, want the impostors refused", err)
	}
	if r := refusal(t, rep, "a-partner.wasm"); !r.New || r.Connector != "a-partner" {
		t.Fatalf("refusal %+v", r)
	}
	serving := func() ConnectorInfo {
		t.Helper()
		infos := c.Connectors()
		if len(infos) != 1 {
			t.Fatalf("connectors %+v", infos)
		}
		return infos[0]
	}
	if info := serving(); info.SHA256 != originalHash || info.Version != "1.0.0" {
		t.Fatalf("the impostor displaced the connector: %+v", info)
	}
	if out, err := exec("kv", map[string]any{"key": "cursor"}); err != nil || out["value"] != "secret-state" {
		t.Fatalf("the connector lost its kv: %v %v", out, err)
	}

	// Every reload reports the refusal, without trying the file again.
	rep, err = c.Reload(context.Background())
	if err != nil {
		t.Fatalf("a reload with nothing new refused: %v", err)
	}
	if r := refusal(t, rep, "a-partner.wasm"); r.New {
		t.Fatalf("the unchanged impostor was tried again: %+v", r)
	}

	// The operator's own file replaced by another build: refused, since the tenant pins
	// the digest; the pinned version keeps serving.
	copyInto(t, dir, map[string]string{"hostile.wasm": impostor})
	_, err = c.Reload(context.Background())
	if err == nil || !containsAll(err.Error(), "hostile.wasm", "is not the "+originalHash, `tenant "t1" pins`) {
		t.Fatalf("reload of an unpinned replacement: %v", err)
	}
	if info := serving(); info.SHA256 != originalHash {
		t.Fatalf("a module the tenant did not pin replaced the pinned one: %+v", info)
	}
	stillServes(t, c, "hostile", "noop")
}

func fileHash(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// One call cannot fill the hub's disk: kv holds a quota per tenant and connector, checked
// in the store's write, reported in metrics and in the listing.
func TestKVQuotaBoundsAConnector(t *testing.T) {
	kv := newMemKV()
	c, _ := openCatalog(t, Config{KVQuotaKeys: 5, KVQuotaBytes: 64 << 10}, Deps{KV: kv}, map[string]string{"hostile.wasm": hostileGuest(t)}, false)
	flood := func(tenant string, count, size int) map[string]any {
		t.Helper()
		res, err := c.Execute(context.Background(), ActionCall{Tenant: tenant, Connector: "hostile", Action: "kvflood", Input: map[string]any{"count": count, "bytes": size}})
		if err != nil {
			t.Fatal(err)
		}
		return res.Output
	}
	// The finding: thousands of 64 KiB values in one call.
	out := flood("t1", 7000, 60<<10)
	if out["done"] != float64(1) || !strings.Contains(out["err"].(string), "quota_exceeded") {
		t.Fatalf("bytes quota: the guest stored %v values (%v), want 1 then quota_exceeded", out["done"], out["err"])
	}
	out = flood("t2", 7000, 10)
	if out["done"] != float64(5) || !strings.Contains(out["err"].(string), "quota_exceeded") {
		t.Fatalf("keys quota: the guest stored %v values (%v), want 5", out["done"], out["err"])
	}
	for _, tenant := range []string{"t1", "t2"} {
		u, _ := kv.Usage(context.Background(), KVScope{Tenant: tenant, Connector: "hostile"})
		if u.Keys > 5 || u.Bytes > 64<<10 {
			t.Fatalf("tenant %s holds %+v, over the quota", tenant, u)
		}
	}
	if n := counterValue(c.metrics.kvRefused.WithLabelValues("t1", "hostile")); n != 1 {
		t.Fatalf("refused kv_set counter = %v, want 1", n)
	}
	info := c.Connectors()[0]
	if len(info.KV) != 2 || info.KV[1] != (TenantKV{Tenant: "t2", KVUsage: KVUsage{Keys: 5, Bytes: 5 * (7 + 10)}, Quota: KVQuota{Keys: 5, Bytes: 64 << 10}}) {
		t.Fatalf("listing kv %+v", info.KV)
	}
	metrics := gather(t, c)
	if !strings.Contains(metrics, `aquahub_connector_kv_keys{connector="hostile",tenant="t2"} 5`) ||
		!strings.Contains(metrics, `aquahub_connector_kv_quota_keys 5`) {
		t.Fatalf("kv usage missing from metrics:\n%s", metrics)
	}
	stillServes(t, c, "hostile", "noop")
}

// gather renders the catalog's metrics in the text format.
func gather(tb testing.TB, c *Catalog) string {
	tb.Helper()
	reg := prometheus.NewPedanticRegistry()
	for _, col := range c.Collectors() {
		if err := reg.Register(col); err != nil {
			tb.Fatal(err)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	var b strings.Builder
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := []string{}
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			if len(labels) == 0 {
				fmt.Fprintf(&b, "%s %v\n", f.GetName(), v)
			} else {
				fmt.Fprintf(&b, "%s{%s} %v\n", f.GetName(), strings.Join(labels, ","), v)
			}
		}
	}
	return b.String()
}

// logRecorder counts what reaches the hub's log.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
	bytes int
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b bytes.Buffer
	slog.NewTextHandler(&b, nil).Handle(context.Background(), r)
	h.mu.Lock()
	h.lines = append(h.lines, b.String())
	h.bytes += b.Len()
	h.mu.Unlock()
	return nil
}
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

// A guest cannot flood the hub's log: each call and each second have a byte budget, what
// is over it is dropped and counted, and every field the host logs for a guest is cut.
func TestLogIsBudgeted(t *testing.T) {
	h := &logRecorder{}
	c, _ := openCatalog(t, Config{LogBytesPerCall: 16 << 10, LogBytesPerSecond: 32 << 10}, Deps{Logger: slog.New(h)},
		map[string]string{"hostile.wasm": hostileGuest(t)}, false)
	if _, err := c.Execute(context.Background(), ActionCall{Tenant: "t1", Connector: "hostile", Action: "logflood",
		Input: map[string]any{"count": 10000, "bytes": 4 << 10}}); err != nil {
		t.Fatal(err)
	}
	// 40 MB asked; one call's budget (16 KiB of records, a few lines of host fields each)
	// and one warning reach the log.
	if h.bytes > 64<<10 {
		t.Fatalf("%d bytes reached the log from one call, want about the 16 KiB budget", h.bytes)
	}
	if n := counterValue(c.metrics.logRecords.WithLabelValues("hostile")); n < 9990 {
		t.Fatalf("dropped records counted %v, want nearly 10000", n)
	}
	if last := h.lines[len(h.lines)-1]; !strings.Contains(last, "connector log records dropped over the log budget") {
		t.Fatalf("no report of the dropped records: %q", last)
	}
	for _, l := range h.lines {
		if len(l) > 2*maxLoggedField+512 {
			t.Fatalf("a log line of %d bytes: every guest field should be cut to %d", len(l), maxLoggedField)
		}
	}

	// The per-second budget holds across calls.
	before := h.bytes
	for range 20 {
		c.Execute(context.Background(), ActionCall{Tenant: "t1", Connector: "hostile", Action: "logflood", Input: map[string]any{"count": 10, "bytes": 1 << 10}})
	}
	if got := h.bytes - before; got > 4*(32<<10)+64<<10 {
		t.Fatalf("%d bytes reached the log from 20 calls, over the per-second budget's burst", got)
	}

	// The egress denial names the guest's URL, cut.
	h.mu.Lock()
	h.lines, h.bytes = nil, 0
	h.mu.Unlock()
	c.Execute(context.Background(), ActionCall{Tenant: "t1", Connector: "hostile", Action: "fetch",
		Input: map[string]any{"url": "https://not-granted.test/" + strings.Repeat("u", 7<<20)}})
	if h.bytes > 16<<10 {
		t.Fatalf("the egress denial wrote %d bytes to the log; the guest's URL should be cut", h.bytes)
	}
	stillServes(t, c, "hostile", "noop")
}

// Modules built to exhaust the compiler are refused before it runs; a compilation that
// passes the scan still runs in a child process bounded in memory and time.
func TestLoadTimeCostsAreBounded(t *testing.T) {
	manyLocals := make([]wasmgen.Func, 200)
	for i := range manyLocals {
		manyLocals[i] = wasmgen.Func{Locals: []wasmgen.Locals{{Count: 50000, Type: wasmgen.I64}}}
	}
	write := func(t *testing.T, dir, name string, b []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		cfg    Config
		module []byte
		child  bool
		want   []string
	}{
		{name: "locals of the finding: 500M in one function",
			module: wasmgen.Module(0, wasmgen.Func{Locals: []wasmgen.Locals{{Count: 500_000_000, Type: wasmgen.I64}}}),
			want:   []string{"function 0: locals 500000000 exceed the limit of 50000", "connectors.max_function_locals"}},
		{name: "locals spread over many functions", module: wasmgen.Module(0, manyLocals...),
			want: []string{"locals of all functions 1050000 exceed the limit of 1000000", "connectors.max_total_locals"}},
		{name: "nested blocks of the finding: 100k", module: wasmgen.Module(0, wasmgen.Func{Body: wasmgen.Nested(100_000)}),
			want: []string{"nested blocks 10001 exceed the limit of 10000", "connectors.max_nesting"}},
		{name: "module over the size cap", cfg: Config{MaxModuleBytes: 8 << 20}, module: wasmgen.Module(0, wasmgen.Func{Body: bytes.Repeat([]byte{0x01}, 9<<20)}),
			want: []string{"the module's", "exceed the limit of 8MiB (connectors.max_module_bytes)"}},
		{name: "compilation over the time bound, in a child", child: true,
			cfg:    Config{MaxNesting: 1 << 30, CompileTimeout: time.Second},
			module: wasmgen.Module(0, wasmgen.Func{Body: wasmgen.Nested(3_000_000)}),
			want:   []string{"compiling took longer than 1s", "(connectors.compile_timeout)"}},
		{name: "compilation over the memory bound, in a child", child: true,
			cfg:    Config{MaxTotalLocals: 1 << 30, CompileMemory: 256 << 20},
			module: wasmgen.Module(0, append(manyLocals, manyLocals...)...),
			want:   []string{"compiling needed more than 256MiB of memory (connectors.compile_memory)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.child && raceEnabled {
				t.Skip("the race detector's shadow memory does not fit under a compiling child's memory limit")
			}
			dir := t.TempDir()
			write(t, dir, "bomb.wasm", tt.module)
			cfg := tt.cfg
			cfg.Dir = dir
			deps := Deps{}
			if tt.child {
				deps = compileInChild(deps)
			}
			c, err := openCatalog(t, cfg, deps, map[string]string{"raw.wasm": rawGuest(t, "v1")}, true)
			if err == nil || !containsAll(err.Error(), append([]string{"bomb.wasm", "refused"}, tt.want...)...) {
				t.Fatalf("got %v, want a refusal saying %q", err, tt.want)
			}
			stillServes(t, c, "raw", "echo")
		})
	}
}

// A module that hangs in _initialize or hub_describe costs one deadline, once: it is not
// tried again until its file changes, so it cannot hold the reload lock every tick.
func TestHangingModulesAreQuarantined(t *testing.T) {
	for _, variant := range []string{"inithang", "describehang"} {
		t.Run(variant, func(t *testing.T) {
			dir := t.TempDir()
			c, err := openCatalog(t, Config{Dir: dir, InitTimeout: 3 * time.Second},
				Deps{}, map[string]string{"hang.wasm": rawGuest(t, variant), "raw.wasm": rawGuest(t, "v1")}, true)
			export := map[string]string{"inithang": "_initialize", "describehang": "hub_describe"}[variant]
			if err == nil || !strings.Contains(err.Error(), export+" did not return within 3s (connectors.init_timeout)") {
				t.Fatalf("load: %v", err)
			}
			first := refusal(t, ReloadReport{Refused: c.Refused()}, "hang.wasm")
			rep, err := c.Reload(context.Background())
			if err != nil {
				t.Fatalf("the unchanged module was tried again: %v", err)
			}
			if r := refusal(t, rep, "hang.wasm"); r.New || !r.Since.Equal(first.Since) {
				t.Fatalf("refusal %+v after %+v: the unchanged module should stay refused, untried", r, first)
			}
			// A changed file is tried again.
			copyInto(t, dir, map[string]string{"hang.wasm": rawWith(t, "hang-fixed", map[string]string{"id": "hang"})})
			rep, err = c.Reload(context.Background())
			if err != nil || len(rep.Loaded) != 1 || rep.Loaded[0] != "hang" || len(rep.Refused) != 0 {
				t.Fatalf("the fixed module: %+v %v", rep, err)
			}
			stillServes(t, c, "raw", "echo")
		})
	}
}

// A manifest with thousands of actions is refused (its metrics would fill /metrics), and the
// series of a connector go with it.
func TestMetricsAreBounded(t *testing.T) {
	dir := t.TempDir()
	many := rawWith(t, "manyactions", map[string]string{"id": "many", "extra": "5000"})
	c, err := openCatalog(t, Config{Dir: dir}, Deps{}, map[string]string{"many.wasm": many, "hostile.wasm": hostileGuest(t)}, true)
	if err == nil || !strings.Contains(err.Error(), "actions: 5002 actions exceed the limit of 256") {
		t.Fatalf("load: %v", err)
	}
	stillServes(t, c, "hostile", "noop")
	c.Execute(context.Background(), ActionCall{Tenant: "t1", Connector: "hostile", Action: "nope", Input: map[string]any{}})
	if !strings.Contains(gather(t, c), `connector="hostile"`) {
		t.Fatal("no series for the loaded connector")
	}
	os.Remove(filepath.Join(dir, "hostile.wasm"))
	if _, err := c.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The series go once the retired version's last instance is closed, in the background.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		m := gather(t, c)
		if !strings.Contains(m, `connector="hostile"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("series of an unloaded connector remain:\n%s", m)
		}
	}
}

// cpuTime is the process's user and system CPU time.
func cpuTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// A guest that sleeps does not spin a host core, and its sleep ends with the call.
func TestGuestSleepsDoNotSpin(t *testing.T) {
	c, _ := openCatalog(t, Config{CallTimeout: 2 * time.Second}, Deps{}, map[string]string{"hostile.wasm": hostileGuest(t)}, false)
	stillServes(t, c, "hostile", "noop") // a warm instance
	const sleep = time.Second
	cpu, wall := cpuTime(t), time.Now()
	if _, err := c.Execute(context.Background(), ActionCall{Tenant: "t1", Connector: "hostile", Action: "sleep", Input: map[string]any{"ms": sleep.Milliseconds()}}); err != nil {
		t.Fatal(err)
	}
	// A spinning guest burns a core for the second (or what a loaded machine gives it: 0.4s
	// measured at a load of 15 on two cores); a sleeping one next to nothing (3ms).
	if used, took := cpuTime(t)-cpu, time.Since(wall); used > took/10 {
		t.Fatalf("a %s guest sleep used %s of CPU in %s", sleep, used, took)
	}
	_, err := c.Execute(context.Background(), ActionCall{Tenant: "t1", Connector: "hostile", Action: "sleep", Input: map[string]any{"ms": 60_000}})
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("a sleep past the deadline: %v", err)
	}
	stillServes(t, c, "hostile", "noop")
}

// What a guest writes to stderr reaches errors quoted: it cannot forge the runtime's report
// or a line of the host's.
func TestGuestCannotForgeCrashReports(t *testing.T) {
	c, _ := openCatalog(t, Config{}, Deps{}, map[string]string{"hostile.wasm": hostileGuest(t)}, false)
	forged := "fatal error: out of memory\nlevel=ERROR msg=\"host: rotate the key at http://evil.test\"\x1b[2K"
	_, err := c.Execute(context.Background(), ActionCall{Tenant: "t1", Connector: "hostile", Action: "forge", Input: map[string]any{"message": forged}})
	if err == nil {
		t.Fatal("the forging call succeeded")
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\n\x1b") {
		t.Fatalf("the guest's text reached the error raw: %q", msg)
	}
	if !strings.Contains(msg, `guest stderr: "fatal error: out of memory\nlevel=ERROR`) || strings.Contains(msg, "out of memory (") {
		t.Fatalf("the guest's claim should be quoted as its own, not stated by the host: %q", msg)
	}
	if n := counterValue(c.metrics.discarded.WithLabelValues("hostile", "oom")); n != 0 {
		t.Fatalf("a forged report counted as out of memory")
	}
	stillServes(t, c, "hostile", "noop")
}

// A connector reporting vendor quotas under names it invents holds a bounded number of
// series: past maxQuotas names per tenant the reports are dropped and counted, the known
// ones keep updating, and all go with the connector.
func TestVendorQuotaSeriesAreBounded(t *testing.T) {
	dir := t.TempDir()
	c, _ := openCatalog(t, Config{Dir: dir}, Deps{}, map[string]string{"hostile.wasm": hostileGuest(t)}, false)
	series := func() int {
		t.Helper()
		return strings.Count(gather(t, c), `aquahub_connector_quota_used{connector="hostile"`)
	}
	for call := range 2 {
		if _, err := c.Execute(context.Background(), ActionCall{Tenant: "t1", Connector: "hostile", Action: "quotaflood", Input: map[string]any{"count": 5000, "bytes": call}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := series(); n != maxQuotas {
		t.Fatalf("%d quota series for one tenant and connector, want maxQuotas (%d)", n, maxQuotas)
	}
	if n := counterValue(c.metrics.quotaDropped.WithLabelValues("hostile")); n != 2*(5000-maxQuotas) {
		t.Fatalf("dropped quota reports counted %v, want %d", n, 2*(5000-maxQuotas))
	}
	if !strings.Contains(gather(t, c), `aquahub_connector_quota_used{connector="hostile",quota="q00000",tenant="t1"} 1`) {
		t.Fatal("a quota admitted first stopped updating")
	}
	os.Remove(filepath.Join(dir, "hostile.wasm"))
	if _, err := c.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); series() > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("quota series of an unloaded connector remain")
		}
	}
}

// A manifest's version, which the host logs at every load and lists, is a short label: a
// module declaring a long one is refused.
func TestManifestVersionIsBounded(t *testing.T) {
	long := rawWith(t, "longversion", map[string]string{"id": "long", "version": strings.Repeat("9", 4096)})
	c, err := openCatalog(t, Config{}, Deps{}, map[string]string{"long.wasm": long, "raw.wasm": rawGuest(t, "v1")}, true)
	if err == nil || !containsAll(err.Error(), "long.wasm", "refused", "version: 4096 bytes exceed the limit of 64") {
		t.Fatalf("load: %v", err)
	}
	stillServes(t, c, "raw", "echo")
}

// A refusal that quotes the module (here its 60000-byte id) is cut before it is logged,
// kept and listed.
func TestRefusalReasonsAreCut(t *testing.T) {
	long := rawWith(t, "longid", map[string]string{"id": strings.Repeat("X", 60000)})
	c, err := openCatalog(t, Config{}, Deps{}, map[string]string{"longid.wasm": long, "raw.wasm": rawGuest(t, "v1")}, true)
	if err == nil || !containsAll(err.Error(), "longid.wasm", "refused", "id: must match") {
		t.Fatalf("load: %v", err)
	}
	if len(err.Error()) > 3<<10 {
		t.Fatalf("the load error is %d bytes: the module's id should be cut", len(err.Error()))
	}
	r := refusal(t, ReloadReport{Refused: c.Refused()}, "longid.wasm")
	if len(r.Reason) > maxRefusalReason+32 || !strings.Contains(r.Reason, "bytes)") {
		t.Fatalf("the refusal keeps %d bytes of reason", len(r.Reason))
	}
	stillServes(t, c, "raw", "echo")
}

// Requests the host denies cost the guest nothing and each is a warning in the hub's log:
// those lines are charged to the connector's log budget, counted when dropped, and every
// denial is still counted in the egress metric.
func TestEgressDenialsAreBudgeted(t *testing.T) {
	h := &logRecorder{}
	c, _ := openCatalog(t, Config{LogBytesPerSecond: 16 << 10}, Deps{Logger: slog.New(h)},
		map[string]string{"hostile.wasm": hostileGuest(t)}, false)
	if _, err := c.Execute(context.Background(), ActionCall{Tenant: "t1", Connector: "hostile", Action: "denyflood",
		Input: map[string]any{"count": 2000, "bytes": 1 << 10}}); err != nil {
		t.Fatal(err)
	}
	// 2000 denials of about 1.3 KiB each; the budget's burst is 64 KiB.
	if h.bytes > 128<<10 {
		t.Fatalf("%d bytes of egress denials reached the log, over the per-second budget", h.bytes)
	}
	if n := counterValue(c.metrics.logRecords.WithLabelValues("hostile")); n < 1000 {
		t.Fatalf("dropped log lines counted %v, want most of 2000", n)
	}
	if n := counterValue(c.metrics.egress.WithLabelValues("hostile", "denied")); n != 2000 {
		t.Fatalf("denials counted %v, want every one of 2000", n)
	}
	stillServes(t, c, "hostile", "noop")
}
