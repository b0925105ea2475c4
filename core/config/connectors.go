package config

// This file is owned by the plugin host (issue 3); extend it there.

import (
	"fmt"
	"time"
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
	// MaxResponseBytes caps an HTTP response a connector reads (default 8MiB).
	MaxResponseBytes ByteSize `koanf:"max_response_bytes"`
}

func (c *ConnectorsConfig) setDefaults() {
	*c = ConnectorsConfig{Dir: "./build/connectors", PoolSize: 4, CallTimeout: 30 * time.Second, MemoryLimitPages: 1024, MaxResponseBytes: 8 << 20}
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

func (c TenantConnector) validate(path string) []error { return nil }
