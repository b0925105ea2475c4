package plugins

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
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
}

// DefaultConfig returns the host's defaults.
func DefaultConfig() Config {
	return Config{
		Dir: "./build/connectors", PoolSize: 4, CallTimeout: 30 * time.Second, MemoryLimitPages: 1024,
		MaxResponseBytes: abi.DefaultMaxResponseBytes, MaxKVValueBytes: abi.DefaultMaxKVValueBytes,
		RecycleAfterCalls: 10000, WatchInterval: 2 * time.Second, Circuit: core.DefaultBreakerConfig(),
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
	return c
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
	return errors.Join(errs...)
}

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
	// SecretOrigins binds secrets to the origins they may be sent to, by secret name:
	// `secret_origins: {api_key: ["https://api.sendgrid.com"]}`. Each origin must be
	// covered by Egress. A secret without an entry may be sent to every origin of Egress
	// (default: no entries), which is the vendor's origin for a connector granted one; bind
	// every secret of a connector granted several origins, above all the generic http one.
	SecretOrigins map[string][]string `koanf:"secret_origins" yaml:"secret_origins"`
}

// Validate checks the settings; errors name the field.
func (c TenantConfig) Validate() error {
	var errs []error
	for i, e := range c.Egress {
		if _, err := abi.ParseOrigin(e); err != nil {
			errs = append(errs, core.Invalid(fmt.Sprintf("egress[%d]", i), "%v", err))
		}
	}
	for _, name := range sortedNames(c.Secrets) {
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
	for _, name := range sortedNames(c.SecretOrigins) {
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
	return errors.Join(errs...)
}

// UnboundSecrets returns the names of the secrets without a secret_origins entry while
// Egress grants more than one origin: each may be sent to any of them.
func (c TenantConfig) UnboundSecrets() []string {
	if len(c.Egress) < 2 {
		return nil
	}
	var out []string
	for _, name := range sortedNames(c.Secrets) {
		if _, bound := c.SecretOrigins[name]; !bound {
			out = append(out, name)
		}
	}
	return out
}

// warnUnboundSecrets logs, once at start, every secret an operator left free to go to
// several granted origins.
func warnUnboundSecrets(log *slog.Logger, tenants map[string]map[string]TenantConfig) {
	for _, tenant := range sortedNames(tenants) {
		for _, connector := range sortedNames(tenants[tenant]) {
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

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
