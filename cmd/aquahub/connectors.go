package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	sdkapi "github.com/aquascene/aquahub/sdk/api"
	"github.com/aquascene/aquahub/sdk/client"
)

func newConnectorsCmd() *cobra.Command {
	var api apiFlags
	cmd := &cobra.Command{Use: "connectors", Short: "Inspect the connectors a running hub has loaded"}
	api.register(cmd)
	var asJSON bool
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List loaded connectors with versions, actions, pool sizes, call and error counts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := client.New(api.url, api.key).Connectors(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), list)
			}
			printConnectors(cmd.OutOrStdout(), list)
			return nil
		},
	}
	ls.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	var operatorToken string
	reload := &cobra.Command{
		Use:   "reload",
		Short: "Make the hub reload its connector directory (operator token)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if operatorToken == "" {
				return fmt.Errorf("the connector directory is the hub's: reloading it needs the operator token (--token or AQUAHUB_OPERATOR_TOKEN)")
			}
			rep, err := client.New(api.url, operatorToken).ReloadConnectors(cmd.Context())
			if err != nil {
				return err
			}
			if err := printJSON(cmd.OutOrStdout(), rep); err != nil {
				return err
			}
			if rep.Error != "" {
				return fmt.Errorf("some connectors were refused")
			}
			return nil
		},
	}
	reload.Flags().StringVar(&operatorToken, "token", os.Getenv("AQUAHUB_OPERATOR_TOKEN"), "the operator token, identity.operator_token (env AQUAHUB_OPERATOR_TOKEN)")
	cmd.AddCommand(ls, reload)
	return cmd
}

func printConnectors(w io.Writer, list []sdkapi.Connector) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tVERSION\tACTIONS\tPOOL\tLIVE\tIDLE\tCALLS\tERRORS\tFILE")
	for _, c := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", c.ID, c.Version, strings.Join(c.Actions, ","),
			c.PoolSize, c.Live, c.Idle, c.Calls, c.Errors, c.File)
	}
	tw.Flush()
}
