package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	sdkapi "github.com/aquascene/aquahub/sdk/api"
	"github.com/aquascene/aquahub/sdk/client"
	"github.com/spf13/cobra"
)

func newKeysCmd() *cobra.Command {
	var api apiFlags
	cmd := &cobra.Command{Use: "keys", Short: "Manage the tenant's API keys (admin_access)"}
	api.register(cmd)
	var asJSON bool
	var in sdkapi.APIKeyInput
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an API key with a role; prints the key once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, err := client.New(api.url, api.key).CreateKey(cmd.Context(), in)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created %s (role %s)\nkey %s\n(shown once: the hub keeps only its digest)\n", out.Prefix, out.Role, out.Key)
			return nil
		},
	}
	create.Flags().StringVar(&in.Role, "role", "", "viewer, editor, content_manager or admin (required)")
	create.Flags().StringVar(&in.Name, "name", "", "what the key is for")
	create.Flags().StringVar(&in.TTL, "ttl", "", "lifetime, such as 720h (default: until revoked)")
	create.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	_ = create.MarkFlagRequired("role")

	ls := &cobra.Command{
		Use:   "ls",
		Short: "List the tenant's keys (never the keys themselves)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			keys, err := client.New(api.url, api.key).Keys(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), keys)
			}
			printKeys(cmd.OutOrStdout(), keys)
			return nil
		},
	}
	ls.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	revoke := &cobra.Command{
		Use:   "revoke KEY_ID",
		Short: "Revoke a key; it stops working at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := client.New(api.url, api.key).RevokeKey(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %s\n", k.Prefix)
			return nil
		},
	}
	cmd.AddCommand(create, ls, revoke)
	return cmd
}

func printKeys(w io.Writer, keys []sdkapi.APIKey) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	// The key's public prefix is what `keys revoke` takes; the secret after it is never kept.
	fmt.Fprintln(tw, "KEY ID\tROLE\tSTATUS\tNAME\tCREATED\tEXPIRES")
	for _, k := range keys {
		expires := "never"
		if !k.ExpiresAt.IsZero() {
			expires = k.ExpiresAt.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.Prefix, k.Role, k.Status, k.Name, k.CreatedAt.Local().Format(time.DateTime), expires)
	}
	tw.Flush()
}
