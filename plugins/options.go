package plugins

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/bbolt"

	"github.com/aquascene/aquahub/sdk/abi"
)

// Options configures a Catalog. Zero fields take the defaults stated on each.
type Options struct {
	// Dir holds the connector modules (*.wasm). Required.
	Dir string
	// CacheDir keeps compiled machine code between starts, keyed by module content. Empty
	// keeps the cache in memory only (every start compiles again, 1-2 s per Go module).
	CacheDir string
	// PoolSize bounds the instances of one connector, which is also its concurrency: a call
	// that finds every instance busy waits for one. Default 4.
	PoolSize int
	// CallTimeout is the deadline of one call, HTTP time included. Default 30s.
	CallTimeout time.Duration
	// MemoryLimitPages caps an instance's linear memory in 64 KiB pages. A Go module needs
	// at least about 42. Default 1024 (64 MiB).
	MemoryLimitPages uint32
	// MaxResponseBytes caps an action's result and an HTTP response body. Default 4 MiB.
	MaxResponseBytes int64
	// MaxKVValueBytes caps one kv value. Default 64 KiB.
	MaxKVValueBytes int
	// RecycleAfterCalls closes an instance after this many calls. Default 10000.
	RecycleAfterCalls int
	// RecycleMemoryPages closes an instance whose memory grew past this many pages after a
	// call. Default three quarters of MemoryLimitPages.
	RecycleMemoryPages uint32
	// DB stores kv values in the bucket "plugins.kv". Nil makes kv calls fail as unavailable.
	DB *bbolt.DB
	// Logger receives connector logs and host events. Default slog.Default().
	Logger *slog.Logger
	// Registerer receives the host's Prometheus metrics. Nil keeps them unregistered.
	Registerer prometheus.Registerer
	// Grants returns a tenant's configuration, secrets and egress grant for a connector.
	// Nil (or ok=false) means the tenant has no grant: no config, no secrets, no egress.
	Grants func(tenant, connector string) (Grant, bool)
	// LookupIP replaces DNS resolution for egress (tests). Default the system resolver.
	LookupIP func(ctx context.Context, host string) ([]netip.Addr, error)
}

// Grant is one tenant's settings for one connector.
type Grant struct {
	// Config is passed to the connector with every call.
	Config map[string]any
	// Secrets are injected by name into HTTP requests, or, for secrets the manifest
	// declares as signing keys, used by sign_jwt only; the connector never sees them.
	Secrets map[string]string
	// Egress lists the origins the tenant grants; intersected with the manifest's request.
	Egress []string
}

func (o *Options) setDefaults() {
	if o.PoolSize <= 0 {
		o.PoolSize = 4
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 30 * time.Second
	}
	if o.MemoryLimitPages == 0 {
		o.MemoryLimitPages = 1024
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = abi.DefaultMaxResponseBytes
	}
	if o.MaxKVValueBytes <= 0 {
		o.MaxKVValueBytes = abi.DefaultMaxKVValueBytes
	}
	if o.RecycleAfterCalls <= 0 {
		o.RecycleAfterCalls = 10000
	}
	if o.RecycleMemoryPages == 0 || o.RecycleMemoryPages > o.MemoryLimitPages {
		o.RecycleMemoryPages = o.MemoryLimitPages * 3 / 4
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}
