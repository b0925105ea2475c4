package config

// This file is owned by the plugin host (issue 3); extend it there.

import (
	"fmt"
	"time"

	"github.com/aquascene/aquahub/sdk/abi"
)

// ConnectorsConfig configures the WASM connector host.
type ConnectorsConfig struct {
	// Dir holds the connector modules, *.wasm (default ./build/connectors).
	Dir string `koanf:"dir"`
	// CacheDir keeps compiled modules between starts (default: beside the data file).
	CacheDir string `koanf:"cache_dir"`
	// PoolSize bounds the initialised instances kept per connector (default 4).
	PoolSize int `koanf:"pool_size"`
	// CallTimeout is the deadline of one action call, HTTP time included (default 30s).
	CallTimeout time.Duration `koanf:"call_timeout"`
	// MemoryLimitPages caps a module's linear memory in 64KiB pages (default 1024 = 64MiB).
	MemoryLimitPages int `koanf:"memory_limit_pages"`
	// MaxResponseBytes caps an HTTP response body a connector reads and the result of one
	// action call (default 8MiB).
	MaxResponseBytes ByteSize `koanf:"max_response_bytes"`
	// MaxKVValueBytes caps one value a connector stores with kv_set (default 64KiB).
	MaxKVValueBytes ByteSize `koanf:"max_kv_value_bytes"`
	// RecycleAfterCalls closes an instance after this many calls, since Go guests never
	// return memory (default 10000).
	RecycleAfterCalls int `koanf:"recycle_after_calls"`
	// RecycleMemoryPages closes an instance whose linear memory grew past this many pages
	// (default 0 = three quarters of memory_limit_pages).
	RecycleMemoryPages int `koanf:"recycle_memory_pages"`
	// WatchInterval is how often the directory is checked for replaced, added or removed
	// modules; 0 disables watching (reload with POST /api/v1/connectors/reload) (default 2s).
	WatchInterval time.Duration `koanf:"watch_interval"`
}

func (c *ConnectorsConfig) setDefaults() {
	*c = ConnectorsConfig{Dir: "./build/connectors", PoolSize: 4, CallTimeout: 30 * time.Second, MemoryLimitPages: 1024,
		MaxResponseBytes: 8 << 20, MaxKVValueBytes: 64 << 10, RecycleAfterCalls: 10000, WatchInterval: 2 * time.Second}
}

func (c ConnectorsConfig) validate(path string) []error {
	var errs []error
	if c.PoolSize < 1 || c.PoolSize > 256 {
		errs = append(errs, fmt.Errorf("%s.pool_size: must be between 1 and 256 (got %d)", path, c.PoolSize))
	}
	if c.CallTimeout <= 0 {
		errs = append(errs, fmt.Errorf("%s.call_timeout: must be positive (got %s)", path, c.CallTimeout))
	}
	if c.MemoryLimitPages < 64 || c.MemoryLimitPages > 65536 {
		errs = append(errs, fmt.Errorf("%s.memory_limit_pages: must be between 64 and 65536 (got %d)", path, c.MemoryLimitPages))
	}
	if c.MaxResponseBytes < 1<<10 {
		errs = append(errs, fmt.Errorf("%s.max_response_bytes: must be at least 1KiB (got %d)", path, c.MaxResponseBytes))
	}
	if c.MaxKVValueBytes < 1 || c.MaxKVValueBytes > 16<<20 {
		errs = append(errs, fmt.Errorf("%s.max_kv_value_bytes: must be between 1 and 16MiB (got %d)", path, c.MaxKVValueBytes))
	}
	if c.RecycleAfterCalls < 1 {
		errs = append(errs, fmt.Errorf("%s.recycle_after_calls: must be positive (got %d)", path, c.RecycleAfterCalls))
	}
	if c.RecycleMemoryPages < 0 || c.RecycleMemoryPages > c.MemoryLimitPages {
		errs = append(errs, fmt.Errorf("%s.recycle_memory_pages: must be between 0 and memory_limit_pages (got %d)", path, c.RecycleMemoryPages))
	}
	if c.WatchInterval < 0 {
		errs = append(errs, fmt.Errorf("%s.watch_interval: must not be negative (got %s)", path, c.WatchInterval))
	}
	return errs
}

// TenantConnector is one tenant's settings for one connector.
type TenantConnector struct {
	// Config is passed to the connector as its configuration (base_url and the like).
	Config map[string]any `koanf:"config"`
	// Secrets are injected by name into the connector's HTTP requests by the host; the
	// connector never sees the values.
	Secrets map[string]string `koanf:"secrets"`
	// Egress grants origins (scheme://host[:port]) the connector may call; intersected with
	// the hosts its manifest requests. Private and loopback addresses need an explicit grant.
	Egress []string `koanf:"egress"`
}

func (c TenantConnector) validate(path string) []error {
	var errs []error
	for i, e := range c.Egress {
		if _, err := abi.ParseOrigin(e); err != nil {
			errs = append(errs, fmt.Errorf("%s.egress[%d]: %v", path, i, err))
		}
	}
	for name := range c.Secrets {
		if name == "" {
			errs = append(errs, fmt.Errorf("%s.secrets: empty secret name", path))
		}
	}
	return errs
}
