package plugins

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/logtest"
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
		{name: "grant", tc: TenantConfig{Egress: []string{"https://api.airtable.com", "http://127.0.0.1:8781"}, Secrets: map[string]string{"api_key": "pat-0123456789"}}},
		{name: "no origin", tc: TenantConfig{Egress: []string{"https://api.airtable.com", "api.airtable.com"}}, want: "egress[1]"},
		{name: "origin with a path", tc: TenantConfig{Egress: []string{"https://api.airtable.com/v0"}}, want: "egress[0]"},
		{name: "empty secret name", tc: TenantConfig{Secrets: map[string]string{"": "pat-0123456789"}}, want: "secrets: empty secret name"},
		{name: "short secret", tc: TenantConfig{Secrets: map[string]string{"api_key": "1234567"}}, want: "secrets.api_key: must be at least 8 bytes (got 7)"},
		{name: "empty secret", tc: TenantConfig{Secrets: map[string]string{"api_key": ""}}, want: "secrets.api_key: must be at least 8 bytes (got 0)"},
		{name: "secret bound to granted origins", tc: TenantConfig{
			Egress:        []string{"https://api.sendgrid.com", "https://*.api.mailchimp.com", "http://127.0.0.1:8025"},
			Secrets:       map[string]string{"api_key": "SG.0123456789", "mc": "0123456789-us21"},
			SecretOrigins: map[string][]string{"api_key": {"https://api.sendgrid.com", "http://127.0.0.1:8025"}, "mc": {"https://us21.api.mailchimp.com", "https://*.api.mailchimp.com"}},
		}},
		{name: "secret bound to an origin not granted", tc: TenantConfig{
			Egress: []string{"https://api.sendgrid.com"}, Secrets: map[string]string{"api_key": "SG.0123456789"},
			SecretOrigins: map[string][]string{"api_key": {"https://api.sendgrid.com", "https://evil.example"}},
		}, want: "secret_origins.api_key[1]: https://evil.example is not in egress"},
		{name: "wildcard binding wider than the grant", tc: TenantConfig{
			Egress: []string{"https://us21.api.mailchimp.com"}, Secrets: map[string]string{"api_key": "0123456789-us21"},
			SecretOrigins: map[string][]string{"api_key": {"https://*.api.mailchimp.com"}},
		}, want: "secret_origins.api_key[0]"},
		{name: "binding of an unset secret", tc: TenantConfig{
			Egress: []string{"https://api.sendgrid.com"}, SecretOrigins: map[string][]string{"api_kye": {"https://api.sendgrid.com"}},
		}, want: `secret_origins.api_kye: no secret "api_kye" is set`},
		{name: "empty binding", tc: TenantConfig{
			Egress: []string{"https://api.sendgrid.com"}, Secrets: map[string]string{"api_key": "SG.0123456789"}, SecretOrigins: map[string][]string{"api_key": {}},
		}, want: "secret_origins.api_key: names no origin"},
		{name: "bad binding origin", tc: TenantConfig{
			Egress: []string{"https://api.sendgrid.com"}, Secrets: map[string]string{"api_key": "SG.0123456789"}, SecretOrigins: map[string][]string{"api_key": {"api.sendgrid.com"}},
		}, want: "secret_origins.api_key[0]"},
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
			if strings.Contains(err.Error(), "1234567") || strings.Contains(err.Error(), "SG.0123456789") {
				t.Fatalf("the message holds a secret value: %v", err)
			}
		})
	}
}

// TestWarnsOfSecretsFreeToGoToSeveralOrigins: the hub calls WarnUnboundSecrets at start
// with the file's tenants.
func TestWarnsOfSecretsFreeToGoToSeveralOrigins(t *testing.T) {
	var logs logtest.Buffer
	tenants := map[string]map[string]TenantConfig{
		"t1": {
			"http": {Egress: []string{"https://a.example", "https://b.example"}, Secrets: map[string]string{"bound": "0123456789", "free": "0123456789"},
				SecretOrigins: map[string][]string{"bound": {"https://a.example"}}},
			"sendgrid": {Egress: []string{"https://api.sendgrid.com"}, Secrets: map[string]string{"api_key": "SG.0123456789"}},
		},
	}
	WarnUnboundSecrets(slog.New(slog.NewTextHandler(&logs, nil)), tenants)
	out := logs.String()
	if !strings.Contains(out, "bind it with secret_origins") || !strings.Contains(out, "secret=free") {
		t.Fatalf("no warning for the unbound secret:\n%s", out)
	}
	if strings.Contains(out, "secret=bound") || strings.Contains(out, "secret=api_key") {
		t.Fatalf("a warning for a bound secret or a single grant:\n%s", out)
	}
}
