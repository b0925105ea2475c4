package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/internal/config"
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "aquahub.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFileEnvAndFlags(t *testing.T) {
	t.Setenv("ACME_KEY", "secret-123")
	t.Setenv("AQUAHUB_SERVER_BODY_LIMIT", "2MiB")
	t.Setenv("AQUAHUB_ENGINE_WORKERS", "4")
	t.Setenv("AQUAHUB_URL", "http://127.0.0.1:9100") // the CLI client's, ignored by the hub
	p := write(t, `
server: { addr: 127.0.0.1:9000 }
storage: { path: /tmp/x.db }
tenants:
  - id: acme
    api_keys: [ "${ACME_KEY}" ]
`)
	cfg, err := config.Load(p, map[string]any{"server.addr": "127.0.0.1:9100"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Addr != "127.0.0.1:9100" {
		t.Errorf("flag should win over the file: %s", cfg.Server.Addr)
	}
	if cfg.Server.BodyLimit != 2<<20 || cfg.Engine.Workers != 4 {
		t.Errorf("environment not applied: %d %d", cfg.Server.BodyLimit, cfg.Engine.Workers)
	}
	if cfg.Tenants[0].APIKeys[0] != "secret-123" {
		t.Errorf("${VAR} not expanded: %q", cfg.Tenants[0].APIKeys[0])
	}
	if cfg.Storage.MaxBatchSize != 64 {
		t.Errorf("defaults lost: %+v", cfg.Storage)
	}
}

func TestLoadErrorsNameThePath(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  map[string]string
		want string
	}{
		{"unknown top-level key", "sever: { addr: x }\n", nil, "sever: unknown key"},
		{"unknown nested key", "server: { adr: 127.0.0.1:1 }\n", nil, "server.adr: unknown key"},
		{"bad duration", "engine: { lease_ttl: soon }\n", nil, "lease_ttl"},
		{"bad size", "server: { body_limit: lots }\n", nil, "invalid size"},
		{"bad address", "server: { addr: nowhere }\n", nil, `server.addr: must be host:port (got "nowhere")`},
		{"body limit too small", "server: { body_limit: 10 }\n", nil, "server.body_limit: must be between"},
		{"bad tenant id", "tenants: [ { id: Acme Corp, api_keys: [abcdefgh] } ]\n", nil, "tenants[0].id: must be lowercase"},
		{"duplicate API key", "tenants: [ { id: a, api_keys: [samekey1] }, { id: b, api_keys: [samekey1] } ]\n", nil, `tenants[1].api_keys[0]: the same key is already used by tenant "a"`},
		{"unset variable", "tenants: [ { id: a, api_keys: [ \"${NOT_SET_ANYWHERE}\" ] } ]\n", nil, "tenants[0].api_keys[0]: environment variable NOT_SET_ANYWHERE is not set"},
		{"unknown environment setting", "", map[string]string{"AQUAHUB_SERVER_ADRESS": "x"}, "AQUAHUB_SERVER_ADRESS: no such setting"},
		{"bad log level", "log: { level: loud }\n", nil, `log.level: must be debug, info, warn or error (got "loud")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := config.Load(write(t, tc.file), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v does not contain %q", err, tc.want)
			}
		})
	}
}

func TestByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{{"1MiB", 1 << 20}, {"512KB", 512000}, {"1048576", 1 << 20}, {"2 GiB", 2 << 30}}
	for _, tc := range tests {
		var b config.ByteSize
		if err := b.UnmarshalText([]byte(tc.in)); err != nil || int64(b) != tc.want {
			t.Errorf("%s: got %d %v", tc.in, b, err)
		}
	}
}
