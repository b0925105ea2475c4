package main

import (
	"github.com/spf13/cobra"
)

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the hub and print figures a person can compare",
	}
	cmd.AddCommand(newBenchIngestCmd(), newBenchPipelineCmd(), newBenchWebhooksCmd(), newBenchContentCmd(), newBenchPluginsCmd(), newBenchIsolationCmd())
	return cmd
}
