// Command aquahub is the integration hub: `aquahub serve` runs it, `aquahub dev` runs it
// with every simulator and no configuration, and the other commands lint rules, send
// events and inspect runs. Run `aquahub help` for the list.
package main

import (
	"fmt"
	"os"
)

func main() { os.Exit(run(os.Args[1:])) }

// run executes the CLI and returns the exit code; tests call it in-process.
func run(args []string) int {
	cmd := newRootCmd()
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "aquahub:", err)
		return 1
	}
	return 0
}
