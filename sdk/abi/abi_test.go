package abi

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPackRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		ptr, len uint32
	}{
		{"zero", 0, 0},
		{"typical", 1 << 20, 123},
		{"max", ^uint32(0), ^uint32(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, n := Unpack(Pack(tt.ptr, tt.len))
			if p != tt.ptr || n != tt.len {
				t.Fatalf("got %d,%d", p, n)
			}
		})
	}
}

func TestDecodeManifest(t *testing.T) {
	valid := `{"abi":1,"id":"acme","version":"1.0.0","actions":[{"name":"orders.list","input":{"type":"object"}}]}`
	tests := []struct {
		name string
		in   string
		want string // error substring; empty = valid
	}{
		{"valid", valid, ""},
		{"wrong abi", strings.Replace(valid, `"abi":1`, `"abi":2`, 1), "unsupported ABI version 2"},
		{"bad id", strings.Replace(valid, `"acme"`, `"Acme!"`, 1), "id: must match"},
		{"no version", strings.Replace(valid, `"1.0.0"`, `""`, 1), "version: required"},
		{"no actions", `{"abi":1,"id":"a","version":"1","actions":[]}`, "at least one action"},
		{"bad action name", strings.Replace(valid, `orders.list`, `Orders List`, 1), "actions[0].name"},
		{"duplicate action", `{"abi":1,"id":"a","version":"1","actions":[{"name":"x","input":{}},{"name":"x","input":{}}]}`, "duplicate"},
		{"missing input", `{"abi":1,"id":"a","version":"1","actions":[{"name":"x"}]}`, "actions[0].input: schema required"},
		{"unknown schema keyword", strings.Replace(valid, `{"type":"object"}`, `{"type":"object","oneOf":[]}`, 1), `unsupported keyword "oneOf"`},
		{"unknown type", strings.Replace(valid, `{"type":"object"}`, `{"type":"map"}`, 1), `unknown type "map"`},
		{"unknown field", strings.Replace(valid, `"abi":1`, `"abi":1,"extra":true`, 1), "unknown field"},
		{"bad egress", strings.Replace(valid, `"abi":1`, `"abi":1,"egress":["ftp://x"]`, 1), "egress[0]"},
		{"secret with braces", strings.Replace(valid, `"abi":1`, `"abi":1,"secrets":[{"name":"a}}"}]`, 1), "secrets[0].name"},
		{"signing secret", strings.Replace(valid, `"abi":1`, `"abi":1,"secrets":[{"name":"api_key","use":"http"},{"name":"private_key","use":"sign"}]`, 1), ""},
		{"secret with an unknown use", strings.Replace(valid, `"abi":1`, `"abi":1,"secrets":[{"name":"k","use":"encrypt"}]`, 1), `secrets[0].use: must be "http" or "sign" (got "encrypt")`},
		{"secret repeated with the same use", strings.Replace(valid, `"abi":1`, `"abi":1,"secrets":[{"name":"k"},{"name":"k","use":"http"}]`, 1), ""},
		{"secret repeated with another use", strings.Replace(valid, `"abi":1`, `"abi":1,"secrets":[{"name":"k"},{"name":"k","use":"sign"}]`, 1), `secrets[1].use: "k" is declared earlier with another use`},
		{"rate limit", `{"abi":1,"rate_limits":[{"origin":"https://api.acme.test","path_segments":2,"per_second":5,"burst":5},{"per_second":0.5}],"id":"acme","version":"1.0.0","actions":[{"name":"orders.list","input":{"type":"object"}}]}`, ""},
		{"rate limit without rate", `{"abi":1,"rate_limits":[{"origin":"*"}],"id":"acme","version":"1.0.0","actions":[{"name":"orders.list","input":{"type":"object"}}]}`, "rate_limits[0].per_second: must be above 0"},
		{"rate limit bad origin", `{"abi":1,"rate_limits":[{"origin":"ftp://x","per_second":1}],"id":"acme","version":"1.0.0","actions":[{"name":"orders.list","input":{"type":"object"}}]}`, "rate_limits[0].origin"},
		{"rate limit negative burst", `{"abi":1,"rate_limits":[{"per_second":1,"burst":-1}],"id":"acme","version":"1.0.0","actions":[{"name":"orders.list","input":{"type":"object"}}]}`, "rate_limits[0].burst"},
		{"rate limit too many segments", `{"abi":1,"rate_limits":[{"per_second":1,"path_segments":17}],"id":"acme","version":"1.0.0","actions":[{"name":"orders.list","input":{"type":"object"}}]}`, "rate_limits[0].path_segments"},
		{"rate limit unknown field", `{"abi":1,"rate_limits":[{"per_second":1,"per_minute":3}],"id":"acme","version":"1.0.0","actions":[{"name":"orders.list","input":{"type":"object"}}]}`, "unknown field"},
		{"not json", `{`, "manifest"},
		{"trailing data", valid + `{}`, "trailing data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeManifest([]byte(tt.in))
			checkErr(t, err, tt.want)
		})
	}
}

func TestDecodeInvokeResponse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		n    int
		want string
	}{
		{"one output", `{"results":[{"output":{"a":1}}]}`, 1, ""},
		{"typed error", `{"results":[{"error":{"kind":"rate_limited","message":"slow","retry_after_ms":1000}}]}`, 1, ""},
		{"call error", `{"error":{"kind":"invalid_input","field":"action","message":"x"}}`, 1, ""},
		{"count mismatch", `{"results":[]}`, 1, "0 results for 1 inputs"},
		{"both set", `{"results":[{"output":1,"error":{"kind":"auth"}}]}`, 1, "exactly one"},
		{"neither set", `{"results":[{}]}`, 1, "exactly one"},
		{"unknown kind", `{"results":[{"error":{"kind":"oops"}}]}`, 1, `unknown error kind "oops"`},
		{"negative retry", `{"results":[{"error":{"kind":"transient","retry_after_ms":-1}}]}`, 1, "retry_after_ms"},
		{"not json", `nope`, 1, "invoke response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeInvokeResponse([]byte(tt.in), tt.n)
			checkErr(t, err, tt.want)
		})
	}
}

func TestDecodeHTTPRequest(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"get", `{"url":"https://api.example.com/x"}`, ""},
		{"post with body", `{"method":"POST","url":"http://h/x","body":"eyJ9","headers":{"A":["b"]}}`, ""},
		{"bad scheme", `{"url":"file:///etc/passwd"}`, "scheme must be http or https"},
		{"no host", `{"url":"http:///x"}`, "host required"},
		{"bad method", `{"method":"get me","url":"http://h"}`, "method"},
		{"unknown field", `{"url":"http://h","proxy":"x"}`, "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeHTTPRequest([]byte(tt.in))
			checkErr(t, err, tt.want)
		})
	}
}

func TestOriginMatching(t *testing.T) {
	tests := []struct {
		name, origin, scheme, host, port string
		want                             bool
	}{
		{"exact", "https://api.example.com", "https", "api.example.com", "443", true},
		{"case", "https://API.example.com", "https", "api.EXAMPLE.com", "443", true},
		{"other port", "https://api.example.com", "https", "api.example.com", "8443", false},
		{"explicit port", "http://127.0.0.1:8080", "http", "127.0.0.1", "8080", true},
		{"scheme differs", "https://api.example.com", "http", "api.example.com", "443", false},
		{"wildcard subdomain", "https://*.example.com", "https", "a.b.example.com", "443", true},
		{"wildcard excludes apex", "https://*.example.com", "https", "example.com", "443", false},
		{"suffix trick", "https://*.example.com", "https", "evil-example.com", "443", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseOrigin(tt.origin)
			if err != nil {
				t.Fatal(err)
			}
			if got := o.Matches(tt.scheme, tt.host, tt.port); got != tt.want {
				t.Fatalf("got %v", got)
			}
		})
	}
	for _, bad := range []string{"ftp://x", "https://", "https://x/path", "https://u@x", "https://x?q=1"} {
		if _, err := ParseOrigin(bad); err == nil {
			t.Errorf("ParseOrigin(%q) accepted", bad)
		}
	}
}

func TestSchemaValidate(t *testing.T) {
	var s Schema
	err := json.Unmarshal([]byte(`{
		"type":"object","additionalProperties":false,"required":["table"],
		"properties":{
			"table":{"type":"string","minLength":1},
			"limit":{"type":"integer","minimum":1,"maximum":100},
			"mode":{"type":"string","enum":["a","b"]},
			"fields":{"type":"object","additionalProperties":{"type":"string"}},
			"tags":{"type":"array","items":{"type":"string"},"maxItems":2},
			"url":{"type":"string","format":"uri"},
			"code":{"type":"string","pattern":"^[A-Z]{3}$"}
		}}`), &s)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		in    string
		exprs bool
		want  string
	}{
		{"valid", `{"table":"T","limit":5,"mode":"a","fields":{"x":"y"},"tags":["a"],"url":"https://x","code":"ABC"}`, false, ""},
		{"missing required", `{}`, false, "table: required field missing"},
		{"unknown field before missing", `{"tabel":"T"}`, false, `tabel: unknown field "tabel"`},
		{"wrong type", `{"table":1}`, false, "table: must be a string"},
		{"not integer", `{"table":"T","limit":1.5}`, false, "limit: must be an integer"},
		{"too big", `{"table":"T","limit":101}`, false, "limit: must be <= 100"},
		{"enum", `{"table":"T","mode":"c"}`, false, `mode: must be one of ["a", "b"]`},
		{"nested additional", `{"table":"T","fields":{"x":1}}`, false, "fields.x: must be a string"},
		{"array item", `{"table":"T","tags":[1]}`, false, "tags[0]: must be a string"},
		{"too many items", `{"table":"T","tags":["a","b","c"]}`, false, "tags: must have at most 2 items"},
		{"uri", `{"table":"T","url":"not a uri"}`, false, "url: must be an absolute URI"},
		{"pattern", `{"table":"T","code":"abc"}`, false, "code: must match"},
		{"empty string", `{"table":""}`, false, "table: must be at least 1"},
		{"expression allowed", `{"table":"T","limit":"${{ event.data.n }}"}`, true, ""},
		{"expression refused at run time", `{"table":"T","limit":"${{ event.data.n }}"}`, false, "limit: must be a integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tt.in), &v); err != nil {
				t.Fatal(err)
			}
			err := s.Validate(v, ValidateOptions{AllowExpressions: tt.exprs})
			checkErr(t, err, tt.want)
		})
	}
}

func TestSchemaJSONRoundTrip(t *testing.T) {
	in := `{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}`
	var s Schema
	if err := json.Unmarshal([]byte(in), &s); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != in {
		t.Fatalf("round trip:\n got %s\nwant %s", out, in)
	}
}

// checkErr fails the test unless err is nil when want is empty, or contains want.
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("want %q, got %v", want, err)
	}
}

func TestUsageCheck(t *testing.T) {
	tests := []struct {
		name string
		u    Usage
		ok   bool
	}{
		{"salesforce daily", Usage{Quota: "api_requests", Used: 18, Limit: 5000}, true},
		{"no limit known", Usage{Quota: "daily_2", Used: 3}, true},
		{"empty name", Usage{Used: 1}, false},
		{"upper case", Usage{Quota: "API", Used: 1}, false},
		{"label injection", Usage{Quota: `x",tenant="other`, Used: 1}, false},
		{"too long", Usage{Quota: strings.Repeat("q", 65)}, false},
		{"negative used", Usage{Quota: "q", Used: -1}, false},
		{"negative limit", Usage{Quota: "q", Limit: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.u.Check(); (err == nil) != tt.ok {
				t.Fatalf("Check = %v, want ok %v", err, tt.ok)
			}
		})
	}
}
