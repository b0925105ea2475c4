package archtest

import (
	"bytes"
	"encoding/json"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/aquascene/aquahub"

// features are the feature modules; none may depend on another.
var features = []string{
	module + "/internal/content",
	module + "/internal/webhooks",
	module + "/internal/inbound",
	module + "/internal/identity",
	module + "/internal/pipeline",
	module + "/internal/analytics",
	module + "/internal/partners",
	module + "/plugins",
}

type pkg struct {
	ImportPath string
	Dir        string
	Name       string
	Standard   bool
	Imports    []string
	Deps       []string
	GoFiles    []string
}

// list runs go list over patterns and decodes the packages.
func list(t *testing.T, env []string, patterns ...string) []pkg {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-e", "-json=ImportPath,Dir,Name,Standard,Imports,Deps,GoFiles"}, patterns...)...)
	cmd.Dir = root(t)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v", patterns, err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// standard reports whether path is in the standard library: no dot in its first element.
func standard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func within(path, prefix string) bool { return path == prefix || strings.HasPrefix(path, prefix+"/") }

func TestCoreImportsOnlyTheStandardLibrary(t *testing.T) {
	for _, p := range list(t, nil, "./core") {
		for _, d := range p.Deps {
			if !standard(d) && d != p.ImportPath {
				t.Errorf("core depends on %s", d)
			}
		}
	}
}

func TestAdaptersHaveOneImporter(t *testing.T) {
	pkgs := list(t, nil, "./...")
	rules := []struct {
		lib     string
		allowed func(importer string) bool
		owner   string
	}{
		{"go.etcd.io/bbolt", func(p string) bool { return p == module+"/internal/storage/bolt" }, "the storage package"},
		{"github.com/samyfodil/wazy", func(p string) bool { return within(p, module+"/plugins") }, "the plugin host"},
	}
	for _, r := range rules {
		for _, p := range pkgs {
			for _, imp := range p.Imports {
				if within(imp, r.lib) && !r.allowed(p.ImportPath) {
					t.Errorf("%s imports %s; only %s may", p.ImportPath, imp, r.owner)
				}
			}
		}
	}
}

// TestFiberOnlyInTheKernelAndRouteFiles reads every non-test file's imports: outside the
// HTTP kernel, a file that imports fiber must be a route file (routes*.go).
func TestFiberOnlyInTheKernelAndRouteFiles(t *testing.T) {
	fset := token.NewFileSet()
	for _, p := range list(t, nil, "./...") {
		if within(p.ImportPath, module+"/internal/httpapi") {
			continue
		}
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if within(path, "github.com/gofiber/fiber/v2") && !strings.HasPrefix(name, "routes") {
					t.Errorf("%s/%s imports %s; only the HTTP kernel and routes*.go files may", p.ImportPath, name, path)
				}
			}
		}
	}
}

func TestKernelImportsOnlyCore(t *testing.T) {
	for _, p := range list(t, nil, "./internal/httpapi") {
		for _, imp := range p.Imports {
			if within(imp, module) && imp != module+"/core" {
				t.Errorf("the HTTP kernel imports %s; it may import only core", imp)
			}
		}
	}
}

func TestSDKStaysInsideSDK(t *testing.T) {
	for _, p := range list(t, nil, "./sdk/...") {
		for _, d := range p.Deps {
			if within(d, module) && !within(d, module+"/sdk") {
				t.Errorf("%s depends on %s, outside sdk/", p.ImportPath, d)
			}
		}
	}
}

func TestConnectorGuestsImportOnlySDK(t *testing.T) {
	guests := 0
	for _, p := range list(t, []string{"GOOS=wasip1", "GOARCH=wasm"}, "./connectors/...") {
		if p.Name != "main" {
			continue
		}
		guests++
		for _, d := range p.Deps {
			if !standard(d) && !within(d, module+"/sdk") {
				t.Errorf("connector %s depends on %s; guests may use only sdk/... and the standard library", p.ImportPath, d)
			}
		}
	}
	if guests == 0 {
		t.Fatal("found no connector guests")
	}
}

func TestFeaturesDoNotImportEachOther(t *testing.T) {
	for _, p := range list(t, nil, features...) {
		for _, d := range p.Deps {
			for _, f := range features {
				if f != p.ImportPath && within(d, f) && !within(d, p.ImportPath) {
					t.Errorf("feature %s depends on feature %s; features meet through core interfaces", p.ImportPath, d)
				}
			}
		}
	}
	if slices.Contains(features, module+"/core") {
		t.Fatal("core is not a feature")
	}
}
