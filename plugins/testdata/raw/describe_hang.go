//go:build describehang

package main

// describeHook never returns, as a module that hangs in hub_describe.
func describeHook() {
	for n := 0; ; n++ {
	}
}
