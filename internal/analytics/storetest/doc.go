// Package storetest is the contract every analytics.Store implementation must pass. A
// backend's test calls Run with a constructor returning a fresh, empty store.
package storetest
