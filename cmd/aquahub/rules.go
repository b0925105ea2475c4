package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"
)

func newRulesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "rules", Short: "Check and test rule files"}
	var cfgPath string
	cmd.PersistentFlags().StringVarP(&cfgPath, "config", "c", "", "configuration file; its connectors and features decide which steps are valid")
	cmd.AddCommand(&cobra.Command{
		Use:   "lint [PATH...]",
		Short: "Compile rule files and report every error with file:line:column",
		RunE: func(cmd *cobra.Command, args []string) error {
			h, cleanup, err := lintHub(cfgPath, args)
			if err != nil {
				return err
			}
			defer cleanup()
			fmt.Fprintf(cmd.OutOrStdout(), "ok: %d rules\n", h.rules.Len())
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "test [PATH...]",
		Short: "Run the tests: blocks of rule files",
		RunE: func(cmd *cobra.Command, args []string) error {
			h, cleanup, err := lintHub(cfgPath, args)
			if err != nil {
				return err
			}
			defer cleanup()
			out := cmd.OutOrStdout()
			passed, failed := 0, 0
			for _, r := range h.rules.RunTests() {
				if r.Passed() {
					passed++
					fmt.Fprintf(out, "ok   %s: %s\n", r.Rule, r.Name)
					continue
				}
				failed++
				fmt.Fprintf(out, "FAIL %s: %s (%s:%d)\n", r.Rule, r.Name, r.File, r.Line)
				for _, f := range r.Failures {
					fmt.Fprintf(out, "     %s\n", f)
				}
			}
			fmt.Fprintf(out, "rules: %d passed, %d failed\n", passed, failed)
			if failed > 0 {
				return fmt.Errorf("%d rule tests failed", failed)
			}
			return nil
		},
	})
	return cmd
}

// lintHub builds the modules and loads the rules exactly as serve would, without storage,
// so that lint accepts precisely what serve accepts. Paths, when given, replace rules.paths.
func lintHub(cfgPath string, paths []string) (*hub, func(), error) {
	var cfg Config
	var err error
	if cfgPath != "" {
		if cfg, err = loadConfig(cfgPath, nil); err != nil {
			return nil, nil, err
		}
	} else {
		cfg = DefaultConfig()
		cfg.Rules.Paths = []string{"examples/aquascene/rules"}
	}
	if len(paths) > 0 {
		cfg.Rules.Paths = paths
	}
	h, err := checkRules(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return nil, nil, err
	}
	return h, func() { h.close(context.Background()) }, nil
}
