package simtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nodeRequired reports whether a missing Node.js or an npm install failure must fail the
// test rather than skip it: always in CI (CI is set by every CI system), or when
// AQUAHUB_REQUIRE_NODE is set.
func nodeRequired() bool { return os.Getenv("CI") != "" || os.Getenv("AQUAHUB_REQUIRE_NODE") != "" }

func skipOrFail(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if nodeRequired() {
		tb.Fatal(msg)
	}
	tb.Skip(msg + " (skipped outside CI; `make node` installs node and npm; set AQUAHUB_REQUIRE_NODE=1 to make it an error)")
}

// NodeModules installs the npm packages pinned by dir/package.json and dir/package-lock.json
// (`npm ci`) once per lock file into the user cache directory, and returns the
// node_modules directory. Vendor client tests use it to run a vendor's own Node client
// against a simulator. Without node and npm, or when the install fails, the test is
// skipped, except in CI (see nodeRequired), where it fails.
func NodeModules(tb testing.TB, dir string) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("installs npm packages")
	}
	for _, bin := range []string{"node", "npm"} {
		if _, err := exec.LookPath(bin); err != nil {
			skipOrFail(tb, "vendor client test needs %s on PATH", bin)
		}
	}
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		tb.Fatalf("vendor client test: %v", err)
	}
	manifest, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		tb.Fatalf("vendor client test: %v", err)
	}
	sum := sha256.Sum256(append(append([]byte{}, manifest...), lock...))
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	final := filepath.Join(cache, "aquahub", "npm", hex.EncodeToString(sum[:8]))
	if _, err := os.Stat(filepath.Join(final, "node_modules")); err == nil {
		return filepath.Join(final, "node_modules")
	}
	// Install beside the final place and rename, so that concurrent test binaries never
	// see a half-installed tree.
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		tb.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(final), "install-")
	if err != nil {
		tb.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	for name, b := range map[string][]byte{"package.json": manifest, "package-lock.json": lock} {
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// --prefer-offline reuses npm's own cache, so a new lock file downloads only what changed.
	cmd := exec.CommandContext(ctx, "npm", "ci", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		skipOrFail(tb, "npm ci in %s: %v\n%s", dir, err, out)
	}
	if err := os.Rename(tmp, final); err != nil {
		if _, statErr := os.Stat(filepath.Join(final, "node_modules")); statErr != nil {
			tb.Fatalf("installing npm packages: %v", err)
		}
	}
	return filepath.Join(final, "node_modules")
}

// RunNode runs a CommonJS script with node, resolving require() from modules, with env
// added to the environment, and returns its standard output. A non-zero exit fails the
// test with the script's output.
func RunNode(tb testing.TB, modules, script string, env ...string) []byte {
	tb.Helper()
	abs, err := filepath.Abs(script)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", abs)
	cmd.Env = append(append(os.Environ(), "NODE_PATH="+modules), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("node %s: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(script), err, stdout.String(), strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes()
}
