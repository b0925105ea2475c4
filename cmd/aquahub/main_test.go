package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"testing"
)

// unsetEnv removes key for the test and puts it back after.
func unsetEnv(t *testing.T, key string) {
	t.Helper()
	if old, ok := os.LookupEnv(key); ok {
		t.Cleanup(func() { os.Setenv(key, old) })
	}
	os.Unsetenv(key)
}

func TestRuntimeTuningYieldsToTheEnvironment(t *testing.T) {
	procs, gc := runtime.GOMAXPROCS(0), debug.SetGCPercent(100)
	debug.SetGCPercent(gc)
	t.Cleanup(func() { runtime.GOMAXPROCS(procs); debug.SetGCPercent(gc) })

	unsetEnv(t, "GOMAXPROCS")
	unsetEnv(t, "GOGC")
	tuneProcs()
	tuneGC()
	if got := runtime.GOMAXPROCS(0); got != procsPerCPU*procs {
		t.Errorf("GOMAXPROCS %d without the variable, want %d × %d", got, procsPerCPU, procs)
	}
	if got := debug.SetGCPercent(gc); got != gcPercent {
		t.Errorf("GC percent %d without GOGC, want %d", got, gcPercent)
	}

	runtime.GOMAXPROCS(procs)
	debug.SetGCPercent(gc)
	t.Setenv("GOMAXPROCS", "1")
	t.Setenv("GOGC", "50")
	tuneProcs()
	tuneGC()
	if got := runtime.GOMAXPROCS(0); got != procs {
		t.Errorf("GOMAXPROCS %d with the variable set, want it left at %d", got, procs)
	}
	if got := debug.SetGCPercent(gc); got != gc {
		t.Errorf("GC percent %d with GOGC set, want it left at %d", got, gc)
	}
}
