package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/aquascene/aquahub/plugins"
)

// TestMain lets testscript run the aquahub command in-process as `aquahub`, and serves the
// connector host's compiling child when a hub started by a test runs this binary as one.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == plugins.CompilerCommand {
		os.Exit(run(os.Args[1:]))
	}
	testscript.Main(removingBinary{m}, map[string]func(){
		"aquahub": func() { os.Exit(run(os.Args[1:])) },
	})
}

// removingBinary runs the tests, then removes the aquahub binary the process tests built
// (aquahubBinary), which would otherwise stay in the temporary directory: 40 MiB a run.
type removingBinary struct{ m *testing.M }

func (r removingBinary) Run() int {
	code := r.m.Run()
	if buildOnce.path != "" {
		os.RemoveAll(filepath.Dir(buildOnce.path))
	}
	return code
}

// TestScripts runs the CLI scripts in testdata/script/*.txtar. Scripts that build Go code
// (a scaffolded connector) get this machine's Go caches and proxy, so they build offline
// from what `make test` already fetched, and REPO_ROOT, the repository root.
func TestScripts(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	goEnv := map[string]string{}
	out, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY", "GOFLAGS").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	for i, v := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		goEnv[[]string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY", "GOFLAGS"}[i]] = v
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			for k, v := range goEnv {
				env.Setenv(k, v)
			}
			env.Setenv("REPO_ROOT", root)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){"capture": capture},
	})
}

// capture VAR REGEXP sets VAR to the first group of REGEXP in the last command's standard
// output, so a script can use a key or token the hub printed once.
func capture(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: capture VAR REGEXP")
	}
	re, err := regexp.Compile(`(?m)` + args[1])
	ts.Check(err)
	m := re.FindStringSubmatch(ts.ReadFile("stdout"))
	if len(m) < 2 {
		ts.Fatalf("capture %s: no match for %q in stdout", args[0], args[1])
	}
	ts.Setenv(args[0], m[1])
}
