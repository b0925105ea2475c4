package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/aquascene/aquahub/sdk/client"
	"github.com/spf13/cobra"
)

func newEventsCmd() *cobra.Command {
	var api apiFlags
	cmd := &cobra.Command{Use: "events", Short: "Send and fetch events"}
	api.register(cmd)
	var idem string
	send := &cobra.Command{
		Use:   "send FILE|-",
		Short: "Send a CloudEvent (a JSON object) or a batch (a JSON array) from a file or stdin",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var data []byte
			var err error
			if args[0] == "-" {
				data, err = io.ReadAll(cmd.InOrStdin())
			} else {
				data, err = os.ReadFile(args[0])
			}
			if err != nil {
				return err
			}
			c := client.New(api.url, api.key)
			var out any
			if trimmed := firstByte(data); trimmed == '[' {
				var raws []json.RawMessage
				if err := json.Unmarshal(data, &raws); err != nil {
					return fmt.Errorf("%s: malformed JSON array: %w", args[0], err)
				}
				out, err = c.SendBatch(cmd.Context(), raws)
			} else {
				out, err = c.SendRaw(cmd.Context(), data, idem)
			}
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), out)
		},
	}
	send.Flags().StringVar(&idem, "idempotency-key", "", "Idempotency-Key header: a repeat returns the first answer")
	var source string
	get := &cobra.Command{
		Use:   "get ID",
		Short: "Fetch a stored event and the runs it started",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ev, err := client.New(api.url, api.key).GetEvent(cmd.Context(), args[0], source)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), ev)
		},
	}
	get.Flags().StringVar(&source, "source", "", "the event's source, when several sources used the id")
	cmd.AddCommand(send, get)
	return cmd
}

func firstByte(b []byte) byte {
	for _, c := range b {
		if c != ' ' && c != '\n' && c != '\t' && c != '\r' {
			return c
		}
	}
	return 0
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
