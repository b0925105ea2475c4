package abi

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// The guest codecs must read what encoding/json reads into the same types and write what it
// writes (without HTML escaping); these tests and fuzz targets hold them to that.

// decodeCases are documents a host could send, and documents it never would, for which
// the hand-written decoders and json.Unmarshal must agree on the value or on failing.
var decodeCases = []struct{ name, in string }{
	{"pipeline request", `{"action":"request","inputs":[{"method":"POST","url":"/v3/mail/send","json":{"subject":"<h1>"}}],"config":{"base_url":"http://127.0.0.1:9"},"secrets":["api_key"],"tenant":"default","run_id":"r1","step_id":"send","idempotency_key":"r1:send","attempt":1,"deadline_unix_ms":1796000000000,"log_level":"info"}`},
	{"whitespace and field order", " \n\t{ \"attempt\" : 2 ,\r\n \"inputs\" : [ 1 , \"x\" , { \"a\" : [ ] } , null ] , \"action\" : \"a.b\" } \n"},
	{"escapes", `{"action":"a\"b\\c\/d\b\f\n\r\t\u00e9\u2028","tenant":"\ud83d\ude00 \ud83d x \ude00 \ud83d\u0041 \uD83D\uDE00"}`},
	{"invalid utf-8 in a string", "{\"action\":\"a\xff\xfeb\",\"tenant\":\"\xe2\x82\"}"},
	{"invalid utf-8 in an input", "{\"action\":\"a\",\"inputs\":[\"\xff\"]}"},
	{"nulls", `{"action":"a","inputs":null,"config":null,"secrets":null,"tenant":null,"attempt":null}`},
	{"null elements", `{"action":"a","secrets":["x",null,"y"],"inputs":[null]}`},
	{"empty arrays", `{"action":"a","inputs":[],"secrets":[]}`},
	{"unknown fields", `{"future":{"deep":[1,{"x":null}]},"action":"a","v2":true,"n":-1.5e-3}`},
	{"keys matched case-insensitively", `{"ACTION":"a","Run_ID":"r","ſtep_id":"s","Kdeadline_unix_ms":1}`},
	{"exact key wins over later folded one", `{"action":"a","Action":"b"}`},
	{"repeated keys", `{"action":"a","action":"b","config":{"x":1},"config":{"y":2},"secrets":["a","b"],"secrets":[null]}`},
	{"config values", `{"action":"a","config":{"s":"x","n":1e3,"f":-0.5,"t":true,"f2":false,"z":null,"a":[1,"2",[3]],"o":{"p":{}},"big":12345678901234567890}}`},
	{"top-level null", `null`},
	{"no action", `{}`},
	{"action of the wrong type", `{"action":1}`},
	{"attempt not an integer", `{"action":"a","attempt":1.5}`},
	{"attempt too large", `{"action":"a","attempt":99999999999999999999}`},
	{"attempt as a string", `{"action":"a","attempt":"1"}`},
	{"deadline with exponent", `{"action":"a","deadline_unix_ms":1e3}`},
	{"inputs not an array", `{"action":"a","inputs":{}}`},
	{"secret not a string", `{"action":"a","secrets":[1]}`},
	{"config not an object", `{"action":"a","config":[]}`},
	{"config number out of range", `{"action":"a","config":{"x":1e400}}`},
	{"top-level array", `[]`},
	{"trailing data", `{"action":"a"} x`},
	{"two documents", `{"action":"a"}{}`},
	{"truncated", `{"action":"a"`},
	{"trailing comma", `{"action":"a",}`},
	{"bad escape", `{"action":"\x"}`},
	{"short unicode escape", `{"action":"\u12"}`},
	{"control character in a string", "{\"action\":\"a\nb\"}"},
	{"bad number", `{"action":"a","x":01}`},
	{"bad number in an input", `{"action":"a","inputs":[-]}`},
	{"bad literal", `{"action":"a","x":nul}`},
	{"single quotes", `{'action':"a"}`},
	{"empty", ``},
	{"deep nesting in an input", `{"action":"a","inputs":[` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `]}`},
	{"too deep", `{"action":"a","inputs":[` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `]}`},
}

func TestDecodeInvokeRequestAgreesWithEncodingJSON(t *testing.T) {
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) { checkInvokeRequest(t, []byte(tc.in)) })
	}
}

func checkInvokeRequest(tb testing.TB, b []byte) {
	tb.Helper()
	got, err := DecodeInvokeRequest(b)
	var want InvokeRequest
	werr := json.Unmarshal(b, &want)
	if werr == nil && want.Action == "" {
		werr = errActionRequired
	}
	if (err == nil) != (werr == nil) {
		tb.Fatalf("error %v, encoding/json's %v\ninput %q", err, werr, b)
	}
	if err == nil && !reflect.DeepEqual(*got, want) {
		tb.Fatalf("decoded %#v\nencoding/json %#v\ninput %q", *got, want, b)
	}
}

var errActionRequired = errors.New("action: required")

var httpResponseCases = []struct{ name, in string }{
	{"response", `{"status":202,"headers":{"Content-Length":["0"],"X-Message-Id":["bench"],"Set-Cookie":["a=1","b=2"]},"body":"eyJvayI6dHJ1ZX0=","url":"https://api.example.com/v3/mail/send"}`},
	{"error", `{"error":{"code":"rate_limited","message":"wait","retry_after_ms":1500}}`},
	{"null error and fields", `{"status":null,"headers":null,"body":null,"error":null}`},
	{"null header values", `{"headers":{"A":null,"B":[null,"x"],"C":[]}}`},
	{"empty body", `{"status":204,"body":""}`},
	{"body with escapes and newlines", `{"body":"e30\u003d\n"}`},
	{"body as byte array", `{"body":[1,2,255,null]}`},
	{"repeated body", `{"body":[1,2],"body":[null]}`},
	{"repeated error merges", `{"error":{"code":"a","message":"m"},"error":{"code":"b"}}`},
	{"repeated headers merge", `{"headers":{"A":["1"]},"headers":{"B":["2"]}}`},
	{"unknown fields", `{"status":200,"trailers":{"x":["y"]},"error":{"code":"c","detail":{}}}`},
	{"folded keys", `{"STATUS":200,"Headers":{"a":["b"]},"Error":{"CODE":"x"}}`},
	{"body not base64", `{"body":"!!"}`},
	{"body byte out of range", `{"body":[256]}`},
	{"body byte negative zero", `{"body":[-0]}`},
	{"body of the wrong type", `{"body":true}`},
	{"status not an integer", `{"status":2e2}`},
	{"status as a string", `{"status":"200"}`},
	{"error not an object", `{"error":"x"}`},
	{"header value not an array", `{"headers":{"A":"x"}}`},
	{"header element not a string", `{"headers":{"A":[1]}}`},
	{"top-level null", `null`},
	{"top-level string", `"x"`},
	{"truncated", `{"status":2`},
}

func TestDecodeHTTPResponseAgreesWithEncodingJSON(t *testing.T) {
	for _, tc := range httpResponseCases {
		t.Run(tc.name, func(t *testing.T) { checkHTTPResponse(t, []byte(tc.in)) })
	}
}

func checkHTTPResponse(tb testing.TB, b []byte) {
	tb.Helper()
	got, err := DecodeHTTPResponse(b)
	var want HTTPResponse
	werr := json.Unmarshal(b, &want)
	if (err == nil) != (werr == nil) {
		tb.Fatalf("error %v, encoding/json's %v\ninput %q", err, werr, b)
	}
	if err == nil && !reflect.DeepEqual(*got, want) {
		tb.Fatalf("decoded %#v\nencoding/json %#v\ninput %q", *got, want, b)
	}
}

func TestInvokeResponseAppendJSONMatchesEncodingJSON(t *testing.T) {
	tests := []struct {
		name string
		resp InvokeResponse
	}{
		{"empty", InvokeResponse{}},
		{"results", InvokeResponse{Results: []Result{
			{Output: json.RawMessage(`{"status":202,"headers":{"x-message-id":"bench"},"url":"http://h/v3/mail/send"}`)},
			{Error: &Error{Kind: KindRateLimited, Message: "slow \"down\" <now>\n", RetryAfterMS: 1500}},
			{Error: &Error{Kind: KindInvalidInput, Message: "bad", Field: "json.to[0]"}},
			{Output: json.RawMessage(`null`)},
		}}},
		{"whole call error", InvokeResponse{Error: &Error{Kind: KindPermanent, Message: "no action \u2028 \x01 \xff"}}},
		{"usage", InvokeResponse{Results: []Result{{Output: json.RawMessage(`1`)}}, Usage: []Usage{{Quota: "api_requests", Used: 18, Limit: 5000}, {Quota: "x", Used: -1}}}},
		{"error and usage", InvokeResponse{Error: &Error{Kind: KindAuth}, Usage: []Usage{{Quota: "q"}}}},
		{"output and error both set", InvokeResponse{Results: []Result{{Output: json.RawMessage(`{}`), Error: &Error{Kind: KindTransient}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, want := tc.resp.AppendJSON(nil), marshalNoHTML(t, &tc.resp)
			if !bytes.Equal(got, want) {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestHTTPRequestAppendJSONMatchesEncodingJSON(t *testing.T) {
	tests := []struct {
		name string
		req  HTTPRequest
	}{
		{"minimal", HTTPRequest{Method: "GET", URL: "https://api.example.com/x"}},
		{"headers and body", HTTPRequest{Method: "POST", URL: "http://127.0.0.1:9/v3/mail/send?a=1&b=<2>",
			Headers: map[string][]string{"Content-Type": {"application/json"}, "Authorization": {"Bearer {{secret:api_key}}"}, "Idempotency-Key": {"r1:send"}, "X-Multi": {"a", "b"}, "X-Nil": nil, "X-Empty": {}},
			Body:    []byte(`{"subject":"<h1>CO2</h1>"}`)}},
		{"many headers", HTTPRequest{Method: "PUT", URL: "u", Headers: manyHeaders(40)}},
		{"binary body", HTTPRequest{Method: "PUT", URL: "u", Body: []byte{0, 1, 2, 0xff, 0xfe}}},
		{"odd strings", HTTPRequest{Method: "\x00", URL: "\xff\u2029\"\\\t", Headers: map[string][]string{"\xff": {"\x1f"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, want := tc.req.AppendJSON(nil), marshalNoHTML(t, &tc.req)
			if !bytes.Equal(got, want) {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestHTTPResponseAppendJSONMatchesEncodingJSON(t *testing.T) {
	tests := []struct {
		name string
		resp HTTPResponse
	}{
		{"empty", HTTPResponse{}},
		{"answer", HTTPResponse{Status: 202, Headers: map[string][]string{"X-Message-Id": {"m<1>"}, "Content-Type": {"application/json"}, "Set-Cookie": {"a", "b"}, "X-Nil": nil},
			Body: []byte(`{"ok":true}`), URL: "http://127.0.0.1:9/v3/mail/send?x={{secret:k}}"}},
		{"no status, body only", HTTPResponse{Body: []byte{0, 0xff}}},
		{"error", HTTPResponse{Error: &HTTPError{Code: HTTPErrorCircuitOpen, Message: "breaker \"open\"\n", RetryAfterMS: 1500}}},
		{"error without retry", HTTPResponse{URL: "u", Error: &HTTPError{Code: HTTPErrorDenied}}},
		{"many headers", HTTPResponse{Status: 200, Headers: manyHeaders(40)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, want := tc.resp.AppendJSON(nil), marshalNoHTML(t, &tc.resp)
			if !bytes.Equal(got, want) {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func manyHeaders(n int) map[string][]string {
	h := map[string][]string{}
	for i := range n {
		h[strings.Repeat("h", i+1)] = []string{strings.Repeat("v", i)}
	}
	return h
}

func TestLogRecordAppendJSONMatchesEncodingJSON(t *testing.T) {
	tests := []struct {
		name string
		rec  LogRecord
	}{
		{"no attributes", LogRecord{Level: "info", Msg: "hello"}},
		{"scalar attributes", LogRecord{Level: "debug", Msg: "http request", Attrs: map[string]any{
			"method": "POST", "status": int64(202), "ok": true, "n": 3, "u": uint64(math.MaxUint64), "none": nil}}},
		{"floats", LogRecord{Level: "info", Msg: "f", Attrs: map[string]any{
			"a": 1.5, "b": 1e21, "c": 1e-7, "d": 123456789.0, "e": math.Copysign(0, -1), "f": float32(0.1), "g": 1e20, "h": 5e-324, "i": float32(1e-7)}}},
		{"groups and lists", LogRecord{Level: "warn", Msg: "g", Attrs: map[string]any{
			"g": map[string]any{"z": 1, "a": []any{"x", 2.5, nil}}, "empty": map[string]any{}}}},
		{"other types go through encoding/json", LogRecord{Level: "error", Msg: "e", Attrs: map[string]any{
			"int32": int32(-5), "strings": []string{"a"}, "struct": struct{ A int }{1}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.rec.AppendJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			if want := marshalNoHTML(t, &tc.rec); !bytes.Equal(got, want) {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestLogRecordAppendJSONRefusesWhatJSONCannotHold(t *testing.T) {
	tests := []struct {
		name string
		v    any
	}{
		{"NaN", math.NaN()},
		{"infinity", math.Inf(-1)},
		{"nested NaN", map[string]any{"x": []any{math.NaN()}}},
		{"channel", make(chan int)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := LogRecord{Level: "info", Msg: "m", Attrs: map[string]any{"v": tc.v}}
			if _, err := rec.AppendJSON(nil); err == nil {
				t.Fatal("encoded a value JSON cannot hold")
			}
		})
	}
}

func TestGuestEncodingsDecodeOnTheHost(t *testing.T) {
	req := HTTPRequest{Method: "POST", URL: "https://api.example.com/x?k={{secret:key}}",
		Headers: map[string][]string{"Authorization": {"Bearer {{secret:key}}"}}, Body: []byte("{}")}
	got, err := DecodeHTTPRequest(req.AppendJSON(nil))
	if err != nil {
		t.Fatalf("host refused the guest's http request: %v", err)
	}
	if !reflect.DeepEqual(*got, req) {
		t.Fatalf("host read %#v, sent %#v", *got, req)
	}
	resp := InvokeResponse{Results: []Result{{Output: json.RawMessage(`{"a":1}`)}, {Error: &Error{Kind: KindRateLimited, RetryAfterMS: 5}}},
		Usage: []Usage{{Quota: "api", Used: 1, Limit: 2}}}
	back, err := DecodeInvokeResponse(resp.AppendJSON(nil), 2)
	if err != nil {
		t.Fatalf("host refused the guest's response: %v", err)
	}
	if !reflect.DeepEqual(*back, resp) {
		t.Fatalf("host read %#v, sent %#v", *back, resp)
	}
}

func FuzzGuestDecodeInvokeRequest(f *testing.F) {
	for _, tc := range decodeCases {
		if len(tc.in) < 1000 {
			f.Add([]byte(tc.in))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkInvokeRequest(t, b) })
}

func FuzzGuestDecodeHTTPResponse(f *testing.F) {
	for _, tc := range httpResponseCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkHTTPResponse(t, b) })
}

func FuzzGuestEncodings(f *testing.F) {
	f.Add("POST", "https://h/x", "Content-Type", "application/json", []byte(`{"a":"<b>"}`), "rate_limited", int64(5))
	f.Add("\xff", "\u2028\x00\"", "\x7f", "\\", []byte{}, "", int64(-1))
	f.Fuzz(func(t *testing.T, method, url, key, value string, body []byte, msg string, n int64) {
		req := HTTPRequest{Method: method, URL: url, Headers: map[string][]string{key: {value, msg}, msg: nil}, Body: body}
		if got, want := req.AppendJSON(nil), marshalNoHTML(t, &req); !bytes.Equal(got, want) {
			t.Fatalf("http request\ngot  %s\nwant %s", got, want)
		}
		hr := HTTPResponse{Status: int(n), Headers: req.Headers, Body: body, URL: url, Error: &HTTPError{Code: msg, Message: value, RetryAfterMS: n}}
		if got, want := hr.AppendJSON(nil), marshalNoHTML(t, &hr); !bytes.Equal(got, want) {
			t.Fatalf("http response\ngot  %s\nwant %s", got, want)
		}
		out, _ := json.Marshal(map[string]any{key: value, "n": n, "body": body})
		resp := InvokeResponse{Results: []Result{{Output: out}, {Error: &Error{Kind: ErrorKind(msg), Message: value, Field: key, RetryAfterMS: n}}},
			Usage: []Usage{{Quota: msg, Used: n, Limit: -n}}}
		if got, want := resp.AppendJSON(nil), marshalNoHTML(t, &resp); !bytes.Equal(got, want) {
			t.Fatalf("invoke response\ngot  %s\nwant %s", got, want)
		}
		rec := LogRecord{Level: method, Msg: msg, Attrs: map[string]any{key: value, url: float64(n) / 7, "n": n}}
		got, err := rec.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := marshalNoHTML(t, &rec); !bytes.Equal(got, want) {
			t.Fatalf("log record\ngot  %s\nwant %s", got, want)
		}
	})
}

// The benchmarks compare each guest codec with encoding/json on the envelopes of the
// pipeline bench's http connector call.

func BenchmarkDecodeInvokeRequest(b *testing.B) {
	in := []byte(decodeCases[0].in)
	b.Run("guest", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeInvokeRequest(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r InvokeRequest
			if err := json.Unmarshal(in, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecodeHTTPResponse(b *testing.B) {
	in := []byte(httpResponseCases[0].in)
	b.Run("guest", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeHTTPResponse(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r HTTPResponse
			if err := json.Unmarshal(in, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkEncodeHTTPRequest(b *testing.B) {
	req := HTTPRequest{Method: "POST", URL: "http://127.0.0.1:9/v3/mail/send",
		Headers: map[string][]string{"Content-Type": {"application/json"}, "Authorization": {"Bearer {{secret:api_key}}"}, "Idempotency-Key": {"r1:send"}},
		Body:    []byte(`{"content":[{"type":"text/html","value":"<h1>CO2</h1><p>Issue 7</p>"}],"custom_args":{"bench_id":"b-7","content_id":"CNT-7"},"from":{"email":"newsletter@aquascene.bg","name":"AquaScene"},"personalizations":[{"to":[{"email":"reader7@example.com"}]}],"subject":"This Week in Aquascaping"}`)}
	b.Run("guest", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 1024)
		for b.Loop() {
			buf = req.AppendJSON(buf[:0])
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(&req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestAppendJSONValueMatchesEncodingJSON: the host encodes rendered step inputs with
// AppendJSONValue; whatever shape a rule renders, the guest gets what encoding/json would
// have sent, but for HTML escaping.
func TestAppendJSONValueMatchesEncodingJSON(t *testing.T) {
	tests := []struct {
		name string
		v    any
	}{
		{"mail body", map[string]any{
			"personalizations": []any{map[string]any{"to": []any{map[string]any{"email": "a@example.com", "name": "Ann <Admin>"}}}},
			"from":             map[string]any{"email": "news@example.com"}, "subject": "Fish & plants \u2028 \"now\"",
			"content": []any{map[string]any{"type": "text/html", "value": "<p>Hello\n\tworld</p>\x00\xff"}}}},
		{"numbers", map[string]any{"f": 0.1, "big": 1e21, "small": 1e-7, "int": 42, "i64": int64(-7), "u": uint64(math.MaxUint64), "neg0": math.Copysign(0, -1)}},
		{"empty and nil", map[string]any{"m": map[string]any{}, "l": []any{}, "nil": nil, "nilmap": map[string]any(nil), "nillist": []any(nil)}},
		{"other types through encoding/json", map[string]any{"raw": json.RawMessage(`{ "b": 1 }`), "num": json.Number("12.50"), "strs": []string{"x"}, "i32": int32(3)}},
		{"not a map", []any{"a", true, false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AppendJSONValue(nil, tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if want := marshalNoHTML(t, tc.v); !bytes.Equal(got, want) {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
		})
	}
	if _, err := AppendJSONValue(nil, map[string]any{"nan": math.NaN()}); err == nil {
		t.Fatal("NaN encoded; encoding/json refuses it")
	}
}
