package abi

import (
	"reflect"
	"strings"
	"testing"
)

func TestManifestSecretPlaces(t *testing.T) {
	manifest := func(secrets, config string) string {
		return `{"abi":1,"id":"acme","version":"1.0.0","actions":[{"name":"x","input":{}}],"secrets":` + secrets + `,"config":` + config + `}`
	}
	tests := []struct {
		name, secrets, config string
		want                  string // error substring; "" = valid
	}{
		{"every kind of place", `[{"name":"k","places":[{"header":"Authorization"},{"basic":true},{"query":"api_key"},{"hmac":"X-Signature-256"}]}]`, `[]`, ""},
		{"no places anywhere (before 1.5)", `[{"name":"k"},{"name":"j"}]`, `[]`, ""},
		{"places for one secret but not another", `[{"name":"k","places":[{"header":"X-Key"}]},{"name":"j"}]`, `[]`, "secrets[1].places: required, since secrets[0] declares its places"},
		{"signing keys need no places", `[{"name":"k","places":[{"header":"X-Key"}]},{"name":"pk","use":"sign"}]`, `[]`, ""},
		{"signing key with places", `[{"name":"pk","use":"sign","places":[{"header":"X-Key"}]}]`, `[]`, `secrets[0].places: "pk" is a signing key`},
		{"empty place", `[{"name":"k","places":[{}]}]`, `[]`, "secrets[0].places[0]: exactly one of header, basic, query and hmac must be set"},
		{"two kinds in one place", `[{"name":"k","places":[{"header":"X-Key","query":"k"}]}]`, `[]`, "exactly one of"},
		{"bad header name", `[{"name":"k","places":[{"header":"X Key"}]}]`, `[]`, `secrets[0].places[0].header: "X Key" is not a header name`},
		{"host-owned header", `[{"name":"k","places":[{"header":"Proxy-Authorization"}]}]`, `[]`, "a header the host owns"},
		{"hmac in a host-owned header", `[{"name":"k","places":[{"hmac":"host"}]}]`, `[]`, "places[0].hmac"},
		{"query name with syntax", `[{"name":"k","places":[{"query":"a=b"}]}]`, `[]`, `places[0].query: "a=b" is not a plain parameter name`},
		{"unknown place field", `[{"name":"k","places":[{"cookie":"x"}]}]`, `[]`, "unknown field"},
		{"derivation", `[{"name":"api_key","places":[{"basic":true}]}]`, `[{"name":"dc","from_secret":{"secret":"api_key","after_last":"-","pattern":"[a-z]+[0-9]+","unless":["base_url"]}}]`, ""},
		{"derivation from an undeclared secret", `[]`, `[{"name":"dc","from_secret":{"secret":"api_key","after_last":"-","pattern":"x"}}]`, `config[0].from_secret.secret: "api_key" is not an HTTP secret`},
		{"derivation from a signing key", `[{"name":"pk","use":"sign"}]`, `[{"name":"dc","from_secret":{"secret":"pk","after_last":"-","pattern":"x"}}]`, "from_secret.secret"},
		{"derivation after a letter", `[{"name":"k"}]`, `[{"name":"dc","from_secret":{"secret":"k","after_last":"s","pattern":"x"}}]`, "from_secret.after_last: must be one printable character that is not a letter or digit"},
		{"derivation after nothing", `[{"name":"k"}]`, `[{"name":"dc","from_secret":{"secret":"k","after_last":"","pattern":"x"}}]`, "from_secret.after_last"},
		{"derivation without pattern", `[{"name":"k"}]`, `[{"name":"dc","from_secret":{"secret":"k","after_last":"-"}}]`, "from_secret.pattern: required"},
		{"derivation with a bad pattern", `[{"name":"k"}]`, `[{"name":"dc","from_secret":{"secret":"k","after_last":"-","pattern":"("}}]`, "from_secret.pattern: error parsing regexp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeManifest([]byte(manifest(tt.secrets, tt.config)))
			checkErr(t, err, tt.want)
		})
	}
}

func TestSecretUses(t *testing.T) {
	declared := (&Manifest{Secrets: []SecretSpec{
		{Name: "k", Places: []SecretPlace{{Header: "x-api-key"}, {Query: "key"}}},
		{Name: "u", Places: []SecretPlace{{Basic: true}}},
		{Name: "h", Places: []SecretPlace{{HMAC: "X-Sig"}}},
		{Name: "pk", Use: SecretUseSign},
	}}).SecretUses()
	legacy := (&Manifest{Secrets: []SecretSpec{{Name: "k"}}}).SecretUses()
	tests := []struct {
		name  string
		check func() error
		want  string
	}{
		{"declared header, any case", func() error { return declared.CheckHeader(RefSecret, "k", "X-API-KEY") }, ""},
		{"another header", func() error { return declared.CheckHeader(RefSecret, "k", "Authorization") }, "does not declare"},
		{"declared query", func() error { return declared.CheckQuery(RefSecret, "k", "key") }, ""},
		{"query name is exact", func() error { return declared.CheckQuery(RefSecret, "k", "Key") }, "query parameter Key"},
		{"basic in Authorization", func() error { return declared.CheckHeader(RefBasic, "u", "authorization") }, ""},
		{"basic elsewhere", func() error { return declared.CheckHeader(RefBasic, "u", "X-Auth") }, "does not declare"},
		{"hmac hex", func() error { return declared.CheckHeader(RefHMACHex, "h", "x-sig") }, ""},
		{"hmac base64", func() error { return declared.CheckHeader(RefHMACBase64, "h", "X-Sig") }, ""},
		{"hmac secret as a value", func() error { return declared.CheckHeader(RefSecret, "h", "X-Sig") }, "does not declare"},
		{"undeclared name", func() error { return declared.CheckHeader(RefSecret, "other", "X-Api-Key") }, `secret "other" is not declared`},
		{"legacy: any header", func() error { return legacy.CheckHeader(RefSecret, "k", "X-Anything") }, ""},
		{"legacy: any query value", func() error { return legacy.CheckQuery(RefBasic, "k", "x") }, ""},
		{"legacy: no hmac in the query", func() error { return legacy.CheckQuery(RefHMACHex, "k", "x") }, "only replaced in headers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkErr(t, tt.check(), tt.want) })
	}
	if !declared.DeclaresPlaces() || legacy.DeclaresPlaces() || !declared.Signing("pk") || declared.Signing("k") {
		t.Fatal("DeclaresPlaces or Signing is wrong")
	}
}

func TestDeriveConfig(t *testing.T) {
	m := &Manifest{
		Secrets: []SecretSpec{{Name: "api_key"}},
		Config: []ConfigSpec{{Name: "dc", FromSecret: &SecretDerivation{
			Secret: "api_key", AfterLast: "-", Pattern: "[a-z]+[0-9]+", Unless: []string{"base_url"},
		}}},
	}
	const key = "0123456789abcdef0123456789abcdef-us21"
	tests := []struct {
		name    string
		config  map[string]any
		secrets map[string]string
		want    map[string]any
	}{
		{"derived", map[string]any{"list_id": "l1"}, map[string]string{"api_key": key}, map[string]any{"list_id": "l1", "dc": "us21"}},
		{"nil config", nil, map[string]string{"api_key": key}, map[string]any{"dc": "us21"}},
		{"set by the tenant", map[string]any{"dc": "us9"}, map[string]string{"api_key": key}, map[string]any{"dc": "us9"}},
		{"empty string is unset", map[string]any{"dc": ""}, map[string]string{"api_key": key}, map[string]any{"dc": "us21"}},
		{"unless base_url", map[string]any{"base_url": "http://127.0.0.1:1/3.0"}, map[string]string{"api_key": key}, map[string]any{"base_url": "http://127.0.0.1:1/3.0"}},
		{"no secret", map[string]any{}, nil, map[string]any{}},
		{"no separator", map[string]any{}, map[string]string{"api_key": "0123456789abcdef"}, map[string]any{}},
		{"part does not match", map[string]any{}, map[string]string{"api_key": "0123456789abcdef0123-US21"}, map[string]any{}},
		{"part too long for the value", map[string]any{}, map[string]string{"api_key": "abcdefgh-us2109"}, map[string]any{}},
		{"part over 16 bytes", map[string]any{}, map[string]string{"api_key": strings.Repeat("0", 80) + "-abcdefghijklmnopq1"}, map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := map[string]any{}
			for k, v := range tt.config {
				before[k] = v
			}
			got := m.DeriveConfig(tt.config, tt.secrets)
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			if tt.config != nil && !reflect.DeepEqual(tt.config, before) {
				t.Fatalf("the tenant's config was changed: %v", tt.config)
			}
		})
	}
}
