package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/config"
	"github.com/aquascene/aquahub/internal/identity"
	"github.com/aquascene/aquahub/internal/inbound"
	"github.com/spf13/cobra"
)

// devSetup prepares one part of the dev sandbox (a vendor simulator, say): it may change
// cfg, prints where it listens to out and returns a function that stops it.
type devSetup func(ctx context.Context, cfg *Config, out io.Writer) (stop func(), err error)

// devSetups run in order before `aquahub dev` starts the hub.
var devSetups = []devSetup{devSimulators}

// DevTenant and DevAPIKey are the sandbox's credentials; DevHookSecret signs the seed's
// content-updates webhook (X-Signature-256) in the sandbox.
//
// DevOperatorToken administers the sandbox's tenants (aquahub tenants --token …);
// DevJWTSecret is its HS256 key, with which `aquahub token --dev` mints tokens.
const (
	DevTenant        = "aquascene"
	DevAPIKey        = "dev-key"
	DevHookSecret    = "dev-webhook-secret"
	DevOperatorToken = "dev-operator-token-not-for-production"
	DevJWTSecret     = "dev-jwt-secret-not-for-production-0123"
)

func newDevCmd() *cobra.Command {
	var f serveFlags
	var rulesDir, connectorsDir, partnersDir string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the hub as a local sandbox: example rules, builtin writer, every vendor simulator",
		Long: `Run the hub with no configuration file: tenant aquascene with API key dev-key, the
example rules, the builtin content writer and every vendor simulator on loopback, with
connectors configured against them. Data lives under ./data unless --data says otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := devConfig(rulesDir, f)
			if err != nil {
				return err
			}
			if connectorsDir != "" {
				cfg.Connectors.Dir = connectorsDir
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			out := cmd.OutOrStdout()
			for _, setup := range devSetups {
				stop, err := setup(ctx, &cfg, out)
				if err != nil {
					return err
				}
				defer stop()
			}
			return serve(ctx, cfg, func(addr string) {
				registerDevPartners(ctx, cfg, addr, partnersDir, out)
				fmt.Fprintf(out, "aquahub dev sandbox\n  hub:      http://%s  (tenant %s, API key %s, role admin)\n  operator: token %s  (aquahub tenants --token …)\n  jwt:      aquahub token --dev --tenant %s --role editor  (HS256, key %q)\n  data:     %s\n  rules:    %s\n  inbound:  http://%s/hooks/%s/content-updates  (X-Signature-256: sha256=<hex HMAC-SHA256 of the body, key %s>)\n  try:      curl -H 'Authorization: Bearer %s' -H 'Content-Type: application/cloudevents+json' -d @examples/aquascene/events/content-scheduled.json http://%s/api/v1/events\n",
					addr, DevTenant, DevAPIKey, DevOperatorToken, DevTenant, DevJWTSecret, cfg.Storage.Path, rulesDir, addr, DevTenant, DevHookSecret, DevAPIKey, addr)
			})
		},
	}
	f.register(cmd, false)
	cmd.Flags().StringVar(&rulesDir, "rules", "examples/aquascene/rules", "rules directory")
	cmd.Flags().StringVar(&connectorsDir, "connectors", "", "directory of connector modules (default ./build/connectors, where make builds them)")
	cmd.Flags().StringVar(&partnersDir, "partners", "examples/aquascene/partners", "directory of partner registrations (*.json) to register, their catalogs at the partner simulator")
	return cmd
}

func devConfig(rulesDir string, f serveFlags) (Config, error) {
	if _, err := os.Stat(rulesDir); err != nil {
		return Config{}, fmt.Errorf("rules directory %s: %w (run from the repository root or pass --rules)", rulesDir, err)
	}
	cfg := DefaultConfig()
	cfg.Tenants = []Tenant{{ID: DevTenant, TenantConfig: identity.TenantConfig{APIKeys: []identity.ConfigKey{{Key: DevAPIKey, Role: core.RoleAdmin}}}, Sources: map[string]inbound.SourceConfig{
		// The seed guide's /webhooks/content-updates (examples/aquascene/rules/webhook-content-updates.yaml).
		"content-updates": {
			Verifier: "hmac", Secret: DevHookSecret, Header: "X-Signature-256", Prefix: "sha256=",
			Type: `"content." + body.event`, Subject: "body.data.content_id", Data: "body.data",
		},
	}}}
	cfg.Identity.OperatorToken = DevOperatorToken
	cfg.Identity.JWT.Keys = []identity.JWTKey{{ID: "dev", Secret: DevJWTSecret}}
	cfg.Rules.Paths = []string{rulesDir}
	cfg.Webhooks.AllowHTTP = true
	cfg.Webhooks.AllowLoopback = true
	cfg.Connectors.CacheDir = sharedCompileCache()
	if f.addr != "" {
		cfg.Server.Addr = f.addr
	}
	if f.data != "" {
		cfg.Storage.Path = filepath.Join(f.data, "aquahub.db")
	}
	return cfg, config.Validate(&cfg)
}

// sharedCompileCache is where the sandbox and the benches keep compiled connectors: in the
// user's cache directory rather than beside a data file, so a sandbox started on fresh data
// (or a bench's temporary directory) does not compile every module again, which takes
// minutes on a small machine. Entries are keyed by the module's content and the runtime, so
// sharing them is safe. "" (compile in memory) when the system has no cache directory.
func sharedCompileCache() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "aquahub", "compiled")
}
