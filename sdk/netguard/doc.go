// Package netguard decides which network addresses outbound HTTP may reach. It is the
// server-side request forgery (SSRF) guard shared by webhook delivery and the connector host.
//
// A Policy is checked twice: once on the URL when it is registered (CheckURL), and again on
// the address the resolver actually produced, at connect time, through a net.Dialer Control
// hook (Policy.Control). The second check is what stops DNS rebinding: a name that resolved to
// a public address at registration and to 127.0.0.1 later is refused when the socket is about
// to connect. IPv4-mapped IPv6 addresses are unmapped first, so ::ffff:127.0.0.1 is loopback.
//
// The package imports only the standard library.
package netguard
