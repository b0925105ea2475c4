package main

import (
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aquascene/aquahub/internal/webhooks"
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
			var out struct {
				Webhooks []webhooks.Endpoint `json:"webhooks"`
			}
			if _, err := client.New(api.url, api.key).Do(cmd.Context(), "GET", "/api/v1/webhooks", nil, "", nil, &out); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), out.Webhooks)
			}
			printEndpoints(cmd.OutOrStdout(), out.Webhooks)
			return nil
		},
	}
	ls.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	var in webhooks.EndpointInput
	var headers []string
	add := &cobra.Command{
		Use:   "add URL",
		Short: "Register an endpoint; prints its signing secret once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in.URL = args[0]
			in.Headers = map[string]string{}
			for _, h := range headers {
				k, v, ok := strings.Cut(h, ":")
				if !ok {
					return fmt.Errorf("--header %q: want Name:value", h)
				}
				in.Headers[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
			var out map[string]any
			if _, err := client.New(api.url, api.key).Do(cmd.Context(), "POST", "/api/v1/webhooks", in, "application/json", nil, &out); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "registered %s\nsecret %s  (shown once: verify webhook-signature with it)\n", out["id"], out["secret"])
			return nil
		},
	}
	add.Flags().StringSliceVar(&in.Events, "events", []string{"*"}, "event type patterns (* matches anything)")
	add.Flags().StringArrayVar(&headers, "header", nil, "extra request header Name:value (repeatable)")
	add.Flags().StringVar(&in.Description, "description", "", "what the endpoint is for")
	add.Flags().StringVar(&in.Secret, "secret", "", "use this whsec_ secret instead of a generated one")
	add.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	rm := &cobra.Command{
		Use:   "rm ENDPOINT_ID",
		Short: "Delete an endpoint and its queued messages",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := client.New(api.url, api.key).Do(cmd.Context(), "DELETE", "/api/v1/webhooks/"+url.PathEscape(args[0]), nil, "", nil, nil); err != nil {
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
			q := url.Values{}
			if state != "" {
				q.Set("state", state)
			}
			q.Set("limit", fmt.Sprint(limit))
			var out struct {
				Deliveries []webhooks.Delivery `json:"deliveries"`
			}
			path := "/api/v1/webhooks/" + url.PathEscape(args[0]) + "/deliveries?" + q.Encode()
			if _, err := client.New(api.url, api.key).Do(cmd.Context(), "GET", path, nil, "", nil, &out); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), out.Deliveries)
			}
			printDeliveries(cmd.OutOrStdout(), out.Deliveries)
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
			path := "/api/v1/webhooks/" + url.PathEscape(args[0]) + "/deliveries/" + url.PathEscape(args[1]) + "/replay"
			if _, err := client.New(api.url, api.key).Do(cmd.Context(), "POST", path, nil, "", nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "queued %s\n", args[1])
			return nil
		},
	}
	cmd.AddCommand(ls, add, rm, deliveries, replay)
	return cmd
}

func printEndpoints(w io.Writer, eps []webhooks.Endpoint) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tURL\tEVENTS\tENABLED\tNOTE")
	for _, e := range eps {
		note := e.DisabledReason
		if !e.FailingSince.IsZero() && e.Enabled {
			note = "failing since " + e.FailingSince.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\n", e.ID, e.URL, strings.Join(e.Events, ","), e.Enabled, note)
	}
	tw.Flush()
}

func printDeliveries(w io.Writer, ds []webhooks.Delivery) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MESSAGE\tTYPE\tSTATE\tATTEMPTS\tLAST\tNEXT\tERROR")
	for _, d := range ds {
		last := "-"
		if n := len(d.Log); n > 0 {
			a := d.Log[n-1]
			last = fmt.Sprintf("%d in %.0fms", a.Status, a.LatencyMS)
		}
		next := "-"
		if !d.NextAt.IsZero() && d.State == webhooks.StatePending {
			next = d.NextAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", d.ID, d.EventType, d.State, d.Attempts, last, next, d.LastError)
	}
	tw.Flush()
}
