package identity

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aquascene/aquahub/core"
)

// Config is the `identity` section: who may call the hub and how they prove it.
type Config struct {
	// OperatorToken is the hub operator's credential (`Authorization: Bearer <token>`),
	// the only one that reaches the tenants API (/api/v1/tenants) and the hub's audit log,
	// and one that reaches no tenant's data. At least 32 characters; use ${VAR}. Default
	// empty: tenants are administered through the configuration file only.
	OperatorToken string `koanf:"operator_token"`
	// JWT verifies JSON Web Tokens as bearer credentials (default: none accepted).
	JWT JWTConfig `koanf:"jwt"`
	// AuditRetention is how long audit entries are kept (default 2160h, 90 days).
	AuditRetention time.Duration `koanf:"audit_retention"`
	// FailedAuthAuditPerMinute caps the audit entries of failed credentials recorded per
	// client address and minute, so a flood of bad credentials cannot fill the disk
	// (default 30; further failures are counted in the next entry).
	FailedAuthAuditPerMinute int `koanf:"failed_auth_audit_per_minute"`
}

// JWTConfig verifies JWTs. Every token must carry exp; sub, tenant and role are read from
// its claims (the seed's tenant_id and user_id are accepted for tenant and sub; a token
// without role is a viewer's; a permissions claim narrows the role, never widens it).
type JWTConfig struct {
	// Keys verify signatures; each pins one algorithm. With several, a token's kid header
	// picks one.
	Keys []JWTKey `koanf:"keys"`
	// Issuer, when set, must equal the token's iss (default empty: not checked).
	Issuer string `koanf:"issuer"`
	// Audience, when set, must be among the token's aud (default empty: not checked).
	Audience string `koanf:"audience"`
	// Leeway absorbs clock skew in exp, nbf and iat (default 30s, at most 5m; 0 allows
	// none).
	Leeway time.Duration `koanf:"leeway"`
}

// JWTKey is one verification key.
type JWTKey struct {
	// ID is the key's kid; required when there are several keys.
	ID string `koanf:"id"`
	// Algorithm is HS256 (default), RS256 or ES256; tokens signed otherwise are refused.
	Algorithm string `koanf:"algorithm"`
	// Secret is the HS256 key, at least 32 bytes; use ${VAR}. SecretFile reads it from a
	// file instead.
	Secret     string `koanf:"secret"`
	SecretFile string `koanf:"secret_file"`
	// PublicKeyFile is a PEM public key (RS256, ES256).
	PublicKeyFile string `koanf:"public_key_file"`
	// JWKSFile is a JSON Web Key Set file (RS256, ES256): the token's kid picks the key.
	JWKSFile string `koanf:"jwks_file"`
	// Tenants, when set, are the only tenants this key may issue tokens for.
	Tenants []string `koanf:"tenants"`
}

// DefaultConfig returns the identity defaults.
func DefaultConfig() Config {
	return Config{AuditRetention: 90 * 24 * time.Hour, JWT: JWTConfig{Leeway: 30 * time.Second}, FailedAuthAuditPerMinute: 30}
}

// withDefaults fills zero settings from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.AuditRetention <= 0 {
		c.AuditRetention = d.AuditRetention
	}
	if c.FailedAuthAuditPerMinute <= 0 {
		c.FailedAuthAuditPerMinute = d.FailedAuthAuditPerMinute
	}
	return c
}

// Validate checks the settings; errors name the field. Key files are read by New.
func (c Config) Validate() error {
	var errs []error
	if c.OperatorToken != "" && len(c.OperatorToken) < 32 {
		errs = append(errs, core.Invalid("operator_token", "must have at least 32 characters"))
	}
	if c.AuditRetention < 0 {
		errs = append(errs, core.Invalid("audit_retention", "may not be negative (got %s)", c.AuditRetention))
	}
	if c.JWT.Leeway < 0 || c.JWT.Leeway > 5*time.Minute {
		errs = append(errs, core.Invalid("jwt.leeway", "must be between 0s and 5m (got %s)", c.JWT.Leeway))
	}
	if c.FailedAuthAuditPerMinute < 0 {
		errs = append(errs, core.Invalid("failed_auth_audit_per_minute", "may not be negative"))
	}
	ids := map[string]bool{}
	for i, k := range c.JWT.Keys {
		p := fmt.Sprintf("jwt.keys[%d]", i)
		if len(c.JWT.Keys) > 1 && k.ID == "" {
			errs = append(errs, core.Invalid(p+".id", "required when there are several keys"))
		}
		if ids[k.ID] && k.ID != "" {
			errs = append(errs, core.Invalid(p+".id", "duplicate key id %q", k.ID))
		}
		ids[k.ID] = true
		errs = append(errs, prefixed(p, k.Validate()))
	}
	return errors.Join(errs...)
}

// Validate checks one key's settings.
func (k JWTKey) Validate() error {
	var errs []error
	alg := k.algorithm()
	sources := 0
	for _, s := range []string{k.Secret, k.SecretFile, k.PublicKeyFile, k.JWKSFile} {
		if s != "" {
			sources++
		}
	}
	switch alg {
	case "HS256":
		if k.PublicKeyFile != "" || k.JWKSFile != "" {
			errs = append(errs, core.Invalid("algorithm", "HS256 verifies with secret or secret_file; public_key_file and jwks_file need RS256 or ES256"))
		}
		if k.Secret == "" && k.SecretFile == "" {
			errs = append(errs, core.Invalid("secret", "required with HS256 (or secret_file)"))
		}
		if k.Secret != "" && len(k.Secret) < 32 {
			errs = append(errs, core.Invalid("secret", "must have at least 32 bytes (got %d)", len(k.Secret)))
		}
	case "RS256", "ES256":
		if k.Secret != "" || k.SecretFile != "" {
			errs = append(errs, core.Invalid("algorithm", "%s verifies with public_key_file or jwks_file, not a shared secret", alg))
		}
		if k.PublicKeyFile == "" && k.JWKSFile == "" {
			errs = append(errs, core.Invalid("public_key_file", "required with %s (or jwks_file)", alg))
		}
	default:
		errs = append(errs, core.Invalid("algorithm", "must be HS256, RS256 or ES256 (got %q)", k.Algorithm))
	}
	if sources > 1 {
		errs = append(errs, core.Invalid("secret", "set one of secret, secret_file, public_key_file and jwks_file"))
	}
	for i, t := range k.Tenants {
		if !ValidTenantID(t) {
			errs = append(errs, core.Invalid(fmt.Sprintf("tenants[%d]", i), "not a tenant id (got %q)", t))
		}
	}
	return errors.Join(errs...)
}

func (k JWTKey) algorithm() string {
	if k.Algorithm == "" {
		return "HS256"
	}
	return strings.ToUpper(k.Algorithm)
}

// TenantConfig is the identity module's part of a tenant in the configuration file
// (tenants[]): its credentials and the registry's settings. Every section set here is
// pinned: the tenants API cannot change it.
type TenantConfig struct {
	// APIKeys authenticate callers as this tenant with `Authorization: Bearer <key>` (or
	// `X-API-Key`). Each names its role: `{key: "${KEY}", role: editor}`; a bare string
	// takes api_key_role.
	APIKeys []ConfigKey `koanf:"api_keys"`
	// APIKeyRole is the role of keys listed without one (viewer, editor, content_manager or
	// admin; default empty: each key must name its role).
	APIKeyRole string `koanf:"api_key_role"`
	// Name is the organisation's display name (default: the id).
	Name string `koanf:"name"`
	// Suspended stops the tenant's credentials, ingestion and schedules.
	Suspended bool `koanf:"suspended"`
	// Brand are the brand guidelines the content engine writes into every prompt.
	Brand BrandConfig `koanf:"brand"`
	// Limits are the tenant's quotas (default none of its own).
	Limits LimitsConfig `koanf:"limits"`
	// Features are named flags (tenant.features in rules).
	Features map[string]bool `koanf:"features"`
}

// ConfigKey is one API key of the configuration file.
type ConfigKey struct {
	// Key is the secret the caller sends; at least 6 characters (long random ones are
	// better: `aquahub keys` creates stored keys of 256 bits). Use ${VAR}.
	Key string `koanf:"key"`
	// Role is viewer, editor, content_manager or admin.
	Role string `koanf:"role"`
}

// UnmarshalText reads the bare-string form of api_keys entries: the key, role from
// api_key_role.
func (k *ConfigKey) UnmarshalText(b []byte) error {
	k.Key = string(b)
	return nil
}

// BrandConfig are a tenant's brand guidelines (tenants[].brand).
type BrandConfig struct {
	// Voice is the tone and style, e.g. "Expert yet approachable, passionate about nature".
	Voice string `koanf:"voice"`
	// TargetAudience says who reads the content.
	TargetAudience string `koanf:"target_audience"`
	// KeyMessages are points the content should carry.
	KeyMessages []string `koanf:"key_messages"`
}

// LimitsConfig are a tenant's quotas (tenants[].limits); zero is no limit of its own.
type LimitsConfig struct {
	// DailyRequests caps authenticated API requests per UTC day.
	DailyRequests int `koanf:"daily_requests"`
	// IngestRate caps events per second from outside the hub, IngestBurst at once.
	IngestRate  float64 `koanf:"ingest_rate"`
	IngestBurst int     `koanf:"ingest_burst"`
	// LLMDailyTokens and LLMDailyUSD cap what content generation uses per UTC day.
	LLMDailyTokens int     `koanf:"llm_daily_tokens"`
	LLMDailyUSD    float64 `koanf:"llm_daily_usd"`
	// MaxQueuedRuns replaces engine.max_queued_per_tenant for this tenant.
	MaxQueuedRuns int `koanf:"max_queued_runs"`
}

// Validate checks the settings; errors name the field.
func (c TenantConfig) Validate() error {
	var errs []error
	if c.APIKeyRole != "" && !core.ValidRole(c.APIKeyRole) {
		errs = append(errs, core.Invalid("api_key_role", "must be viewer, editor, content_manager or admin (got %q)", c.APIKeyRole))
	}
	for i, k := range c.APIKeys {
		p := fmt.Sprintf("api_keys[%d]", i)
		if len(k.Key) < 6 {
			errs = append(errs, core.Invalid(p, "an API key must have at least 6 characters"))
		}
		switch {
		case k.Role == "" && c.APIKeyRole == "":
			errs = append(errs, core.Invalid(p, "no role: write {key: …, role: admin|content_manager|editor|viewer}, or set api_key_role for bare keys"))
		case k.Role != "" && !core.ValidRole(k.Role):
			errs = append(errs, core.Invalid(p+".role", "must be viewer, editor, content_manager or admin (got %q)", k.Role))
		}
	}
	errs = append(errs, validateTenantSettings(c.tenantSettings())...)
	return errors.Join(errs...)
}

// tenantSettings converts the registry's part to the domain's.
func (c TenantConfig) tenantSettings() core.Tenant {
	return core.Tenant{
		Name: c.Name, Suspended: c.Suspended,
		Brand: core.BrandGuidelines{Voice: c.Brand.Voice, TargetAudience: c.Brand.TargetAudience, KeyMessages: c.Brand.KeyMessages},
		Limits: core.TenantLimits{
			DailyRequests: c.Limits.DailyRequests, IngestRate: c.Limits.IngestRate, IngestBurst: c.Limits.IngestBurst,
			LLMDailyTokens: c.Limits.LLMDailyTokens, LLMDailyUSD: c.Limits.LLMDailyUSD, MaxQueuedRuns: c.Limits.MaxQueuedRuns,
		},
		Features: c.Features,
	}
}

// validateTenantSettings checks what a tenant may hold, from the file or the API.
func validateTenantSettings(t core.Tenant) []error {
	var errs []error
	if len(t.Name) > 200 {
		errs = append(errs, core.Invalid("name", "longer than 200 characters"))
	}
	if len(t.Brand.Voice) > 2000 {
		errs = append(errs, core.Invalid("brand.voice", "longer than 2000 characters"))
	}
	if len(t.Brand.TargetAudience) > 1000 {
		errs = append(errs, core.Invalid("brand.target_audience", "longer than 1000 characters"))
	}
	if len(t.Brand.KeyMessages) > 20 {
		errs = append(errs, core.Invalid("brand.key_messages", "at most 20 messages (got %d)", len(t.Brand.KeyMessages)))
	}
	for i, m := range t.Brand.KeyMessages {
		if strings.TrimSpace(m) == "" || len(m) > 500 {
			errs = append(errs, core.Invalid(fmt.Sprintf("brand.key_messages[%d]", i), "must be 1 to 500 characters"))
		}
	}
	l := t.Limits
	for _, f := range []struct {
		name string
		neg  bool
	}{
		{"daily_requests", l.DailyRequests < 0}, {"ingest_rate", l.IngestRate < 0}, {"ingest_burst", l.IngestBurst < 0},
		{"llm_daily_tokens", l.LLMDailyTokens < 0}, {"llm_daily_usd", l.LLMDailyUSD < 0}, {"max_queued_runs", l.MaxQueuedRuns < 0},
	} {
		if f.neg {
			errs = append(errs, core.Invalid("limits."+f.name, "may not be negative"))
		}
	}
	if l.IngestBurst > 0 && l.IngestRate == 0 {
		errs = append(errs, core.Invalid("limits.ingest_burst", "needs ingest_rate"))
	}
	for name := range t.Features {
		if !featureName(name) {
			errs = append(errs, core.Invalid("features."+name, "a flag name is lowercase letters, digits, - and _"))
		}
	}
	return errs
}

func featureName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// ValidTenantID reports whether id may name a tenant: lowercase letters, digits and -, 1 to
// 63 characters, starting with a letter or digit.
func ValidTenantID(id string) bool {
	if id == "" || len(id) > 63 || id[0] == '-' {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// ValidateKeys checks what spans tenants: no key shared by two tenants. ids are the tenants
// in configuration order; paths name tenants[i].
func ValidateKeys(ids []string, tenants map[string]TenantConfig) error {
	var errs []error
	seen := map[string]string{}
	for i, id := range ids {
		for j, k := range tenants[id].APIKeys {
			if other, dup := seen[k.Key]; dup && k.Key != "" {
				errs = append(errs, core.Invalid(fmt.Sprintf("tenants[%d].api_keys[%d]", i, j), "the same key is already used by tenant %q", other))
			}
			seen[k.Key] = id
		}
	}
	return errors.Join(errs...)
}

// prefixed puts path in front of each field error of err.
func prefixed(path string, err error) error {
	if err == nil {
		return nil
	}
	var out []error
	for _, e := range unjoin(err) {
		var fe *core.FieldError
		if errors.As(e, &fe) {
			out = append(out, &core.FieldError{Path: path + "." + fe.Path, Reason: fe.Reason})
			continue
		}
		out = append(out, fmt.Errorf("%s: %w", path, e))
	}
	return errors.Join(out...)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// readSecretFile reads a key file, trimming the final newline.
func readSecretFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return []byte(strings.TrimRight(string(b), "\r\n")), nil
}
