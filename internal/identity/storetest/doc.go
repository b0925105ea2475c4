// Package storetest is the contract of identity.Store: every backend runs Run.
package storetest
