// Command http is aquahub's generic HTTP connector: one action, request, that calls any URL
// the tenant grants, with headers, a JSON, form or text body, secrets injected by name, and
// the response status mapped onto the hub's typed errors. Build it for the hub with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o build/connectors/http.wasm ./connectors/http
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/plugin"
)

// version is the connector's version, reported in its manifest.
var version = "1.0.0"

// RequestIn is the input of the request action.
type RequestIn struct {
	Method string            `json:"method,omitempty" desc:"HTTP method (default GET)" jsonschema:"enum=GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS"`
	URL    string            `json:"url" desc:"absolute URL, or a path joined to the base_url config value" jsonschema:"minLength=1"`
	Query  map[string]string `json:"query,omitempty" desc:"query parameters added to the URL; values may hold {{secret:NAME}}"`
	// Headers may reference secrets: "Bearer {{secret:api_key}}" or "{{basic:user:password_secret}}".
	Headers map[string]string `json:"headers,omitempty" desc:"request headers; values may hold {{secret:NAME}} or {{basic:USER:NAME}}"`
	// JSON is kept as the bytes the hub sent and sent on as they are: decoding it into Go
	// values and encoding them again cost a wasm guest more than the rest of the call, and
	// would round large integers through float64.
	JSON json.RawMessage   `json:"json,omitempty" desc:"body sent as application/json"`
	Form map[string]string `json:"form,omitempty" desc:"body sent as application/x-www-form-urlencoded"`
	Body string            `json:"body,omitempty" desc:"raw body; set content-type in headers"`
	// BearerSecret is a shorthand for Authorization: Bearer {{secret:NAME}}.
	BearerSecret string `json:"bearer_secret,omitempty" desc:"name of a tenant secret sent as Authorization: Bearer"`
	// IdempotencyHeader, when set, sends the step's idempotency key in that header.
	IdempotencyHeader string `json:"idempotency_header,omitempty" desc:"header that carries the step's idempotency key (for example Idempotency-Key)"`
	Response          string `json:"response,omitempty" desc:"how to read the response body: auto (JSON when the content type says so), json, text" jsonschema:"enum=auto|json|text"`
}

// RequestOut is the output of the request action.
type RequestOut struct {
	Status  int               `json:"status" desc:"HTTP status code"`
	Headers map[string]string `json:"headers" desc:"response headers (first value of each)"`
	JSON    any               `json:"json,omitempty" desc:"decoded JSON body"`
	Text    string            `json:"text,omitempty" desc:"body as text when not JSON"`
	URL     string            `json:"url" desc:"final URL after redirects, secret values scrubbed"`
}

// Connector is the http connector; init registers it for the wasm exports.
var Connector = &plugin.Connector{
	ID:          "http",
	Version:     version,
	Description: "Generic HTTP calls to any origin the tenant grants.",
	Config: []plugin.ConfigSpec{
		{Name: "base_url", Description: "joined to relative request URLs"},
	},
	// The generic connector asks for whatever the operator grants; the grant is the ceiling.
	Egress: []string{"*"},
	Actions: []plugin.Handler{
		plugin.Action[RequestIn, RequestOut]{
			Name:        "request",
			Description: "Send one HTTP request; 4xx and 5xx statuses become typed errors (401/403 auth, 404 not_found, 429 rate_limited, 400/422 invalid_input, 5xx transient).",
			Handle:      request,
		},
	},
}

func init() { plugin.Main(Connector) }

func main() {}

func request(ctx context.Context, in RequestIn) (RequestOut, error) {
	u, err := resolveURL(ctx, in.URL)
	if err != nil {
		return RequestOut{}, plugin.InvalidInput("url", err)
	}
	if len(in.Query) > 0 {
		q := u.Query()
		for k, v := range in.Query {
			q.Set(k, v)
		}
		// Keep {{secret:...}} braces readable for the host's injection.
		u.RawQuery = strings.NewReplacer("%7B%7B", "{{", "%7D%7D", "}}", "%3A", ":").Replace(q.Encode())
	}
	bodies := 0
	var body []byte
	contentType := ""
	if len(in.JSON) > 0 && string(in.JSON) != "null" {
		bodies++
		body, contentType = in.JSON, "application/json"
	}
	if len(in.Form) > 0 {
		bodies++
		form := url.Values{}
		for k, v := range in.Form {
			form.Set(k, v)
		}
		body, contentType = []byte(form.Encode()), "application/x-www-form-urlencoded"
	}
	if in.Body != "" {
		bodies++
		body = []byte(in.Body)
	}
	if bodies > 1 {
		return RequestOut{}, plugin.InvalidInput("json", errors.New("set at most one of json, form and body"))
	}
	method := in.Method
	if method == "" {
		method = http.MethodGet
	}
	if !validMethod(method) {
		return RequestOut{}, plugin.InvalidInput("url", fmt.Errorf("net/http: invalid method %q", method))
	}
	// The request goes to the host as the ABI's request rather than through net/http: an
	// http.Request and http.Response around every call (URL parsed again, headers copied,
	// readers) cost the wasm guest more than the call's own work. Header names are
	// canonicalised as http.Header.Set does; the host follows redirects and enforces the
	// deadline.
	header := http.Header{}
	if contentType != "" {
		header.Set("Content-Type", contentType)
	}
	for k, v := range in.Headers {
		header.Set(k, v)
	}
	if in.BearerSecret != "" {
		header.Set("Authorization", "Bearer "+plugin.Secret(in.BearerSecret))
	}
	if in.IdempotencyHeader != "" {
		if key := plugin.IdempotencyKey(ctx); key != "" {
			header.Set(in.IdempotencyHeader, key)
		}
	}
	target := u.String()
	resp, err := plugin.Do(ctx, &abi.HTTPRequest{Method: method, URL: target, Headers: header, Body: body})
	if err != nil {
		return RequestOut{}, err
	}
	b := resp.Body
	respHeader := http.Header(resp.Headers)
	if resp.Status >= 400 {
		// CheckResponse's message names the request and status as net/http had them.
		hresp := &http.Response{Status: strconv.Itoa(resp.Status) + " " + http.StatusText(resp.Status), StatusCode: resp.Status,
			Header: respHeader, Request: &http.Request{Method: method, URL: u}}
		if err := plugin.CheckResponse(hresp, b); err != nil {
			return RequestOut{}, err
		}
	}
	// The host's URL is the final one, scrubbed; without a redirect it is target itself.
	out := RequestOut{Status: resp.Status, Headers: make(map[string]string, len(respHeader)), URL: resp.URL}
	for k, vs := range resp.Headers {
		// The first value, as Header.Get gives it, without canonicalising each name again.
		v := ""
		if len(vs) > 0 {
			v = vs[0]
		}
		out.Headers[strings.ToLower(k)] = v
	}
	asJSON := in.Response == "json" || (in.Response != "text" && strings.Contains(respHeader.Get("Content-Type"), "json"))
	if asJSON && len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &out.JSON); err != nil {
			if in.Response == "json" {
				return RequestOut{}, plugin.Permanent(fmt.Errorf("response is not JSON: %w", err))
			}
			out.JSON, out.Text = nil, string(b)
		}
	} else {
		out.Text = string(b)
	}
	if l := plugin.Logger(ctx); l != nil {
		l.Debug("http request", "method", method, "status", resp.Status)
	}
	return out, nil
}

func resolveURL(ctx context.Context, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.IsAbs() {
		return u, nil
	}
	base := plugin.ConfigString(ctx, "base_url", "")
	if base == "" {
		return nil, fmt.Errorf("%q is relative and the tenant has no base_url configured", raw)
	}
	b, err := parseBase(base)
	if err != nil {
		return nil, fmt.Errorf("base_url: %w", err)
	}
	return b.ResolveReference(&url.URL{Path: strings.TrimPrefix(u.Path, "/"), RawQuery: u.RawQuery}), nil
}

// parsedBase is a base_url as parseBase read it.
type parsedBase struct {
	raw string
	u   *url.URL
	err error
}

// lastBase keeps the last base_url parsed: a tenant's base rarely changes, and parsing it
// on every call cost the guest as much as parsing the request's own URL.
var lastBase atomic.Pointer[parsedBase]

// parseBase parses base with a trailing slash, so that paths join below it. The URL it
// returns is shared: callers must not change it (ResolveReference does not).
func parseBase(base string) (*url.URL, error) {
	if p := lastBase.Load(); p != nil && p.raw == base {
		return p.u, p.err
	}
	u, err := url.Parse(strings.TrimSuffix(base, "/") + "/")
	lastBase.Store(&parsedBase{raw: base, u: u, err: err})
	return u, err
}

// validMethod reports whether m is an HTTP token, the check http.NewRequest makes.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
