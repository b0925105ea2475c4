package plugins

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		want   string // substring of the error; "" for valid
	}{
		{name: "defaults", change: func(*Config) {}},
		{name: "watching off", change: func(c *Config) { c.WatchInterval = 0 }},
		{name: "pool size zero", change: func(c *Config) { c.PoolSize = 0 }, want: "pool_size: must be between 1 and 256 (got 0)"},
		{name: "pool size too large", change: func(c *Config) { c.PoolSize = 257 }, want: "pool_size"},
		{name: "call timeout", change: func(c *Config) { c.CallTimeout = -time.Second }, want: "call_timeout: must be positive"},
		{name: "memory limit below a Go module", change: func(c *Config) { c.MemoryLimitPages = 63 }, want: "memory_limit_pages: must be between 64 and 65536"},
		{name: "response cap", change: func(c *Config) { c.MaxResponseBytes = 100 }, want: "max_response_bytes: must be at least 1KiB"},
		{name: "kv value cap", change: func(c *Config) { c.MaxKVValueBytes = 17 << 20 }, want: "max_kv_value_bytes"},
		{name: "recycle after calls", change: func(c *Config) { c.RecycleAfterCalls = 0 }, want: "recycle_after_calls"},
		{name: "recycle mark past the limit", change: func(c *Config) { c.RecycleMemoryPages = 2048 }, want: "recycle_memory_pages"},
		{name: "negative watch interval", change: func(c *Config) { c.WatchInterval = -time.Second }, want: "watch_interval: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.change(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			var fe *core.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("%v names no field", err)
			}
		})
	}
}

func TestTenantConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		tc   TenantConfig
		want string
	}{
		{name: "grant", tc: TenantConfig{Egress: []string{"https://api.airtable.com", "http://127.0.0.1:8781"}, Secrets: map[string]string{"api_key": "x"}}},
		{name: "no origin", tc: TenantConfig{Egress: []string{"https://api.airtable.com", "api.airtable.com"}}, want: "egress[1]"},
		{name: "origin with a path", tc: TenantConfig{Egress: []string{"https://api.airtable.com/v0"}}, want: "egress[0]"},
		{name: "empty secret name", tc: TenantConfig{Secrets: map[string]string{"": "x"}}, want: "secrets: empty secret name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.tc.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
