package abi

import (
	"bytes"
	"encoding/json"
	"testing"
)

// marshalNoHTML is json.Marshal without HTML escaping, which AppendJSON does not do.
func marshalNoHTML(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestInvokeRequestAppendJSONMatchesMarshal(t *testing.T) {
	tests := []struct {
		name string
		req  InvokeRequest
	}{
		{name: "minimal", req: InvokeRequest{Action: "a"}},
		{name: "empty inputs", req: InvokeRequest{Action: "a", Inputs: []json.RawMessage{}}},
		{name: "every field", req: InvokeRequest{
			Action: "records.list", Inputs: []json.RawMessage{json.RawMessage(`{"a":1}`), json.RawMessage(`[1,"x"]`)},
			Config:  map[string]any{"base_url": "http://127.0.0.1:1", "n": 3.5, "nested": map[string]any{"b": []any{true, nil}}},
			Secrets: []string{"api_key", "token"}, Tenant: "aquascene", RunID: "01J", StepID: "list",
			IdempotencyKey: "01J/list", Attempt: 3, DeadlineUnixMS: 1767225600000,
		}},
		{name: "escapes", req: InvokeRequest{
			Action: "a\"b\\c\n\r\t\x00\x1f", Tenant: "é ü 日本 <&>", RunID: "\u2028\u2029", StepID: "bad \xff utf8 \xc3",
			Secrets: []string{"x\"y"}, Attempt: -1, DeadlineUnixMS: -5,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.req.AppendJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			want := marshalNoHTML(t, &tt.req)
			if !bytes.Equal(got, want) {
				t.Errorf("AppendJSON\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestInvokeRequestAppendJSONBadConfig(t *testing.T) {
	r := InvokeRequest{Action: "a", Config: map[string]any{"f": func() {}}}
	if _, err := r.AppendJSON(nil); err == nil {
		t.Fatal("a config value JSON cannot encode must be an error")
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "q\"b\\", "\x00\x01\x1f\x7f", "\u2028\u2029", "\xff\xfe", "é日本", "a\xc3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := AppendJSONString(nil, s)
		if want := marshalNoHTML(t, s); !bytes.Equal(got, want) {
			t.Fatalf("AppendJSONString(%q)\n got %s\nwant %s", s, got, want)
		}
	})
}
