package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/internal/identity"
	"github.com/aquascene/aquahub/internal/storage/bolt"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "aquahub.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfigFileEnvAndFlags(t *testing.T) {
	t.Setenv("ACME_KEY", "secret-123")
	t.Setenv("AQUAHUB_SERVER_BODY_LIMIT", "2MiB")
	t.Setenv("AQUAHUB_ENGINE_WORKERS", "4")
	t.Setenv("AQUAHUB_URL", "http://127.0.0.1:9100") // the CLI client's, ignored by the hub
	p := writeConfig(t, `
server: { addr: 127.0.0.1:9000 }
storage: { path: /tmp/x.db }
tenants:
  - id: acme
    api_keys: [ "${ACME_KEY}", { key: viewer-key-1, role: viewer } ]
    api_key_role: editor
`)
	cfg, err := loadConfig(p, map[string]any{"server.addr": "127.0.0.1:9100"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Addr != "127.0.0.1:9100" {
		t.Errorf("flag should win over the file: %s", cfg.Server.Addr)
	}
	if cfg.Server.BodyLimit != 2<<20 || cfg.Engine.Workers != 4 {
		t.Errorf("environment not applied: %d %d", cfg.Server.BodyLimit, cfg.Engine.Workers)
	}
	if k := cfg.Tenants[0].APIKeys; len(k) != 2 || k[0].Key != "secret-123" || k[0].Role != "" || k[1] != (identity.ConfigKey{Key: "viewer-key-1", Role: "viewer"}) {
		t.Errorf("api_keys: ${VAR} not expanded, or a form not read: %+v", k)
	}
	if cfg.Storage.MaxBatchSize != bolt.DefaultConfig().MaxBatchSize {
		t.Errorf("defaults lost: %+v", cfg.Storage)
	}
}

func TestLoadConfigErrorsNameThePath(t *testing.T) {
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
		{"too many workers", "engine: { workers: 5000 }\n", nil, "engine.workers: must be between 1 and 1024"},
		{"bad tenant id", "tenants: [ { id: Acme Corp, api_key_role: admin, api_keys: [abcdefgh] } ]\n", nil, "tenants[0].id: must be lowercase"},
		{"duplicate API key", "tenants: [ { id: a, api_key_role: admin, api_keys: [samekey1] }, { id: b, api_key_role: admin, api_keys: [samekey1] } ]\n", nil, `tenants[1].api_keys[0]: the same key is already used by tenant "a"`},
		{"short API key", "tenants: [ { id: a, api_key_role: admin, api_keys: [abc] } ]\n", nil, "tenants[0].api_keys[0]: an API key must have at least 6 characters"},
		{"API key without a role", "tenants: [ { id: a, api_keys: [abcdefgh] } ]\n", nil, "tenants[0].api_keys[0]: no role: write {key: …, role: admin|content_manager|editor|viewer}, or set api_key_role"},
		{"API key with an unknown role", "tenants: [ { id: a, api_keys: [ { key: abcdefgh, role: owner } ] } ]\n", nil, `tenants[0].api_keys[0].role: must be viewer, editor, content_manager or admin (got "owner")`},
		{"unknown api_key_role", "tenants: [ { id: a, api_key_role: root, api_keys: [abcdefgh] } ]\n", nil, `tenants[0].api_key_role: must be viewer, editor, content_manager or admin (got "root")`},
		{"negative limit", "tenants: [ { id: a, limits: { daily_requests: -1 } } ]\n", nil, "tenants[0].limits.daily_requests: may not be negative"},
		{"unknown limit", "tenants: [ { id: a, limits: { daily_request: 5 } } ]\n", nil, "tenants[0].limits.daily_request: unknown key"},
		{"short operator token", "identity: { operator_token: short }\n", nil, "identity.operator_token: must have at least 32 characters"},
		{"jwt key without a secret", "identity: { jwt: { keys: [ { algorithm: HS256 } ] } }\n", nil, "identity.jwt.keys[0].secret: required with HS256"},
		{"jwt key of an unknown algorithm", "identity: { jwt: { keys: [ { algorithm: none, secret: x } ] } }\n", nil, `identity.jwt.keys[0].algorithm: must be HS256, RS256 or ES256 (got "none")`},
		{"short jwt secret", "identity: { jwt: { keys: [ { secret: short } ] } }\n", nil, "identity.jwt.keys[0].secret: must have at least 32 bytes"},
		{"bad master key", "secrets: { master_key: nope }\n", nil, "secrets.master_key: must be 32 bytes, base64-encoded"},
		{"short metrics token", "server: { metrics_token: short }\n", nil, "server.metrics_token: must have at least 16 characters"},
		{"unset variable", "tenants: [ { id: a, api_keys: [ \"${NOT_SET_ANYWHERE}\" ] } ]\n", nil, "tenants[0].api_keys[0]: environment variable NOT_SET_ANYWHERE is not set"},
		{"unknown environment setting", "", map[string]string{"AQUAHUB_SERVER_ADRESS": "x"}, "AQUAHUB_SERVER_ADRESS: no such setting; did you mean AQUAHUB_SERVER_ADDR?"},
		{"bad log level", "log: { level: loud }\n", nil, `log.level: must be debug, info, warn or error (got "loud")`},
		{"bad source name", "tenants: [ { id: a, api_key_role: admin, api_keys: [abcdefgh], sources: { Bad_Name: { verifier: hmac, secret: s } } } ]\n", nil, `tenants[0].sources.Bad_Name: source name "Bad_Name" must be lowercase`},
		{"connector egress", "tenants: [ { id: a, api_key_role: admin, api_keys: [abcdefgh], connectors: { http: { egress: [ \"ftp://x\" ] } } } ]\n", nil, "tenants[0].connectors.http.egress[0]:"},
		{"short connector secret", "tenants: [ { id: a, api_key_role: admin, api_keys: [abcdefgh], connectors: { http: { secrets: { token: \"${SHORT_TOKEN}\" } } } } ]\n", map[string]string{"SHORT_TOKEN": "1234567"}, "tenants[0].connectors.http.secrets.token: must be at least 8 bytes (got 7)"},
		{"secret bound outside egress", "tenants: [ { id: a, api_key_role: admin, api_keys: [abcdefgh], connectors: { http: { secrets: { token: abcdefgh1 }, egress: [ \"https://a.example\" ], secret_origins: { token: [ \"https://b.example\" ] } } } } ]\n", nil, "tenants[0].connectors.http.secret_origins.token[0]: https://b.example is not in egress"},
		{"webhooks section", "webhooks: { timeout: 1h }\n", nil, "webhooks.timeout: must be between 1s and 5m"},
		{"llm section", "llm: { provider: gpt }\n", nil, `llm.provider: must be builtin or openai (got "gpt")`},
		{"tenant content section", "tenants: [ { id: a, api_key_role: admin, api_keys: [abcdefgh], content: { min_quality_score: 11 } } ]\n", nil, "tenants[0].content.min_quality_score: must be 0 to 10"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := loadConfig(writeConfig(t, tc.file), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v does not contain %q", err, tc.want)
			}
		})
	}
}

func TestDefaultConfigIsValid(t *testing.T) {
	cfg, err := loadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Engine.Workers != 64 || cfg.Connectors.MaxResponseBytes == 0 || cfg.Webhooks.Workers == 0 {
		t.Fatalf("module defaults missing: %+v", cfg)
	}
}
