package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAirtableSourceFields(t *testing.T) {
	const head = "tenants:\n  - id: aquascene\n    api_keys: [key-aquascene]\n    sources:\n      airtable:\n"
	tests := []struct {
		name    string
		yaml    string
		wantErr []string
	}{
		{name: "verification only", yaml: head + "        verifier: airtable\n        secret: c2VjcmV0LWtleQ==\n"},
		{name: "payload fetch", yaml: head + "        verifier: airtable\n        secret: c2VjcmV0LWtleQ==\n        base_url: http://127.0.0.1:8781\n        token: patX\n        base_id: appAquaSceneDev01\n        webhook_id: achAquaSceneDev01\n"},
		{name: "fetch without webhook id", yaml: head + "        verifier: airtable\n        secret: c2VjcmV0LWtleQ==\n        token: patX\n        base_id: appAquaSceneDev01\n",
			wantErr: []string{"tenants[0].sources.airtable.webhook_id: must be the webhook's id"}},
		{name: "fetch without token", yaml: head + "        verifier: airtable\n        secret: c2VjcmV0LWtleQ==\n        base_id: appAquaSceneDev01\n        webhook_id: achAquaSceneDev01\n",
			wantErr: []string{"tenants[0].sources.airtable.token: required"}},
		{name: "bad base id and url", yaml: head + "        verifier: airtable\n        secret: c2VjcmV0LWtleQ==\n        token: patX\n        base_id: base1\n        webhook_id: achAquaSceneDev01\n        base_url: ftp://x\n",
			wantErr: []string{"tenants[0].sources.airtable.base_id: must be a base id", `tenants[0].sources.airtable.base_url: must be an http(s) URL (got "ftp://x")`}},
		{name: "airtable fields on another verifier", yaml: head + "        verifier: hmac\n        secret: s\n        webhook_id: achAquaSceneDev01\n",
			wantErr: []string{"tenants[0].sources.airtable.webhook_id: applies only to verifier airtable"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "aquahub.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path, nil)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
