package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	sdkapi "github.com/aquascene/aquahub/sdk/api"
	"github.com/aquascene/aquahub/sdk/client"
	"github.com/spf13/cobra"
)

func newWebhooksCmd() *cobra.Command {
	var api apiFlags
	cmd := &cobra.Command{Use: "webhooks", Short: "Manage outbound webhook endpoints and their deliveries"}
	api.register(cmd)
	var asJSON bool
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List webhook endpoints",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			eps, err := client.New(api.url, api.key).Webhooks(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), eps)
			}
			printEndpoints(cmd.OutOrStdout(), eps)
			return nil
		},
	}
	ls.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	var in sdkapi.WebhookEndpointInput
	var headers []string
	var timeout time.Duration
	add := &cobra.Command{
		Use:   "add URL",
		Short: "Register an endpoint; prints its signing secret once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in.URL = args[0]
			in.TimeoutMS = timeout.Milliseconds()
			in.Headers = map[string]string{}
			for _, h := range headers {
				k, v, ok := strings.Cut(h, ":")
				if !ok {
					return fmt.Errorf("--header %q: want Name:value", h)
				}
				in.Headers[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
			out, err := client.New(api.url, api.key).CreateWebhook(cmd.Context(), in)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "registered %s\nsecret %s  (shown once: verify webhook-signature with it)\n", out.ID, out.Secret)
			return nil
		},
	}
	add.Flags().StringSliceVar(&in.Events, "events", []string{"*"}, "event type patterns (* matches anything)")
	add.Flags().StringArrayVar(&headers, "header", nil, "extra request header Name:value (repeatable)")
	add.Flags().StringVar(&in.Description, "description", "", "what the endpoint is for")
	add.Flags().StringVar(&in.Secret, "secret", "", "use this whsec_ secret instead of a generated one")
	add.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	add.Flags().IntVar(&in.MaxInFlight, "max-in-flight", 0, "concurrent requests to the endpoint (0: the hub's webhooks.endpoint_concurrency)")
	add.Flags().Float64Var(&in.RateLimit, "rate-limit", 0, "requests per second to the endpoint (0: no limit)")
	add.Flags().DurationVar(&timeout, "timeout", 0, "bound one request (0: the hub's webhooks.timeout)")
	add.Flags().BoolVar(&in.Ordered, "ordered", false, "deliver one message at a time, in the order they were created")

	rm := &cobra.Command{
		Use:   "rm ENDPOINT_ID",
		Short: "Delete an endpoint and its queued messages",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := client.New(api.url, api.key).DeleteWebhook(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", args[0])
			return nil
		},
	}

	var state string
	var limit int
	deliveries := &cobra.Command{
		Use:   "deliveries ENDPOINT_ID",
		Short: "Show an endpoint's messages and every attempt, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ds, err := client.New(api.url, api.key).WebhookDeliveries(cmd.Context(), args[0], client.WebhookDeliveryFilter{State: state, Limit: limit})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), ds)
			}
			printDeliveries(cmd.OutOrStdout(), ds)
			return nil
		},
	}
	deliveries.Flags().StringVar(&state, "state", "", "pending, sending, succeeded or dead")
	deliveries.Flags().IntVar(&limit, "limit", 20, "at most this many messages")
	deliveries.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	replay := &cobra.Command{
		Use:   "replay ENDPOINT_ID MESSAGE_ID",
		Short: "Send a dead or delivered message again (same webhook-id)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := client.New(api.url, api.key).ReplayWebhookDelivery(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "queued %s\n", args[1])
			return nil
		},
	}
	cmd.AddCommand(ls, add, rm, deliveries, replay)
	return cmd
}

func printEndpoints(w io.Writer, eps []sdkapi.WebhookEndpoint) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tURL\tEVENTS\tENABLED\tNOTE")
	for _, e := range eps {
		note := e.DisabledReason
		if !e.FailingSince.IsZero() && e.Enabled {
			note = "failing since " + e.FailingSince.Format(time.RFC3339)
		}
		if c := e.Circuit; c != nil {
			note = strings.TrimPrefix(note+"; circuit "+strings.ReplaceAll(c.State, "_", "-"), "; ")
			if !c.ProbeAt.IsZero() {
				note += " until " + c.ProbeAt.Format(time.RFC3339)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\n", e.ID, e.URL, strings.Join(e.Events, ","), e.Enabled, note)
	}
	tw.Flush()
}

func printDeliveries(w io.Writer, ds []sdkapi.WebhookDelivery) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MESSAGE\tTYPE\tSTATE\tATTEMPTS\tLAST\tNEXT\tERROR")
	for _, d := range ds {
		last := "-"
		if n := len(d.Log); n > 0 {
			a := d.Log[n-1]
			last = fmt.Sprintf("%d in %.0fms", a.Status, a.LatencyMS)
		}
		next := "-"
		if !d.NextAt.IsZero() && d.State == "pending" {
			next = d.NextAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", d.ID, d.EventType, d.State, d.Attempts, last, next, d.LastError)
	}
	tw.Flush()
}
