// Package wasmbuild builds Go packages as wasip1 reactor modules for tests, each once per
// test binary, and names the compilation cache tests share. It serves the host's own tests
// and plugins/wasmtest, which the host's internal tests cannot import.
package wasmbuild

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

type build struct {
	once sync.Once
	path string
	err  error
}

var (
	mu     sync.Mutex
	builds = map[string]*build{}
	outDir string
)

// Build compiles pkg (a package path relative to dir, such as "." or "./plugins/testdata/raw")
// with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared and the extra go build arguments, once
// per name for the life of the process, and returns the .wasm path. The output lives in one
// temporary directory shared by every build of the process.
func Build(name, dir, pkg string, args ...string) (string, error) {
	mu.Lock()
	b, ok := builds[name]
	if !ok {
		b = &build{}
		builds[name] = b
	}
	if outDir == "" {
		d, err := os.MkdirTemp("", "aquahub-wasmbuild-")
		if err != nil {
			mu.Unlock()
			return "", err
		}
		outDir = d
	}
	out := outDir
	mu.Unlock()
	b.once.Do(func() {
		b.path = filepath.Join(out, filepath.Base(name)+".wasm")
		cmdArgs := append([]string{"build", "-buildmode=c-shared", "-trimpath", "-o", b.path}, args...)
		cmd := exec.Command("go", append(cmdArgs, pkg)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if output, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("building %s for wasip1: %v\n%s", name, err, output)
		}
	})
	return b.path, b.err
}

// Cleanup removes the build directory; call it from TestMain after the tests ran.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if outDir != "" {
		os.RemoveAll(outDir)
	}
}

// CacheDir returns a compilation cache directory kept between test runs: compiling a Go
// guest takes seconds, and the cache is keyed by content, so stale entries are harmless.
func CacheDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(base, "aquahub", "wazero-test")
	return dir, os.MkdirAll(dir, 0o755)
}
