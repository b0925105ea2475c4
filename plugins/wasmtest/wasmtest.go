// Package wasmtest builds connector guests for wasip1 and loads them into a plugins.Catalog,
// for tests that run a connector through the real host (package plugins) rather than the
// native harness (sdk/plugin/plugintest).
package wasmtest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/bbolt"

	"github.com/aquascene/aquahub/plugins"
	"github.com/aquascene/aquahub/plugins/internal/wasmbuild"
)

// Build compiles the package in dir (a directory path, absolute or relative to the test's
// working directory) with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared, once per test
// binary, and returns the .wasm path.
func Build(tb testing.TB, dir string) string {
	tb.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		tb.Fatal(err)
	}
	path, err := wasmbuild.Build(abs, abs, ".", "-ldflags=-s -w")
	if err != nil {
		tb.Fatal(err)
	}
	return path
}

// CacheDir returns the compilation cache shared by test runs.
func CacheDir(tb testing.TB) string {
	tb.Helper()
	dir, err := wasmbuild.CacheDir()
	if err != nil {
		return tb.TempDir()
	}
	return dir
}

// Open copies the .wasm files into a temporary connector directory and opens a Catalog on
// it, closed when the test ends. Empty Dir, CacheDir, Logger and Registerer fields of opts
// get test defaults. A load error fails the test.
func Open(tb testing.TB, opts plugins.Options, wasmFiles ...string) *plugins.Catalog {
	tb.Helper()
	if opts.Dir == "" {
		opts.Dir = tb.TempDir()
	}
	for _, f := range wasmFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		name := filepath.Base(f)
		if !strings.HasSuffix(name, ".wasm") {
			name += ".wasm"
		}
		if err := os.WriteFile(filepath.Join(opts.Dir, name), b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	if opts.CacheDir == "" {
		opts.CacheDir = CacheDir(tb)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	c, err := plugins.Open(context.Background(), opts)
	if c != nil {
		tb.Cleanup(func() { c.Close(context.Background()) })
	}
	if err != nil {
		tb.Fatalf("loading connectors: %v", err)
	}
	return c
}

// Connector builds the connector in dir, opens a catalog holding only it with grant given to
// every tenant, and a kv database in a temporary directory when opts.DB is nil. Everything
// is closed when the test ends.
func Connector(tb testing.TB, dir string, grant plugins.Grant, opts plugins.Options) *plugins.Catalog {
	tb.Helper()
	wasm := Build(tb, dir)
	if opts.DB == nil {
		db, err := bbolt.Open(filepath.Join(tb.TempDir(), "kv.db"), 0o600, nil)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { db.Close() })
		opts.DB = db
	}
	opts.Grants = func(tenant, connector string) (plugins.Grant, bool) { return grant, true }
	return Open(tb, opts, wasm)
}

// Steps returns a function that executes one action of connector as the next step of one
// run of tenant, the way the engine calls it: each call is a new step with its own
// idempotency key.
func Steps(cat *plugins.Catalog, tenant, connector string) func(action string, input map[string]any) (map[string]any, error) {
	step := 0
	return func(action string, input map[string]any) (map[string]any, error) {
		step++
		id := fmt.Sprint("s", step)
		res, err := cat.Execute(context.Background(), plugins.ActionCall{
			Tenant: tenant, RunID: "run1", StepID: id, Connector: connector,
			Action: action, Input: input, IdempotencyKey: "run1/" + id, Attempt: 1,
		})
		return res.Output, err
	}
}
