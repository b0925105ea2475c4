package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
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

	reloadMu sync.Mutex // one load or reload at a time
	// dirMissing remembers that Dir was missing at the last reload, so that Watch logs the
	// fact once per change rather than every interval. Guarded by reloadMu.
	dirMissing bool
	mu         sync.RWMutex
	byID       map[string]*version
	byFile     map[string]*version

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
		cfg:      cfg,
		deps:     deps,
		metrics:  newMetrics(),
		byID:     map[string]*version{},
		byFile:   map[string]*version{},
		clients:  map[string]*egress.Client{},
		limiters: egress.NewLimiters(),
		keys:     jwtsign.NewKeys(),
	}
	c.breakers = newBreakers(cfg.Circuit, deps, c.metrics)
	rc := wazero.NewRuntimeConfig().
		WithMemoryLimitPages(uint32(cfg.MemoryLimitPages))
	if dir := cfg.cacheDir(deps.DataDir); dir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(dir)
		if err != nil {
			return nil, fmt.Errorf("plugins: compilation cache %s: %w", dir, err)
		}
		c.cache = cache
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
}

// Reload scans Dir again: new and changed files are loaded and swapped in atomically, files
// that disappeared are unloaded, unchanged files (same size and modification time, or same
// content hash) are kept. Calls in flight finish on the version they started with. A file
// that fails to load is reported in the error and leaves the previous version in service.
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
	c.mu.RUnlock()
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
		old := next[path]
		if old != nil && old.size == info.Size() && old.modTime.Equal(info.ModTime()) {
			rep.Unchanged = append(rep.Unchanged, old.id)
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("connector file %s: %w", path, err))
			rep.Failed = append(rep.Failed, path)
			continue
		}
		sum := sha256.Sum256(b)
		hash := hex.EncodeToString(sum[:])
		if old != nil && old.hash == hash {
			old.size, old.modTime = info.Size(), info.ModTime()
			rep.Unchanged = append(rep.Unchanged, old.id)
			continue
		}
		pending = append(pending, &loadJob{path: path, b: b, hash: hash, info: info})
	}
	// Compiling a Go module takes seconds without a warm cache: use every core.
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
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
			errs = append(errs, j.err)
			rep.Failed = append(rep.Failed, j.path)
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
	// One id, one file.
	byID := map[string]*version{}
	for _, path := range sortedFiles(next) {
		v := next[path]
		if other, dup := byID[v.id]; dup {
			errs = append(errs, fmt.Errorf("connector file %s: id %q is already provided by %s", path, v.id, other.file))
			rep.Failed = append(rep.Failed, path)
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
	c.byFile, c.byID = next, byID
	for _, v := range retired {
		v.retire()
	}
	c.mu.Unlock()
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
	for _, l := range [][]string{rep.Loaded, rep.Unchanged, rep.Removed, rep.Failed} {
		sort.Strings(l)
	}
	return rep, errors.Join(errs...)
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

func sortedFiles(m map[string]*version) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// load compiles and checks one module and reads its manifest.
func (c *Catalog) load(ctx context.Context, path string, b []byte, hash string) (*version, error) {
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("connector file %s: refused: %s", path, fmt.Sprintf(format, args...))
	}
	compiled, err := c.rt.CompileModule(ctx, b)
	if err != nil {
		return nil, refuse("not a valid WebAssembly module: %v", err)
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
				other = append(other, name)
			}
		}
		if len(other) > 0 {
			return fail(refuse("speaks %s, this host speaks %s", strings.Join(other, ", "), abi.ExportMarker))
		}
		return fail(refuse("no %s export: not a hub connector (build it with sdk/plugin)", abi.ExportMarker))
	}
	for _, want := range []struct {
		name    string
		params  int
		results int
	}{{abi.ExportAlloc, 1, 1}, {abi.ExportDescribe, 0, 1}, {abi.ExportInvoke, 2, 1}, {abi.ExportInitialize, 0, 0}} {
		fn, ok := exports[want.name]
		if !ok {
			return fail(refuse("missing export %s", want.name))
		}
		if len(fn.ParamTypes()) != want.params || len(fn.ResultTypes()) != want.results {
			return fail(refuse("export %s has the wrong signature", want.name))
		}
	}
	v := newVersion(c)
	v.file, v.hash, v.compiled, v.loadedAt = path, hash, compiled, time.Now()
	ictx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
	defer cancel()
	inst, err := instantiate(ictx, c.rt, compiled)
	if err != nil {
		return fail(refuse("%v", err))
	}
	m, err := describeWith(ictx, inst, int64(c.cfg.MaxResponseBytes))
	if err != nil {
		inst.close()
		return fail(refuse("%v", err))
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
}

// Connectors lists the loaded connectors by id.
func (c *Catalog) Connectors() []ConnectorInfo {
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
