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

	"github.com/aquascene/aquahub/internal/storage/bolt"
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
// it, closed when the test ends. Empty cfg.Dir, cfg.CacheDir and deps.Logger get test
// defaults. A load error fails the test.
func Open(tb testing.TB, cfg plugins.Config, deps plugins.Deps, wasmFiles ...string) *plugins.Catalog {
	tb.Helper()
	if cfg.Dir == "" {
		cfg.Dir = tb.TempDir()
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
		if err := os.WriteFile(filepath.Join(cfg.Dir, name), b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = CacheDir(tb)
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c, err := plugins.Open(context.Background(), cfg, deps)
	if c != nil {
		tb.Cleanup(func() { c.Close(context.Background()) })
	}
	if err != nil {
		tb.Fatalf("loading connectors: %v", err)
	}
	return c
}

// KV returns the hub's kv store on a database in a temporary directory, closed when the
// test ends.
func KV(tb testing.TB) plugins.KVStore {
	tb.Helper()
	db, err := bolt.Open(bolt.Config{Path: filepath.Join(tb.TempDir(), "aquahub.db")})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db.ConnectorKV()
}

// Connector builds the connector in dir and opens a catalog holding only it, with grant
// given to every tenant and a kv store from KV. Everything is closed when the test ends.
func Connector(tb testing.TB, dir string, grant plugins.TenantConfig, cfg plugins.Config) *plugins.Catalog {
	tb.Helper()
	wasm := Build(tb, dir)
	return Open(tb, cfg, plugins.Deps{
		KV:     KV(tb),
		Grants: func(tenant, connector string) (plugins.TenantConfig, bool) { return grant, true },
	}, wasm)
}

// Steps returns a function that executes one action of connector as the next step of one
// run of tenant, the way the engine calls it: each call is a new step with its own
// idempotency key.
func Steps(cat *plugins.Catalog, tenant, connector string) func(action string, input map[string]any) (map[string]any, error) {
	run := Step(cat, tenant, connector)
	step := 0
	return func(action string, input map[string]any) (map[string]any, error) {
		step++
		return run(fmt.Sprint("s", step), action, input)
	}
}
