package plugins

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/api"
)

func TestNewRunsConnectorsWithTheTenantsGrants(t *testing.T) {
	srv, _ := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("auth=" + r.Header.Get("Authorization")))
	}))
	dir := t.TempDir()
	copyInto(t, dir, map[string]string{"hostile.wasm": hostileGuest(t)})
	tenants := map[string]map[string]TenantConfig{
		"t1": {"hostile": {Egress: []string{srv.URL}, Secrets: map[string]string{"token": "tok-123456"}}},
		"t2": {"other": {Egress: []string{srv.URL}}},
	}
	m, err := New(context.Background(), Config{Dir: dir, CacheDir: testCacheDir(t)}, Deps{Logger: quietLogger(), Grants: StaticGrants(tenants)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	fetch := func(tenant string) (map[string]any, error) {
		res, err := m.Catalog().Execute(context.Background(), ActionCall{Tenant: tenant, Connector: "hostile", Action: "fetch", Input: map[string]any{"url": srv.URL + "/x"}})
		return res.Output, err
	}
	out, err := fetch("t1")
	if err != nil || out["body"] != "auth=Bearer [redacted]" {
		t.Fatalf("tenant t1 with a grant: %v %v", out, err)
	}
	for _, tenant := range []string{"t2", "nobody"} {
		if _, err := fetch(tenant); err == nil || !strings.Contains(err.Error(), "not granted") {
			t.Errorf("tenant %s without a grant for hostile: %v, want not granted", tenant, err)
		}
	}
}

func TestNewRefusesBadSettings(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		cfg  Config
		deps Deps
		want string
	}{
		{name: "pool size", cfg: Config{Dir: dir, PoolSize: -1}, want: "pool_size: must be between 1 and 256"},
		{name: "memory limit below a Go module's minimum", cfg: Config{Dir: dir, MemoryLimitPages: 32}, want: "memory_limit_pages"},
		{name: "recycle mark above the memory limit", cfg: Config{Dir: dir, MemoryLimitPages: 128, RecycleMemoryPages: 256}, want: "recycle_memory_pages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.deps.Logger = quietLogger()
			m, err := New(context.Background(), tt.cfg, tt.deps)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want an error containing %q", err, tt.want)
			}
			if m != nil {
				t.Fatal("New returned a module with its error")
			}
		})
	}
}

func TestConfigDefaultsAreWrittenOnce(t *testing.T) {
	c := Config{}.withDefaults()
	d := DefaultConfig()
	if c.PoolSize != d.PoolSize || c.CallTimeout != d.CallTimeout || c.MaxResponseBytes != d.MaxResponseBytes || c.MaxKVValueBytes != d.MaxKVValueBytes {
		t.Fatalf("zero config filled as %+v, want DefaultConfig's values %+v", c, d)
	}
	if d.MaxResponseBytes != 8<<20 {
		t.Fatalf("default response cap %d, want 8 MiB as docs/connector-abi.md says", d.MaxResponseBytes)
	}
	if c.RecycleMemoryPages != c.MemoryLimitPages*3/4 {
		t.Fatalf("recycle mark %d, want three quarters of %d", c.RecycleMemoryPages, c.MemoryLimitPages)
	}
	if c.WatchInterval != 0 {
		t.Fatalf("a zero watch interval (watching off) became %s", c.WatchInterval)
	}
	if err := DefaultConfig().withDefaults().Validate(); err != nil {
		t.Fatalf("the defaults do not validate: %v", err)
	}
}

func TestWatcherLoadsNewModules(t *testing.T) {
	dir := t.TempDir()
	m, err := New(context.Background(), Config{Dir: dir, WatchInterval: 10 * time.Millisecond}, Deps{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(context.Background()); err == nil {
		t.Fatal("a second Start ran a second watcher")
	}
	if err := os.WriteFile(filepath.Join(dir, "noop.wasm"), NoopModule(), 0o644); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, ok := m.Catalog().Manifest("noop"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the watcher never loaded noop.wasm")
		}
	}
	if err := m.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := m.Stop(context.Background()); err != nil {
		t.Fatalf("a second Stop: %v", err)
	}
}

func TestModuleWithoutWatchIntervalStartsNothing(t *testing.T) {
	m, err := New(context.Background(), Config{Dir: t.TempDir()}, Deps{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m.stopWatch != nil {
		t.Fatal("a watcher runs with watch_interval 0")
	}
}

func TestModuleCollectorsCountCalls(t *testing.T) {
	m, _ := routesModule(t)
	reg := prometheus.NewRegistry()
	for _, c := range m.Collectors() {
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if _, err := m.Catalog().Execute(context.Background(), ActionCall{Tenant: "t", Connector: "noop", Action: "noop", Input: map[string]any{}}); err != nil {
			t.Fatal(err)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var calls float64
	for _, f := range families {
		if f.GetName() == "aquahub_connector_calls_total" {
			for _, mt := range f.GetMetric() {
				calls += mt.GetCounter().GetValue()
			}
		}
	}
	if calls != 3 {
		t.Fatalf("aquahub_connector_calls_total = %v after 3 calls", calls)
	}
}

func TestConnectorStepCheck(t *testing.T) {
	m, _ := routesModule(t)
	kind := m.StepKinds()[0]
	if kind.Syntax().Name != "connector" {
		t.Fatalf("step kind %q", kind.Syntax().Name)
	}
	tests := []struct {
		name      string
		connector string
		action    string
		input     map[string]any
		want      string // substring of the error; "" for none
	}{
		{name: "valid", connector: "rich", action: "records.upsert", input: map[string]any{"table": "Content_Master", "limit": 10}},
		{name: "expression where a number goes", connector: "rich", action: "records.upsert", input: map[string]any{"table": "${{ event.data.table }}", "limit": "${{ event.data.n }}"}},
		{name: "missing required field", connector: "rich", action: "records.upsert", input: map[string]any{"limit": 10}, want: "table"},
		{name: "unknown field", connector: "rich", action: "records.upsert", input: map[string]any{"table": "T", "tabel": "T"}, want: "tabel"},
		{name: "value out of range", connector: "rich", action: "records.upsert", input: map[string]any{"table": "T", "limit": 1000}, want: "limit"},
		{name: "unknown action", connector: "rich", action: "records.delete", want: `no action "records.delete" (actions: records.upsert)`},
		{name: "unknown connector", connector: "ghost", action: "x", want: `connector "ghost" is not loaded (loaded: noop, rich)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := kind.Check(core.StepDef{Kind: "connector", Target: tt.connector, Params: map[string]string{"action": tt.action}, Input: tt.input})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Check: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Check: %v, want an error containing %q", err, tt.want)
			}
			var fe *core.FieldError
			if tt.want != "" && strings.Contains(tt.name, "field") && !errors.As(err, &fe) {
				t.Fatalf("Check: %v is not a field error", err)
			}
		})
	}
}

func TestKVWithoutStoreIsUnavailable(t *testing.T) {
	c, _ := openCatalog(t, Config{}, Deps{}, map[string]string{"hostile.wasm": hostileGuest(t)}, false)
	_, err := c.Execute(context.Background(), ActionCall{Tenant: "t1", Connector: "hostile", Action: "kv", Input: map[string]any{"key": "k", "value": "v"}})
	if err == nil || !strings.Contains(err.Error(), "unavailable") {
		t.Fatalf("kv with no store: %v, want unavailable", err)
	}
}

func TestAPIConversions(t *testing.T) {
	at := time.Date(2025, 8, 6, 12, 0, 0, 0, time.UTC)
	info := ConnectorInfo{ID: "airtable", Version: "1.2.0", Description: "Airtable", File: "/c/airtable.wasm", SHA256: "ab12",
		LoadedAt: at, Actions: []string{"records.upsert"}, Egress: []string{"https://api.airtable.com"}, Features: []string{"rate_limits"},
		PoolSize: 4, Live: 2, Idle: 1, Calls: 10, Errors: 3,
		KV: []TenantKV{{Tenant: "acme", KVUsage: KVUsage{Keys: 2, Bytes: 30}, Quota: KVQuota{Keys: 10, Bytes: 100}}}}
	refused := Refusal{File: "/c/b.wasm", Connector: "b", Reason: "too many locals", Since: at}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{name: "connector, every field", got: connectorList([]ConnectorInfo{info}, nil).Connectors[0], want: api.Connector{
			ID: "airtable", Version: "1.2.0", Description: "Airtable", File: "/c/airtable.wasm", SHA256: "ab12", LoadedAt: at,
			Actions: []string{"records.upsert"}, Egress: []string{"https://api.airtable.com"}, Features: []string{"rate_limits"},
			PoolSize: 4, Live: 2, Idle: 1, Calls: 10, Errors: 3,
			KV: []api.ConnectorKV{{Tenant: "acme", Keys: 2, Bytes: 30, QuotaKeys: 10, QuotaBytes: 100}}}},
		{name: "no connectors is an empty list", got: connectorList(nil, nil), want: api.ConnectorList{Connectors: []api.Connector{}, Refused: []api.ConnectorRefusal{}}},
		{name: "refused files are listed", got: connectorList(nil, []Refusal{refused}).Refused, want: []api.ConnectorRefusal{
			{File: "/c/b.wasm", Connector: "b", Reason: "too many locals", Since: at}}},
		{name: "connector without actions", got: connectorList([]ConnectorInfo{{ID: "x"}}, nil).Connectors[0].Actions, want: []string{}},
		{name: "reload with nothing to report", got: reloadAnswer(ReloadReport{}, nil), want: api.ConnectorReload{
			Loaded: []string{}, Unchanged: []string{}, Removed: []string{}, Failed: []string{}, Refused: []api.ConnectorRefusal{}}},
		{name: "reload reports every refusal, earlier ones too", got: reloadAnswer(ReloadReport{Loaded: []string{"a"}, Failed: []string{"/c/b.wasm"}, Refused: []Refusal{refused}}, nil),
			want: api.ConnectorReload{Loaded: []string{"a"}, Unchanged: []string{}, Removed: []string{}, Failed: []string{"/c/b.wasm"},
				Refused: []api.ConnectorRefusal{{File: "/c/b.wasm", Connector: "b", Reason: "too many locals", Since: at}},
				Error:   "connector file /c/b.wasm: refused: too many locals"}},
		{name: "reload that cannot read the directory", got: reloadAnswer(ReloadReport{}, errors.New("plugins: reading connector dir: denied")),
			want: api.ConnectorReload{Loaded: []string{}, Unchanged: []string{}, Removed: []string{}, Failed: []string{}, Refused: []api.ConnectorRefusal{},
				Error: "plugins: reading connector dir: denied"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Fatalf("got  %#v\nwant %#v", tt.got, tt.want)
			}
		})
	}
}
