//go:build inithang

package main

// init never returns, as a module that hangs in _initialize.
func init() {
	for n := 0; ; n++ {
	}
}
