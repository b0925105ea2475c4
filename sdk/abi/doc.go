// Package abi holds the names, status codes and encodings of the hub ABI, version 1: the
// contract between aquahub (the host, package plugins) and a connector (a WASI preview 1
// reactor module, usually written with package sdk/plugin).
//
// It is shared by both sides and imports only the standard library, so that it builds for
// GOOS=wasip1 as well as natively. docs/connector-abi.md is the language-neutral description;
// this package is its Go rendering.
//
// The moving parts:
//
//   - Export and import names (ExportMarker, ExportInvoke, ImportHTTPRequest, ...).
//   - Pack and Unpack: the ptr<<32|len encoding of a byte range in guest memory.
//   - Status codes returned by host imports (StatusOK, StatusNotFound, ...).
//   - JSON envelopes: Manifest (hub_describe), InvokeRequest and InvokeResponse (hub_invoke),
//     HTTPRequest and HTTPResponse (http_request), JWTRequest and JWTResponse (sign_jwt,
//     revision 1.3), LogRecord (log).
//   - Schema: the JSON Schema subset used for action input and output, with a validator that
//     names the offending field.
//   - Secrets: where a manifest lets requests carry each secret (SecretPlace, revision
//     1.5), the reference syntax (SecretRefPattern), configuration derived from a secret's
//     public part (SecretDerivation) and the least secret length (MinSecretBytes).
//
// Package abi/egress implements the host's egress rules (allow lists, dial-time address
// checks, secret injection), package abi/scrub the redaction of secrets from what the host
// returns and keeps, and package abi/jwtsign its JWT signing, so that the wasm host and the
// native test harness behave alike.
package abi
