package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/aquascene/aquahub/internal/config"
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

// lintHub wires a hub exactly as serve would, against a throwaway data directory, so that
// lint accepts precisely what serve accepts. Paths, when given, replace rules.paths.
func lintHub(cfgPath string, paths []string) (*hub, func(), error) {
	var cfg config.Config
	var err error
	if cfgPath != "" {
		cfg, err = config.Load(cfgPath, nil)
	} else {
		cfg = config.Default()
		cfg.Rules.Paths = []string{"examples/aquascene/rules"}
	}
	if err != nil {
		return nil, nil, err
	}
	if len(paths) > 0 {
		cfg.Rules.Paths = paths
	}
	tmp, err := os.MkdirTemp("", "aquahub-lint-")
	if err != nil {
		return nil, nil, err
	}
	cfg.Storage.Path = filepath.Join(tmp, "lint.db")
	h, err := buildHub(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		os.RemoveAll(tmp)
		return nil, nil, err
	}
	return h, func() { h.close(context.Background()); os.RemoveAll(tmp) }, nil
}
