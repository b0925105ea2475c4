package plugins

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Guests are built from testdata once per test binary, into a directory removed by TestMain.

var (
	guestDir   string
	guestMu    sync.Mutex
	guestBuilt = map[string]*guestBuild{}
)

type guestBuild struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "aquahub-guests-")
	if err != nil {
		panic(err)
	}
	guestDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildGuest builds a wasip1 reactor from pkg (a path relative to the module root) with
// build tags and ldflags, once per test binary, and returns the .wasm path.
func buildGuest(tb testing.TB, name, pkg string, args ...string) string {
	tb.Helper()
	guestMu.Lock()
	g, ok := guestBuilt[name]
	if !ok {
		g = &guestBuild{}
		guestBuilt[name] = g
	}
	guestMu.Unlock()
	g.once.Do(func() {
		g.path = filepath.Join(guestDir, name+".wasm")
		cmdArgs := append([]string{"build", "-buildmode=c-shared", "-trimpath", "-o", g.path}, args...)
		cmdArgs = append(cmdArgs, pkg)
		cmd := exec.Command("go", cmdArgs...)
		cmd.Dir = moduleRoot(tb)
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		g.out, g.err = cmd.CombinedOutput()
	})
	if g.err != nil {
		tb.Fatalf("building guest %s: %v\n%s", name, g.err, g.out)
	}
	return g.path
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

// testCacheDir is a compilation cache kept between test runs: compiling a Go guest takes
// seconds, and the cache is keyed by content so stale entries are harmless.
func testCacheDir(tb testing.TB) string {
	tb.Helper()
	base, err := os.UserCacheDir()
	if err != nil {
		return tb.TempDir()
	}
	dir := filepath.Join(base, "aquahub", "wazero-test")
	if err := os.MkdirAll(dir, 0o755); err != nil {
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
// cleanup. It fails the test if the load reports an error unless allowErr.
func openCatalog(tb testing.TB, opts Options, files map[string]string, allowErr bool) (*Catalog, error) {
	tb.Helper()
	if opts.Dir == "" {
		opts.Dir = tb.TempDir()
	}
	copyInto(tb, opts.Dir, files)
	if opts.CacheDir == "" {
		opts.CacheDir = testCacheDir(tb)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	c, err := Open(context.Background(), opts)
	if err != nil && !allowErr {
		tb.Fatalf("Open: %v", err)
	}
	if c != nil {
		tb.Cleanup(func() { c.Close(context.Background()) })
	}
	return c, err
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
