// Package wasmbuild builds Go packages as wasip1 reactor modules for tests, each once per
// test binary, and names the compilation cache tests share. It serves the host's own tests
// and plugins/wasmtest, which the host's internal tests cannot import.
package wasmbuild

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
)

// Build compiles pkg (a package path relative to dir, such as "." or "./plugins/testdata/raw")
// with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared and the extra go build arguments, once
// per name for the life of the process, and returns the .wasm path.
//
// The module is written to the user's cache (outDir), one file per name, package and
// arguments, replaced by each test binary that builds it: a directory per test binary
// would be left behind by every package without a TestMain to remove it, and a `make
// test` left some 160 MiB in the temporary directory that way. Each build goes to a file
// of its own and is renamed over the shared one, so test binaries building the same
// module at once, as `go test ./...` runs them, never see half a file.
func Build(name, dir, pkg string, args ...string) (string, error) {
	mu.Lock()
	b, ok := builds[name]
	if !ok {
		b = &build{}
		builds[name] = b
	}
	mu.Unlock()
	b.once.Do(func() { b.path, b.err = compile(name, dir, pkg, args) })
	return b.path, b.err
}

func compile(name, dir, pkg string, args []string) (string, error) {
	out, err := outDir()
	if err != nil {
		return "", err
	}
	// A connector's id is its file's name, so the file keeps the name's last element; the
	// directory tells builds of the same name apart.
	sum := sha256.Sum256([]byte(strings.Join(append([]string{name, pkg}, args...), "\x00")))
	out = filepath.Join(out, hex.EncodeToString(sum[:8]))
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(out, filepath.Base(name)+".wasm")
	tmp, err := os.CreateTemp(out, filepath.Base(path)+".*.tmp")
	if err != nil {
		return "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name()) // gone once renamed
	cmdArgs := append([]string{"build", "-buildmode=c-shared", "-trimpath", "-o", tmp.Name()}, args...)
	cmd := exec.Command("go", append(cmdArgs, pkg)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if output, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s for wasip1: %v\n%s", name, err, output)
	}
	return path, os.Rename(tmp.Name(), path)
}

// outDir is where Build writes modules: aquahub/wasm-test-builds in the user's cache.
func outDir() (string, error) { return userCache("wasm-test-builds") }

// CacheDir returns a compilation cache directory kept between test runs: compiling a Go
// guest takes seconds, and the cache is keyed by content, so stale entries are harmless.
func CacheDir() (string, error) { return userCache("wazero-test") }

// userCache makes and returns aquahub/name in the user's cache directory.
func userCache(name string) (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(base, "aquahub", name)
	return dir, os.MkdirAll(dir, 0o755)
}
