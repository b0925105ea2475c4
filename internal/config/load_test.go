package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/config"
)

type server struct {
	Addr    string        `koanf:"addr"`
	Timeout time.Duration `koanf:"timeout"`
}

func (s server) Validate() error {
	if s.Addr == "" {
		return core.Invalid("addr", "required")
	}
	return nil
}

type item struct {
	Name string `koanf:"name"`
}

func (i item) Validate() error {
	var errs []error
	if i.Name == "" {
		errs = append(errs, core.Invalid("name", "required"))
	}
	if strings.Contains(i.Name, " ") {
		errs = append(errs, core.Invalid("name", "no spaces (got %q)", i.Name))
	}
	return errors.Join(errs...)
}

type inner struct {
	Size core.ByteSize `koanf:"size"`
}

type root struct {
	Server server          `koanf:"server"`
	Items  []item          `koanf:"items"`
	ByName map[string]item `koanf:"by_name"`
	inner  `koanf:",squash"`
}

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cfg.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func load(t *testing.T, body string, overrides map[string]any) (root, error) {
	t.Helper()
	cfg := root{Server: server{Addr: "default:1", Timeout: time.Second}}
	err := config.Load(write(t, body), overrides, &cfg, config.Options{EnvPrefix: "TESTCFG_", IgnoreEnv: []string{"TESTCFG_CLIENT"}})
	return cfg, err
}

func TestLoadLayersFileEnvironmentAndOverrides(t *testing.T) {
	t.Setenv("TESTCFG_SERVER_TIMEOUT", "5s")
	t.Setenv("TESTCFG_CLIENT", "ignored")
	t.Setenv("ITEM_NAME", "from-env")
	cfg, err := load(t, "server: { addr: file:1 }\nitems: [ { name: \"${ITEM_NAME}\" } ]\nsize: 2MiB\n", map[string]any{"server.addr": "flag:1"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Addr != "flag:1" || cfg.Server.Timeout != 5*time.Second || cfg.Items[0].Name != "from-env" || cfg.Size != 2<<20 {
		t.Fatalf("layers not applied in order: %+v", cfg)
	}
}

func TestLoadErrorsNameThePath(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  map[string]string
		want string
	}{
		{"unknown top-level key", "sever: { addr: x }\n", nil, "sever: unknown key"},
		{"unknown nested key", "server: { adr: x }\n", nil, "server.adr: unknown key"},
		{"bad duration", "server: { timeout: soon }\n", nil, "timeout"},
		{"bad size", "size: lots\n", nil, "invalid size"},
		{"section validation is prefixed", "server: { addr: \"\" }\n", nil, "server.addr: required"},
		{"list items are prefixed by index", "items: [ { name: a }, { name: \"b c\" } ]\n", nil, `items[1].name: no spaces (got "b c")`},
		{"map values are prefixed by key", "by_name: { first: { name: \"\" } }\n", nil, "by_name.first.name: required"},
		{"unset variable", "items: [ { name: \"${NOT_SET_ANYWHERE}\" } ]\n", nil, "items[0].name: environment variable NOT_SET_ANYWHERE is not set"},
		{"unknown environment setting", "", map[string]string{"TESTCFG_SERVER_ADRESS": "x"}, "TESTCFG_SERVER_ADRESS: no such setting; did you mean TESTCFG_SERVER_ADDR?"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := load(t, tc.file, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v does not contain %q", err, tc.want)
			}
		})
	}
}

func TestValidateReportsEveryError(t *testing.T) {
	err := config.Validate(&root{Items: []item{{}, {Name: "x y"}}})
	for _, want := range []string{"server.addr: required", "items[0].name: required", "items[1].name: no spaces"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not contain %q", err, want)
		}
	}
}
