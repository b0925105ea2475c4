package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/sdk/abi"
)

func TestPrintManifestShowsWhereSecretsGo(t *testing.T) {
	m := &abi.Manifest{ABI: 1, ID: "gsheets", Version: "1.0.0",
		Config: []abi.ConfigSpec{{Name: "dc", Description: "data center", FromSecret: &abi.SecretDerivation{Secret: "api_key", AfterLast: "-", Pattern: "[a-z]+[0-9]+", Unless: []string{"base_url"}}}},
		Secrets: []abi.SecretSpec{
			{Name: "api_key", Description: "API key", Places: []abi.SecretPlace{{Header: "x-api-key"}, {Query: "key"}}},
			{Name: "hook", Description: "signing secret", Places: []abi.SecretPlace{{HMAC: "X-Signature-256"}, {Basic: true}}},
			{Name: "sa_key", Description: "service account key", Required: true, Use: abi.SecretUseSign},
		},
		Actions: []abi.ActionSpec{{Name: "rows.append", Input: &abi.Schema{Type: "object"}}},
	}
	var b strings.Builder
	printManifest(&b, m, []string{abi.ImportSignJWT})
	out := b.String()
	tests := []struct {
		name, line string
	}{
		{name: "signing key", line: "  sa_key (required) (signing key: sign_jwt only, never sent)  service account key\n"},
		{name: "HTTP secret", line: "  api_key  API key\n    sent only in: header X-Api-Key, query parameter key\n"},
		{name: "HMAC secret", line: "  hook  signing secret\n    sent only in: hmac in header X-Signature-256, basic auth\n"},
		{name: "derived config", line: "  dc  data center\n    unset: derived by the host from secret api_key, the part after its last \"-\" matching [a-z]+[0-9]+, unless base_url is set\n"},
		{name: "feature list", line: "connector gsheets 1.0.0 (ABI v1; sign_jwt)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(out, tt.line) {
				t.Fatalf("output lacks %q:\n%s", tt.line, out)
			}
		})
	}
}

func TestReadTenantConfig(t *testing.T) {
	t.Setenv("PLUGIN_TEST_KEY", "sk-12345678")
	tests := []struct {
		name, yaml, want string // want: substring of the error, "" for none
	}{
		{name: "settings with a variable", yaml: "config: { base_url: http://127.0.0.1:9 }\nsecrets: { api_key: \"${PLUGIN_TEST_KEY}\" }\negress: [ \"http://127.0.0.1:9\" ]\n"},
		{name: "unknown key", yaml: "secret: { api_key: x }\n", want: "field secret not found"},
		{name: "bad egress origin", yaml: "egress: [ \"ftp://example.com\" ]\n", want: "egress[0]"},
		{name: "secret bound to an origin", yaml: "secrets: { api_key: \"${PLUGIN_TEST_KEY}\" }\negress: [ \"http://127.0.0.1:9\" ]\nconfig: { base_url: http://127.0.0.1:9 }\nsecret_origins: { api_key: [ \"http://127.0.0.1:9\" ] }\n"},
		{name: "secret bound outside egress", yaml: "secrets: { api_key: \"${PLUGIN_TEST_KEY}\" }\negress: [ \"http://127.0.0.1:9\" ]\nsecret_origins: { api_key: [ \"http://127.0.0.1:10\" ] }\n", want: "secret_origins.api_key[0]"},
		{name: "short secret", yaml: "secrets: { api_key: short }\n", want: "secrets.api_key: must be at least 8 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cfg.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			tc, err := readTenantConfig(path)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("got %v, want an error containing %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.Secrets["api_key"] != "sk-12345678" || tc.Config["base_url"] != "http://127.0.0.1:9" || len(tc.Egress) != 1 {
				t.Fatalf("got %+v", tc)
			}
		})
	}
}
