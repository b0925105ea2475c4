package main

import (
	"errors"
	"fmt"
	"sort"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/config"
	"github.com/aquascene/aquahub/internal/content"
	"github.com/aquascene/aquahub/internal/httpapi"
	"github.com/aquascene/aquahub/internal/identity"
	"github.com/aquascene/aquahub/internal/inbound"
	"github.com/aquascene/aquahub/internal/secrets"
	"github.com/aquascene/aquahub/internal/storage/bolt"
	"github.com/aquascene/aquahub/internal/webhooks"
	"github.com/aquascene/aquahub/plugins"
	"github.com/aquascene/aquahub/rules"
)

// Config is the whole configuration of a hub. Each section is the Config of the module that
// owns it, whose doc comments are the reference; this file only composes them.
type Config struct {
	// Server is the HTTP listener.
	Server httpapi.Config `koanf:"server"`
	// Storage is where state lives.
	Storage bolt.Config `koanf:"storage"`
	// Rules says where rule files are.
	Rules rules.Config `koanf:"rules"`
	// Engine tunes run execution.
	Engine core.EngineConfig `koanf:"engine"`
	// Connectors configures the WASM connector host.
	Connectors plugins.Config `koanf:"connectors"`
	// Tenants are the organisations the configuration file declares, with their
	// credentials; the tenants API adds others at run time and cannot change what the file
	// sets here.
	Tenants []Tenant `koanf:"tenants"`
	// Identity configures credentials: JWT keys, the operator token, the audit log.
	Identity identity.Config `koanf:"identity"`
	// Secrets says where the master key that seals secrets at rest comes from.
	Secrets secrets.Config `koanf:"secrets"`
	// LLM configures content generation.
	LLM content.Config `koanf:"llm"`
	// Webhooks configures outbound webhook delivery.
	Webhooks webhooks.Config `koanf:"webhooks"`
	// Log configures logging.
	Log LogConfig `koanf:"log"`
}

// Tenant is one organisation. Its data is isolated in every key, query and credential. Each
// part of it belongs to the module that uses it.
type Tenant struct {
	// ID names the tenant in keys and URLs: lowercase letters, digits and - (required).
	ID string `koanf:"id"`
	// Credentials (api_keys) and the registry's settings: name, brand, limits, features,
	// suspended.
	identity.TenantConfig `koanf:",squash"`
	// Connectors configures each connector for this tenant: config, secrets, egress grant.
	Connectors map[string]plugins.TenantConfig `koanf:"connectors"`
	// Sources are the inbound webhooks served at POST /hooks/{tenant}/{source}.
	Sources map[string]inbound.SourceConfig `koanf:"sources"`
	// Content holds the tenant's brand voice and content policy.
	Content content.TenantConfig `koanf:"content"`
}

// LogConfig configures logging.
type LogConfig struct {
	// Level is debug, info, warn or error (default info).
	Level string `koanf:"level"`
	// Format is text or json (default text).
	Format string `koanf:"format"`
}

// Validate checks the settings; errors name the field.
func (c LogConfig) Validate() error {
	var errs []error
	switch c.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, core.Invalid("level", "must be debug, info, warn or error (got %q)", c.Level))
	}
	if c.Format != "text" && c.Format != "json" {
		errs = append(errs, core.Invalid("format", "must be text or json (got %q)", c.Format))
	}
	return errors.Join(errs...)
}

// DefaultConfig returns the configuration used when nothing is set: every module's defaults.
func DefaultConfig() Config {
	return Config{
		Server: httpapi.DefaultConfig(), Storage: bolt.DefaultConfig(), Rules: rules.DefaultConfig(),
		Engine: core.DefaultEngineConfig(), Connectors: plugins.DefaultConfig(), LLM: content.DefaultConfig(),
		Webhooks: webhooks.DefaultConfig(), Identity: identity.DefaultConfig(), Secrets: secrets.DefaultConfig(),
		Log: LogConfig{Level: "info", Format: "text"},
	}
}

// clientVariables are read by the CLI's client commands, not by the hub; they may be set in
// the same shell that runs `aquahub serve`.
var clientVariables = []string{"AQUAHUB_URL", "AQUAHUB_API_KEY", "AQUAHUB_OPERATOR_TOKEN"}

// loadConfig reads the file at path (optional), AQUAHUB_* environment variables and the
// overrides (flag values keyed by path) over the defaults.
func loadConfig(path string, overrides map[string]any) (Config, error) {
	cfg := DefaultConfig()
	err := config.Load(path, overrides, &cfg, config.Options{EnvPrefix: "AQUAHUB_", IgnoreEnv: clientVariables})
	return cfg, err
}

// Validate checks what spans sections: tenant ids, keys shared between tenants and source
// names. Each section checks itself.
func (c Config) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, t := range c.Tenants {
		p := fmt.Sprintf("tenants[%d]", i)
		if !identity.ValidTenantID(t.ID) {
			errs = append(errs, core.Invalid(p+".id", "must be lowercase letters, digits and - (got %q)", t.ID))
		}
		if seen[t.ID] {
			errs = append(errs, core.Invalid(p+".id", "duplicate tenant %q", t.ID))
		}
		seen[t.ID] = true
		for _, name := range sortedKeys(t.Sources) {
			if !inbound.ValidSourceName(name) {
				errs = append(errs, core.Invalid(p+".sources."+name, "source name %q must be lowercase letters, digits, - and _", name))
			}
		}
	}
	errs = append(errs, identity.ValidateKeys(c.TenantIDs(), perTenant(c, func(t Tenant) identity.TenantConfig { return t.TenantConfig })))
	return errors.Join(errs...)
}

// TenantIDs lists the configured tenants in order.
func (c Config) TenantIDs() []string {
	out := make([]string, len(c.Tenants))
	for i, t := range c.Tenants {
		out[i] = t.ID
	}
	return out
}

// fileTenants converts the file's tenants for the tenant registry: the identity module's
// part as it is, the connectors' and inbound sources' parts in the registry's form.
func fileTenants(c Config) []identity.FileTenant {
	out := make([]identity.FileTenant, 0, len(c.Tenants))
	for _, t := range c.Tenants {
		f := identity.FileTenant{ID: t.ID, Config: t.TenantConfig}
		for id, tc := range t.Connectors {
			if f.Connectors == nil {
				f.Connectors = map[string]core.ConnectorGrant{}
			}
			f.Connectors[id] = core.ConnectorGrant{Config: tc.Config, Secrets: tc.Secrets, Egress: tc.Egress, SecretOrigins: tc.SecretOrigins}
		}
		for name, sc := range t.Sources {
			if f.Sources == nil {
				f.Sources = map[string]core.SourceSettings{}
			}
			f.Sources[name] = sc.Settings()
		}
		out = append(out, f)
	}
	return out
}

// perTenant maps each tenant id to the part of its settings a module uses.
func perTenant[T any](c Config, part func(Tenant) T) map[string]T {
	out := make(map[string]T, len(c.Tenants))
	for _, t := range c.Tenants {
		out[t.ID] = part(t)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
