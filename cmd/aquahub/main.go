// Command aquahub is the integration hub: `aquahub serve` runs it, `aquahub dev` runs it
// with every simulator and no configuration, and the other commands lint rules, send
// events and inspect runs. Run `aquahub help` for the list.
package main

import (
	"fmt"
	"os"

	"github.com/aquascene/aquahub/plugins"
)

func main() { os.Exit(run(os.Args[1:])) }

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
