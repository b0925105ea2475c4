package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aquascene/aquahub/sdk/client"
	"github.com/spf13/cobra"
)

func newRunsCmd() *cobra.Command {
	var api apiFlags
	cmd := &cobra.Command{Use: "runs", Short: "Inspect runs"}
	api.register(cmd)
	var f client.RunFilter
	var asJSON bool
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List runs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			runs, err := client.New(api.url, api.key).Runs(cmd.Context(), f)
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
	ls.Flags().StringVar(&f.Status, "status", "", "queued, running, retrying, succeeded or dead")
	ls.Flags().StringVar(&f.Rule, "rule", "", "rule id")
	ls.Flags().StringVar(&f.Event, "event", "", "trigger event id")
	ls.Flags().IntVar(&f.Limit, "limit", 50, "at most this many")
	ls.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	show := &cobra.Command{
		Use:   "show RUN_ID",
		Short: "Show a run with its steps, attempts, errors and outputs",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			run, err := client.New(api.url, api.key).Run(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), run)
		},
	}
	cmd.AddCommand(ls, show)
	return cmd
}

func printRuns(w io.Writer, runs []client.Run) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tRULE\tSTATUS\tATTEMPTS\tEVENT\tCREATED\tERROR")
	for _, r := range runs {
		errText := r.LastError
		if len(errText) > 60 {
			errText = errText[:57] + "..."
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.ID, r.RuleID, r.Status, r.Attempts, r.EventID,
			r.CreatedAt.Local().Format(time.DateTime), strings.ReplaceAll(errText, "\n", " "))
	}
	tw.Flush()
}
