package main

import (
	"fmt"

	"github.com/aquascene/aquahub/sdk/client"
	"github.com/spf13/cobra"
)

func newDLQCmd() *cobra.Command {
	var api apiFlags
	cmd := &cobra.Command{Use: "dlq", Short: "Inspect, replay and discard dead-lettered runs"}
	api.register(cmd)
	var asJSON bool
	var rule string
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List dead runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			runs, err := client.New(api.url, api.key).DeadLetters(cmd.Context(), client.RunFilter{Rule: rule})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), runs)
			}
			printRuns(cmd.OutOrStdout(), runs)
			return nil
		},
	}
	ls.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	ls.Flags().StringVar(&rule, "rule", "", "rule id")
	show := &cobra.Command{
		Use: "show RUN_ID", Short: "Show a dead run with its steps and last error", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			run, err := client.New(api.url, api.key).Run(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), run)
		},
	}
	replay := &cobra.Command{
		Use: "replay RUN_ID...", Short: "Queue dead runs again; finished steps are not repeated", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := client.New(api.url, api.key)
			for _, id := range args {
				if _, err := c.Replay(cmd.Context(), id); err != nil {
					return fmt.Errorf("%s: %w", id, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "replayed %s\n", id)
			}
			return nil
		},
	}
	discard := &cobra.Command{
		Use: "discard RUN_ID...", Short: "Delete dead runs", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := client.New(api.url, api.key)
			for _, id := range args {
				if err := c.Discard(cmd.Context(), id); err != nil {
					return fmt.Errorf("%s: %w", id, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "discarded %s\n", id)
			}
			return nil
		},
	}
	cmd.AddCommand(ls, show, replay, discard)
	return cmd
}
