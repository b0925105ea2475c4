package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	sdkapi "github.com/aquascene/aquahub/sdk/api"
	"github.com/aquascene/aquahub/sdk/client"
	"github.com/spf13/cobra"
)

// operatorFlags are the flags of commands that administer the hub with the operator token.
type operatorFlags struct {
	url   string
	token string
}

func (f *operatorFlags) register(cmd *cobra.Command) {
	url := os.Getenv("AQUAHUB_URL")
	if url == "" {
		url = "http://127.0.0.1:8080"
	}
	cmd.PersistentFlags().StringVar(&f.url, "url", url, "hub base URL (env AQUAHUB_URL)")
	cmd.PersistentFlags().StringVar(&f.token, "token", os.Getenv("AQUAHUB_OPERATOR_TOKEN"), "the operator token, identity.operator_token (env AQUAHUB_OPERATOR_TOKEN)")
	hideSecretDefault(cmd, "token", "AQUAHUB_OPERATOR_TOKEN")
}

func (f *operatorFlags) client() (*client.Client, error) {
	if f.token == "" {
		return nil, fmt.Errorf("the tenants API needs the operator token: --token or AQUAHUB_OPERATOR_TOKEN")
	}
	return client.New(f.url, f.token), nil
}

// readJSONFile decodes a JSON file ("-" is standard input) strictly into v.
func readJSONFile(path string, in io.Reader, v any) error {
	var r io.Reader = in
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func newTenantsCmd() *cobra.Command {
	var op operatorFlags
	cmd := &cobra.Command{Use: "tenants", Short: "Administer the hub's tenants with the operator token",
		Long: `Administer tenants through /api/v1/tenants with the operator token (identity.operator_token).
Tenants the configuration file declares are listed too; the sections the file sets are pinned
and only the file changes them.`}
	op.register(cmd)
	var asJSON bool
	run := func(fn func(c *client.Client, cmd *cobra.Command, args []string) (any, error)) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			c, err := op.client()
			if err != nil {
				return err
			}
			out, err := fn(c, cmd, args)
			if err != nil || out == nil {
				return err
			}
			if t, ok := out.(sdkapi.Tenant); ok && !asJSON {
				printTenant(cmd.OutOrStdout(), t)
				return nil
			}
			return printJSON(cmd.OutOrStdout(), out)
		}
	}
	ls := &cobra.Command{Use: "ls", Short: "List every tenant", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := op.client()
			if err != nil {
				return err
			}
			ts, err := c.Tenants(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), ts)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TENANT\tNAME\tSTATUS\tPINNED BY THE FILE")
			for _, t := range ts {
				status := "active"
				if t.Suspended {
					status = "suspended"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.ID, t.Name, status, strings.Join(t.Pinned, ", "))
			}
			return tw.Flush()
		}}
	ls.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	show := &cobra.Command{Use: "show TENANT", Short: "Show a tenant (secrets by name only)", Args: cobra.ExactArgs(1),
		RunE: run(func(c *client.Client, cmd *cobra.Command, args []string) (any, error) {
			return c.Tenant(cmd.Context(), args[0])
		})}
	show.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	var file, name string
	var suspended bool
	create := &cobra.Command{Use: "create TENANT", Short: "Create a tenant, its settings from --file (a TenantInput as JSON)", Args: cobra.ExactArgs(1),
		RunE: run(func(c *client.Client, cmd *cobra.Command, args []string) (any, error) {
			var in sdkapi.TenantInput
			if file != "" {
				if err := readJSONFile(file, cmd.InOrStdin(), &in); err != nil {
					return nil, err
				}
			}
			in.ID = args[0]
			if name != "" {
				in.Name = name
			}
			in.Suspended = in.Suspended || suspended
			return c.CreateTenant(cmd.Context(), in)
		})}
	create.Flags().StringVarP(&file, "file", "f", "", "settings as JSON: name, brand, limits, features, connectors, sources (\"-\" reads standard input)")
	create.Flags().StringVar(&name, "name", "", "display name")
	create.Flags().BoolVar(&suspended, "suspended", false, "create it suspended")
	create.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	var patchFile string
	update := &cobra.Command{Use: "update TENANT --file PATCH.json", Short: "Change a tenant's sections (a TenantPatch as JSON)", Args: cobra.ExactArgs(1),
		RunE: run(func(c *client.Client, cmd *cobra.Command, args []string) (any, error) {
			var in sdkapi.TenantPatch
			if err := readJSONFile(patchFile, cmd.InOrStdin(), &in); err != nil {
				return nil, err
			}
			return c.UpdateTenant(cmd.Context(), args[0], in)
		})}
	update.Flags().StringVarP(&patchFile, "file", "f", "-", "the patch as JSON (\"-\" reads standard input)")
	update.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	suspend := &cobra.Command{Use: "suspend TENANT", Short: "Suspend a tenant: its credentials, ingestion and schedules stop", Args: cobra.ExactArgs(1),
		RunE: run(func(c *client.Client, cmd *cobra.Command, args []string) (any, error) {
			return c.SuspendTenant(cmd.Context(), args[0])
		})}
	resume := &cobra.Command{Use: "resume TENANT", Short: "Resume a suspended tenant", Args: cobra.ExactArgs(1),
		RunE: run(func(c *client.Client, cmd *cobra.Command, args []string) (any, error) {
			return c.ResumeTenant(cmd.Context(), args[0])
		})}
	del := &cobra.Command{Use: "delete TENANT", Short: "Delete a tenant created through the API and revoke its keys", Args: cobra.ExactArgs(1),
		RunE: run(func(c *client.Client, cmd *cobra.Command, args []string) (any, error) {
			if err := c.DeleteTenant(cmd.Context(), args[0]); err != nil {
				return nil, err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s; its id is not given again\n", args[0])
			return nil, nil
		})}
	var keyIn sdkapi.APIKeyInput
	key := &cobra.Command{Use: "key TENANT --role R", Short: "Create an API key for a tenant (its first admin key, say); prints it once", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := op.client()
			if err != nil {
				return err
			}
			out, err := c.CreateTenantKey(cmd.Context(), args[0], keyIn)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created %s for %s (role %s)\nkey %s\n(shown once)\n", out.Prefix, args[0], out.Role, out.Key)
			return nil
		}}
	key.Flags().StringVar(&keyIn.Role, "role", "", "viewer, editor, content_manager or admin (required)")
	key.Flags().StringVar(&keyIn.Name, "name", "", "what the key is for")
	key.Flags().StringVar(&keyIn.TTL, "ttl", "", "lifetime, such as 720h (default: until revoked)")
	_ = key.MarkFlagRequired("role")
	cmd.AddCommand(ls, show, create, update, suspend, resume, del, key)
	return cmd
}

func printTenant(w io.Writer, t sdkapi.Tenant) {
	status := "active"
	if t.Suspended {
		status = "suspended"
	}
	fmt.Fprintf(w, "tenant    %s (%s), %s, revision %d\n", t.ID, t.Name, status, t.Revision)
	if len(t.Pinned) > 0 {
		fmt.Fprintf(w, "pinned    %s (set in the configuration file)\n", strings.Join(t.Pinned, ", "))
	}
	if t.Brand.Voice != "" || t.Brand.TargetAudience != "" || len(t.Brand.KeyMessages) > 0 {
		fmt.Fprintf(w, "brand     voice %q, audience %q, key messages %q\n", t.Brand.Voice, t.Brand.TargetAudience, t.Brand.KeyMessages)
	}
	if t.Limits != (sdkapi.TenantLimits{}) {
		fmt.Fprintf(w, "limits    %s\n", limitsText(t.Limits))
	}
	ids := make([]string, 0, len(t.Connectors))
	for id := range t.Connectors {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		c := t.Connectors[id]
		fmt.Fprintf(w, "connector %s: egress %v, secrets %v\n", id, c.Egress, c.Secrets)
	}
	names := make([]string, 0, len(t.Sources))
	for n := range t.Sources {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "source    %s: %s, secrets %v\n", n, t.Sources[n].Settings["verifier"], t.Sources[n].Secrets)
	}
}

// limitsText lists the limits a tenant sets, in the configuration's names.
func limitsText(l sdkapi.TenantLimits) string {
	var parts []string
	add := func(name string, v any, set bool) {
		if set {
			parts = append(parts, fmt.Sprintf("%s %v", name, v))
		}
	}
	add("daily_requests", l.DailyRequests, l.DailyRequests > 0)
	add("ingest_rate", l.IngestRate, l.IngestRate > 0)
	add("ingest_burst", l.IngestBurst, l.IngestBurst > 0)
	add("llm_daily_tokens", l.LLMDailyTokens, l.LLMDailyTokens > 0)
	add("llm_daily_usd", l.LLMDailyUSD, l.LLMDailyUSD > 0)
	add("max_queued_runs", l.MaxQueuedRuns, l.MaxQueuedRuns > 0)
	return strings.Join(parts, ", ")
}
