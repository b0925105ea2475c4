package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrBlocked is returned (wrapped, naming the address and its range) when a policy refuses an
// address or URL.
var ErrBlocked = errors.New("destination not allowed")

// Range is a named block of addresses a Policy may refuse.
type Range struct {
	// Name says what the block is, for error messages ("loopback", "RFC 1918 private").
	Name   string
	Prefix netip.Prefix
	// Class groups ranges that a policy switch allows together.
	Class Class
}

// Class is the kind of a blocked range; Policy allows some classes on request.
type Class int

// Classes of blocked ranges.
const (
	// ClassLoopback is 127/8 and ::1. Allowed by Policy.AllowLoopback.
	ClassLoopback Class = iota + 1
	// ClassPrivate covers RFC 1918, carrier-grade NAT (100.64/10) and unique local IPv6
	// (fc00::/7). Allowed by Policy.AllowPrivate.
	ClassPrivate
	// ClassSpecial is everything never reachable on purpose: unspecified, link-local (which
	// holds the cloud metadata service 169.254.169.254), multicast, broadcast, reserved,
	// and the IPv6 forms that embed an IPv4 address (NAT64, 6to4, Teredo, IPv4-compatible).
	ClassSpecial
)

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// Ranges lists every block a Policy refuses by default, in the order they are checked.
var Ranges = []Range{
	{"loopback", mustPrefix("127.0.0.0/8"), ClassLoopback},
	{"loopback", mustPrefix("::1/128"), ClassLoopback},
	{"cloud metadata", mustPrefix("169.254.169.254/32"), ClassSpecial},
	{"unspecified (this network)", mustPrefix("0.0.0.0/8"), ClassSpecial},
	{"unspecified", mustPrefix("::/128"), ClassSpecial},
	{"RFC 1918 private", mustPrefix("10.0.0.0/8"), ClassPrivate},
	{"RFC 1918 private", mustPrefix("172.16.0.0/12"), ClassPrivate},
	{"RFC 1918 private", mustPrefix("192.168.0.0/16"), ClassPrivate},
	{"carrier-grade NAT", mustPrefix("100.64.0.0/10"), ClassPrivate},
	{"unique local", mustPrefix("fc00::/7"), ClassPrivate},
	{"link-local", mustPrefix("169.254.0.0/16"), ClassSpecial},
	{"link-local", mustPrefix("fe80::/10"), ClassSpecial},
	{"IETF protocol assignments", mustPrefix("192.0.0.0/24"), ClassSpecial},
	{"documentation", mustPrefix("192.0.2.0/24"), ClassSpecial},
	{"documentation", mustPrefix("198.51.100.0/24"), ClassSpecial},
	{"documentation", mustPrefix("203.0.113.0/24"), ClassSpecial},
	{"benchmarking", mustPrefix("198.18.0.0/15"), ClassSpecial},
	{"multicast", mustPrefix("224.0.0.0/4"), ClassSpecial},
	{"reserved", mustPrefix("240.0.0.0/4"), ClassSpecial}, // includes 255.255.255.255
	{"multicast", mustPrefix("ff00::/8"), ClassSpecial},
	{"IPv4-compatible IPv6", mustPrefix("::/96"), ClassSpecial},
	{"NAT64", mustPrefix("64:ff9b::/96"), ClassSpecial},
	{"local-use NAT64", mustPrefix("64:ff9b:1::/48"), ClassSpecial},
	{"6to4", mustPrefix("2002::/16"), ClassSpecial},
	{"Teredo", mustPrefix("2001::/32"), ClassSpecial},
	{"documentation", mustPrefix("2001:db8::/32"), ClassSpecial},
	{"discard-only", mustPrefix("100::/64"), ClassSpecial},
}

// Policy says which destinations are allowed. The zero value allows only public unicast
// addresses over https.
type Policy struct {
	// AllowHTTP permits plain http URLs. Default false: https only.
	AllowHTTP bool
	// AllowLoopback permits 127/8 and ::1 (aquahub dev sets it for local receivers and the
	// vendor simulators). Default false.
	AllowLoopback bool
	// AllowPrivate permits RFC 1918, 100.64/10 and fc00::/7 (an operator whose receivers live
	// on the private network). Default false.
	AllowPrivate bool
}

// CheckAddr reports whether a may be connected to. IPv4-mapped IPv6 addresses are unmapped
// first; zones are ignored.
func (p Policy) CheckAddr(a netip.Addr) error {
	if !a.IsValid() {
		return fmt.Errorf("%w: invalid address", ErrBlocked)
	}
	a = a.Unmap().WithZone("")
	for _, r := range Ranges {
		if !r.Prefix.Contains(a) {
			continue
		}
		switch {
		case r.Class == ClassLoopback && p.AllowLoopback:
			return nil
		case r.Class == ClassPrivate && p.AllowPrivate:
			return nil
		}
		return fmt.Errorf("%w: %s is %s (%s)", ErrBlocked, a, r.Name, r.Prefix)
	}
	return nil
}

// ParseNumericHost interprets host the way C's inet_aton and many URL parsers do: one to four
// dot-separated parts, each decimal, 0x-hex or 0-octal, the last part filling the remaining
// bytes. It returns ok=false when host is not such a number. "2130706433", "0x7f000001",
// "0177.0.0.1" and "127.1" all give 127.0.0.1; canonical reports whether host was already
// the plain dotted-quad form.
func ParseNumericHost(host string) (addr netip.Addr, canonical, ok bool) {
	if host == "" || len(host) > 64 {
		return netip.Addr{}, false, false
	}
	parts := strings.Split(host, ".")
	if len(parts) > 1 && parts[len(parts)-1] == "" { // a trailing dot is a root-anchored name
		parts = parts[:len(parts)-1]
	}
	if len(parts) > 4 {
		return netip.Addr{}, false, false
	}
	vals := make([]uint64, len(parts))
	for i, s := range parts {
		if s == "" {
			return netip.Addr{}, false, false
		}
		base, digits := 10, s
		switch {
		case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
			base, digits = 16, s[2:]
		case s == "0x" || s == "0X":
			base, digits = 16, "0"
		case len(s) > 1 && s[0] == '0':
			base, digits = 8, s[1:]
		}
		v, err := strconv.ParseUint(digits, base, 32)
		if err != nil {
			return netip.Addr{}, false, false
		}
		vals[i] = v
	}
	var n uint64
	for i, v := range vals[:len(vals)-1] {
		if v > 0xff {
			return netip.Addr{}, false, false
		}
		n |= v << (24 - 8*i)
	}
	last := vals[len(vals)-1]
	if rest := uint(8 * (4 - (len(vals) - 1))); rest < 32 && last >= 1<<rest {
		return netip.Addr{}, false, false
	}
	n |= last
	a := netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	return a, a.String() == host, true
}

// CheckHost checks a URL host name (without port) that is known before resolution: IP
// literals in any notation, and the names every resolver maps to loopback. Other names pass;
// their addresses are checked at connect time by Control.
func (p Policy) CheckHost(host string) error {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "" {
		return fmt.Errorf("%w: empty host", ErrBlocked)
	}
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if a, err := netip.ParseAddr(h); err == nil {
		return p.CheckAddr(a)
	}
	if a, canonical, ok := ParseNumericHost(h); ok {
		if !canonical {
			// Resolvers disagree on these forms (0177 is octal to libc, decimal to others),
			// so they are refused whatever they decode to.
			return fmt.Errorf("%w: %q is a non-canonical numeric address (%s)", ErrBlocked, host, a)
		}
		return p.CheckAddr(a)
	}
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return p.CheckAddr(netip.IPv6Loopback())
	}
	return nil
}

// CheckURL validates a destination URL: absolute, http(s) only (http only when AllowHTTP), no
// user info, and a host that passes CheckHost.
func (p Policy) CheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("not a URL: %v", errors.Unwrap(err))
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !p.AllowHTTP {
			return nil, fmt.Errorf("%w: scheme http is not allowed, use https", ErrBlocked)
		}
	case "":
		return nil, fmt.Errorf("must be an absolute http(s) URL (got %q)", raw)
	default:
		return nil, fmt.Errorf("%w: scheme %q is not allowed", ErrBlocked, u.Scheme)
	}
	if u.User != nil {
		return nil, fmt.Errorf("must not contain user info")
	}
	if u.Host == "" {
		return nil, fmt.Errorf("must name a host (got %q)", raw)
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("invalid port %q", port)
		}
	}
	if err := p.CheckHost(u.Hostname()); err != nil {
		return nil, err
	}
	return u, nil
}

// Control is a net.Dialer Control hook: it refuses to connect to an address the policy
// blocks. The address it sees is the resolved one, so DNS names cannot bypass the policy.
func (p Policy) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: unparseable dial address %q", ErrBlocked, address)
	}
	if err := p.CheckAddr(ap.Addr()); err != nil {
		return fmt.Errorf("dialing %s: %w", network, err)
	}
	return nil
}

// Dialer returns a net.Dialer that enforces the policy on every connection it makes.
func (p Policy) Dialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: p.Control}
}

// DialContext dials through Dialer; it fits http.Transport.DialContext.
func (p Policy) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return p.Dialer(10*time.Second).DialContext(ctx, network, address)
}
