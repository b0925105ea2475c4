//go:build race

package plugins

// raceEnabled reports whether the test binary was built with the race detector. Its shadow
// memory does not fit under the address-space limit of a compiling child process, which is
// this test binary run again.
const raceEnabled = true
