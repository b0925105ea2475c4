// Package egress enforces the hub ABI's outbound HTTP rules for connectors: deny by default;
// a URL is allowed only when both the connector's manifest requests its origin and the
// tenant's grant names it; the resolved address is checked again at dial time, so that a
// granted host name that resolves to a loopback, private, link-local, metadata or NAT64
// address is refused unless the grant names that address (or "localhost") literally;
// redirects are re-checked; no proxy is used; secret references in headers and the query
// are replaced by the tenant's values after the check and scrubbed from the response,
// except references to signing keys (secrets declared with use "sign", for sign_jwt),
// which fail the request so that a private key never leaves the host.
//
// Address ranges come from sdk/netguard, the SSRF policy webhooks use too.
//
// Both the wasm host (package plugins) and the native test harness (sdk/plugin/plugintest)
// use it, so a connector behaves the same in unit tests and in production.
package egress
