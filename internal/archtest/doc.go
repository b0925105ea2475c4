// Package archtest holds the test that keeps the dependency rules of docs/architecture.md:
// core imports only the standard library; only the storage package imports bbolt and only
// the plugin host wazero; only the HTTP kernel and feature route files import fiber; sdk/...
// imports nothing of this module outside sdk/; connector guests import only sdk/... and the
// standard library; feature modules do not import each other.
package archtest
