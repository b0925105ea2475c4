package netguard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

func TestCheckURL(t *testing.T) {
	strict := Policy{}
	dev := Policy{AllowHTTP: true, AllowLoopback: true}
	tests := []struct {
		name    string
		policy  Policy
		url     string
		blocked bool // wraps ErrBlocked
		bad     bool // any other error
	}{
		{name: "public https", policy: strict, url: "https://hooks.example.com/x"},
		{name: "public ipv4 literal", policy: strict, url: "https://93.184.216.34/"},
		{name: "public ipv6 literal", policy: strict, url: "https://[2606:2800:220:1:248:1893:25c8:1946]/"},
		{name: "http refused by default", policy: strict, url: "http://hooks.example.com/", blocked: true},
		{name: "http allowed by operator", policy: Policy{AllowHTTP: true}, url: "http://hooks.example.com/"},
		{name: "ftp scheme", policy: dev, url: "ftp://example.com/", blocked: true},
		{name: "relative", policy: strict, url: "/hooks", bad: true},
		{name: "user info", policy: strict, url: "https://u:p@example.com/", bad: true},
		{name: "port out of range", policy: strict, url: "https://example.com:70000/", bad: true},
		{name: "loopback", policy: strict, url: "https://127.0.0.1/", blocked: true},
		{name: "loopback other", policy: strict, url: "https://127.8.9.10/", blocked: true},
		{name: "localhost name", policy: strict, url: "https://localhost:8080/", blocked: true},
		{name: "localhost subdomain", policy: strict, url: "https://a.localhost/", blocked: true},
		{name: "ipv6 loopback", policy: strict, url: "https://[::1]/", blocked: true},
		{name: "mapped loopback", policy: strict, url: "https://[::ffff:127.0.0.1]/", blocked: true},
		{name: "decimal loopback", policy: strict, url: "https://2130706433/", blocked: true},
		{name: "hex loopback", policy: strict, url: "https://0x7f000001/", blocked: true},
		{name: "octal loopback", policy: strict, url: "https://0177.0.0.1/", blocked: true},
		{name: "short loopback", policy: strict, url: "https://127.1/", blocked: true},
		{name: "numeric trick refused even in dev", policy: dev, url: "http://2130706433/", blocked: true},
		{name: "metadata", policy: strict, url: "https://169.254.169.254/latest/meta-data", blocked: true},
		{name: "metadata even with private allowed", policy: Policy{AllowPrivate: true, AllowLoopback: true}, url: "https://169.254.169.254/", blocked: true},
		{name: "rfc1918 10", policy: strict, url: "https://10.1.2.3/", blocked: true},
		{name: "rfc1918 172", policy: strict, url: "https://172.20.0.1/", blocked: true},
		{name: "rfc1918 192", policy: strict, url: "https://192.168.1.1/", blocked: true},
		{name: "rfc1918 allowed", policy: Policy{AllowPrivate: true}, url: "https://192.168.1.1/"},
		{name: "cgnat", policy: strict, url: "https://100.64.0.1/", blocked: true},
		{name: "unspecified v4", policy: dev, url: "http://0.0.0.0:8080/", blocked: true},
		{name: "unspecified v6", policy: dev, url: "http://[::]:8080/", blocked: true},
		{name: "multicast", policy: strict, url: "https://224.0.0.1/", blocked: true},
		{name: "broadcast", policy: strict, url: "https://255.255.255.255/", blocked: true},
		{name: "ula", policy: strict, url: "https://[fd00::1]/", blocked: true},
		{name: "link-local v6", policy: strict, url: "https://[fe80::1]/", blocked: true},
		{name: "link-local v6 zone", policy: strict, url: "https://[fe80::1%25eth0]/", blocked: true},
		{name: "nat64", policy: strict, url: "https://[64:ff9b::7f00:1]/", blocked: true},
		{name: "6to4", policy: strict, url: "https://[2002:7f00:1::]/", blocked: true},
		{name: "ipv4-compatible", policy: strict, url: "https://[::127.0.0.1]/", blocked: true},
		{name: "dev allows loopback", policy: dev, url: "http://127.0.0.1:9000/hook"},
		{name: "dev allows localhost", policy: dev, url: "http://localhost:9000/hook"},
		{name: "dev still blocks private", policy: dev, url: "http://10.0.0.1/", blocked: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.policy.CheckURL(tt.url)
			switch {
			case tt.blocked && !errors.Is(err, ErrBlocked):
				t.Fatalf("CheckURL(%q) = %v, want ErrBlocked", tt.url, err)
			case tt.bad && (err == nil || errors.Is(err, ErrBlocked)):
				t.Fatalf("CheckURL(%q) = %v, want a validation error", tt.url, err)
			case !tt.blocked && !tt.bad && err != nil:
				t.Fatalf("CheckURL(%q) = %v, want ok", tt.url, err)
			}
		})
	}
}

func TestParseNumericHost(t *testing.T) {
	tests := []struct {
		name      string
		host      string
		want      string
		canonical bool
		ok        bool
	}{
		{name: "dotted quad", host: "1.2.3.4", want: "1.2.3.4", canonical: true, ok: true},
		{name: "decimal", host: "2130706433", want: "127.0.0.1", ok: true},
		{name: "hex", host: "0x7f000001", want: "127.0.0.1", ok: true},
		{name: "octal part", host: "0177.0.0.1", want: "127.0.0.1", ok: true},
		{name: "two parts", host: "127.1", want: "127.0.0.1", ok: true},
		{name: "three parts", host: "10.1.258", want: "10.1.1.2", ok: true},
		{name: "mixed hex parts", host: "0x7f.0x0.0x0.0x1", want: "127.0.0.1", ok: true},
		{name: "trailing dot", host: "127.0.0.1.", want: "127.0.0.1", ok: true},
		{name: "name", host: "example.com", ok: false},
		{name: "too large part", host: "256.0.0.1", ok: false},
		{name: "too large total", host: "4294967296", ok: false},
		{name: "five parts", host: "1.2.3.4.5", ok: false},
		{name: "bad octal", host: "09.0.0.1", ok: false},
		{name: "empty part", host: "1..2", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, canonical, ok := ParseNumericHost(tt.host)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if a.String() != tt.want || canonical != tt.canonical {
				t.Fatalf("got %s canonical=%v, want %s canonical=%v", a, canonical, tt.want, tt.canonical)
			}
		})
	}
}

func TestCheckAddrUnmaps(t *testing.T) {
	mapped := netip.MustParseAddr("::ffff:10.0.0.1")
	if err := (Policy{}).CheckAddr(mapped); !errors.Is(err, ErrBlocked) {
		t.Fatalf("CheckAddr(%s) = %v, want blocked", mapped, err)
	}
	if err := (Policy{}).CheckAddr(netip.MustParseAddr("8.8.8.8")); err != nil {
		t.Fatalf("public address refused: %v", err)
	}
}

// TestDialControlStopsConnections checks the connect-time guard: a loopback listener must see
// no connection at all, whichever spelling of its address the client is given.
func TestDialControlStopsConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	port := ln.Addr().(*net.TCPAddr).Port

	client := &http.Client{
		Transport: &http.Transport{Proxy: nil, DialContext: Policy{AllowHTTP: true}.DialContext},
		Timeout:   5 * time.Second,
	}
	for _, host := range []string{"127.0.0.1", "localhost", "[::ffff:127.0.0.1]"} {
		t.Run(host, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+net.JoinHostPort(trimBrackets(host), itoa(port))+"/", nil)
			resp, err := client.Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatal("request reached the loopback listener")
			}
			if !errors.Is(err, ErrBlocked) {
				t.Fatalf("error = %v, want ErrBlocked", err)
			}
		})
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("listener accepted %d connections, want 0", n)
	}

	// The same listener is reachable when loopback is allowed: the guard, not the test, blocked it.
	allowed := &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: Policy{AllowHTTP: true, AllowLoopback: true}.DialContext}}
	resp, err := allowed.Get("http://127.0.0.1:" + itoa(port) + "/")
	if err == nil {
		resp.Body.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for accepted.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if accepted.Load() == 0 {
		t.Fatal("allowed policy did not connect")
	}
}

func trimBrackets(s string) string {
	if len(s) > 1 && s[0] == '[' {
		return s[1 : len(s)-1]
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }
