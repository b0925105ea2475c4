// Package egress enforces the hub ABI's outbound HTTP rules for connectors: deny by default;
// a URL is allowed only when both the connector's manifest requests its origin and the
// tenant's grant names it; the resolved address is checked again at dial time, so that a
// granted host name that resolves to a loopback, private, link-local, metadata or NAT64
// address is refused unless the grant names that address (or "localhost") literally, and
// localhost and *.localhost are loopback without asking DNS; redirects are re-checked; no
// proxy is used.
//
// Secret references ({{secret:NAME}}, {{basic:USER:NAME}} and the HMAC templates) are
// replaced after the check, only in header values and query parameter values, only in the
// places the manifest declares for the secret (ABI revision 1.5; a manifest without places
// keeps the earlier, wider rules) and only for origins the operator binds the secret to.
// Signing keys (use "sign") and values shorter than abi.MinSecretBytes are never sent. On a
// redirect that leaves the request's origin, headers that carried a secret and Referer are
// dropped. What comes back to the connector is scrubbed of every sendable secret (package
// abi/scrub), and the final URL of a request that was not redirected is the connector's
// own, references and all.
//
// Address ranges come from sdk/netguard, the SSRF policy webhooks use too.
//
// Both the wasm host (package plugins) and the native test harness (sdk/plugin/plugintest)
// use it, so a connector behaves the same in unit tests and in production.
package egress
