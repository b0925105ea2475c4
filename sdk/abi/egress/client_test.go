package egress

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/sdk/abi"
)

func TestCheckURL(t *testing.T) {
	c, err := NewClient(Policy{
		Requested: []string{"https://api.example.com", "https://*.cdn.example.com"},
		Granted:   []string{"https://api.example.com", "https://*.cdn.example.com", "http://127.0.0.1:8025", "https://other.example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, url, want string
	}{
		{"requested and granted", "https://api.example.com/v3/mail", ""},
		{"wildcard", "https://img.cdn.example.com/a.png", ""},
		{"granted but not requested", "https://other.example.com/", "not in the connector's requested egress"},
		{"loopback literal grant needs no request", "http://127.0.0.1:8025/sim", ""},
		{"other port", "https://api.example.com:8443/", "not granted"},
		{"plain http", "http://api.example.com/", "not granted"},
		{"scheme", "ftp://api.example.com/", "scheme"},
		{"credentials", "https://u:p@api.example.com/", "credentials"},
		{"octal loopback", "http://0177.0.0.1:8025/", "non-canonical numeric"},
		{"hex loopback", "http://0x7f000001:8025/", "non-canonical numeric"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, _ := url.Parse(tt.url)
			err := c.CheckURL(u)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want %q, got %v", tt.want, err)
			}
		})
	}
}

func TestAddrAllowed(t *testing.T) {
	c, err := NewClient(Policy{Requested: []string{"*"}, Granted: []string{"http://127.0.0.1:8025", "http://localhost:9000", "http://10.0.0.5:80", "http://169.254.169.254"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, host, port, addr string
		allowed                bool
	}{
		{"public", "api.example.com", "443", "93.184.216.34", true},
		{"granted loopback literal", "127.0.0.1", "8025", "127.0.0.1", true},
		{"loopback on another port", "127.0.0.1", "8026", "127.0.0.1", false},
		{"name resolving to loopback", "evil.test", "8025", "127.0.0.1", false},
		{"localhost grant", "localhost", "9000", "::1", true},
		{"granted private literal", "10.0.0.5", "80", "10.0.0.5", true},
		{"other private", "x.test", "80", "10.0.0.6", false},
		{"metadata never", "169.254.169.254", "80", "169.254.169.254", false},
		{"mapped loopback", "x.test", "8025", "::ffff:127.0.0.1", false},
		{"nat64", "x.test", "443", "64:ff9b::a9fe:a9fe", false},
		{"ula", "x.test", "443", "fd00::1", false},
		{"cgnat", "x.test", "443", "100.64.0.1", false},
		{"unspecified", "x.test", "443", "0.0.0.0", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.addrAllowed(tt.host, tt.port, netip.MustParseAddr(tt.addr))
			if (err == nil) != tt.allowed {
				t.Fatalf("allowed=%v, err=%v", tt.allowed, err)
			}
		})
	}
}

func TestDeniedBeforeConnecting(t *testing.T) {
	var dialed bool
	c, _ := NewClient(Policy{Requested: []string{"*"}, Granted: []string{"http://evil.test:1"},
		LookupIP: func(context.Context, string) ([]netip.Addr, error) {
			dialed = true
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		}})
	u, _ := url.Parse("http://evil.test:1/")
	resp := c.Do(context.Background(), &abi.HTTPRequest{Method: "GET", URL: u.String()})
	if resp.Error == nil || resp.Error.Code != "egress_denied" || !dialed {
		t.Fatalf("got %+v", resp.Error)
	}
}

func TestRateLimitKey(t *testing.T) {
	tests := []struct {
		name, url string
		segments  int
		want      string
	}{
		{"origin only", "https://api.airtable.com/v0/appA/Table", 0, "https://api.airtable.com:443"},
		{"base of airtable", "https://API.airtable.com/v0/appA/Table%20X/listRecords?x=1", 2, "https://api.airtable.com:443/v0/appA"},
		{"path shorter than segments", "http://127.0.0.1:8025/v0", 3, "http://127.0.0.1:8025/v0"},
		{"escaped slash stays in segment", "http://h:1/a%2Fb/c", 1, "http://h:1/a%2Fb"},
		{"empty path", "http://h", 2, "http://h:80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			if got := RateLimitKey(u, tt.segments); got != tt.want {
				t.Fatalf("RateLimitKey(%s, %d) = %q, want %q", tt.url, tt.segments, got, tt.want)
			}
		})
	}
}

// TestSigningSecretsNeverSent checks that a secret declared as a signing key cannot be
// referenced from a request, wherever the reference is, and that the request then never
// leaves the host.
func TestSigningSecretsNeverSent(t *testing.T) {
	const key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
	var received []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received = append(received, r.URL.RawQuery+" "+r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	c, err := NewClient(Policy{
		Requested:      []string{"*"},
		Granted:        []string{srv.URL},
		Secrets:        map[string]string{"pk": key, "api_key": "sk-123456"},
		SigningSecrets: []string{"pk", "unset_pk"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		req     abi.HTTPRequest
		wantErr string
	}{
		{"header", abi.HTTPRequest{Method: "GET", URL: srv.URL, Headers: map[string][]string{"Authorization": {"Bearer {{secret:pk}}"}}}, `secret "pk" is a signing key and cannot be sent`},
		{"basic", abi.HTTPRequest{Method: "GET", URL: srv.URL, Headers: map[string][]string{"Authorization": {"Basic {{basic:user:pk}}"}}}, `secret "pk" is a signing key and cannot be sent`},
		{"query", abi.HTTPRequest{Method: "GET", URL: srv.URL + "/?k={{secret:pk}}"}, `secret "pk" is a signing key and cannot be sent`},
		{"signing key the tenant has not set", abi.HTTPRequest{Method: "GET", URL: srv.URL, Headers: map[string][]string{"X-Key": {"{{secret:unset_pk}}"}}}, `secret "unset_pk" is a signing key and cannot be sent`},
		{"HTTP secret still sent", abi.HTTPRequest{Method: "GET", URL: srv.URL, Headers: map[string][]string{"Authorization": {"Bearer {{secret:api_key}}"}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			received = nil
			resp := c.Do(context.Background(), &tt.req)
			if tt.wantErr == "" {
				if resp.Error != nil || len(received) != 1 || received[0] != " Bearer sk-123456" {
					t.Fatalf("error %v, server received %q", resp.Error, received)
				}
				return
			}
			if resp.Error == nil || resp.Error.Code != abi.HTTPErrorInvalid || !strings.Contains(resp.Error.Message, tt.wantErr) {
				t.Fatalf("got %+v, want invalid_request %q", resp.Error, tt.wantErr)
			}
			if len(received) != 0 {
				t.Fatalf("the request was sent: %q", received)
			}
			if strings.Contains(resp.Error.Message, "MIIEvQ") {
				t.Fatalf("the message holds the key: %q", resp.Error.Message)
			}
		})
	}
}
