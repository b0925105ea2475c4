package main

import (
	"fmt"
	"time"

	"github.com/aquascene/aquahub/internal/identity"
	"github.com/spf13/cobra"
)

func newTokenCmd() *cobra.Command {
	var configPath, tenant, role, subject, kid string
	var ttl time.Duration
	var dev bool
	cmd := &cobra.Command{
		Use:   "token --tenant T --role R [--ttl 1h]",
		Short: "Mint a JWT for scripts and tests with the hub's HS256 key",
		Long: `Mint a JWT signed with an HS256 key of identity.jwt.keys (the first one, or --kid),
with the configured issuer and audience, claims sub, tenant and role, and exp --ttl from now.
The configuration is read as serve reads it (--config, AQUAHUB_* variables); --dev mints
for the sandbox of aquahub dev instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var cfg Config
			if dev {
				if configPath != "" {
					return fmt.Errorf("--dev and --config exclude each other")
				}
				cfg = DefaultConfig()
				cfg.Identity.JWT.Keys = []identity.JWTKey{{ID: "dev", Secret: DevJWTSecret}}
			} else {
				var err error
				if cfg, err = loadConfig(configPath, nil); err != nil {
					return err
				}
			}
			tok, err := cfg.Identity.JWT.MintWith(kid, tenant, role, subject, ttl, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "configuration file (YAML)")
	cmd.Flags().BoolVar(&dev, "dev", false, "mint with the key of the aquahub dev sandbox")
	cmd.Flags().StringVar(&tenant, "tenant", "", "the token's tenant (required)")
	cmd.Flags().StringVar(&role, "role", "", "viewer, editor, content_manager or admin (required)")
	cmd.Flags().StringVar(&subject, "sub", "aquahub-token", "the token's subject")
	cmd.Flags().StringVar(&kid, "kid", "", "the key id (default: the first HS256 key)")
	cmd.Flags().DurationVar(&ttl, "ttl", time.Hour, "lifetime")
	_ = cmd.MarkFlagRequired("tenant")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}
