// Package storetest is the contract every plugins.KVStore implementation must pass: values
// read back as written and copied in and out, tenants and connectors isolated, missing keys
// not found, bad keys and scopes invalid, usage counted per scope and listed for every
// scope, quotas enforced atomically (a refused write changes nothing, concurrent writers
// cannot pass a quota together), concurrent writers safe.
// A backend's test calls Run with a constructor returning a fresh, empty store.
package storetest
