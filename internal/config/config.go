package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
)

// Config is the whole configuration of a hub.
type Config struct {
	// Server is the HTTP listener.
	Server Server `koanf:"server"`
	// Storage is where state lives.
	Storage Storage `koanf:"storage"`
	// Rules says where rule files are.
	Rules Rules `koanf:"rules"`
	// Engine tunes run execution.
	Engine Engine `koanf:"engine"`
	// Connectors configures the WASM connector host.
	Connectors ConnectorsConfig `koanf:"connectors"`
	// Tenants are the organisations using this hub, with their credentials.
	Tenants []Tenant `koanf:"tenants"`
	// LLM configures content generation.
	LLM LLMConfig `koanf:"llm"`
	// Webhooks configures outbound webhook delivery.
	Webhooks WebhooksConfig `koanf:"webhooks"`
	// Log configures logging.
	Log Log `koanf:"log"`
}

// Server is the HTTP listener.
type Server struct {
	// Addr is host:port to listen on (default 127.0.0.1:8080).
	Addr string `koanf:"addr"`
	// BodyLimit caps a request body; larger bodies get 413 (default 1MiB).
	BodyLimit ByteSize `koanf:"body_limit"`
	// ShutdownTimeout bounds draining on SIGTERM (default 25s; the process exits within 30s).
	ShutdownTimeout time.Duration `koanf:"shutdown_timeout"`
}

// Storage is where state lives.
type Storage struct {
	// Path is the bbolt file (default ./data/aquahub.db).
	Path string `koanf:"path"`
	// MaxBatchSize is how many concurrent writes share one commit (default 64).
	MaxBatchSize int `koanf:"max_batch_size"`
	// MaxBatchDelay is how long a write waits for others to share its commit (default 2ms).
	MaxBatchDelay time.Duration `koanf:"max_batch_delay"`
}

// Rules says where rule files are.
type Rules struct {
	// Paths are files or directories of *.yaml rule files (default ./rules).
	Paths []string `koanf:"paths"`
	// Env lists environment variables that expressions may read as env.NAME. Others are
	// invisible to rules.
	Env []string `koanf:"env"`
}

// Engine tunes run execution.
type Engine struct {
	// Workers is how many runs execute at once (default 8).
	Workers int `koanf:"workers"`
	// LeaseTTL is how long a run stays claimed by a worker without a heartbeat (default 60s).
	LeaseTTL time.Duration `koanf:"lease_ttl"`
}

// Tenant is one organisation. Its data is isolated in every key, query and credential.
type Tenant struct {
	// ID names the tenant in keys and URLs: lowercase letters, digits and - (required).
	ID string `koanf:"id"`
	// APIKeys authenticate callers as this tenant with `Authorization: Bearer <key>`.
	APIKeys []string `koanf:"api_keys"`
	// Connectors configures each connector for this tenant: config, secrets, egress grant.
	Connectors map[string]TenantConnector `koanf:"connectors"`
	// Sources are the inbound webhooks served at POST /hooks/{tenant}/{source}.
	Sources map[string]Source `koanf:"sources"`
	// Content holds the tenant's brand voice and content policy.
	Content TenantContent `koanf:"content"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error (default info).
	Level string `koanf:"level"`
	// Format is text or json (default text).
	Format string `koanf:"format"`
}

// ByteSize is a size such as 1MiB, 512KB or 1048576.
type ByteSize int64

var sizeRE = regexp.MustCompile(`^(\d+)\s*([KMG]i?B|B)?$`)

// UnmarshalText parses a size.
func (b *ByteSize) UnmarshalText(text []byte) error {
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(string(text)))
	if m == nil {
		return fmt.Errorf("invalid size %q (want e.g. 1MiB, 512KB or a number of bytes)", text)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	mult := map[string]int64{"": 1, "B": 1, "KB": 1000, "MB": 1000 * 1000, "GB": 1000 * 1000 * 1000, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[m[2]]
	*b = ByteSize(n * mult)
	return nil
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	c := Config{
		Server:  Server{Addr: "127.0.0.1:8080", BodyLimit: 1 << 20, ShutdownTimeout: 25 * time.Second},
		Storage: Storage{Path: "./data/aquahub.db", MaxBatchSize: 64, MaxBatchDelay: 2 * time.Millisecond},
		Rules:   Rules{Paths: []string{"./rules"}},
		Engine:  Engine{Workers: 32, LeaseTTL: 60 * time.Second},
		Log:     Log{Level: "info", Format: "text"},
	}
	applyFeatureDefaults(&c)
	return c
}

// clientVariables are read by the CLI's client commands, not by the hub; they may be set in
// the same shell that runs `aquahub serve`.
var clientVariables = map[string]bool{"AQUAHUB_URL": true, "AQUAHUB_API_KEY": true}

// Load reads the file at path (optional: "" loads defaults and the environment only), then
// AQUAHUB_* environment variables, then the overrides (flag values keyed by path, such as
// "server.addr"). It expands ${VAR}, decodes strictly and validates.
func Load(path string, overrides map[string]any) (Config, error) {
	k := koanf.New(".")
	if path != "" {
		if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
			return Config{}, fmt.Errorf("reading %s: %w", path, err)
		}
	}
	known := leafPaths(reflect.TypeOf(Config{}), "")
	var envErr error
	err := k.Load(env.Provider(".", env.Opt{Prefix: "AQUAHUB_", TransformFunc: func(key, v string) (string, any) {
		if clientVariables[key] {
			return "", nil
		}
		name := strings.ToLower(strings.TrimPrefix(key, "AQUAHUB_"))
		for _, p := range known {
			if strings.ReplaceAll(p, ".", "_") == name {
				return p, v
			}
		}
		envErr = errors.Join(envErr, fmt.Errorf("environment variable %s: no such setting (settings: %s)", key, strings.Join(known, ", ")))
		return "", nil
	}}), nil)
	if err != nil {
		return Config{}, err
	}
	if envErr != nil {
		return Config{}, envErr
	}
	if len(overrides) > 0 {
		if err := k.Load(confmap.Provider(overrides, "."), nil); err != nil {
			return Config{}, err
		}
	}
	raw := k.Raw()
	if err := expandEnv(raw, ""); err != nil {
		return Config{}, err
	}
	cfg := Default()
	dec := &mapstructure.DecoderConfig{
		Result: &cfg, TagName: "koanf", ErrorUnused: true, WeaklyTypedInput: true,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(mapstructure.StringToTimeDurationHookFunc(), mapstructure.TextUnmarshallerHookFunc(), mapstructure.StringToSliceHookFunc(",")),
	}
	d, err := mapstructure.NewDecoder(dec)
	if err != nil {
		return Config{}, err
	}
	if err := d.Decode(raw); err != nil {
		return Config{}, fmt.Errorf("%s: %w", orDefault(path, "configuration"), cleanDecodeError(err))
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", orDefault(path, "configuration"), err)
	}
	return cfg, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

var invalidKeys = regexp.MustCompile(`'([^']*)' has invalid keys: (.*)`)

// cleanDecodeError turns mapstructure's wording into "path: problem" lines.
func cleanDecodeError(err error) error {
	msg := err.Error()
	msg = strings.ReplaceAll(msg, "decoding failed due to the following error(s):\n\n", "")
	msg = invalidKeys.ReplaceAllStringFunc(msg, func(s string) string {
		m := invalidKeys.FindStringSubmatch(s)
		var out []string
		for _, k := range strings.Split(m[2], ", ") {
			out = append(out, joinPath(m[1], k)+": unknown key")
		}
		return strings.Join(out, "; ")
	})
	msg = strings.ReplaceAll(msg, "config.Config.", "")
	return errors.New(msg)
}

func joinPath(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces ${VAR} in every string; an unset variable is an error naming the path.
func expandEnv(v any, path string) error {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if s, ok := val.(string); ok {
				out, err := expandString(s, joinPath(path, k))
				if err != nil {
					return err
				}
				x[k] = out
				continue
			}
			if err := expandEnv(val, joinPath(path, k)); err != nil {
				return err
			}
		}
	case []any:
		for i, val := range x {
			p := fmt.Sprintf("%s[%d]", path, i)
			if s, ok := val.(string); ok {
				out, err := expandString(s, p)
				if err != nil {
					return err
				}
				x[i] = out
				continue
			}
			if err := expandEnv(val, p); err != nil {
				return err
			}
		}
	}
	return nil
}

func expandString(s, path string) (string, error) {
	var missing string
	out := envRef.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		v, ok := os.LookupEnv(name)
		if !ok && missing == "" {
			missing = name
		}
		return v
	})
	if missing != "" {
		return "", fmt.Errorf("%s: environment variable %s is not set", path, missing)
	}
	return out, nil
}

// leafPaths lists the dotted koanf paths of scalar settings in t, for mapping environment
// variable names onto them.
func leafPaths(t reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("koanf")
		if tag == "" || tag == "-" {
			continue
		}
		p := joinPath(prefix, tag)
		ft := f.Type
		if ft.Kind() == reflect.Struct && ft != reflect.TypeOf(time.Duration(0)) {
			out = append(out, leafPaths(ft, p)...)
			continue
		}
		if ft.Kind() == reflect.Map || (ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct) {
			continue
		}
		out = append(out, p)
	}
	return out
}

var tenantID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Validate checks values; errors name the path and the value.
func (c *Config) Validate() error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	if _, _, err := net.SplitHostPort(c.Server.Addr); err != nil {
		add("server.addr", "must be host:port (got %q)", c.Server.Addr)
	}
	if c.Server.BodyLimit < 1024 || c.Server.BodyLimit > 64<<20 {
		add("server.body_limit", "must be between 1KiB and 64MiB (got %d bytes)", c.Server.BodyLimit)
	}
	if c.Server.ShutdownTimeout <= 0 || c.Server.ShutdownTimeout > 29*time.Second {
		add("server.shutdown_timeout", "must be between 0s and 29s so the process exits within 30s (got %s)", c.Server.ShutdownTimeout)
	}
	if c.Storage.Path == "" {
		add("storage.path", "required")
	}
	if c.Storage.MaxBatchSize < 1 || c.Storage.MaxBatchSize > 10000 {
		add("storage.max_batch_size", "must be between 1 and 10000 (got %d)", c.Storage.MaxBatchSize)
	}
	if c.Storage.MaxBatchDelay < 0 || c.Storage.MaxBatchDelay > time.Second {
		add("storage.max_batch_delay", "must be between 0 and 1s (got %s)", c.Storage.MaxBatchDelay)
	}
	if c.Engine.Workers < 1 || c.Engine.Workers > 1024 {
		add("engine.workers", "must be between 1 and 1024 (got %d)", c.Engine.Workers)
	}
	if c.Engine.LeaseTTL < time.Second {
		add("engine.lease_ttl", "must be at least 1s (got %s)", c.Engine.LeaseTTL)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", "must be debug, info, warn or error (got %q)", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		add("log.format", "must be text or json (got %q)", c.Log.Format)
	}
	seenTenant, seenKey := map[string]bool{}, map[string]string{}
	for i, t := range c.Tenants {
		p := fmt.Sprintf("tenants[%d]", i)
		if !tenantID.MatchString(t.ID) {
			add(p+".id", "must be lowercase letters, digits and - (got %q)", t.ID)
		}
		if seenTenant[t.ID] {
			add(p+".id", "duplicate tenant %q", t.ID)
		}
		seenTenant[t.ID] = true
		for j, k := range t.APIKeys {
			kp := fmt.Sprintf("%s.api_keys[%d]", p, j)
			if len(k) < 6 {
				add(kp, "an API key must have at least 6 characters")
			}
			if other, dup := seenKey[k]; dup {
				add(kp, "the same key is already used by tenant %q", other)
			}
			seenKey[k] = t.ID
		}
	}
	errs = append(errs, validateFeatures(c)...)
	return errors.Join(errs...)
}

// Tenant returns the tenant with that id.
func (c *Config) Tenant(id string) (Tenant, bool) {
	for _, t := range c.Tenants {
		if t.ID == id {
			return t, true
		}
	}
	return Tenant{}, false
}

// TenantIDs lists the configured tenants.
func (c *Config) TenantIDs() []string {
	out := make([]string, len(c.Tenants))
	for i, t := range c.Tenants {
		out[i] = t.ID
	}
	return out
}
