package egress

import "net/netip"

type blockedRange struct {
	prefix netip.Prefix
	reason string
}

var blockedRanges = func() []blockedRange {
	list := []struct{ cidr, reason string }{
		{"0.0.0.0/8", "unspecified"},
		{"127.0.0.0/8", "loopback"},
		{"10.0.0.0/8", "private"},
		{"172.16.0.0/12", "private"},
		{"192.168.0.0/16", "private"},
		{"100.64.0.0/10", "shared address space (CGNAT)"},
		{"169.254.169.254/32", "cloud metadata"},
		{"169.254.0.0/16", "link-local"},
		{"192.0.0.0/24", "IETF protocol assignments"},
		{"198.18.0.0/15", "benchmarking"},
		{"224.0.0.0/4", "multicast"},
		{"240.0.0.0/4", "reserved"},
		{"::/128", "unspecified"},
		{"::1/128", "loopback"},
		{"fe80::/10", "link-local"},
		{"fc00::/7", "unique local (ULA)"},
		{"ff00::/8", "multicast"},
		{"64:ff9b::/96", "NAT64"},
		{"64:ff9b:1::/48", "NAT64"},
		{"2002::/16", "6to4"},
		{"2001::/32", "Teredo"},
	}
	out := make([]blockedRange, len(list))
	for i, l := range list {
		out[i] = blockedRange{netip.MustParsePrefix(l.cidr), l.reason}
	}
	return out
}()

// BlockedReason returns why a connector may not reach addr by default ("loopback",
// "private", "cloud metadata", ...) or "" when the address is public.
func BlockedReason(addr netip.Addr) string {
	addr = addr.Unmap()
	for _, r := range blockedRanges {
		if r.prefix.Contains(addr) {
			return r.reason
		}
	}
	return ""
}
