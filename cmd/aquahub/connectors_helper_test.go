package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// repoRoot is the module root, two levels above this package.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

var (
	builtOnce sync.Once
	builtDir  string
	builtErr  error
	builtOut  []byte
)

// connectorsDir is a directory holding the first-party connectors: build/connectors when
// `make` built them, else a build of them made once for this test binary.
func connectorsDir(t testing.TB) string {
	t.Helper()
	root := repoRoot(t)
	conns := filepath.Join(root, "build", "connectors")
	if m, _ := filepath.Glob(filepath.Join(conns, "*.wasm")); len(m) >= 4 {
		return conns
	}
	builtOnce.Do(func() {
		builtDir, builtErr = os.MkdirTemp("", "aquahub-connectors-")
		if builtErr != nil {
			return
		}
		build := exec.Command(filepath.Join(root, "scripts", "build-connectors.sh"), builtDir)
		build.Dir = root // the script finds connectors/ relative to the module root
		builtOut, builtErr = build.CombinedOutput()
	})
	if builtErr != nil {
		t.Fatalf("building connectors: %v\n%s", builtErr, builtOut)
	}
	return builtDir
}
