package plugins

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/logtest"
)

// The hostile connector's steal action sends requests carrying secret references and looks
// for the secret, which it knows only by its SHA-256, in every part of every answer the
// host hands back, decoded every way a reflecting server could have encoded it. These
// tests give it a reflecting server and check that it never finds the secret.

// leakSecret is lower case so that a reflection as a header name, which Go canonicalises,
// is still recoverable by the connector.
const leakSecret = "sk-live-q7fx2plm9rtz4wke0042xyz"

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// reflector is a granted server that echoes the secret it receives (in X-Api-Key,
// Authorization or the key query parameter) back in the encoding its path names.
type reflector struct {
	*countingListener
	url  string
	mu   sync.Mutex
	seen []*http.Request
}

func newReflector(t *testing.T) *reflector {
	t.Helper()
	r := &reflector{}
	srv, hits := loopbackServer(t, http.HandlerFunc(r.serve))
	r.countingListener, r.url = hits, srv.URL
	return r
}

func (r *reflector) requests() []*http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*http.Request(nil), r.seen...)
}

func (r *reflector) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.seen = append(r.seen, req)
	r.mu.Unlock()
	s := req.Header.Get("X-Api-Key")
	if s == "" {
		s = req.URL.Query().Get("key")
	}
	if s == "" {
		if b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")); err == nil {
			_, s, _ = strings.Cut(string(b), ":")
		}
	}
	escapeAll := func(s string) string {
		var b strings.Builder
		for _, c := range []byte(s) {
			fmt.Fprintf(&b, "%%%02X", c)
		}
		return b.String()
	}
	rev := func(s string) string {
		b := []byte(s)
		for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
			b[i], b[j] = b[j], b[i]
		}
		return string(b)
	}
	switch path := req.URL.Path; {
	case path == "/plain":
		fmt.Fprint(w, s)
	case path == "/url-escaped":
		fmt.Fprint(w, escapeAll(s))
	case path == "/base64":
		w.Header().Set("X-B64", base64.StdEncoding.EncodeToString([]byte(s)))
	case path == "/basic":
		w.Header().Set("X-Auth", req.Header.Get("Authorization"))
	case path == "/hex":
		fmt.Fprint(w, hex.EncodeToString([]byte(s)))
	case path == "/reversed":
		fmt.Fprint(w, rev(s))
	case path == "/case-changed":
		fmt.Fprint(w, strings.ToUpper(s))
	case path == "/split":
		w.Header().Set("X-A", s[:len(s)/2])
		w.Header().Set("X-B", s[len(s)/2:])
	case path == "/json":
		var b strings.Builder
		for _, c := range []byte(s) {
			fmt.Fprintf(&b, `\u%04x`, c)
		}
		fmt.Fprintf(w, `{"v":"%s"}`, b.String())
	case path == "/header-name":
		w.Header().Set("X-"+s, "1")
	case path == "/redirect-home":
		http.Redirect(w, req, "/landed?copy="+url.QueryEscape(s), http.StatusFound)
	case strings.HasPrefix(path, "/piece/"):
		// Thirds of the secret, each shorter than the half a scrubber catches: a connector
		// that collects them across requests holds the secret. What it may then do with it
		// is what the run-record and log tests are about.
		var i int
		fmt.Sscanf(path, "/piece/%d", &i)
		n := (len(s) + 2) / 3
		w.Header().Set("X-Piece", s[min(len(s), i*n):min(len(s), (i+1)*n)])
	}
}

// stealCatalog opens the hostile connector (the declared variant when declared) with the
// tenant settings grants gives each tenant.
func stealCatalog(t *testing.T, declared bool, deps Deps, grants map[string]TenantConfig) *Catalog {
	t.Helper()
	guest := hostileGuest(t)
	if declared {
		guest = hostileDeclaredGuest(t)
	}
	deps.Grants = func(tenant, _ string) (TenantConfig, bool) {
		g, ok := grants[tenant]
		return g, ok
	}
	c, _ := openCatalog(t, Config{}, deps, map[string]string{"hostile.wasm": guest}, false)
	return c
}

type stealResult struct {
	Leaked    bool     `json:"leaked"`
	Where     string   `json:"where"`
	Errors    []string `json:"errors"`
	Statuses  []int    `json:"statuses"`
	Assembled string   `json:"assembled"`
}

func steal(t *testing.T, c *Catalog, tenant string, in map[string]any) (stealResult, error) {
	t.Helper()
	res, err := c.Execute(context.Background(), ActionCall{Tenant: tenant, RunID: "run-steal", StepID: "s1", Connector: "hostile", Action: "steal", Input: in})
	var out stealResult
	b, _ := json.Marshal(res.Output)
	json.Unmarshal(b, &out)
	return out, err
}

func req(method, u string, headers map[string]string) map[string]any {
	r := map[string]any{"method": method, "url": u}
	if headers != nil {
		r["headers"] = headers
	}
	return r
}

// keepsServing checks that the hub still runs connectors after an attack.
func keepsServing(t *testing.T, c *Catalog, tenant string) {
	t.Helper()
	if _, err := c.Execute(context.Background(), ActionCall{Tenant: tenant, Connector: "hostile", Action: "noop", Input: map[string]any{}}); err != nil {
		t.Fatalf("the hub stopped serving: %v", err)
	}
}

func TestHostileConnectorCannotReadReflectedSecrets(t *testing.T) {
	srv := newReflector(t)
	c := stealCatalog(t, false, Deps{}, map[string]TenantConfig{
		"t1": {Egress: []string{srv.url}, Secrets: map[string]string{"token": leakSecret}},
	})
	apiKey := map[string]string{"X-Api-Key": "{{secret:token}}"}
	tests := []struct {
		name, path string
		headers    map[string]string
	}{
		{"plain", "/plain", apiKey},
		{"url-escaped", "/url-escaped", apiKey},
		{"base64", "/base64", apiKey},
		{"basic auth as base64", "/basic", map[string]string{"Authorization": "Basic {{basic:u:token}}"}},
		{"hex", "/hex", apiKey},
		{"reversed", "/reversed", apiKey},
		{"case-changed", "/case-changed", apiKey},
		{"split across two headers", "/split", apiKey},
		{"json \\u00xx-escaped", "/json", apiKey},
		{"used as a header name", "/header-name", apiKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(srv.requests())
			out, err := steal(t, c, "t1", map[string]any{"sha256": sha(leakSecret), "requests": []any{req("GET", srv.url+tt.path, tt.headers)}})
			if err != nil {
				t.Fatal(err)
			}
			got := srv.requests()[before:]
			if len(got) != 1 || out.Statuses[0] != 200 {
				t.Fatalf("the reflector was not reached: %d requests, %+v", len(got), out)
			}
			if !strings.Contains(fmt.Sprint(got[0].Header, got[0].URL), leakSecret) && tt.path != "/basic" {
				t.Fatalf("the reflector never received the secret: %v", got[0].Header)
			}
			if out.Leaked {
				t.Fatalf("the connector read the secret: %s", out.Where)
			}
		})
	}
	keepsServing(t, c, "t1")
}

// TestHostileConnectorCannotReadQuerySecretsFromTheFinalURL covers the host handing the
// expanded URL back: no cooperating server needed.
func TestHostileConnectorCannotReadQuerySecretsFromTheFinalURL(t *testing.T) {
	srv := newReflector(t)
	// A value that changes when URL-escaped, which is what the old scrubber missed.
	const secret = "sk/live+q7fX2pLm9=RtZ4wKe&0042"
	c := stealCatalog(t, false, Deps{}, map[string]TenantConfig{
		"t1": {Egress: []string{srv.url}, Secrets: map[string]string{"token": secret}},
	})
	for _, path := range []string{"/none", "/redirect-home"} {
		t.Run(path, func(t *testing.T) {
			out, err := steal(t, c, "t1", map[string]any{"sha256": sha(secret), "requests": []any{req("GET", srv.url+path+"?key={{secret:token}}&page=2", nil)}})
			if err != nil {
				t.Fatal(err)
			}
			if out.Errors[0] != "" {
				t.Fatal(out.Errors[0])
			}
			if out.Leaked {
				t.Fatalf("the connector read the secret: %s", out.Where)
			}
		})
	}
	if got := srv.requests()[0].URL.Query().Get("key"); got != secret {
		t.Fatalf("the server got key=%q, want the secret", got)
	}
	keepsServing(t, c, "t1")
}

func TestHostileConnectorGetsNoShortSecrets(t *testing.T) {
	srv := newReflector(t)
	c := stealCatalog(t, false, Deps{}, map[string]TenantConfig{
		"t1": {Egress: []string{srv.url}, Secrets: map[string]string{"token": "abc123"}},
	})
	out, err := steal(t, c, "t1", map[string]any{"sha256": sha("abc123"), "requests": []any{
		req("GET", srv.url+"/plain", map[string]string{"X-Api-Key": "{{secret:token}}"}),
		req("GET", srv.url+"/plain?key={{secret:token}}", nil),
		req("GET", srv.url+"/basic", map[string]string{"Authorization": "Basic {{basic:u:token}}"}),
	}})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range out.Errors {
		if !strings.Contains(e, `invalid_request`) || !strings.Contains(e, `secret "token" is shorter than 8 bytes`) {
			t.Fatalf("request %d: got %q", i, e)
		}
	}
	if n := srv.n.Load(); n != 0 || out.Leaked {
		t.Fatalf("the reflector saw %d connections; leaked %v", n, out.Leaked)
	}
	keepsServing(t, c, "t1")
}

// TestHostileConnectorCannotLeakThroughRunRecordsOrLogs gives the connector the secret in
// thirds, each too short to be caught on the way in; the step output, the step error and
// the connector's log lines must still not hold it.
func TestHostileConnectorCannotLeakThroughRunRecordsOrLogs(t *testing.T) {
	srv := newReflector(t)
	var logs logtest.Buffer
	c := stealCatalog(t, false, Deps{Logger: slog.New(slog.NewJSONHandler(&logs, nil))}, map[string]TenantConfig{
		"t1": {Egress: []string{srv.url}, Secrets: map[string]string{"token": leakSecret}},
	})
	pieces := []any{}
	for i := range 3 {
		pieces = append(pieces, req("GET", fmt.Sprintf("%s/piece/%d", srv.url, i), map[string]string{"X-Api-Key": "{{secret:token}}"}))
	}
	forms := map[string]string{
		"plain": leakSecret, "base64": base64.StdEncoding.EncodeToString([]byte(leakSecret)),
		"basic": base64.StdEncoding.EncodeToString([]byte("u:" + leakSecret)), "hex": hex.EncodeToString([]byte(leakSecret)),
	}
	noSecret := func(what, text string) {
		t.Helper()
		for name, f := range forms {
			if strings.Contains(strings.ToLower(text), strings.ToLower(f)) {
				t.Fatalf("%s holds the secret (%s): %s", what, name, text)
			}
		}
	}

	out, err := steal(t, c, "t1", map[string]any{"sha256": sha(leakSecret), "requests": pieces, "emit": true})
	if err != nil {
		t.Fatal(err)
	}
	if !out.Leaked || !strings.Contains(out.Where, "pieces") {
		t.Fatalf("the connector did not assemble the secret (%+v): this test needs it to", out)
	}
	b, _ := json.Marshal(out)
	noSecret("the step output", string(b))
	if !strings.Contains(out.Assembled, "[redacted]") {
		t.Fatalf("assembled = %q, want it redacted", out.Assembled)
	}
	noSecret("the log", logs.String())
	if !strings.Contains(logs.String(), "stolen [redacted]") {
		t.Fatalf("the connector's log line is missing: %s", logs.String())
	}

	_, err = steal(t, c, "t1", map[string]any{"sha256": sha(leakSecret), "requests": pieces, "fail": true})
	if err == nil {
		t.Fatal("want the connector's error")
	}
	noSecret("the step error", err.Error())
	if cls := core.Classify(err).Class; cls != core.ClassPermanent || !strings.Contains(err.Error(), "stolen [redacted]") {
		t.Fatalf("class %s, error %v: want the permanent error, redacted", cls, err)
	}
	keepsServing(t, c, "t1")
}

// TestHostileConnectorKeptToDeclaredPlacesAndBoundOrigins runs the variant whose manifest
// declares where its secrets go, for a tenant that binds the secret to one of two granted
// origins.
func TestHostileConnectorKeptToDeclaredPlacesAndBoundOrigins(t *testing.T) {
	vendor, other := newReflector(t), newReflector(t)
	const signing = "whsec-partner-0123456789"
	c := stealCatalog(t, true, Deps{}, map[string]TenantConfig{
		"t1": {
			Egress:        []string{vendor.url, other.url},
			Secrets:       map[string]string{"token": leakSecret, "signing": signing},
			SecretOrigins: map[string][]string{"token": {vendor.url}},
		},
	})
	tests := []struct {
		name string
		req  map[string]any
		want string // substring of the host's error; "" = sent
	}{
		{"declared header", req("GET", vendor.url+"/none", map[string]string{"X-Api-Key": "{{secret:token}}"}), ""},
		{"declared query parameter", req("GET", vendor.url+"/none?key={{secret:token}}", nil), ""},
		{"declared basic auth", req("GET", vendor.url+"/none", map[string]string{"Authorization": "Basic {{basic:u:token}}"}), ""},
		{"declared hmac", map[string]any{"method": "POST", "url": vendor.url + "/hmac", "body": `{"id":1}`, "headers": map[string]string{"X-Signature-256": "sha256={{hmac-sha256-hex:signing}}"}}, ""},
		{"another header", req("GET", vendor.url+"/none", map[string]string{"X-Echo": "{{secret:token}}"}), "invalid_request: header X-Echo: the manifest does not declare"},
		{"another query parameter", req("GET", vendor.url+"/none?echo={{secret:token}}", nil), "query parameter echo"},
		{"the path", req("GET", vendor.url+"/{{secret:token}}", nil), "url path"},
		{"a header name", req("GET", vendor.url+"/none", map[string]string{"X-{{secret:token}}": "1"}), "header names cannot hold secret references"},
		{"an hmac secret as a value", req("GET", vendor.url+"/none", map[string]string{"X-Signature-256": "{{secret:signing}}"}), `{{secret:…}} of secret "signing"`},
		{"another granted origin", req("GET", other.url+"/plain", map[string]string{"X-Api-Key": "{{secret:token}}"}), `egress_denied: header X-Api-Key: secret "token" is not bound to`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(vendor.requests()) + len(other.requests())
			out, err := steal(t, c, "t1", map[string]any{"sha256": sha(leakSecret), "requests": []any{tt.req}})
			if err != nil {
				t.Fatal(err)
			}
			sent := len(vendor.requests()) + len(other.requests()) - before
			if tt.want == "" {
				if out.Errors[0] != "" || sent != 1 {
					t.Fatalf("error %q, %d requests sent", out.Errors[0], sent)
				}
				return
			}
			if !strings.Contains(out.Errors[0], tt.want) || sent != 0 {
				t.Fatalf("got %q with %d requests sent, want %q and none", out.Errors[0], sent, tt.want)
			}
		})
	}
	// The body is never expanded: the reference goes as written.
	out, _ := steal(t, c, "t1", map[string]any{"sha256": sha(leakSecret), "requests": []any{map[string]any{"method": "POST", "url": vendor.url + "/none", "body": "{{secret:token}}"}}})
	if out.Errors[0] != "" {
		t.Fatal(out.Errors[0])
	}
	hm := vendor.requests()[3]
	mac := hmac.New(sha256.New, []byte(signing))
	mac.Write([]byte(`{"id":1}`))
	if got, want := hm.Header.Get("X-Signature-256"), "sha256="+hex.EncodeToString(mac.Sum(nil)); got != want {
		t.Fatalf("X-Signature-256 = %q, want %q", got, want)
	}
	keepsServing(t, c, "t1")
}

// TestHostileConnectorRedirectsCarryNoSecrets sends a request with the secret in headers
// and the query to a granted origin that redirects to another granted origin.
func TestHostileConnectorRedirectsCarryNoSecrets(t *testing.T) {
	other := newReflector(t)
	vendorSrv, _ := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.url+"/landed", http.StatusTemporaryRedirect)
	}))
	c := stealCatalog(t, false, Deps{}, map[string]TenantConfig{
		"t1": {Egress: []string{vendorSrv.URL, other.url}, Secrets: map[string]string{"token": leakSecret}},
	})
	out, err := steal(t, c, "t1", map[string]any{"sha256": sha(leakSecret), "requests": []any{
		req("GET", vendorSrv.URL+"/away?key={{secret:token}}", map[string]string{"X-Api-Key": "{{secret:token}}", "Authorization": "Basic {{basic:u:token}}"}),
	}})
	if err != nil || out.Errors[0] != "" {
		t.Fatalf("%v %v", err, out.Errors)
	}
	got := other.requests()
	if len(got) != 1 {
		t.Fatalf("the other origin got %d requests", len(got))
	}
	for _, h := range []string{"X-Api-Key", "Authorization", "Referer"} {
		if v := got[0].Header.Get(h); v != "" {
			t.Fatalf("%s followed the redirect to another origin: %q", h, v)
		}
	}
	keepsServing(t, c, "t1")
}

func TestHostileConnectorProxyHeadersAndLocalhostNames(t *testing.T) {
	srv := newReflector(t)
	port := srv.Addr().(*net.TCPAddr).Port
	var mu sync.Mutex
	var asked []string
	c := stealCatalog(t, false, Deps{LookupIP: func(_ context.Context, host string) ([]netip.Addr, error) {
		mu.Lock()
		asked = append(asked, host)
		mu.Unlock()
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}}, map[string]TenantConfig{
		"t1": {Egress: []string{srv.url, fmt.Sprintf("http://evil.localhost:%d", port)}},
	})
	out, err := steal(t, c, "t1", map[string]any{"sha256": sha(leakSecret), "requests": []any{
		req("GET", srv.url+"/none", map[string]string{"Proxy-Foo": "1", "Proxy-Authorization": "Basic eDp5", "X-Ok": "1"}),
		req("GET", fmt.Sprintf("http://evil.localhost:%d/none", port), nil),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Errors[0] != "" {
		t.Fatal(out.Errors[0])
	}
	for k := range srv.requests()[0].Header {
		if strings.HasPrefix(k, "Proxy-") {
			t.Fatalf("%s was forwarded", k)
		}
	}
	if !strings.Contains(out.Errors[1], "egress_denied") || !strings.Contains(out.Errors[1], "loopback") {
		t.Fatalf("evil.localhost: got %q, want a loopback denial", out.Errors[1])
	}
	if len(srv.requests()) != 1 || len(asked) != 0 {
		t.Fatalf("evil.localhost reached the server or DNS (asked %v)", asked)
	}
	keepsServing(t, c, "t1")
}

// TestActionContextCarriesTheCallDeadline checks the wasm SDK: the context an action gets
// ends when the host will stop the call.
func TestActionContextCarriesTheCallDeadline(t *testing.T) {
	c, _ := openCatalog(t, Config{CallTimeout: 20 * time.Second}, Deps{}, map[string]string{"hostile.wasm": hostileGuest(t)}, false)
	out, err := invoke(t, c, "deadline", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	until, _ := out["until_ms"].(float64)
	if out["has"] != true || until <= 0 || until > 20000 {
		t.Fatalf("got %v, want a deadline within the 20 s call timeout", out)
	}
}
