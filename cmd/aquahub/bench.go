package main

import (
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

func newBenchCmd() *cobra.Command {
	var cpuProfile string
	var profile *os.File
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the hub and print figures a person can compare",
		PersistentPreRunE: func(*cobra.Command, []string) error {
			if cpuProfile == "" {
				return nil
			}
			f, err := os.Create(cpuProfile)
			if err != nil {
				return err
			}
			profile = f
			return pprof.StartCPUProfile(f)
		},
		PersistentPostRunE: func(*cobra.Command, []string) error {
			if profile == nil {
				return nil
			}
			pprof.StopCPUProfile()
			return profile.Close()
		},
	}
	cmd.PersistentFlags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (the in-process hub, its clients and sinks) to this file")
	cmd.AddCommand(newBenchIngestCmd(), newBenchPipelineCmd(), newBenchWebhooksCmd(), newBenchContentCmd(), newBenchPluginsCmd(), newBenchIsolationCmd())
	return cmd
}
