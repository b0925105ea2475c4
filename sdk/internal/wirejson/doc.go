// Package wirejson reads JSON without reflection for the guest SDK: the abi package's
// envelope decoders and package plugin's input decoder. A wasm guest runs every call
// through them, and encoding/json's byte-at-a-time scanner, reflection and garbage cost it
// several times the work of the call itself. What it accepts and produces is what
// encoding/json would for the same Go types; the tests in package abi and plugin hold it to
// that. It is internal so that its API stays free to change with those two callers.
package wirejson
