package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/storage/bolt"
	"github.com/aquascene/aquahub/plugins"
	"github.com/aquascene/aquahub/sdk/abi"
)

func newPluginCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "plugin", Short: "Write, build, inspect and test connectors (WASM plugins)"}
	cmd.AddCommand(newPluginNewCmd(), newPluginBuildCmd(), newPluginInspectCmd(), newPluginTestCmd())
	return cmd
}

var connectorIDPattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)

func newPluginNewCmd() *cobra.Command {
	var dir, sdk string
	cmd := &cobra.Command{
		Use:   "new NAME",
		Short: "Scaffold a connector (package main, a sample action, a native test, README)",
		Long: `Creates DIR (default connectors/NAME when ./connectors exists, else ./NAME) with main.go,
main_test.go and README.md for a connector built on sdk/plugin. Outside a Go module it also
writes go.mod; --aquahub points its replace directive at an aquahub source tree.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if !connectorIDPattern.MatchString(name) {
				return fmt.Errorf("connector name %q: must match %s", name, connectorIDPattern)
			}
			if dir == "" {
				dir = name
				if st, err := os.Stat("connectors"); err == nil && st.IsDir() {
					dir = filepath.Join("connectors", name)
				}
			}
			if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
				return fmt.Errorf("%s exists and is not empty", dir)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			files := map[string]string{"main.go": scaffoldMain, "main_test.go": scaffoldTest, "README.md": scaffoldReadme}
			abs, _ := filepath.Abs(dir)
			if findGoMod(abs) == "" {
				if sdk == "" {
					sdk = findAquahubSource()
				}
				files["go.mod"] = scaffoldGoMod
			}
			data := map[string]string{"Name": name, "SDK": sdk, "GoVersion": "1.26"}
			names := make([]string, 0, len(files))
			for f := range files {
				names = append(names, f)
			}
			sort.Strings(names)
			for _, f := range names {
				var buf bytes.Buffer
				if err := template.Must(template.New(f).Parse(files[f])).Execute(&buf, data); err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(dir, f), buf.Bytes(), 0o644); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", filepath.Join(dir, f))
			}
			if files["go.mod"] != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "run `go mod tidy` in %s to fetch the SDK's requirements\n", dir)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "next: aquahub plugin build %s && aquahub plugin inspect %s.wasm\n", dir, name)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory to create")
	cmd.Flags().StringVar(&sdk, "aquahub", "", "aquahub source tree for go.mod's replace directive (outside a module)")
	return cmd
}

// findGoMod returns the go.mod governing dir, or "".
func findGoMod(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "go.mod")
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// findAquahubSource looks for the aquahub module above the working directory.
func findAquahubSource() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && bytes.Contains(b, []byte("module github.com/aquascene/aquahub\n")) {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

func newPluginBuildCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "build DIR",
		Short: "Build a connector for the hub: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			abs, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			if out == "" {
				out = filepath.Base(abs) + ".wasm"
			}
			outAbs, err := filepath.Abs(out)
			if err != nil {
				return err
			}
			start := time.Now()
			if err := goBuildWasm(cmd.Context(), abs, outAbs, cmd.ErrOrStderr()); err != nil {
				return err
			}
			st, err := os.Stat(outAbs)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "built %s (%.1f MiB) in %s\n", out, float64(st.Size())/(1<<20), time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "output file (default ./<dir name>.wasm)")
	return cmd
}

// goBuildWasm builds the package in dir as a WASI reactor, writing to a temporary file
// first so that a watching hub never loads a half-written module.
func goBuildWasm(ctx context.Context, dir, out string, stderr io.Writer) error {
	tmp := out + ".tmp"
	c := exec.CommandContext(ctx, "go", "build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", tmp, ".")
	c.Dir = dir
	c.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	c.Stdout, c.Stderr = stderr, stderr
	if err := c.Run(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("go build in %s: %w", dir, err)
	}
	return os.Rename(tmp, out)
}

// openModule loads one .wasm file in a catalog of its own, with grant for every tenant and
// a kv store in a temporary data file. The returned function releases everything.
func openModule(ctx context.Context, file string, grant *plugins.TenantConfig, timeout time.Duration) (*plugins.Catalog, string, func(), error) {
	tmp, err := os.MkdirTemp("", "aquahub-plugin-")
	if err != nil {
		return nil, "", nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	b, err := os.ReadFile(file)
	if err != nil {
		cleanup()
		return nil, "", nil, err
	}
	dir := filepath.Join(tmp, "connectors")
	os.Mkdir(dir, 0o755)
	copied := filepath.Join(dir, filepath.Base(strings.TrimSuffix(file, ".wasm"))+".wasm")
	if err := os.WriteFile(copied, b, 0o644); err != nil {
		cleanup()
		return nil, "", nil, err
	}
	db, err := bolt.Open(bolt.Config{Path: filepath.Join(tmp, "aquahub.db")})
	if err != nil {
		cleanup()
		return nil, "", nil, err
	}
	deps := plugins.Deps{
		KV:     db.ConnectorKV(),
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if grant != nil {
		g := *grant
		deps.Grants = func(string, string) (plugins.TenantConfig, bool) { return g, true }
	}
	cat, err := plugins.Open(ctx, plugins.Config{Dir: dir, CacheDir: userCompilationCache(), CallTimeout: timeout, PoolSize: 1}, deps)
	release := func() {
		if cat != nil {
			cat.Close(context.Background())
		}
		db.Close()
		cleanup()
	}
	if err != nil {
		release()
		return nil, "", nil, errors.New(strings.ReplaceAll(err.Error(), copied, file))
	}
	infos := cat.Connectors()
	if len(infos) != 1 {
		release()
		return nil, "", nil, fmt.Errorf("%s: no connector loaded", file)
	}
	return cat, infos[0].ID, release, nil
}

func userCompilationCache() string {
	base, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	dir := filepath.Join(base, "aquahub", "wazero")
	if os.MkdirAll(dir, 0o755) != nil {
		return ""
	}
	return dir
}

func newPluginInspectCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect FILE.wasm",
		Short: "Load a connector and print its manifest: actions with schemas, config keys, secrets, egress",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cat, id, release, err := openModule(cmd.Context(), args[0], nil, 10*time.Second)
			if err != nil {
				return err
			}
			defer release()
			m, _ := cat.Manifest(id)
			if asJSON {
				return printJSON(cmd.OutOrStdout(), m)
			}
			printManifest(cmd.OutOrStdout(), m, cat.Features(id))
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the manifest as JSON")
	return cmd
}

func printManifest(w io.Writer, m *abi.Manifest, features []string) {
	abiText := fmt.Sprintf("ABI v%d", m.ABI)
	if len(features) > 0 {
		abiText += "; " + strings.Join(features, ", ")
	}
	fmt.Fprintf(w, "connector %s %s (%s)\n", m.ID, m.Version, abiText)
	if m.Description != "" {
		fmt.Fprintf(w, "  %s\n", m.Description)
	}
	egress := "none"
	if len(m.Egress) > 0 {
		egress = strings.Join(m.Egress, ", ")
	}
	fmt.Fprintf(w, "egress requested: %s\n", egress)
	if len(m.RateLimits) > 0 {
		fmt.Fprintln(w, "rate limits (enforced by the host per tenant and key, before sending):")
		for _, r := range m.RateLimits {
			origin := r.Origin
			if origin == "" {
				origin = "*"
			}
			fmt.Fprintf(w, "  %s  %g/s burst %d, keyed by origin + %d path segment(s)\n", origin, r.PerSecond, r.EffectiveBurst(), r.PathSegments)
		}
	}
	if len(m.Config) > 0 {
		fmt.Fprintln(w, "config:")
		for _, c := range m.Config {
			fmt.Fprintf(w, "  %s%s  %s\n", c.Name, requiredMark(c.Required), c.Description)
			if d := c.FromSecret; d != nil {
				fmt.Fprintf(w, "    unset: derived by the host from secret %s, the part after its last %q matching %s", d.Secret, d.AfterLast, d.Pattern)
				if len(d.Unless) > 0 {
					fmt.Fprintf(w, ", unless %s is set", strings.Join(d.Unless, " or "))
				}
				fmt.Fprintln(w)
			}
		}
	}
	if len(m.Secrets) > 0 {
		fmt.Fprintln(w, "secrets:")
		uses := m.SecretUses()
		for _, s := range m.Secrets {
			fmt.Fprintf(w, "  %s%s%s  %s\n", s.Name, requiredMark(s.Required), signingMark(s), s.Description)
			if s.Signing() {
				continue
			}
			places := make([]string, len(s.Places))
			for i, p := range s.Places {
				places[i] = p.String()
			}
			switch {
			case len(places) > 0:
				fmt.Fprintf(w, "    sent only in: %s\n", strings.Join(places, ", "))
			case !uses.DeclaresPlaces():
				fmt.Fprintln(w, "    sent in: any header value or query value (no places declared)")
			}
		}
	}
	fmt.Fprintln(w, "actions:")
	for _, a := range m.Actions {
		fmt.Fprintf(w, "  %s  %s\n", a.Name, a.Description)
		in, _ := json.MarshalIndent(a.Input, "      ", "  ")
		fmt.Fprintf(w, "    input:  %s\n", in)
		if a.Output != nil {
			out, _ := json.MarshalIndent(a.Output, "      ", "  ")
			fmt.Fprintf(w, "    output: %s\n", out)
		}
	}
}

// signingMark marks a secret declared with use: sign (ABI revision 1.3): a private key the
// host signs JWTs with and never places in a request.
func signingMark(s abi.SecretSpec) string {
	if s.Signing() {
		return " (signing key: sign_jwt only, never sent)"
	}
	return ""
}

func requiredMark(r bool) string {
	if r {
		return " (required)"
	}
	return ""
}

func newPluginTestCmd() *cobra.Command {
	var action, input, configFile, tenant string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "test FILE.wasm --action NAME --input in.json [--config cfg.yaml]",
		Short: "Run one action of a connector through the real host and print its output",
		Long: `Loads FILE.wasm as the hub does, validates the input (a JSON object, from a file or - for
stdin) against the action's schema and runs it with the tenant settings from --config
(config, secrets, egress: the shape of tenants[].connectors.<id>). Prints the output as JSON;
a failure prints its class (invalid_input, auth, not_found, rate_limited, transient,
permanent) and exits non-zero.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var in map[string]any
			if input != "" {
				var b []byte
				var err error
				if input == "-" {
					b, err = io.ReadAll(cmd.InOrStdin())
				} else {
					b, err = os.ReadFile(input)
				}
				if err != nil {
					return err
				}
				if err := json.Unmarshal(b, &in); err != nil {
					return fmt.Errorf("--input: not a JSON object: %v", err)
				}
			}
			var grant plugins.TenantConfig
			if configFile != "" {
				var err error
				if grant, err = readTenantConfig(configFile); err != nil {
					return err
				}
			}
			cat, id, release, err := openModule(cmd.Context(), args[0], &grant, timeout)
			if err != nil {
				return err
			}
			defer release()
			res, err := cat.Execute(cmd.Context(), plugins.ActionCall{
				Tenant: tenant, RunID: "plugin-test", StepID: action,
				Connector: id, Action: action, Input: in, IdempotencyKey: "plugin-test/" + action, Attempt: 1,
			})
			if err != nil {
				if se := core.Classify(err); se.RetryAfter > 0 {
					return fmt.Errorf("%v (retry after %s)", err, se.RetryAfter)
				}
				return err
			}
			return printJSON(cmd.OutOrStdout(), res.Output)
		},
	}
	cmd.Flags().StringVar(&action, "action", "", "action name (required)")
	cmd.Flags().StringVar(&input, "input", "", "input JSON file, or - for stdin (default {})")
	cmd.Flags().StringVar(&configFile, "config", "", "YAML with config, secrets and egress for the connector")
	cmd.Flags().StringVar(&tenant, "tenant", "aquascene", "tenant the call runs as")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "call deadline")
	cmd.MarkFlagRequired("action")
	return cmd
}

// readTenantConfig reads the --config file of `plugin test`: one tenant's settings for the
// connector, the shape of tenants[].connectors.<id> in aquahub.yaml, with ${VAR} read from
// the environment. yaml.v3 matches keys to the lower-cased field names, which are
// TenantConfig's configuration keys (config, secrets, egress); unknown keys are errors.
func readTenantConfig(path string) (plugins.TenantConfig, error) {
	var tc plugins.TenantConfig
	b, err := os.ReadFile(path)
	if err != nil {
		return tc, err
	}
	dec := yaml.NewDecoder(strings.NewReader(os.ExpandEnv(string(b))))
	dec.KnownFields(true)
	if err := dec.Decode(&tc); err != nil && !errors.Is(err, io.EOF) {
		return tc, fmt.Errorf("%s: %v", path, err)
	}
	if err := tc.Validate(); err != nil {
		return tc, fmt.Errorf("%s: %w", path, err)
	}
	return tc, nil
}

const scaffoldMain = `// Command {{.Name}} is an aquahub connector. Build it with ` + "`aquahub plugin build .`" + `.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/aquascene/aquahub/sdk/plugin"
)

// GetIn is the input of the items.get action. Struct tags are the schema: a field without
// omitempty is required; desc and jsonschema add description and constraints.
type GetIn struct {
	ID string ` + "`json:\"id\" desc:\"item id\" jsonschema:\"minLength=1\"`" + `
}

// GetOut is the output of items.get; rules read it as steps.<id>.<field>.
type GetOut struct {
	ID   string         ` + "`json:\"id\"`" + `
	Data map[string]any ` + "`json:\"data\"`" + `
}

// Connector is the {{.Name}} connector; tests run it natively with plugintest.
var Connector = &plugin.Connector{
	ID:          "{{.Name}}",
	Version:     "0.1.0",
	Description: "{{.Name}} API connector",
	Config:      []plugin.ConfigSpec{{"{{"}}Name: "base_url", Description: "API base URL", Default: "https://api.{{.Name}}.example"{{"}}"}},
	// The key goes in the Authorization header; the host refuses it anywhere else.
	Secrets: []plugin.SecretSpec{{"{{"}}Name: "api_key", Description: "API key", Required: true,
		Places: []plugin.SecretPlace{{"{{"}}Header: "Authorization"{{"}}"}}{{"}}"}},
	Egress:      []string{"https://api.{{.Name}}.example"},
	Actions: []plugin.Handler{
		plugin.Action[GetIn, GetOut]{Name: "items.get", Description: "Fetch one item by id", Handle: getItem},
	},
}

func init() { plugin.Main(Connector) }

func main() {}

func getItem(ctx context.Context, in GetIn) (GetOut, error) {
	base := plugin.ConfigString(ctx, "base_url", "https://api.{{.Name}}.example")
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/items/"+url.PathEscape(in.ID), nil)
	if err != nil {
		return GetOut{}, plugin.InvalidInput("id", err)
	}
	// The host replaces the reference with the tenant's secret; the value never enters here.
	req.Header.Set("Authorization", "Bearer "+plugin.Secret("api_key"))
	resp, err := plugin.HTTPClient().Do(req)
	if err != nil {
		return GetOut{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return GetOut{}, plugin.Transient(err)
	}
	if err := plugin.CheckResponse(resp, body); err != nil {
		return GetOut{}, err // 401 auth, 404 not_found, 429 rate_limited, 5xx transient...
	}
	out := GetOut{ID: in.ID}
	if err := json.Unmarshal(body, &out.Data); err != nil {
		return GetOut{}, plugin.Permanent(fmt.Errorf("decoding item: %w", err))
	}
	return out, nil
}
`

const scaffoldTest = `package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/plugin/plugintest"
)

func TestItemsGet(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer test-key" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path != "/items/42" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Write([]byte(` + "`{\"name\":\"Iwagumi\"}`" + `))
	}))
	defer api.Close()
	h, err := plugintest.New(Connector, plugintest.Options{
		Config:  map[string]any{"base_url": api.URL},
		Secrets: map[string]string{"api_key": "test-key-0123"},
		Egress:  []string{api.URL}, // loopback servers are granted by address
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		id   string
		kind abi.ErrorKind
	}{
		{name: "found", id: "42"},
		{name: "missing", id: "7", kind: abi.KindNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := h.Invoke(context.Background(), "items.get", map[string]any{"id": tt.id})
			if tt.kind != "" {
				if e, ok := err.(*abi.Error); !ok || e.Kind != tt.kind {
					t.Fatalf("want %s, got %v", tt.kind, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out["data"].(map[string]any)["name"] != "Iwagumi" {
				t.Fatalf("got %v", out)
			}
		})
	}
}
`

const scaffoldReadme = `# {{.Name}} connector

## Actions

- ` + "`items.get`" + ` — input ` + "`{id}`" + `, output ` + "`{id, data}`" + `.

## Configure (aquahub.yaml)

` + "```yaml" + `
tenants:
  - id: aquascene
    connectors:
      {{.Name}}:
        config:  { base_url: https://api.{{.Name}}.example }
        secrets: { api_key: "${API_KEY}" }
        egress:  [ "https://api.{{.Name}}.example" ]
` + "```" + `

## Example rule

` + "```yaml" + `
rules:
  - id: fetch-{{.Name}}-item
    on: {{.Name}}.item.requested
    steps:
      - id: item
        connector: {{.Name}}
        action: items.get
        with: { id: "${{"{{"}} event.data.id {{"}}"}}" }
` + "```" + `

## Develop

    go test .                                   # native, fast
    aquahub plugin build .                      # -> {{.Name}}.wasm
    aquahub plugin inspect {{.Name}}.wasm
    aquahub plugin test {{.Name}}.wasm --action items.get --input in.json --config cfg.yaml
`

const scaffoldGoMod = `module example.com/{{.Name}}

go {{.GoVersion}}

require github.com/aquascene/aquahub v0.0.0
{{if .SDK}}
replace github.com/aquascene/aquahub => {{.SDK}}
{{end}}`
