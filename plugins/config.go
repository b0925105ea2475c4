package plugins

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/abi"
)

// Config configures the WASM connector host: the `connectors` section of the configuration.
// It is the one definition of the host's settings; DefaultConfig holds their defaults.
type Config struct {
	// Dir holds the connector modules, *.wasm (default ./build/connectors).
	Dir string `koanf:"dir"`
	// CacheDir keeps compiled machine code between starts, keyed by module content (default:
	// wazero-cache beside the data file, Deps.DataDir; with neither, compiled code stays in
	// memory and every start compiles again, 1-2 s per Go module).
	CacheDir string `koanf:"cache_dir"`
	// PoolSize bounds the initialised instances kept per connector, which is also its
	// concurrency: a call that finds every instance busy waits for one (default 4).
	PoolSize int `koanf:"pool_size"`
	// CallTimeout is the deadline of one action call, HTTP time included (default 30s).
	CallTimeout time.Duration `koanf:"call_timeout"`
	// MemoryLimitPages caps a module's linear memory in 64KiB pages; a Go module needs at
	// least about 42 (default 1024 = 64MiB).
	MemoryLimitPages int `koanf:"memory_limit_pages"`
	// MaxResponseBytes caps an HTTP response body a connector reads and the result of one
	// action call (default 8MiB).
	MaxResponseBytes core.ByteSize `koanf:"max_response_bytes"`
	// MaxKVValueBytes caps one value a connector stores with kv_set (default 64KiB).
	MaxKVValueBytes core.ByteSize `koanf:"max_kv_value_bytes"`
	// RecycleAfterCalls closes an instance after this many calls, since Go guests never
	// return memory (default 10000).
	RecycleAfterCalls int `koanf:"recycle_after_calls"`
	// RecycleMemoryPages closes an instance whose linear memory grew past this many pages
	// after a call (default 0 = three quarters of memory_limit_pages).
	RecycleMemoryPages int `koanf:"recycle_memory_pages"`
	// WatchInterval is how often the directory is checked for replaced, added or removed
	// modules; 0 disables watching (reload with POST /api/v1/connectors/reload) (default 2s).
	WatchInterval time.Duration `koanf:"watch_interval"`
	// Circuit tunes the circuit breakers the host keeps per tenant, connector and origin:
	// after failure_ratio of the requests in window failed (5xx, timeouts, network errors;
	// at least min_requests of them) or timeout_run timeouts in a row, requests to that
	// origin fail at once without being sent, and the step is deferred, not failed and not
	// counted as an attempt, until a probe after open_for (doubling to max_open_for) succeeds
	// (defaults: failure_ratio 0.5, min_requests 10, window 30s, timeout_run 5, open_for 15s,
	// max_open_for 5m; disabled: true turns them off).
	Circuit core.BreakerConfig `koanf:"circuit"`

	// MaxModuleBytes caps a module file; a larger one is refused unread (default 64MiB; a Go
	// connector is about 11MiB).
	MaxModuleBytes core.ByteSize `koanf:"max_module_bytes"`
	// MaxFunctions caps the functions a module defines, checked before it is compiled
	// (default 100000; a Go connector defines about 6500).
	MaxFunctions int `koanf:"max_functions"`
	// MaxFunctionLocals caps the locals one function declares, checked before compiling
	// (default 50000; Go functions declare at most a few dozen).
	MaxFunctionLocals int `koanf:"max_function_locals"`
	// MaxTotalLocals caps the locals of all of a module's functions together, checked before
	// compiling: each costs the compiler memory (default 1000000; a Go connector declares
	// about 30000).
	MaxTotalLocals int `koanf:"max_total_locals"`
	// MaxNesting caps how deeply blocks nest in one function, checked before compiling
	// (default 10000; Go connectors nest about 550 deep).
	MaxNesting int `koanf:"max_nesting"`
	// CompileTimeout bounds compiling and validating one module (default 2m; a Go connector
	// compiles in 1-3s, from the compilation cache in well under 1s).
	CompileTimeout time.Duration `koanf:"compile_timeout"`
	// CompileMemory bounds the memory of the child process that compiles a module when the
	// host compiles out of process (Deps.CompileCommand; `aquahub serve` does) (default
	// 2GiB).
	CompileMemory core.ByteSize `koanf:"compile_memory"`
	// InitTimeout bounds a module's _initialize and hub_describe when it is loaded (default
	// 10s). A module that exceeds it, like any refused module, is not tried again until its
	// file changes.
	InitTimeout time.Duration `koanf:"init_timeout"`

	// MaxActions caps the actions of one manifest (default 256).
	MaxActions int `koanf:"max_actions"`
	// MaxSchemaDepth caps how deeply an action's schemas nest (default 32).
	MaxSchemaDepth int `koanf:"max_schema_depth"`
	// MaxEnumValues caps the values of one enum in a schema (default 1000).
	MaxEnumValues int `koanf:"max_enum_values"`
	// MaxPatternBytes caps the text of one schema pattern (default 1024).
	MaxPatternBytes int `koanf:"max_pattern_bytes"`
	// MaxPatternProgram caps the compiled size of one schema pattern in instructions; a
	// manifest's patterns together may use sixteen times as many (default 10000).
	MaxPatternProgram int `koanf:"max_pattern_program"`
	// ValidationBudget bounds the work of validating one call's inputs against the action's
	// schema, in steps: a pattern match costs the pattern's instructions times the string's
	// length, other checks one step per value. An input over it is refused as invalid
	// (default 10000000, about 0.1-0.3s of one core in the worst case).
	ValidationBudget int64 `koanf:"validation_budget"`

	// RateLimitBuckets caps the token buckets of declared rate limits kept per tenant and
	// connector; past it the least recently used is dropped (default 1024).
	RateLimitBuckets int `koanf:"rate_limit_buckets"`
	// KVQuotaBytes caps what one connector stores in kv for one tenant, keys and values
	// together; a kv_set past it fails with status quota_exceeded (default 16MiB).
	KVQuotaBytes core.ByteSize `koanf:"kv_quota_bytes"`
	// KVQuotaKeys caps the keys one connector stores in kv for one tenant (default 10000).
	KVQuotaKeys int `koanf:"kv_quota_keys"`
	// LogBytesPerCall caps the bytes of log records one action call writes; records past it
	// are dropped and counted (default 64KiB).
	LogBytesPerCall core.ByteSize `koanf:"log_bytes_per_call"`
	// LogBytesPerSecond caps the bytes of log records one connector writes per second for
	// one tenant, across calls and instances (default 64KiB, with a burst of 4 seconds'
	// worth).
	LogBytesPerSecond core.ByteSize `koanf:"log_bytes_per_second"`
}

// DefaultConfig returns the host's defaults.
func DefaultConfig() Config {
	lim := abi.DefaultLimits()
	return Config{
		Dir: "./build/connectors", PoolSize: 4, CallTimeout: 30 * time.Second, MemoryLimitPages: 1024,
		MaxResponseBytes: abi.DefaultMaxResponseBytes, MaxKVValueBytes: abi.DefaultMaxKVValueBytes,
		RecycleAfterCalls: 10000, WatchInterval: 2 * time.Second, Circuit: core.DefaultBreakerConfig(),

		MaxModuleBytes: 64 << 20, MaxFunctions: 100000, MaxFunctionLocals: 50000, MaxTotalLocals: 1000000,
		MaxNesting: 10000, CompileTimeout: 2 * time.Minute, CompileMemory: 2 << 30, InitTimeout: 10 * time.Second,

		MaxActions: lim.MaxActions, MaxSchemaDepth: lim.MaxSchemaDepth, MaxEnumValues: lim.MaxEnumValues,
		MaxPatternBytes: lim.MaxPatternBytes, MaxPatternProgram: lim.MaxPatternProgram, ValidationBudget: 10_000_000,

		RateLimitBuckets: 1024, KVQuotaBytes: 16 << 20, KVQuotaKeys: 10000,
		LogBytesPerCall: 64 << 10, LogBytesPerSecond: 64 << 10,
	}
}

// schemaLimits are the manifest limits of the settings.
func (c Config) schemaLimits() abi.Limits {
	return abi.Limits{
		MaxActions: c.MaxActions, MaxSchemaDepth: c.MaxSchemaDepth, MaxEnumValues: c.MaxEnumValues,
		MaxPatternBytes: c.MaxPatternBytes, MaxPatternProgram: c.MaxPatternProgram,
	}
}

// withDefaults fills the zero fields whose zero is no setting with DefaultConfig's values,
// and resolves RecycleMemoryPages' default, which depends on MemoryLimitPages. CacheDir and
// WatchInterval stay as they are: their zero means something.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Dir == "" {
		c.Dir = d.Dir
	}
	if c.PoolSize == 0 {
		c.PoolSize = d.PoolSize
	}
	if c.CallTimeout == 0 {
		c.CallTimeout = d.CallTimeout
	}
	if c.MemoryLimitPages == 0 {
		c.MemoryLimitPages = d.MemoryLimitPages
	}
	if c.MaxResponseBytes == 0 {
		c.MaxResponseBytes = d.MaxResponseBytes
	}
	if c.MaxKVValueBytes == 0 {
		c.MaxKVValueBytes = d.MaxKVValueBytes
	}
	if c.RecycleAfterCalls == 0 {
		c.RecycleAfterCalls = d.RecycleAfterCalls
	}
	if c.RecycleMemoryPages == 0 {
		c.RecycleMemoryPages = c.MemoryLimitPages * 3 / 4
	}
	c.Circuit = c.Circuit.WithDefaults()
	fill(&c.MaxModuleBytes, d.MaxModuleBytes)
	fill(&c.MaxFunctions, d.MaxFunctions)
	fill(&c.MaxFunctionLocals, d.MaxFunctionLocals)
	fill(&c.MaxTotalLocals, d.MaxTotalLocals)
	fill(&c.MaxNesting, d.MaxNesting)
	fill(&c.CompileTimeout, d.CompileTimeout)
	fill(&c.CompileMemory, d.CompileMemory)
	fill(&c.InitTimeout, d.InitTimeout)
	fill(&c.MaxActions, d.MaxActions)
	fill(&c.MaxSchemaDepth, d.MaxSchemaDepth)
	fill(&c.MaxEnumValues, d.MaxEnumValues)
	fill(&c.MaxPatternBytes, d.MaxPatternBytes)
	fill(&c.MaxPatternProgram, d.MaxPatternProgram)
	fill(&c.ValidationBudget, d.ValidationBudget)
	fill(&c.RateLimitBuckets, d.RateLimitBuckets)
	fill(&c.KVQuotaBytes, d.KVQuotaBytes)
	fill(&c.KVQuotaKeys, d.KVQuotaKeys)
	fill(&c.LogBytesPerCall, d.LogBytesPerCall)
	fill(&c.LogBytesPerSecond, d.LogBytesPerSecond)
	return c
}

// fill sets a zero setting to its default.
func fill[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// cacheDir is where compiled code is kept, "" for memory only.
func (c Config) cacheDir(dataDir string) string {
	if c.CacheDir == "" && dataDir != "" {
		return filepath.Join(dataDir, "wazero-cache")
	}
	return c.CacheDir
}

// Validate checks the settings; errors name the field.
func (c Config) Validate() error {
	var errs []error
	if c.PoolSize < 1 || c.PoolSize > 256 {
		errs = append(errs, core.Invalid("pool_size", "must be between 1 and 256 (got %d)", c.PoolSize))
	}
	if c.CallTimeout <= 0 {
		errs = append(errs, core.Invalid("call_timeout", "must be positive (got %s)", c.CallTimeout))
	}
	if c.MemoryLimitPages < 64 || c.MemoryLimitPages > 65536 {
		errs = append(errs, core.Invalid("memory_limit_pages", "must be between 64 and 65536 (got %d)", c.MemoryLimitPages))
	}
	if c.MaxResponseBytes < 1<<10 {
		errs = append(errs, core.Invalid("max_response_bytes", "must be at least 1KiB (got %d)", c.MaxResponseBytes))
	}
	if c.MaxKVValueBytes < 1 || c.MaxKVValueBytes > 16<<20 {
		errs = append(errs, core.Invalid("max_kv_value_bytes", "must be between 1 and 16MiB (got %d)", c.MaxKVValueBytes))
	}
	if c.RecycleAfterCalls < 1 {
		errs = append(errs, core.Invalid("recycle_after_calls", "must be positive (got %d)", c.RecycleAfterCalls))
	}
	if c.RecycleMemoryPages < 0 || c.RecycleMemoryPages > c.MemoryLimitPages {
		errs = append(errs, core.Invalid("recycle_memory_pages", "must be between 0 and memory_limit_pages (got %d)", c.RecycleMemoryPages))
	}
	if c.WatchInterval < 0 {
		errs = append(errs, core.Invalid("watch_interval", "must not be negative (got %s)", c.WatchInterval))
	}
	for _, p := range []struct {
		name string
		v    int64
	}{
		{"max_module_bytes", int64(c.MaxModuleBytes)}, {"max_functions", int64(c.MaxFunctions)},
		{"max_function_locals", int64(c.MaxFunctionLocals)}, {"max_total_locals", int64(c.MaxTotalLocals)},
		{"max_nesting", int64(c.MaxNesting)}, {"compile_timeout", int64(c.CompileTimeout)},
		{"compile_memory", int64(c.CompileMemory)}, {"init_timeout", int64(c.InitTimeout)},
		{"max_actions", int64(c.MaxActions)}, {"max_schema_depth", int64(c.MaxSchemaDepth)},
		{"max_enum_values", int64(c.MaxEnumValues)}, {"max_pattern_bytes", int64(c.MaxPatternBytes)},
		{"max_pattern_program", int64(c.MaxPatternProgram)}, {"validation_budget", c.ValidationBudget},
		{"rate_limit_buckets", int64(c.RateLimitBuckets)}, {"kv_quota_bytes", int64(c.KVQuotaBytes)},
		{"kv_quota_keys", int64(c.KVQuotaKeys)}, {"log_bytes_per_call", int64(c.LogBytesPerCall)},
		{"log_bytes_per_second", int64(c.LogBytesPerSecond)},
	} {
		if p.v <= 0 {
			errs = append(errs, core.Invalid(p.name, "must be positive (got %d)", p.v))
		}
	}
	if c.CompileMemory > 0 && c.CompileMemory < 256<<20 {
		errs = append(errs, core.Invalid("compile_memory", "must be at least 256MiB (got %d)", c.CompileMemory))
	}
	return errors.Join(errs...)
}

var sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// TenantConfig is one tenant's settings for one connector: tenants[].connectors.<id>, and
// what Deps.Grants returns.
type TenantConfig struct {
	// Config is passed to the connector as its configuration (base_url and the like).
	Config map[string]any `koanf:"config"`
	// Secrets are injected by name into the connector's HTTP requests by the host or, for
	// secrets the manifest declares with use: sign, used by sign_jwt only; the connector
	// never sees the values. Each value must be at least 8 bytes (abi.MinSecretBytes).
	Secrets map[string]string `koanf:"secrets"`
	// Egress grants origins (scheme://host[:port]) the connector may call; intersected with
	// the hosts its manifest requests. Private and loopback addresses need an explicit grant.
	Egress []string `koanf:"egress"`
	// Revision changes whenever the tenant's settings change at run time (the tenant
	// registry's revision), so that the host rebuilds what it built from them. Not a setting.
	Revision uint64 `koanf:"-"`
	// SecretOrigins binds secrets to the origins they may be sent to, by secret name:
	// `secret_origins: {api_key: ["https://api.sendgrid.com"]}`. Each origin must be
	// covered by Egress. A secret without an entry may be sent to every origin of Egress
	// (default: no entries), which is the vendor's origin for a connector granted one; bind
	// every secret of a connector granted several origins, above all the generic http one.
	SecretOrigins map[string][]string `koanf:"secret_origins" yaml:"secret_origins"`
	// SHA256 pins the module this tenant's settings are given to: the hex SHA-256 of the
	// connector's .wasm file (`aquahub plugin inspect` and GET /api/v1/connectors show it).
	// A module file with another digest is refused at load, and the version in service
	// stays. Empty (the default) trusts whichever module the operator put in the directory
	// under the connector's name.
	SHA256 string `koanf:"sha256"`
}

// Validate checks the settings; errors name the field.
func (c TenantConfig) Validate() error {
	var errs []error
	for i, e := range c.Egress {
		if _, err := abi.ParseOrigin(e); err != nil {
			errs = append(errs, core.Invalid(fmt.Sprintf("egress[%d]", i), "%v", err))
		}
	}
	for _, name := range sortedKeys(c.Secrets) {
		if name == "" {
			errs = append(errs, core.Invalid("secrets", "empty secret name"))
			continue
		}
		// The value is never part of the message.
		if n := len(c.Secrets[name]); n < abi.MinSecretBytes {
			errs = append(errs, core.Invalid("secrets."+name, "must be at least %d bytes (got %d): the host does not send a secret it could not tell apart from ordinary text", abi.MinSecretBytes, n))
		}
	}
	var granted []abi.Origin
	for _, e := range c.Egress {
		if o, err := abi.ParseOrigin(e); err == nil {
			granted = append(granted, o)
		}
	}
	for _, name := range sortedKeys(c.SecretOrigins) {
		path := "secret_origins." + name
		if _, ok := c.Secrets[name]; !ok {
			errs = append(errs, core.Invalid(path, "no secret %q is set for this connector", name))
		}
		if len(c.SecretOrigins[name]) == 0 {
			errs = append(errs, core.Invalid(path, "names no origin (leave the secret out to send it to every granted origin)"))
		}
		for i, s := range c.SecretOrigins[name] {
			o, err := abi.ParseOrigin(s)
			if err != nil {
				errs = append(errs, core.Invalid(fmt.Sprintf("%s[%d]", path, i), "%v", err))
				continue
			}
			if !coveredBy(o, granted) {
				errs = append(errs, core.Invalid(fmt.Sprintf("%s[%d]", path, i), "%s is not in egress, so the connector cannot reach it", s))
			}
		}
	}
	if c.SHA256 != "" && !sha256Pattern.MatchString(c.SHA256) {
		errs = append(errs, core.Invalid("sha256", "must be 64 lower-case hex digits (got %q)", c.SHA256))
	}
	return errors.Join(errs...)
}

// UnboundSecrets returns the names of the secrets without a secret_origins entry while
// Egress grants more than one origin: each may be sent to any of them.
func (c TenantConfig) UnboundSecrets() []string {
	if len(c.Egress) < 2 {
		return nil
	}
	var out []string
	for _, name := range sortedKeys(c.Secrets) {
		if _, bound := c.SecretOrigins[name]; !bound {
			out = append(out, name)
		}
	}
	return out
}

// WarnUnboundSecrets logs, once at start, every secret an operator left free to go to
// several granted origins.
func WarnUnboundSecrets(log *slog.Logger, tenants map[string]map[string]TenantConfig) {
	for _, tenant := range sortedKeys(tenants) {
		for _, connector := range sortedKeys(tenants[tenant]) {
			tc := tenants[tenant][connector]
			for _, name := range tc.UnboundSecrets() {
				log.Warn("secret may be sent to every origin the connector is granted; bind it with secret_origins",
					"tenant", tenant, "connector", connector, "secret", name, "origins", len(tc.Egress))
			}
		}
	}
}

// coveredBy reports whether some granted origin covers every URL that o matches.
func coveredBy(o abi.Origin, granted []abi.Origin) bool {
	for _, g := range granted {
		if g.Scheme != o.Scheme || g.Port != o.Port {
			continue
		}
		if !strings.HasPrefix(o.Host, "*.") {
			if g.Matches(o.Scheme, o.Host, o.Port) {
				return true
			}
			continue
		}
		// A wildcard is covered by the same wildcard or a wider one.
		if g.Host == o.Host || (strings.HasPrefix(g.Host, "*.") && strings.HasSuffix(o.Host[1:], g.Host[1:])) {
			return true
		}
	}
	return false
}
