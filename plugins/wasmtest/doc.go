// Package wasmtest builds connector guests for wasip1 and loads them into a plugins.Catalog,
// for tests that run a connector through the real host (package plugins) rather than the
// native harness (sdk/plugin/plugintest).
package wasmtest
