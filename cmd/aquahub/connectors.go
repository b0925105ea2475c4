package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/aquascene/aquahub/plugins"

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
		Short: "List loaded connectors with versions, actions, pool sizes, call and error counts, kv usage and refused modules",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := client.New(api.url, api.key).ConnectorList(cmd.Context())
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
			if len(rep.Refused) > 0 {
				files := make([]string, len(rep.Refused))
				for i, r := range rep.Refused {
					files[i] = plugins.Printable(r.File)
				}
				return fmt.Errorf("%d module file(s) refused, see refused above: %s", len(files), strings.Join(files, ", "))
			}
			if rep.Error != "" {
				return fmt.Errorf("reload: %s", plugins.Printable(rep.Error))
			}
			return nil
		},
	}
	reload.Flags().StringVar(&operatorToken, "token", os.Getenv("AQUAHUB_OPERATOR_TOKEN"), "the operator token, identity.operator_token (env AQUAHUB_OPERATOR_TOKEN)")
	cmd.AddCommand(ls, reload)
	return cmd
}

// printConnectors prints the listing for people: the loaded connectors, what each stores
// in kv per tenant against its quota, and the refused module files. Strings a module wrote
// (its version) and refusal reasons go through plugins.Printable.
func printConnectors(w io.Writer, list sdkapi.ConnectorList) {
	p := plugins.Printable
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tVERSION\tACTIONS\tPOOL\tLIVE\tIDLE\tCALLS\tERRORS\tFILE")
	for _, c := range list.Connectors {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", p(c.ID), p(c.Version), p(strings.Join(c.Actions, ",")),
			c.PoolSize, c.Live, c.Idle, c.Calls, c.Errors, p(c.File))
	}
	tw.Flush()
	var kv []string
	for _, c := range list.Connectors {
		for _, u := range c.KV {
			kv = append(kv, fmt.Sprintf("%s\t%s\t%d / %d\t%s / %s\n", p(c.ID), p(u.Tenant), u.Keys, u.QuotaKeys, humanBytes(u.Bytes), humanBytes(u.QuotaBytes)))
		}
	}
	if len(kv) > 0 {
		fmt.Fprintln(w, "\nkv stored, against the quota per tenant:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CONNECTOR\tTENANT\tKEYS\tBYTES")
		for _, line := range kv {
			fmt.Fprint(tw, line)
		}
		tw.Flush()
	}
	if len(list.Refused) > 0 {
		fmt.Fprintln(w, "\nrefused module files (not served, not tried again until they change):")
		for _, r := range list.Refused {
			fmt.Fprintf(w, "  %s (since %s)\n    %s\n", p(r.File), r.Since.Format(time.RFC3339), p(r.Reason))
		}
	}
}

// humanBytes writes n in B, KiB, MiB or GiB with one decimal.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fGiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fKiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}
