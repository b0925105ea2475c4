package main

import (
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "aquahub",
		Short:         "Integration hub for content and marketing operations",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newServeCmd(),
		newDevCmd(),
		newRulesCmd(),
		newEventsCmd(),
		newRunsCmd(),
		newDLQCmd(),
		newBenchCmd(),
		newVersionCmd(),
		newSimCmd(),
		newPluginCmd(),
		newConnectorsCmd(),
		newWebhooksCmd(),
		newContentCmd(),
		newBackupCmd(),
		newCompactCmd(),
	)
	return root
}

// apiFlags are the flags of commands that talk to a running hub.
type apiFlags struct {
	url string
	key string
}

func (f *apiFlags) register(cmd *cobra.Command) {
	url := os.Getenv("AQUAHUB_URL")
	if url == "" {
		url = "http://127.0.0.1:8080"
	}
	key := os.Getenv("AQUAHUB_API_KEY")
	if key == "" {
		key = "dev-key"
	}
	cmd.PersistentFlags().StringVar(&f.url, "url", url, "hub base URL (env AQUAHUB_URL)")
	cmd.PersistentFlags().StringVar(&f.key, "key", key, "API key (env AQUAHUB_API_KEY)")
}
