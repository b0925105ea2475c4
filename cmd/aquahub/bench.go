package main

import (
	"errors"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

func newBenchCmd() *cobra.Command {
	var cpuProfile, memProfile string
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
			var errs []error
			if profile != nil {
				pprof.StopCPUProfile()
				errs = append(errs, profile.Close())
			}
			if memProfile != "" {
				errs = append(errs, writeAllocsProfile(memProfile))
			}
			return errors.Join(errs...)
		},
	}
	cmd.PersistentFlags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (the in-process hub, its clients and sinks) to this file")
	cmd.PersistentFlags().StringVar(&memProfile, "memprofile", "", "write a profile of the whole run's allocations (go tool pprof -sample_index=alloc_space) to this file")
	cmd.AddCommand(newBenchIngestCmd(), newBenchPipelineCmd(), newBenchWebhooksCmd(), newBenchContentCmd(), newBenchPluginsCmd(), newBenchIsolationCmd())
	return cmd
}

// writeAllocsProfile writes the allocations sampled since the process started to path.
func writeAllocsProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
