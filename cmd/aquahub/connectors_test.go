package main

import (
	"strings"
	"testing"
	"time"

	sdkapi "github.com/aquascene/aquahub/sdk/api"
)

func TestPrintConnectors(t *testing.T) {
	since := time.Date(2025, 8, 6, 12, 0, 0, 0, time.UTC)
	list := sdkapi.ConnectorList{
		Connectors: []sdkapi.Connector{{ID: "airtable", Version: "1.0.0\x1b[2K", Actions: []string{"records.upsert"}, PoolSize: 4,
			File: "/c/airtable.wasm", KV: []sdkapi.ConnectorKV{{Tenant: "acme", Keys: 12, Bytes: 3 << 10, QuotaKeys: 10000, QuotaBytes: 16 << 20}}}},
		Refused: []sdkapi.ConnectorRefusal{{File: "/c/partner.wasm", Connector: "partner", Since: since,
			Reason: "its manifest claims id \"airtable\"\nforged line"}},
	}
	var b strings.Builder
	printConnectors(&b, list)
	out := b.String()
	tests := []struct{ name, want string }{
		{"version escaped", `airtable  1.0.0\x1b[2K`},
		{"kv against the quota", "airtable   acme    12 / 10000  3.0KiB / 16.0MiB"},
		{"refused file", "  /c/partner.wasm (since 2025-08-06T12:00:00Z)\n    its manifest claims id \"airtable\"\\nforged line\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(out, tt.want) {
				t.Fatalf("output lacks %q:\n%s", tt.want, out)
			}
		})
	}
	if strings.Contains(out, "\x1b") {
		t.Fatalf("raw escape printed:\n%q", out)
	}
}
