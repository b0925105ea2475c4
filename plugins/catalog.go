package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	wazero "github.com/samyfodil/wazy"
	"github.com/samyfodil/wazy/imports/wasi_snapshot_preview1"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/abi/egress"
	"github.com/aquascene/aquahub/sdk/abi/jwtsign"
)

// Catalog is the set of loaded connectors. It is safe for concurrent use.
type Catalog struct {
	cfg     Config
	deps    Deps
	rt      wazero.Runtime
	cache   wazero.CompilationCache
	metrics *hostMetrics
	// cacheDirPath is the compilation cache's directory, "" when it is in memory.
	cacheDirPath string
	// logBudgets are the per-second log budgets by tenant and connector.
	logBudgets *logBudgets

	reloadMu sync.Mutex // one load or reload at a time
	// dirMissing remembers that Dir was missing at the last reload, so that Watch logs the
	// fact once per change rather than every interval. Guarded by reloadMu.
	dirMissing bool
	mu         sync.RWMutex
	byID       map[string]*version
	byFile     map[string]*version
	// quarantine holds the refused files by path, not tried again until they change.
	quarantine map[string]*quarantined

	clientsMu sync.Mutex
	clients   map[string]*egress.Client
	// limiters are the buckets of declared rate limits, shared by every instance and kept
	// across reloads.
	limiters *egress.Limiters
	// keys caches the tenants' parsed signing keys for sign_jwt.
	keys *jwtsign.Keys
	// breakers guard each tenant's connector per origin, kept across reloads.
	breakers *breakers
}

// Deps are what a Catalog uses besides its Config.
type Deps struct {
	// KV keeps the values connectors store with kv_set. Nil makes kv calls fail as
	// unavailable, which is enough for checking rules.
	KV KVStore
	// Logger receives connector logs and host events (default slog.Default()).
	Logger *slog.Logger
	// Grants returns a tenant's settings for a connector: config, secrets and egress grant.
	// Nil (or ok false) means the tenant has none: no config, no secrets, no egress. New
	// sets it from the tenants' configuration.
	Grants func(tenant, connector string) (TenantConfig, bool)
	// Instances returns the settings of an instance of a connector (`connector:
	// partner/green-aqua` asks for instance green-aqua of partner). Its error fails the step
	// and should say what is missing; a core.ErrNotFound in it makes the step not_found.
	// Nil: targets with an instance fail.
	Instances func(ctx context.Context, tenant, connector, instance string) (Instance, error)
	// LookupIP replaces DNS resolution for egress (tests). Default the system resolver.
	LookupIP func(ctx context.Context, host string) ([]netip.Addr, error)
	// DataDir is the hub's data directory: with Config.CacheDir empty, compiled code is
	// cached in its wazero-cache directory. Empty with CacheDir empty: in memory only.
	DataDir string
	// Pins returns the module digests tenants pin for a connector (tenant → hex SHA-256,
	// TenantConfig.SHA256). A module file whose digest differs from any of them is refused.
	// Nil: no pins. New sets it from the tenants' configuration.
	Pins func(connector string) map[string]string
	// CompileCommand, when set, is the program and leading arguments of a process that runs
	// RunCompiler (for the hub: its own binary and CompilerCommand). Each module is then
	// compiled first in such a child, under Config.CompileMemory and Config.CompileTimeout,
	// so that a module built to exhaust the compiler costs a child process, not the hub.
	// Nil compiles in this process, bounded by the pre-compile scan only (tests, tools).
	CompileCommand []string
	// Publisher receives connector.circuit.opened and connector.circuit.closed events (the
	// engine). Optional.
	Publisher core.Publisher
}

// Open creates the host runtime and loads every *.wasm file in cfg.Dir. Zero fields of cfg
// take DefaultConfig's values (WatchInterval and CacheDir excepted: Open does not watch,
// and an empty CacheDir falls back to Deps.DataDir); the result must pass Validate. A
// module that cannot be loaded is refused with an error naming its file; the others are
// loaded, and the returned error (if any) joins the refusals: callers that must not start
// with a missing connector treat it as fatal, with the Catalog still closed by them.
func Open(ctx context.Context, cfg Config, deps Deps) (*Catalog, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("plugins: %w", err)
	}
	if err := cfg.Circuit.Validate(); err != nil {
		return nil, fmt.Errorf("plugins: circuit: %w", err)
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	c := &Catalog{
		cfg:        cfg,
		deps:       deps,
		metrics:    newMetrics(),
		byID:       map[string]*version{},
		byFile:     map[string]*version{},
		quarantine: map[string]*quarantined{},
		clients:    map[string]*egress.Client{},
		limiters:   egress.NewLimitersBounded(cfg.RateLimitBuckets),
		keys:       jwtsign.NewKeys(),
		logBudgets: newLogBudgets(int64(cfg.LogBytesPerSecond)),
	}
	c.breakers = newBreakers(cfg.Circuit, deps, c.metrics)
	rc := runtimeConfig(cfg)
	if dir := cfg.cacheDir(deps.DataDir); dir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(dir)
		if err != nil {
			return nil, fmt.Errorf("plugins: compilation cache %s: %w", dir, err)
		}
		c.cache, c.cacheDirPath = cache, dir
	} else {
		c.cache = wazero.NewCompilationCache()
	}
	rc = rc.WithCompilationCache(c.cache)
	c.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, c.rt); err != nil {
		c.rt.Close(ctx)
		return nil, fmt.Errorf("plugins: wasi: %w", err)
	}
	if err := c.instantiateHostModule(ctx); err != nil {
		c.rt.Close(ctx)
		return nil, fmt.Errorf("plugins: host module: %w", err)
	}
	_, err := c.Reload(ctx)
	return c, err
}

// Close closes every instance and the runtime.
func (c *Catalog) Close(ctx context.Context) error {
	c.mu.Lock()
	for _, v := range c.byID {
		v.retired.Store(true)
		v.closeIdle()
	}
	c.byID, c.byFile = map[string]*version{}, map[string]*version{}
	c.mu.Unlock()
	c.clientsMu.Lock()
	for _, cl := range c.clients {
		cl.CloseIdleConnections()
	}
	c.clientsMu.Unlock()
	err := c.rt.Close(ctx)
	c.cache.Close(ctx)
	return err
}

// ReloadReport says what a reload changed.
type ReloadReport struct {
	// Loaded are the connector ids loaded or replaced, Unchanged those kept, Removed those
	// whose file disappeared, Failed the files refused (old versions stay in service).
	Loaded    []string
	Unchanged []string
	Removed   []string
	Failed    []string
	// Refused says why each file of Failed was refused, in file order.
	Refused []Refusal
}

// Refusal is a module file the catalog refused. A refused file is not loaded again until it
// changes (its size, modification time and content), so that a module that hangs or
// exhausts a limit costs one attempt, not one per reload.
type Refusal struct {
	// File is the module's path; Connector the operator's name for it, its file name
	// without .wasm.
	File      string
	Connector string
	// Reason says why, naming the limit or rule it broke.
	Reason string
	// Since is when the file was first refused in this form.
	Since time.Time
	// New is set when this reload refused the file; otherwise it was refused before and has
	// not changed since.
	New bool
}

// quarantined is a refused file and the form it was refused in.
type quarantined struct {
	size    int64
	modTime time.Time
	hash    string
	refusal Refusal
}

// Reload scans Dir again: new and changed files are loaded and swapped in atomically, files
// that disappeared are unloaded, unchanged files (same size and modification time, or same
// content hash) are kept. Calls in flight finish on the version they started with. A file
// that fails to load is reported in the error and in the report's Refused, leaves the
// previous version in service, and is not tried again until it changes; every reload
// reports it in Refused, and the error names only the files refused by this reload.
func (c *Catalog) Reload(ctx context.Context) (ReloadReport, error) {
	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()
	var rep ReloadReport
	entries, err := os.ReadDir(c.cfg.Dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// Not built yet: serve without connectors (and pick them up once they appear).
		if !c.dirMissing {
			c.deps.Logger.Warn("connector directory does not exist; serving without connectors until it appears", "dir", c.cfg.Dir)
			c.dirMissing = true
		}
		entries = nil
	case err != nil:
		return rep, fmt.Errorf("plugins: reading connector dir: %w", err)
	default:
		if c.dirMissing {
			c.deps.Logger.Info("connector directory appeared", "dir", c.cfg.Dir)
			c.dirMissing = false
		}
	}
	var errs []error
	seen := map[string]bool{}
	next := map[string]*version{} // by file
	c.mu.RLock()
	for f, v := range c.byFile {
		next[f] = v
	}
	quarantine := make(map[string]*quarantined, len(c.quarantine))
	for f, q := range c.quarantine {
		quarantine[f] = q
	}
	c.mu.RUnlock()
	refuse := func(path string, size int64, modTime time.Time, hash string, err error) {
		// A reason may quote the module (a manifest field it got wrong): cut, since it is
		// logged, kept and listed.
		err = &clippedError{msg: clip(err.Error(), maxRefusalReason), err: err}
		r := Refusal{File: path, Connector: connectorName(path), Reason: err.Error(), Since: time.Now(), New: true}
		quarantine[path] = &quarantined{size: size, modTime: modTime, hash: hash, refusal: r}
		errs = append(errs, fmt.Errorf("connector file %s: refused: %w", path, err))
	}
	var loaded []*version
	var pending []*loadJob
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".wasm") {
			continue
		}
		path := filepath.Join(c.cfg.Dir, e.Name())
		seen[path] = true
		info, err := e.Info()
		if err != nil {
			errs = append(errs, fmt.Errorf("connector file %s: %w", path, err))
			continue
		}
		q := quarantine[path]
		if q != nil && q.size == info.Size() && q.modTime.Equal(info.ModTime()) {
			q.refusal.New = false
			continue
		}
		old := next[path]
		if old != nil && old.size == info.Size() && old.modTime.Equal(info.ModTime()) {
			rep.Unchanged = append(rep.Unchanged, old.id)
			continue
		}
		if info.Size() > int64(c.cfg.MaxModuleBytes) {
			refuse(path, info.Size(), info.ModTime(), "", fmt.Errorf("the module's %d bytes exceed the limit of %s (connectors.max_module_bytes)", info.Size(), byteSize(int64(c.cfg.MaxModuleBytes))))
			continue
		}
		b, err := readModule(path, int64(c.cfg.MaxModuleBytes))
		if err != nil {
			refuse(path, info.Size(), info.ModTime(), "", err)
			continue
		}
		sum := sha256.Sum256(b)
		hash := hex.EncodeToString(sum[:])
		if q != nil && q.hash == hash {
			q.size, q.modTime, q.refusal.New = info.Size(), info.ModTime(), false
			continue
		}
		delete(quarantine, path)
		if old != nil && old.hash == hash {
			old.size, old.modTime = info.Size(), info.ModTime()
			rep.Unchanged = append(rep.Unchanged, old.id)
			continue
		}
		pending = append(pending, &loadJob{path: path, b: b, hash: hash, info: info})
	}
	// Compiling a Go module takes seconds without a warm cache: use every core.
	sem := make(chan struct{}, runtime.NumCPU())
	var wg sync.WaitGroup
	for _, j := range pending {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			j.v, j.err = c.load(ctx, j.path, j.b, j.hash)
		}()
	}
	wg.Wait()
	for _, j := range pending {
		if j.err != nil {
			refuse(j.path, j.info.Size(), j.info.ModTime(), j.hash, j.err)
			continue
		}
		j.v.size, j.v.modTime = j.info.Size(), j.info.ModTime()
		next[j.path] = j.v
		loaded = append(loaded, j.v)
	}
	for path := range next {
		if !seen[path] {
			rep.Removed = append(rep.Removed, next[path].id)
			delete(next, path)
		}
	}
	for path := range quarantine {
		if !seen[path] {
			delete(quarantine, path)
		}
	}
	// One id, one file. A file's id is its name, so two files cannot share one; should they
	// still (a file system folding case), the version in service keeps its id and the
	// newcomer is refused, whatever the order of the names.
	byID := map[string]*version{}
	c.mu.RLock()
	for _, path := range sortedKeys(next) {
		if v := next[path]; c.byID[v.id] == v {
			byID[v.id] = v
		}
	}
	c.mu.RUnlock()
	for _, path := range sortedKeys(next) {
		v := next[path]
		if other, dup := byID[v.id]; dup && other != v {
			refuse(path, v.size, v.modTime, v.hash, fmt.Errorf("id %q is already provided by %s", v.id, other.file))
			delete(next, path)
			continue
		}
		byID[v.id] = v
	}
	c.mu.Lock()
	var retired []*version
	for path, v := range c.byFile {
		if next[path] != v {
			retired = append(retired, v)
		}
	}
	c.byFile, c.byID, c.quarantine = next, byID, quarantine
	for _, v := range retired {
		v.retire()
	}
	c.mu.Unlock()
	c.metrics.refused.Set(float64(len(quarantine)))
	for _, v := range loaded {
		if next[v.file] == v {
			rep.Loaded = append(rep.Loaded, v.id)
			c.deps.Logger.Info("connector loaded", "connector", v.id, "version", v.manifest.Version, "file", v.file, "sha256", v.hash[:12])
		} else {
			v.retire()
		}
	}
	if len(loaded) > 0 || len(retired) > 0 {
		c.clientsMu.Lock()
		for k, cl := range c.clients {
			cl.CloseIdleConnections()
			delete(c.clients, k)
		}
		c.clientsMu.Unlock()
	}
	for _, path := range sortedKeys(quarantine) {
		q := quarantine[path]
		rep.Failed = append(rep.Failed, path)
		rep.Refused = append(rep.Refused, q.refusal)
	}
	for _, l := range [][]string{rep.Loaded, rep.Unchanged, rep.Removed} {
		sort.Strings(l)
	}
	return rep, errors.Join(errs...)
}

// forgetSeries deletes the metric series of a retired version, once its last call and
// instance are gone, that the version now serving its id does not carry on: all of them
// when the connector is gone, else those of the actions it dropped.
func (c *Catalog) forgetSeries(old *version) {
	c.mu.RLock()
	successor := c.byID[old.id]
	c.mu.RUnlock()
	if successor == nil {
		c.metrics.forget(old.id)
		return
	}
	for _, a := range old.manifest.Actions {
		if _, ok := successor.manifest.Action(a.Name); !ok {
			c.metrics.forgetAction(old.id, a.Name)
		}
	}
}

// maxRefusalReason bounds the reason a refusal gives.
const maxRefusalReason = 2 << 10

// clippedError is err with its message cut; errors.As still finds what it wraps.
type clippedError struct {
	msg string
	err error
}

func (e *clippedError) Error() string { return e.msg }
func (e *clippedError) Unwrap() error { return e.err }

// Refused lists the module files the catalog refused and does not serve, by path.
func (c *Catalog) Refused() []Refusal {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]Refusal, 0, len(c.quarantine))
	for _, path := range sortedKeys(c.quarantine) {
		out = append(out, c.quarantine[path].refusal)
	}
	return out
}

// IdentityError is why a module whose manifest claims an id other than its file name is
// refused: the file name is the operator's name for the connector, and the tenants'
// grants, secrets and kv belong to that name.
type IdentityError struct {
	// Name is the operator's name (the file name without .wasm), Claimed the manifest's id.
	Name, Claimed string
}

func (e *IdentityError) Error() string {
	return fmt.Sprintf("its manifest claims id %q, but the operator named it %q (its file name); a connector's id is the name of its file: to serve it as %q, name the file %s.wasm", e.Claimed, e.Name, e.Claimed, e.Claimed)
}

// connectorName is the operator's name for the module at path: its file name without .wasm.
func connectorName(path string) string {
	return strings.TrimSuffix(filepath.Base(path), ".wasm")
}

// readModule reads a module file of at most limit bytes.
func readModule(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("the module exceeds the limit of %s (connectors.max_module_bytes)", byteSize(limit))
	}
	return b, nil
}

// loadJob is one module file to compile and check during a reload.
type loadJob struct {
	path string
	b    []byte
	hash string
	info fs.FileInfo
	v    *version
	err  error
}

// sortedKeys returns m's keys in order, so that errors and listings come out the same
// every time.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// load compiles and checks one module and reads its manifest. The module's id is the
// operator's: its file name, which the manifest must repeat, so that a module cannot take
// over another connector's name (and with it the tenants' grants, secrets and kv) by
// claiming it.
func (c *Catalog) load(ctx context.Context, path string, b []byte, hash string) (*version, error) {
	name := connectorName(path)
	if !abi.ValidID(name) {
		return nil, fmt.Errorf("the file name %q is not a connector id (lower-case letters, digits, '-' and '_', starting with a letter): name the file <connector id>.wasm", filepath.Base(path))
	}
	if c.deps.Pins != nil {
		pins := c.deps.Pins(name)
		for _, tenant := range sortedKeys(pins) {
			if pin := pins[tenant]; pin != hash {
				return nil, fmt.Errorf("its sha256 %s is not the %s that tenant %q pins for connector %q (tenants[].connectors.%s.sha256)", hash, pin, tenant, name, name)
			}
		}
	}
	compiled, err := c.compile(ctx, b)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*version, error) {
		compiled.Close(ctx)
		return nil, err
	}
	exports := compiled.ExportedFunctions()
	if _, ok := exports[abi.ExportMarker]; !ok {
		var other []string
		for name := range exports {
			if strings.HasPrefix(name, "hub_abi_v") {
				other = append(other, Printable(clip(name, 64)))
			}
		}
		sort.Strings(other)
		if len(other) > 0 {
			return fail(fmt.Errorf("speaks %s, this host speaks %s", strings.Join(other, ", "), abi.ExportMarker))
		}
		return fail(fmt.Errorf("no %s export: not a hub connector (build it with sdk/plugin)", abi.ExportMarker))
	}
	for _, want := range []struct {
		name    string
		params  int
		results int
	}{{abi.ExportAlloc, 1, 1}, {abi.ExportDescribe, 0, 1}, {abi.ExportInvoke, 2, 1}, {abi.ExportInitialize, 0, 0}} {
		fn, ok := exports[want.name]
		if !ok {
			return fail(fmt.Errorf("missing export %s", want.name))
		}
		if len(fn.ParamTypes()) != want.params || len(fn.ResultTypes()) != want.results {
			return fail(fmt.Errorf("export %s has the wrong signature", want.name))
		}
	}
	v := newVersion(c)
	v.file, v.hash, v.compiled, v.loadedAt = path, hash, compiled, time.Now()
	ictx, cancel := context.WithTimeout(ctx, c.cfg.InitTimeout)
	defer cancel()
	inst, err := instantiate(ictx, c.rt, compiled)
	if err != nil {
		if ictx.Err() != nil {
			return fail(fmt.Errorf("_initialize did not return within %s (connectors.init_timeout)", c.cfg.InitTimeout))
		}
		return fail(err)
	}
	m, err := describeWith(ictx, inst, int64(c.cfg.MaxResponseBytes), c.cfg.schemaLimits(), uint32(c.cfg.MemoryLimitPages))
	if err != nil {
		inst.close()
		if ictx.Err() != nil {
			return fail(fmt.Errorf("hub_describe did not return within %s (connectors.init_timeout)", c.cfg.InitTimeout))
		}
		return fail(err)
	}
	if m.ID != name {
		inst.close()
		return fail(&IdentityError{Name: name, Claimed: m.ID})
	}
	v.id, v.manifest, v.reuseInput = m.ID, m, inst.reuseInput
	for _, fn := range compiled.ImportedFunctions() {
		if module, name, _ := fn.Import(); module == abi.ModuleName && name == abi.ImportSignJWT {
			v.signJWT = true
		}
	}
	v.okCalls = make(map[string]prometheus.Counter, len(m.Actions))
	for _, a := range m.Actions {
		v.okCalls[a.Name] = c.metrics.calls.WithLabelValues(v.id, a.Name, "ok")
	}
	v.live.Add(1)
	c.metrics.instances.WithLabelValues(v.id).Inc()
	v.idle <- inst
	return v, nil
}

// get returns the current version of a connector and registers a call in flight; the caller
// must call v.inflight.Done.
func (c *Catalog) get(id string) (*version, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.byID[id]
	if ok {
		v.inflight.Add(1)
	}
	return v, ok
}

// Manifest returns a loaded connector's manifest.
func (c *Catalog) Manifest(id string) (*abi.Manifest, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.byID[id]
	if !ok {
		return nil, false
	}
	return v.manifest, true
}

// ConnectorInfo describes a loaded connector for the API and CLI.
type ConnectorInfo struct {
	ID          string
	Version     string
	Description string
	// File is the module file, SHA256 its content hash, LoadedAt when this version loaded.
	File     string
	SHA256   string
	LoadedAt time.Time
	// Actions are the action names; Egress the origins the manifest requests.
	Actions []string
	Egress  []string
	// Features lists the ABI v1 revisions' optional features the module uses:
	// "hub_reuse_input" (1.1), "rate_limits" (1.2), "sign_jwt" (1.3: the module imports
	// sign_jwt or declares signing-key secrets), "secret_places" (1.5: the manifest declares
	// where its secrets go, or derives config from one).
	Features []string
	// PoolSize is the most instances the connector may have; Live the instances that exist
	// now, Idle those waiting in the pool.
	PoolSize int
	Live     int64
	Idle     int
	// Calls and Errors count invocations and failed ones since this version was loaded.
	Calls  int64
	Errors int64
	// KV is what the connector stores in kv, per tenant holding any, by tenant.
	KV []TenantKV
}

// TenantKV is what a connector stores in kv for one tenant, and the quota it is held to.
type TenantKV struct {
	Tenant string
	KVUsage
	Quota KVQuota
}

// Connectors lists the loaded connectors by id.
func (c *Catalog) Connectors() []ConnectorInfo {
	usage := map[string][]TenantKV{}
	if c.deps.KV != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		all, err := c.deps.KV.Usages(ctx)
		cancel()
		if err != nil {
			c.deps.Logger.Warn("reading connector kv usage", "err", err)
		}
		for scope, u := range all {
			usage[scope.Connector] = append(usage[scope.Connector], TenantKV{Tenant: scope.Tenant, KVUsage: u, Quota: c.kvQuota()})
		}
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]ConnectorInfo, 0, len(c.byID))
	for _, v := range c.byID {
		info := ConnectorInfo{
			ID: v.id, Version: v.manifest.Version, Description: v.manifest.Description,
			File: v.file, SHA256: v.hash, LoadedAt: v.loadedAt, Egress: v.manifest.Egress,
			PoolSize: c.cfg.PoolSize, Live: v.live.Load(), Idle: len(v.idle),
			Calls: v.calls.Load(), Errors: v.errors.Load(),
		}
		for _, a := range v.manifest.Actions {
			info.Actions = append(info.Actions, a.Name)
		}
		info.Features = v.features()
		info.KV = usage[v.id]
		sort.Slice(info.KV, func(i, j int) bool { return info.KV[i].Tenant < info.KV[j].Tenant })
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Features returns the optional ABI features a loaded connector uses (see
// ConnectorInfo.Features).
func (c *Catalog) Features(id string) []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if v, ok := c.byID[id]; ok {
		return v.features()
	}
	return nil
}

func (v *version) features() []string {
	var out []string
	if v.reuseInput {
		out = append(out, abi.ExportReuseInput)
	}
	if len(v.manifest.RateLimits) > 0 {
		out = append(out, "rate_limits")
	}
	if v.signJWT || len(v.manifest.SigningSecrets()) > 0 {
		out = append(out, abi.ImportSignJWT)
	}
	if v.manifest.DeclaresSecretPlaces() {
		out = append(out, "secret_places")
	}
	return out
}

// Watch reloads every interval until ctx ends, logging what changed and what failed. It
// notices replaced files by size and modification time.
func (c *Catalog) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rep, err := c.Reload(ctx)
		if err != nil {
			c.deps.Logger.Error("connector reload", "err", err)
		}
		if len(rep.Loaded)+len(rep.Removed) > 0 {
			c.deps.Logger.Info("connectors reloaded", "loaded", rep.Loaded, "removed", rep.Removed)
		}
	}
}

// InstanceStats is what creating one instance cost.
type InstanceStats struct {
	// Instantiate is the time to instantiate and run _initialize.
	Instantiate time.Duration
	// MemoryBytes is the instance's linear memory after initialisation.
	MemoryBytes uint64
}

// MeasureInstance creates one extra instance of a connector outside its pool, measures it
// and closes it. It is for benchmarks (`aquahub bench plugins`).
func (c *Catalog) MeasureInstance(ctx context.Context, id string) (InstanceStats, error) {
	v, ok := c.get(id)
	if !ok {
		return InstanceStats{}, fmt.Errorf("connector %q is not loaded", id)
	}
	defer v.inflight.Done()
	start := time.Now()
	inst, err := instantiate(ctx, c.rt, v.compiled)
	if err != nil {
		return InstanceStats{}, err
	}
	st := InstanceStats{Instantiate: time.Since(start), MemoryBytes: uint64(inst.memoryPages()) * 65536}
	inst.close()
	return st, nil
}
