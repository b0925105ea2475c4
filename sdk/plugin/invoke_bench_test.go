package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/sdk/abi"
)

// benchIn and benchOut have the shape of the http connector's request action, whose
// guest path (envelope, input, body, http_request round trip, output) the benchmark runs.
type benchIn struct {
	Method            string            `json:"method,omitempty"`
	URL               string            `json:"url"`
	Headers           map[string]string `json:"headers,omitempty"`
	JSON              json.RawMessage   `json:"json,omitempty"`
	BearerSecret      string            `json:"bearer_secret,omitempty"`
	IdempotencyHeader string            `json:"idempotency_header,omitempty"`
}

type benchOut struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	JSON    any               `json:"json,omitempty"`
	Text    string            `json:"text,omitempty"`
	URL     string            `json:"url"`
}

// wireHost answers http_request the way the wasm build talks to the hub: the request is
// encoded and the response decoded as bytes, so the benchmark pays what a guest pays.
type wireHost struct{ resp []byte }

func (h *wireHost) HTTP(_ context.Context, req *abi.HTTPRequest) *abi.HTTPResponse {
	return roundTripWire(req, func([]byte) ([]byte, error) { return h.resp, nil })
}
func (*wireHost) KVGet(context.Context, string) ([]byte, bool, error) { return nil, false, nil }
func (*wireHost) KVSet(context.Context, string, []byte) error         { return nil }
func (*wireHost) Log(context.Context, abi.LogRecord)                  {}
func (*wireHost) Now(context.Context) time.Time                       { return time.Now() }

func benchConnector() *Connector {
	return &Connector{ID: "bench", Version: "1", Actions: []Handler{
		Action[benchIn, benchOut]{Name: "request", Handle: func(ctx context.Context, in benchIn) (benchOut, error) {
			req, err := http.NewRequestWithContext(ctx, in.Method, "http://127.0.0.1:9/"+strings.TrimPrefix(in.URL, "/"), bytes.NewReader(in.JSON))
			if err != nil {
				return benchOut{}, err
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+Secret(in.BearerSecret))
			req.Header.Set(in.IdempotencyHeader, IdempotencyKey(ctx))
			resp, err := Transport{}.RoundTrip(req)
			if err != nil {
				return benchOut{}, err
			}
			b, _ := io.ReadAll(resp.Body)
			if err := CheckResponse(resp, b); err != nil {
				return benchOut{}, err
			}
			out := benchOut{Status: resp.StatusCode, Headers: map[string]string{}, URL: resp.Request.URL.String(), Text: string(b)}
			for k := range resp.Header {
				out.Headers[strings.ToLower(k)] = resp.Header.Get(k)
			}
			return out, nil
		}},
	}}
}

// benchRequest is what the hub sends for the pipeline bench's SendGrid mail/send step.
func benchRequest(tb testing.TB) []byte {
	tb.Helper()
	in := `{"bearer_secret":"api_key","idempotency_header":"Idempotency-Key","json":{"content":[{"type":"text/html","value":"<h1>CO2</h1><p>Issue 7</p>"}],"custom_args":{"bench_id":"b-7","content_id":"CNT-7"},"from":{"email":"newsletter@aquascene.bg","name":"AquaScene"},"personalizations":[{"to":[{"email":"reader7@example.com"}]}],"subject":"This Week in Aquascaping"},"method":"POST","url":"/v3/mail/send"}`
	req := abi.InvokeRequest{Action: "request", Inputs: []json.RawMessage{json.RawMessage(in)},
		Config: map[string]any{"base_url": "http://127.0.0.1:9"}, Secrets: []string{"api_key"},
		Tenant: "default", RunID: "01JBENCHRUN0000000000000000", StepID: "send",
		IdempotencyKey: "01JBENCHRUN0000000000000000:send", Attempt: 1,
		DeadlineUnixMS: time.Now().Add(time.Hour).UnixMilli(), LogLevel: "info"}
	b, err := req.AppendJSON(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func benchResponse(tb testing.TB) []byte {
	tb.Helper()
	b, err := json.Marshal(abi.HTTPResponse{Status: 202, URL: "http://127.0.0.1:9/v3/mail/send",
		Headers: map[string][]string{"Content-Length": {"0"}, "Date": {"Wed, 02 Dec 2026 07:00:00 GMT"}, "X-Message-Id": {"bench"}}})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkInvokeHTTPAction runs the guest's whole path for one http connector call:
// decode the envelope, run the action (input decode, http_request encode and decode,
// output encode) and encode the response.
func BenchmarkInvokeHTTPAction(b *testing.B) {
	c := benchConnector()
	host := &wireHost{resp: benchResponse(b)}
	raw := benchRequest(b)
	prev := connector
	connector = c
	defer func() { connector = prev }()
	out := invoke(host, raw)
	if !bytes.Contains(out, []byte(`"status":202`)) {
		b.Fatalf("unexpected response %s", out)
	}
	b.ReportAllocs()
	for b.Loop() {
		invoke(host, raw)
	}
}
