// Command aquahub is the integration hub: `aquahub serve` runs it, `aquahub dev` runs it
// with every simulator and no configuration, and the other commands lint rules, send
// events and inspect runs. Run `aquahub help` for the list.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/aquascene/aquahub/plugins"
)

func main() {
	tuneGC()
	tuneProcs()
	os.Exit(run(os.Args[1:]))
}

// gcPercent is the garbage collector's target the hub runs with unless GOGC says otherwise.
// The hub's live heap is small and its allocation rate high (every request, event and step
// allocates), so Go's default of 100 collects many times a second; 300 cut the CPU per
// durably accepted event by about a sixth in `aquahub bench ingest`, for a heap that peaks
// at four times the live data instead of twice.
const gcPercent = 300

// tuneGC sets gcPercent when the environment does not set GOGC.
func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
}

// procsPerCPU is how many Go processors (Ps) the hub runs per CPU it may use, unless
// GOMAXPROCS says otherwise. A connector's WebAssembly code runs on its goroutine's P and
// cannot be preempted by the Go scheduler while it computes: with one P per CPU, guests on
// every P shut out the commit writer and the HTTP handlers until one returns. With two per
// CPU the kernel shares the CPUs among them instead. `aquahub bench pipeline` delivered
// 13–19 % more events per second, with less CPU per event, in alternating runs (RATIONALE.md).
const procsPerCPU = 2

// tuneProcs multiplies the runtime's default GOMAXPROCS (the CPUs the process may use) by
// procsPerCPU when the environment does not set GOMAXPROCS.
func tuneProcs() {
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		runtime.GOMAXPROCS(procsPerCPU * runtime.GOMAXPROCS(0))
	}
}

// run executes the CLI and returns the exit code; tests call it in-process.
func run(args []string) int {
	if len(args) > 0 && args[0] == plugins.CompilerCommand {
		// The hub compiling a connector module in a child process of its own binary.
		return plugins.RunCompiler(args[1:], os.Stdin, os.Stderr)
	}
	cmd := newRootCmd()
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "aquahub:", err)
		return 1
	}
	return 0
}
