//go:build !wasip1

package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aquascene/aquahub/sdk/abi"
)

// wireHost answers http_request as the hub does over the wasm boundary: the request is
// encoded and a fixed 202 answer decoded from bytes, so that the native benchmark pays
// what the guest pays apart from the boundary itself.
type wireHost struct{ resp []byte }

func (h *wireHost) HTTP(_ context.Context, req *abi.HTTPRequest) *abi.HTTPResponse {
	req.AppendJSON(nil)
	resp, err := abi.DecodeHTTPResponse(append([]byte(nil), h.resp...))
	if err != nil {
		panic(err)
	}
	return resp
}
func (*wireHost) KVGet(context.Context, string) ([]byte, bool, error) { return nil, false, nil }
func (*wireHost) KVSet(context.Context, string, []byte) error         { return nil }
func (*wireHost) Log(context.Context, abi.LogRecord)                  {}
func (*wireHost) Now(context.Context) time.Time                       { return time.Now() }

// BenchmarkNativeMailSend runs the guest's whole path of the pipeline bench's mail/send
// step natively (envelope decode, input decode, the request action, http_request encode
// and answer decode, output and envelope encode): a profile of it finds the guest's hot
// spots far faster than the wasm build, though wasm weighs them differently.
func BenchmarkNativeMailSend(b *testing.B) {
	in := `{"bearer_secret":"api_key","idempotency_header":"Idempotency-Key","json":{"content":[{"type":"text/html","value":"<h1>CO2</h1><p>Issue 7</p>"}],"custom_args":{"bench_id":"b-7","content_id":"CNT-7"},"from":{"email":"newsletter@aquascene.bg","name":"AquaScene"},"personalizations":[{"to":[{"email":"reader7@example.com"}]}],"subject":"This Week in Aquascaping"},"method":"POST","url":"/v3/mail/send"}`
	req := abi.InvokeRequest{Action: "request", Inputs: []json.RawMessage{json.RawMessage(in)},
		Config: map[string]any{"base_url": "http://127.0.0.1:9"}, Secrets: []string{"api_key"},
		Tenant: "default", RunID: "01JBENCHRUN0000000000000000", StepID: "send",
		IdempotencyKey: "01JBENCHRUN0000000000000000:send", Attempt: 1,
		DeadlineUnixMS: time.Now().Add(time.Hour).UnixMilli(), LogLevel: "info"}
	raw, err := req.AppendJSON(nil)
	if err != nil {
		b.Fatal(err)
	}
	answer, err := json.Marshal(abi.HTTPResponse{Status: 202, URL: "http://127.0.0.1:9/v3/mail/send",
		Headers: map[string][]string{"Content-Length": {"0"}, "Date": {"Wed, 02 Dec 2026 07:00:00 GMT"}, "X-Message-Id": {"bench"}}})
	if err != nil {
		b.Fatal(err)
	}
	host := &wireHost{resp: answer}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		r, err := abi.DecodeInvokeRequest(raw)
		if err != nil {
			b.Fatal(err)
		}
		resp := Connector.Invoke(ctx, host, r)
		if resp.Results[0].Error != nil {
			b.Fatal(resp.Results[0].Error)
		}
		resp.AppendJSON(nil)
	}
}
