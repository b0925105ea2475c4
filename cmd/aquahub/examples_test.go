package main

import (
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/plugins/wasmtest"
)

// TestExampleRules loads examples/aquascene/rules exactly as `aquahub rules lint` does, with
// every first-party connector loaded so that each connector step is checked against its
// action's input schema, and runs the rules' tests blocks, as `aquahub rules test` does.
func TestExampleRules(t *testing.T) {
	if testing.Short() {
		t.Skip("loads every connector")
	}
	cfg := DefaultConfig()
	cfg.Rules.Paths = []string{filepath.Join(repoRoot(t), "examples", "aquascene", "rules")}
	cfg.Connectors.Dir = connectorsDir(t)
	cfg.Connectors.CacheDir = wasmtest.CacheDir(t)
	cfg.Storage.Path = filepath.Join(t.TempDir(), "aquahub.db")
	h, err := checkRules(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.close(t.Context()) })
	tested := map[string]int{}
	for _, r := range h.rules.RunTests() {
		if !r.Passed() {
			t.Errorf("%s: %s (%s:%d): %s", r.Rule, r.Name, filepath.Base(r.File), r.Line, strings.Join(r.Failures, "; "))
		}
		tested[strings.SplitN(r.Rule, "-", 2)[0]]++
	}
	for _, prefix := range []string{"airtable", "sendgrid", "mailchimp", "salesforce", "hubspot", "woocommerce"} {
		if tested[prefix] == 0 {
			t.Errorf("no tested example rule for %s", prefix)
		}
	}
}
