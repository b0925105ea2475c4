package httpapi

import (
	"errors"
	"net"
	"time"

	"github.com/aquascene/aquahub/core"
)

// Config is the HTTP listener: the `server` section of the configuration.
type Config struct {
	// Addr is host:port to listen on (default 127.0.0.1:8080).
	Addr string `koanf:"addr"`
	// BodyLimit caps a request body; larger bodies get 413 (default 1MiB).
	BodyLimit core.ByteSize `koanf:"body_limit"`
	// ShutdownTimeout bounds draining on SIGTERM (default 25s; the process exits within 30s).
	ShutdownTimeout time.Duration `koanf:"shutdown_timeout"`
	// Pprof serves Go's profiler at /debug/pprof/ to requests from loopback addresses only
	// (default false). Profiles show where the hub spends its time; see docs/performance.md.
	Pprof bool `koanf:"pprof"`
}

// DefaultConfig returns the listener's defaults.
func DefaultConfig() Config {
	return Config{Addr: "127.0.0.1:8080", BodyLimit: 1 << 20, ShutdownTimeout: 25 * time.Second}
}

// Validate checks the settings; errors name the field.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, core.Invalid("addr", "must be host:port (got %q)", c.Addr))
	}
	if c.BodyLimit < 1024 || c.BodyLimit > 64<<20 {
		errs = append(errs, core.Invalid("body_limit", "must be between 1KiB and 64MiB (got %d bytes)", c.BodyLimit))
	}
	if c.ShutdownTimeout <= 0 || c.ShutdownTimeout > 29*time.Second {
		errs = append(errs, core.Invalid("shutdown_timeout", "must be between 0s and 29s so the process exits within 30s (got %s)", c.ShutdownTimeout))
	}
	return errors.Join(errs...)
}
