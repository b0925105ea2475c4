package plugins

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/plugins/internal/wasmbuild"
)

// Guests are built from testdata once per test binary (wasmbuild.Build).

func TestMain(m *testing.M) {
	// The compiling child of tests that compile out of process (compileInChild).
	if len(os.Args) > 1 && os.Args[1] == CompilerCommand {
		os.Exit(RunCompiler(os.Args[2:], os.Stdin, os.Stderr))
	}
	os.Exit(m.Run())
}

// buildGuest builds a wasip1 reactor from pkg (a path relative to the module root) with
// build tags and ldflags, once per test binary, and returns the .wasm path.
func buildGuest(tb testing.TB, name, pkg string, args ...string) string {
	tb.Helper()
	path, err := wasmbuild.Build(name, moduleRoot(tb), pkg, args...)
	if err != nil {
		tb.Fatal(err)
	}
	return path
}

func moduleRoot(tb testing.TB) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	return filepath.Dir(wd) // plugins/ is one level below the module root
}

// Named guests used across tests.
func hostileGuest(tb testing.TB) string {
	return buildGuest(tb, "hostile", "./plugins/testdata/hostile", "-ldflags=-s -w")
}

// impostorGuest is the hostile connector with another version, the same id.
func impostorGuest(tb testing.TB) string {
	return buildGuest(tb, "hostile-impostor", "./plugins/testdata/hostile", "-ldflags=-s -w -X main.version=6.6.6")
}

// rawWith is the raw guest with main.NAME=VALUE ldflags (id, pattern, extra, version), built
// once per name.
func rawWith(tb testing.TB, name string, vars map[string]string) string {
	flags := "-ldflags="
	for _, k := range sortedKeys(vars) {
		flags += "-X 'main." + k + "=" + vars[k] + "' "
	}
	return buildGuest(tb, "raw-"+name, "./plugins/testdata/raw", flags)
}

// compileInChild makes deps compile modules in a child process of the test binary.
func compileInChild(deps Deps) Deps {
	deps.CompileCommand = []string{os.Args[0], CompilerCommand}
	return deps
}

// hostileDeclaredGuest is the hostile connector whose manifest declares where its secrets
// go (ABI revision 1.5).
func hostileDeclaredGuest(tb testing.TB) string {
	return buildGuest(tb, "hostile-declared", "./plugins/testdata/hostile", "-ldflags=-s -w -X main.places=declared")
}

func rawGuest(tb testing.TB, variant string) string {
	switch variant {
	case "v1":
		return buildGuest(tb, "raw-v1", "./plugins/testdata/raw")
	case "v2release":
		return buildGuest(tb, "raw-v2release", "./plugins/testdata/raw", "-ldflags=-X main.version=2.0.0")
	default:
		return buildGuest(tb, "raw-"+variant, "./plugins/testdata/raw", "-tags="+variant)
	}
}

// testCacheDir is the compilation cache shared by test runs.
func testCacheDir(tb testing.TB) string {
	tb.Helper()
	dir, err := wasmbuild.CacheDir()
	if err != nil {
		return tb.TempDir()
	}
	return dir
}

// copyInto copies guest files into a fresh connector directory under the given names.
func copyInto(tb testing.TB, dir string, files map[string]string) {
	tb.Helper()
	for name, src := range files {
		b, err := os.ReadFile(src)
		if err != nil {
			tb.Fatal(err)
		}
		tmp := filepath.Join(dir, "."+name+".tmp")
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			tb.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			tb.Fatal(err)
		}
	}
}

// openCatalog opens a catalog over a temporary directory holding files, closing it at
// cleanup. Empty cfg.Dir, cfg.CacheDir and deps.Logger get test defaults. It fails the test
// if the load reports an error unless allowErr.
func openCatalog(tb testing.TB, cfg Config, deps Deps, files map[string]string, allowErr bool) (*Catalog, error) {
	tb.Helper()
	if cfg.Dir == "" {
		cfg.Dir = tb.TempDir()
	}
	copyInto(tb, cfg.Dir, files)
	if cfg.CacheDir == "" {
		cfg.CacheDir = testCacheDir(tb)
	}
	if deps.Logger == nil {
		deps.Logger = quietLogger()
	}
	c, err := Open(context.Background(), cfg, deps)
	if err != nil && !allowErr {
		tb.Fatalf("Open: %v", err)
	}
	if c != nil {
		tb.Cleanup(func() { c.Close(context.Background()) })
	}
	return c, err
}

// quietLogger drops every record.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
