package abi

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/aquascene/aquahub/sdk/internal/wirejson"
)

// The host decodes these envelopes from untrusted guest memory; none may panic, and what
// decodes must encode again.

func FuzzDecodeManifest(f *testing.F) {
	f.Add([]byte(`{"abi":1,"id":"acme","version":"1","actions":[{"name":"a.b","input":{"type":"object","properties":{"x":{"type":"array","items":{"type":"string"}}},"additionalProperties":false}}]}`))
	f.Add([]byte(`{"abi":1,"id":"a","version":"1","actions":[{"name":"x","input":{"additionalProperties":{"type":"integer"}}}],"egress":["*","https://*.x.com:8443"]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeManifest(b)
		if err != nil {
			return
		}
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("re-encoding a decoded manifest: %v", err)
		}
		if _, err := DecodeManifest(out); err != nil {
			t.Fatalf("a re-encoded manifest no longer decodes: %v\n%s", err, out)
		}
	})
}

func FuzzDecodeInvokeResponse(f *testing.F) {
	f.Add([]byte(`{"results":[{"output":{"a":1}},{"error":{"kind":"rate_limited","retry_after_ms":5}}]}`), 2)
	f.Add([]byte(`{"error":{"kind":"invalid_input","field":"action"}}`), 1)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		if n < 0 || n > 64 {
			return
		}
		r, err := DecodeInvokeResponse(b, n)
		if err != nil {
			return
		}
		if r.Error == nil && len(r.Results) != n {
			t.Fatalf("accepted %d results for %d inputs", len(r.Results), n)
		}
	})
}

func FuzzDecodeHTTPRequest(f *testing.F) {
	f.Add([]byte(`{"method":"POST","url":"https://api.example.com/x?k={{secret:key}}","headers":{"Authorization":["Bearer {{secret:key}}"]},"body":"e30="}`))
	f.Add([]byte(`{"URL":"http://h","Method":"PUT","headers":null,"body":null,"url":"http://g"}`))
	f.Add([]byte(`{"url":"http://h","headers":{"A":["1"],"A":["2"]},"body":"e30"}`))
	f.Add([]byte(`{"url":"http://h"} {}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		// The hand-written decoder agrees with encoding/json's strict decoding, which also
		// refuses what follows the value (decodeStrict's More misses a stray '}').
		var want HTTPRequest
		wantErr := decodeStrict(b, &want)
		if wantErr == nil && !json.Valid(b) {
			wantErr = errors.New("trailing data")
		}
		var got HTTPRequest
		gotErr := wirejson.DecodeObject(b, got.decodeStrictFields)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%q: decoded with error %v, encoding/json %v", b, gotErr, wantErr)
		}
		if gotErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: decoded %#v, encoding/json %#v", b, got, want)
		}
		r, err := DecodeHTTPRequest(b)
		if err != nil {
			return
		}
		if r.Method == "" || r.URL == "" {
			t.Fatalf("accepted a request without method or url: %+v", r)
		}
	})
}

func FuzzDecodeJWTRequest(f *testing.F) {
	f.Add([]byte(`{"alg":"RS256","secret":"private_key","header":{"kid":"k"},"claims":{"iss":"a","iat":1700000000}}`))
	f.Add([]byte(`{"alg":"ES256","secret":"k","header":null,"claims":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeJWTRequest(b)
		if err != nil {
			return
		}
		if r.Alg != JWTAlgRS256 && r.Alg != JWTAlgES256 || r.Secret == "" {
			t.Fatalf("accepted alg %q, secret %q", r.Alg, r.Secret)
		}
		h, err := r.HeaderFields()
		if err != nil {
			t.Fatalf("accepted a request whose header fails: %v", err)
		}
		if _, ok := h["alg"]; ok {
			t.Fatal("accepted a guest alg header")
		}
		if _, err := r.ClaimFields(); err != nil {
			t.Fatalf("accepted a request whose claims fail: %v", err)
		}
	})
}

func FuzzSchemaValidate(f *testing.F) {
	f.Add([]byte(`{"type":"object","properties":{"a":{"type":"integer","minimum":0}},"required":["a"]}`), []byte(`{"a":1}`))
	f.Add([]byte(`{"type":"array","items":{"type":"string","pattern":"^a"}}`), []byte(`["ab","b"]`))
	f.Fuzz(func(t *testing.T, schema, value []byte) {
		var s Schema
		if json.Unmarshal(schema, &s) != nil || s.Check() != nil {
			return
		}
		var v any
		if json.Unmarshal(value, &v) != nil {
			return
		}
		_ = s.Validate(v, ValidateOptions{AllowExpressions: true})
	})
}
