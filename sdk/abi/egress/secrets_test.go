package egress

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aquascene/aquahub/sdk/abi"
)

const apiKey = "sk_live_Q7fX2pLm9RtZ4wKe"

// recorder is a test server that keeps what it received.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
	body [][]byte
}

func newRecorder(t testing.TB, h http.HandlerFunc) *recorder {
	t.Helper()
	r := &recorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b := make([]byte, req.ContentLength)
		if req.ContentLength > 0 {
			req.Body.Read(b)
		}
		r.mu.Lock()
		r.reqs = append(r.reqs, req)
		r.body = append(r.body, b)
		r.mu.Unlock()
		if h != nil {
			h(w, req)
		}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) received() []*http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*http.Request(nil), r.reqs...)
}

// dump is everything a request carried, for checking that a value is not in it.
func dump(r *http.Request) string {
	var b strings.Builder
	b.WriteString(r.URL.String())
	for k, vs := range r.Header {
		b.WriteString("\n" + k + ": " + strings.Join(vs, ", "))
	}
	return b.String()
}

func newTestClient(t testing.TB, p Policy) *Client {
	t.Helper()
	if p.Requested == nil {
		p.Requested = []string{"*"}
	}
	c, err := NewClient(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func header(kv ...string) map[string][]string {
	h := map[string][]string{}
	for i := 0; i < len(kv); i += 2 {
		h[kv[i]] = append(h[kv[i]], kv[i+1])
	}
	return h
}

// TestSecretsGoOnlyToDeclaredPlaces checks a manifest that declares where its secrets go
// (revision 1.5): every other place is refused before anything is sent.
func TestSecretsGoOnlyToDeclaredPlaces(t *testing.T) {
	srv := newRecorder(t, nil)
	c := newTestClient(t, Policy{
		Granted: []string{srv.URL},
		Secrets: map[string]string{"api_key": apiKey, "user_key": "uk-0123456789", "hook": "whsec-0123456789", "undeclared": "ud-0123456789"},
		Declared: []abi.SecretSpec{
			{Name: "api_key", Places: []abi.SecretPlace{{Header: "authorization"}, {Query: "key"}}},
			{Name: "user_key", Places: []abi.SecretPlace{{Basic: true}}},
			{Name: "hook", Places: []abi.SecretPlace{{HMAC: "X-Signature-256"}}},
		},
	})
	tests := []struct {
		name    string
		req     abi.HTTPRequest
		want    string // substring of the error; "" = sent
		sentHas string // with want "", what the server must have received
	}{
		{"declared header", abi.HTTPRequest{URL: srv.URL, Headers: header("Authorization", "Bearer {{secret:api_key}}")}, "", "Authorization: Bearer " + apiKey},
		{"declared query parameter", abi.HTTPRequest{URL: srv.URL + "/v1?key={{secret:api_key}}&x=1"}, "", "?key=" + apiKey + "&x=1"},
		{"declared basic auth", abi.HTTPRequest{URL: srv.URL, Headers: header("Authorization", "Basic {{basic:me:user_key}}")}, "", "Basic " + base64.StdEncoding.EncodeToString([]byte("me:uk-0123456789"))},
		{"another header", abi.HTTPRequest{URL: srv.URL, Headers: header("X-Echo", "{{secret:api_key}}")}, `does not declare {{secret:…}} of secret "api_key" in header X-Echo (declared: header Authorization, query parameter key)`, ""},
		{"another query parameter", abi.HTTPRequest{URL: srv.URL + "/?echo={{secret:api_key}}"}, "query parameter echo", ""},
		{"query parameter name", abi.HTTPRequest{URL: srv.URL + "/?{{secret:api_key}}=1"}, "parameter names cannot hold secret references", ""},
		{"path", abi.HTTPRequest{URL: srv.URL + "/{{secret:api_key}}/x"}, "url path: secret references are replaced only", ""},
		{"escaped path", abi.HTTPRequest{URL: srv.URL + "/%7B%7Bsecret:api_key%7D%7D"}, "url path", ""},
		{"header name", abi.HTTPRequest{URL: srv.URL, Headers: header("{{secret:api_key}}", "1")}, "header names cannot hold secret references", ""},
		{"basic of a header-only secret", abi.HTTPRequest{URL: srv.URL, Headers: header("Authorization", "Basic {{basic:u:api_key}}")}, `{{basic:…}} of secret "api_key"`, ""},
		{"hmac secret as a value", abi.HTTPRequest{URL: srv.URL, Headers: header("X-Signature-256", "{{secret:hook}}")}, `{{secret:…}} of secret "hook"`, ""},
		{"hmac in another header", abi.HTTPRequest{URL: srv.URL, Headers: header("X-Other", "{{hmac-sha256-hex:hook}}")}, "header X-Other", ""},
		{"hmac in the query", abi.HTTPRequest{URL: srv.URL + "/?sig={{hmac-sha256-hex:hook}}"}, "only replaced in headers", ""},
		{"secret the manifest does not declare", abi.HTTPRequest{URL: srv.URL, Headers: header("Authorization", "{{secret:undeclared}}")}, `secret "undeclared" is not declared in the manifest`, ""},
		{"body is never expanded", abi.HTTPRequest{Method: "POST", URL: srv.URL, Body: []byte(`{"k":"{{secret:api_key}}"}`)}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(srv.received())
			if tt.req.Method == "" {
				tt.req.Method = "GET"
			}
			resp := c.Do(context.Background(), &tt.req)
			got := srv.received()[before:]
			if tt.want != "" {
				if resp.Error == nil || resp.Error.Code != abi.HTTPErrorInvalid || !strings.Contains(resp.Error.Message, tt.want) {
					t.Fatalf("got %+v, want invalid_request containing %q", resp.Error, tt.want)
				}
				if len(got) != 0 {
					t.Fatalf("the request was sent: %s", dump(got[0]))
				}
				return
			}
			if resp.Error != nil || len(got) != 1 {
				t.Fatalf("error %+v, %d requests received", resp.Error, len(got))
			}
			if !strings.Contains(dump(got[0]), tt.sentHas) {
				t.Fatalf("the server received\n%s\nwant %q in it", dump(got[0]), tt.sentHas)
			}
			if strings.Contains(string(srv.body[len(srv.body)-1]), apiKey) {
				t.Fatal("the body carried the secret")
			}
		})
	}
}

// TestUndeclaredPlacesKeepTodaysRules checks a manifest that declares no places (before
// revision 1.5, or the generic http connector): header values, Basic auth and query values
// still work, the URL path and names still do not.
func TestUndeclaredPlacesKeepTodaysRules(t *testing.T) {
	srv := newRecorder(t, nil)
	c := newTestClient(t, Policy{
		Granted:  []string{srv.URL},
		Secrets:  map[string]string{"api_key": apiKey},
		Declared: []abi.SecretSpec{{Name: "api_key"}},
	})
	tests := []struct {
		name, url string
		headers   map[string][]string
		want      string
	}{
		{"any header", srv.URL, header("X-Api-Key", "{{secret:api_key}}"), ""},
		{"basic", srv.URL, header("Authorization", "Basic {{basic:u:api_key}}"), ""},
		{"hmac", srv.URL, header("X-Sig", "{{hmac-sha256-hex:api_key}}"), ""},
		{"query value", srv.URL + "/?api_key={{secret:api_key}}", nil, ""},
		{"path", srv.URL + "/{{secret:api_key}}", nil, "url path"},
		{"header name", srv.URL, header("{{secret:api_key}}", "x"), "header names"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := c.Do(context.Background(), &abi.HTTPRequest{Method: "GET", URL: tt.url, Headers: tt.headers})
			if tt.want == "" {
				if resp.Error != nil {
					t.Fatal(resp.Error)
				}
				return
			}
			if resp.Error == nil || !strings.Contains(resp.Error.Message, tt.want) {
				t.Fatalf("got %+v, want %q", resp.Error, tt.want)
			}
		})
	}
}

// TestSecretsBoundToOrigins checks the operator's binding: a secret goes only to the
// origins it is bound to, even among the connector's granted origins.
func TestSecretsBoundToOrigins(t *testing.T) {
	vendor, other := newRecorder(t, nil), newRecorder(t, nil)
	var decisions []Decision
	c := newTestClient(t, Policy{
		Granted:       []string{vendor.URL, other.URL},
		Secrets:       map[string]string{"api_key": apiKey, "free": "free-0123456789"},
		SecretOrigins: map[string][]string{"api_key": {vendor.URL}},
		OnDecision:    func(d Decision) { decisions = append(decisions, d) },
	})
	send := func(u, secret string) *abi.HTTPResponse {
		return c.Do(context.Background(), &abi.HTTPRequest{Method: "GET", URL: u, Headers: header("Authorization", "Bearer {{secret:"+secret+"}}")})
	}
	if resp := send(vendor.URL, "api_key"); resp.Error != nil {
		t.Fatalf("to its bound origin: %v", resp.Error)
	}
	resp := send(other.URL+"/x", "api_key")
	if resp.Error == nil || resp.Error.Code != abi.HTTPErrorDenied || !strings.Contains(resp.Error.Message, `secret "api_key" is not bound to http://127.0.0.1:`) {
		t.Fatalf("to another granted origin: got %+v, want egress_denied", resp.Error)
	}
	if n := len(other.received()); n != 0 {
		t.Fatalf("the other origin received %d requests", n)
	}
	if last := decisions[len(decisions)-1]; last.Allowed || !strings.Contains(last.Reason, "not bound") {
		t.Fatalf("the refusal was not reported as a decision: %+v", last)
	}
	// A secret without a binding goes to every granted origin.
	if resp := send(other.URL, "free"); resp.Error != nil {
		t.Fatalf("unbound secret: %v", resp.Error)
	}
	if _, err := NewClient(Policy{SecretOrigins: map[string][]string{"k": {"ftp://x"}}}); err == nil || !strings.Contains(err.Error(), `secret origins of "k"`) {
		t.Fatalf("a bad origin: %v", err)
	}
}

func TestShortSecretsAreNeverSent(t *testing.T) {
	srv := newRecorder(t, nil)
	c := newTestClient(t, Policy{Granted: []string{srv.URL}, Secrets: map[string]string{"pin": "1234567"}})
	for _, r := range []abi.HTTPRequest{
		{Method: "GET", URL: srv.URL, Headers: header("Authorization", "Bearer {{secret:pin}}")},
		{Method: "GET", URL: srv.URL, Headers: header("Authorization", "Basic {{basic:u:pin}}")},
		{Method: "GET", URL: srv.URL + "/?pin={{secret:pin}}"},
	} {
		resp := c.Do(context.Background(), &r)
		if resp.Error == nil || resp.Error.Code != abi.HTTPErrorInvalid || !strings.Contains(resp.Error.Message, `secret "pin" is shorter than 8 bytes`) {
			t.Fatalf("%+v: got %+v", r, resp.Error)
		}
	}
	if n := len(srv.received()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}

// TestHMACTemplates checks that the host signs the body it sends with the secret, and that
// a server echoing the signature does not turn the host into a signing oracle.
func TestHMACTemplates(t *testing.T) {
	const key = "whsec-partner-0123456789"
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo", r.Header.Get("X-Signature-256"))
		fmt.Fprint(w, r.Header.Get("X-Sig-B64"))
	})
	c := newTestClient(t, Policy{
		Granted:  []string{srv.URL},
		Secrets:  map[string]string{"hook": key},
		Declared: []abi.SecretSpec{{Name: "hook", Places: []abi.SecretPlace{{HMAC: "X-Signature-256"}, {HMAC: "X-Sig-B64"}}}},
	})
	body := []byte(`{"event":"content.published","id":"42"}`)
	resp := c.Do(context.Background(), &abi.HTTPRequest{Method: "POST", URL: srv.URL, Body: body,
		Headers: header("X-Signature-256", "sha256={{hmac-sha256-hex:hook}}", "X-Sig-B64", "{{hmac-sha256-base64:hook}}")})
	if resp.Error != nil {
		t.Fatal(resp.Error)
	}
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	sum := mac.Sum(nil)
	got := srv.received()[0]
	if want := "sha256=" + hex.EncodeToString(sum); got.Header.Get("X-Signature-256") != want {
		t.Fatalf("X-Signature-256 = %q, want %q", got.Header.Get("X-Signature-256"), want)
	}
	if want := base64.StdEncoding.EncodeToString(sum); got.Header.Get("X-Sig-B64") != want {
		t.Fatalf("X-Sig-B64 = %q, want %q", got.Header.Get("X-Sig-B64"), want)
	}
	if echo := resp.Headers["X-Echo"][0]; strings.Contains(echo, hex.EncodeToString(sum)) {
		t.Fatalf("the echoed signature came back: %q", echo)
	}
	if strings.Contains(string(resp.Body), base64.StdEncoding.EncodeToString(sum)) {
		t.Fatalf("the echoed signature came back: %q", resp.Body)
	}
}

// TestFinalURLKeepsThePlaceholder checks that a secret sent in the query does not come
// back in the final URL, escaped or not.
func TestFinalURLKeepsThePlaceholder(t *testing.T) {
	const key = "k3y/with+chars&=0123" // needs escaping in a query
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hop" {
			http.Redirect(w, r, "/final?"+r.URL.RawQuery, http.StatusFound)
		}
	})
	c := newTestClient(t, Policy{Granted: []string{srv.URL}, Secrets: map[string]string{"api_key": key}})
	for _, path := range []string{"/v1", "/hop"} {
		u := srv.URL + path + "?api_key={{secret:api_key}}&page=2"
		resp := c.Do(context.Background(), &abi.HTTPRequest{Method: "GET", URL: u})
		if resp.Error != nil {
			t.Fatal(resp.Error)
		}
		if got := srv.received()[len(srv.received())-1].URL.Query().Get("api_key"); got != key {
			t.Fatalf("%s: the server got api_key=%q", path, got)
		}
		b, _ := json.Marshal(resp)
		for _, form := range []string{key, url.QueryEscape(key), url.PathEscape(key)} {
			if strings.Contains(string(b), form) {
				t.Fatalf("%s: the response holds the secret as %q: %s", path, form, b)
			}
		}
		if path == "/v1" && resp.URL != u {
			t.Fatalf("final URL %q, want the request's own %q", resp.URL, u)
		}
	}
}

// TestReflectedSecretsAreScrubbed checks each encoding a reflecting server can send a
// secret back in: none reaches the guest intact.
func TestReflectedSecretsAreScrubbed(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	rev := func(s string) string {
		b := []byte(s)
		for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
			b[i], b[j] = b[j], b[i]
		}
		return string(b)
	}
	jsonEscaped := func(s string) string {
		var b strings.Builder
		for _, c := range []byte(s) {
			fmt.Fprintf(&b, `\u%04x`, c)
		}
		return b.String()
	}
	tests := []struct {
		name string
		// reflect writes the secret (received in Authorization) back.
		reflect func(w http.ResponseWriter, secret string)
		// leaked reports whether what came back still carries the secret.
		leaked func(r *abi.HTTPResponse, secret string) bool
	}{
		{"plain body", func(w http.ResponseWriter, s string) { fmt.Fprint(w, "you sent "+s) },
			func(r *abi.HTTPResponse, s string) bool { return strings.Contains(string(r.Body), s) }},
		{"url-escaped", func(w http.ResponseWriter, s string) { fmt.Fprint(w, url.QueryEscape(s+"/")) },
			func(r *abi.HTTPResponse, s string) bool {
				d, _ := url.QueryUnescape(string(r.Body))
				return strings.Contains(d, s)
			}},
		{"base64", func(w http.ResponseWriter, s string) { w.Header().Set("X-B64", b64([]byte(s))) },
			func(r *abi.HTTPResponse, s string) bool {
				d, _ := base64.StdEncoding.DecodeString(r.Headers["X-B64"][0])
				return strings.Contains(string(d), s)
			}},
		{"basic auth form", func(w http.ResponseWriter, s string) { w.Header().Set("X-Auth", "Basic "+b64([]byte("user:"+s))) },
			func(r *abi.HTTPResponse, s string) bool {
				d, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.Headers["X-Auth"][0], "Basic "))
				return strings.Contains(string(d), s)
			}},
		{"hex", func(w http.ResponseWriter, s string) { fmt.Fprint(w, hex.EncodeToString([]byte(s))) },
			func(r *abi.HTTPResponse, s string) bool {
				d, _ := hex.DecodeString(string(r.Body))
				return strings.Contains(string(d), s)
			}},
		{"reversed", func(w http.ResponseWriter, s string) { fmt.Fprint(w, rev(s)) },
			func(r *abi.HTTPResponse, s string) bool { return strings.Contains(rev(string(r.Body)), s) }},
		{"upper-cased", func(w http.ResponseWriter, s string) { fmt.Fprint(w, strings.ToUpper(s)) },
			func(r *abi.HTTPResponse, s string) bool { return strings.Contains(string(r.Body), strings.ToUpper(s)) }},
		{"split across two headers", func(w http.ResponseWriter, s string) {
			w.Header().Set("X-A", s[:len(s)/2])
			w.Header().Set("X-B", s[len(s)/2:])
		}, func(r *abi.HTTPResponse, s string) bool { return r.Headers["X-A"][0]+r.Headers["X-B"][0] == s }},
		{"json \\u00xx", func(w http.ResponseWriter, s string) { fmt.Fprintf(w, `{"v":"%s"}`, jsonEscaped(s)) },
			func(r *abi.HTTPResponse, s string) bool {
				var v struct{ V string }
				json.Unmarshal(r.Body, &v)
				return strings.Contains(v.V, s)
			}},
		{"header name", func(w http.ResponseWriter, s string) { w.Header().Set("X-"+s, "1") },
			func(r *abi.HTTPResponse, s string) bool {
				for k := range r.Headers {
					if strings.Contains(strings.ToLower(k), strings.ToLower(s)) {
						return true
					}
				}
				return false
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tt.reflect(w, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
			}))
			defer srv.Close()
			c := newTestClient(t, Policy{Granted: []string{srv.URL}, Secrets: map[string]string{"api_key": apiKey}})
			resp := c.Do(context.Background(), &abi.HTTPRequest{Method: "GET", URL: srv.URL, Headers: header("Authorization", "Bearer {{secret:api_key}}")})
			if resp.Error != nil {
				t.Fatal(resp.Error)
			}
			// The server did reflect it: the reflection is what is under test.
			if tt.leaked(resp, apiKey) {
				b, _ := json.Marshal(resp)
				t.Fatalf("the secret came back: %s", b)
			}
		})
	}
}

// TestRedirectsLeavingTheOriginDropSecrets checks that headers carrying secrets, and the
// Referer holding a query that carried one, do not follow a redirect to another origin,
// even a granted one, while a redirect within the origin keeps them.
func TestRedirectsLeavingTheOriginDropSecrets(t *testing.T) {
	other := newRecorder(t, nil)
	vendor := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/landed", http.StatusTemporaryRedirect)
		case "/home":
			http.Redirect(w, r, "/landed", http.StatusFound)
		case "/echo-away":
			http.Redirect(w, r, other.URL+"/landed?stolen="+r.URL.Query().Get("key"), http.StatusFound)
		}
	})
	c := newTestClient(t, Policy{
		Granted: []string{vendor.URL, other.URL},
		Secrets: map[string]string{"api_key": apiKey, "hook": "whsec-0123456789"},
	})
	do := func(path string) *abi.HTTPResponse {
		return c.Do(context.Background(), &abi.HTTPRequest{Method: "POST", URL: vendor.URL + path + "?key={{secret:api_key}}", Body: []byte("{}"),
			Headers: header("Authorization", "Bearer {{secret:api_key}}", "X-Api-Key", "{{secret:api_key}}", "X-Sig", "{{hmac-sha256-hex:hook}}", "X-Plain", "kept")})
	}
	if resp := do("/away"); resp.Error != nil {
		t.Fatal(resp.Error)
	}
	got := other.received()
	if len(got) != 1 {
		t.Fatalf("the other origin got %d requests", len(got))
	}
	for _, h := range []string{"Authorization", "X-Api-Key", "X-Sig", "Referer"} {
		if v := got[0].Header.Get(h); v != "" {
			t.Fatalf("%s followed the redirect to another origin: %q", h, v)
		}
	}
	if got[0].Header.Get("X-Plain") != "kept" || strings.Contains(dump(got[0]), apiKey) {
		t.Fatalf("the other origin received\n%s", dump(got[0]))
	}

	before := len(vendor.received())
	if resp := do("/home"); resp.Error != nil {
		t.Fatal(resp.Error)
	}
	landed := vendor.received()[before+1]
	if landed.Header.Get("Authorization") != "Bearer "+apiKey || landed.Header.Get("X-Api-Key") != apiKey {
		t.Fatalf("a redirect within the origin lost its credentials:\n%s", dump(landed))
	}

	resp := do("/echo-away")
	if resp.Error == nil || resp.Error.Code != abi.HTTPErrorDenied || !strings.Contains(resp.Error.Message, "would carry a secret value in its URL") {
		t.Fatalf("a redirect carrying the secret in its URL: got %+v", resp.Error)
	}
	if n := len(other.received()); n != 1 {
		t.Fatalf("the other origin got the URL with the secret (%d requests)", n)
	}
}

// TestProxyHeadersAreDropped checks every Proxy-* header, not only the ones Go knows.
func TestProxyHeadersAreDropped(t *testing.T) {
	srv := newRecorder(t, nil)
	c := newTestClient(t, Policy{Granted: []string{srv.URL}})
	resp := c.Do(context.Background(), &abi.HTTPRequest{Method: "GET", URL: srv.URL,
		Headers: header("Proxy-Foo", "1", "proxy-authorization", "Basic eA==", "Proxy-Connection", "keep-alive", "X-Ok", "1")})
	if resp.Error != nil {
		t.Fatal(resp.Error)
	}
	got := srv.received()[0]
	for k := range got.Header {
		if strings.HasPrefix(k, "Proxy-") {
			t.Fatalf("%s was forwarded", k)
		}
	}
	if got.Header.Get("X-Ok") != "1" {
		t.Fatal("an ordinary header was dropped")
	}
}

// TestLocalhostNamesAreNeverResolved checks that localhost and *.localhost are loopback
// without asking DNS, so a granted name under .localhost cannot be made to reach anything.
func TestLocalhostNamesAreNeverResolved(t *testing.T) {
	var asked []string
	lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
		asked = append(asked, host)
		return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
	}
	tests := []struct {
		host string
		// denied: refused as loopback; otherwise the operator granted localhost itself,
		// which reaches loopback (and nothing listens on port 9).
		denied bool
	}{{"evil.localhost", true}, {"A.LOCALHOST.", true}, {"localhost", false}}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			asked = nil
			c := newTestClient(t, Policy{Granted: []string{"http://" + tt.host + ":9"}, LookupIP: lookup})
			resp := c.Do(context.Background(), &abi.HTTPRequest{Method: "GET", URL: "http://" + tt.host + ":9/x"})
			switch {
			case tt.denied && (resp.Error == nil || resp.Error.Code != abi.HTTPErrorDenied || !strings.Contains(resp.Error.Message, "loopback")):
				t.Fatalf("got %+v, want a loopback denial", resp.Error)
			case !tt.denied && (resp.Error == nil || resp.Error.Code != abi.HTTPErrorNetwork || !strings.Contains(resp.Error.Message, "127.0.0.1:9")):
				t.Fatalf("got %+v, want a refused connection to 127.0.0.1:9", resp.Error)
			}
			if len(asked) != 0 {
				t.Fatalf("DNS was asked for %v", asked)
			}
		})
	}
}
