package plugins

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/aquascene/aquahub/sdk/abi"
)

// slowOutputs decodes like the path decodeOutputsFast stands in for.
func slowOutputs(b []byte, n int) ([]any, bool) {
	resp, err := abi.DecodeInvokeResponse(b, n)
	if err != nil || resp.Error != nil {
		return nil, false
	}
	out := make([]any, len(resp.Results))
	for i, r := range resp.Results {
		if r.Error != nil {
			return nil, false
		}
		if err := json.Unmarshal(r.Output, &out[i]); err != nil {
			return nil, false
		}
	}
	return out, true
}

func TestDecodeOutputsFast(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		n      int
		wantOK bool
	}{
		{name: "empty output", in: `{"results":[{"output":{}}]}`, n: 1, wantOK: true},
		{name: "nested values", in: ` { "results" : [ {"output":{"a":[1,-2.5e3,true,false,null,"x"],"b":{"c":"d"}}} , {"output":"s"} ] } `, n: 2, wantOK: true},
		{name: "escapes", in: `{"results":[{"output":{"t":"a\"b\\c\/d\n\t\r\b\f\u00e9\ud83d\ude00 é"}}]}`, n: 1, wantOK: true},
		{name: "duplicate keys in output", in: `{"results":[{"output":{"a":1,"a":2}}]}`, n: 1, wantOK: true},
		{name: "null output", in: `{"results":[{"output":null}]}`, n: 1, wantOK: true},
		{name: "zero results", in: `{"results":[]}`, n: 0, wantOK: true},
		{name: "count mismatch", in: `{"results":[{"output":{}}]}`, n: 2},
		{name: "error result", in: `{"results":[{"error":{"kind":"auth","message":"no"}}]}`, n: 1},
		{name: "whole-call error", in: `{"error":{"kind":"invalid_input","field":"action"}}`, n: 1},
		{name: "extra key", in: `{"results":[{"output":{},"x":1}]}`, n: 1},
		{name: "key case", in: `{"Results":[{"output":{}}]}`, n: 1},
		{name: "trailing data", in: `{"results":[{"output":{}}]}x`, n: 1},
		{name: "lone surrogate", in: `{"results":[{"output":"\ud800"}]}`, n: 1},
		{name: "invalid utf8", in: "{\"results\":[{\"output\":\"\xff\"}]}", n: 1},
		{name: "number out of range", in: `{"results":[{"output":1e999}]}`, n: 1},
		{name: "bad number", in: `{"results":[{"output":01}]}`, n: 1},
		{name: "control char", in: "{\"results\":[{\"output\":\"a\nb\"}]}", n: 1},
		{name: "truncated", in: `{"results":[{"output":{"a":`, n: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := decodeOutputsFast([]byte(tt.in), tt.n)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				return
			}
			want, slowOK := slowOutputs([]byte(tt.in), tt.n)
			if !slowOK || !reflect.DeepEqual(got, want) {
				t.Fatalf("fast %#v, encoding/json %#v (ok %v)", got, want, slowOK)
			}
		})
	}
}

// FuzzDecodeOutputsFast checks the one promise of the fast path: whatever it accepts, the
// standard decoding accepts too and decodes to the same values.
func FuzzDecodeOutputsFast(f *testing.F) {
	f.Add([]byte(`{"results":[{"output":{"a":[1,2.5,"x\u00e9"],"b":null}}]}`), 1)
	f.Add([]byte(`{"results":[{"output":"\ud83d\ude00"},{"output":-0.0e+1}]}`), 2)
	f.Add([]byte(`{"results":[{"error":{"kind":"auth"}}]}`), 1)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		if n < 0 || n > 64 {
			return
		}
		got, ok := decodeOutputsFast(b, n)
		if !ok {
			return
		}
		want, slowOK := slowOutputs(b, n)
		if !slowOK {
			t.Fatalf("fast path accepted what encoding/json refuses: %q", b)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("fast %#v, encoding/json %#v for %q", got, want, b)
		}
	})
}
