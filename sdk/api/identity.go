package api

import "time"

// APIKey is a stored API key as listings show it: never the key itself, which the answer
// to creating it shows once.
type APIKey struct {
	// ID is the key's public part; the key starts with Prefix.
	ID     string `json:"id"`
	Prefix string `json:"prefix"`
	Name   string `json:"name,omitempty"`
	Role   string `json:"role" jsonschema:"enum=viewer,enum=editor,enum=content_manager,enum=admin"`
	// CreatedBy is the credential that created it.
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	Status    string    `json:"status" jsonschema:"enum=active,enum=expired,enum=revoked"`
}

// APIKeyInput creates an API key (POST /api/v1/keys).
type APIKeyInput struct {
	// Name says what the key is for.
	Name string `json:"name,omitempty"`
	// Role is viewer, editor, content_manager or admin.
	Role string `json:"role" jsonschema:"enum=viewer,enum=editor,enum=content_manager,enum=admin"`
	// TTL ends the key after a Go duration ("720h"); ExpiresAt at a time. Neither: the key
	// lasts until revoked.
	TTL       string    `json:"ttl,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// APIKeyCreated is the answer to creating a key: the only answer that shows it.
type APIKeyCreated struct {
	APIKey
	// Key is the credential: send it as `Authorization: Bearer <key>`. It is stored only as
	// a digest and cannot be shown again.
	Key string `json:"key"`
}

// APIKeyList is a tenant's keys, newest first.
type APIKeyList struct {
	Keys []APIKey `json:"keys"`
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID     string    `json:"id"`
	Tenant string    `json:"tenant,omitempty"`
	Time   time.Time `json:"time"`
	// Actor is who acted (a key's prefix, a JWT's subject, "operator") or what a failed
	// credential claimed to be.
	Actor string `json:"actor"`
	// Action is what happened: "POST /api/v1/keys", "auth.failed", "auth.forbidden".
	Action     string `json:"action"`
	Target     string `json:"target,omitempty"`
	Outcome    string `json:"outcome" jsonschema:"enum=ok,enum=denied,enum=failed"`
	Detail     string `json:"detail,omitempty"`
	RemoteAddr string `json:"remote_addr,omitempty"`
}

// AuditList is audit entries, newest first; Next continues the listing (?before=).
type AuditList struct {
	Entries []AuditEntry `json:"entries"`
	Next    string       `json:"next,omitempty"`
}

// TenantBrand are a tenant's brand guidelines (the seed's brand_guidelines): the content
// engine writes them into every prompt for the tenant.
type TenantBrand struct {
	Voice          string   `json:"voice,omitempty"`
	TargetAudience string   `json:"target_audience,omitempty"`
	KeyMessages    []string `json:"key_messages,omitempty"`
}

// TenantLimits are a tenant's quotas; absent or 0 is no limit of its own.
type TenantLimits struct {
	// DailyRequests caps authenticated API requests per UTC day.
	DailyRequests int `json:"daily_requests,omitempty"`
	// IngestRate caps events per second from outside the hub, IngestBurst at once.
	IngestRate  float64 `json:"ingest_rate,omitempty"`
	IngestBurst int     `json:"ingest_burst,omitempty"`
	// LLMDailyTokens and LLMDailyUSD cap what generations use per UTC day.
	LLMDailyTokens int     `json:"llm_daily_tokens,omitempty"`
	LLMDailyUSD    float64 `json:"llm_daily_usd,omitempty"`
	// MaxQueuedRuns replaces the hub's engine.max_queued_per_tenant.
	MaxQueuedRuns int `json:"max_queued_runs,omitempty"`
}

// TenantConnector is a tenant's settings for one connector as answers show them: the names
// of its secrets, never their values.
type TenantConnector struct {
	Config  map[string]any `json:"config,omitempty"`
	Secrets []string       `json:"secrets,omitempty"`
	Egress  []string       `json:"egress,omitempty"`
	// SecretOrigins binds secrets by name to the origins of Egress they may be sent to.
	SecretOrigins map[string][]string `json:"secret_origins,omitempty"`
}

// TenantConnectorInput sets a tenant's settings for one connector. Config and Egress
// replace the current ones; Secrets are set by name, a name given "" is removed, and
// secrets not named are kept.
type TenantConnectorInput struct {
	Config  map[string]any    `json:"config,omitempty"`
	Secrets map[string]string `json:"secrets,omitempty"`
	// Egress are origins (scheme://host[:port]) the connector may call for this tenant.
	Egress []string `json:"egress,omitempty"`
	// SecretOrigins binds secrets by name to origins of Egress (default: a secret may go to
	// every origin of Egress). Replaces the current bindings.
	SecretOrigins map[string][]string `json:"secret_origins,omitempty"`
}

// TenantSource is an inbound webhook source (POST /hooks/{tenant}/{name}) as answers show
// it: its settings and the names of its secret settings.
type TenantSource struct {
	Settings map[string]string `json:"settings"`
	Secrets  []string          `json:"secrets,omitempty"`
}

// TenantSourceInput sets an inbound source: Settings are the source's configuration keys
// (verifier, header, prefix, type, …) and replace the current ones; Secrets (secret, token)
// are set by name, "" removes one, and those not named are kept.
type TenantSourceInput struct {
	Settings map[string]string `json:"settings"`
	Secrets  map[string]string `json:"secrets,omitempty"`
}

// Tenant is an organisation using the hub.
type Tenant struct {
	ID         string                     `json:"id"`
	Name       string                     `json:"name"`
	Suspended  bool                       `json:"suspended"`
	Brand      TenantBrand                `json:"brand"`
	Limits     TenantLimits               `json:"limits"`
	Features   map[string]bool            `json:"features,omitempty"`
	Connectors map[string]TenantConnector `json:"connectors,omitempty"`
	Sources    map[string]TenantSource    `json:"sources,omitempty"`
	// Pinned lists the sections the configuration file sets; the API cannot change them.
	Pinned    []string  `json:"pinned,omitempty"`
	Revision  uint64    `json:"revision"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// TenantInput creates a tenant (POST /api/v1/tenants).
type TenantInput struct {
	// ID names the tenant in keys and URLs: lowercase letters, digits and -.
	ID         string                          `json:"id"`
	Name       string                          `json:"name,omitempty"`
	Suspended  bool                            `json:"suspended,omitempty"`
	Brand      *TenantBrand                    `json:"brand,omitempty"`
	Limits     *TenantLimits                   `json:"limits,omitempty"`
	Features   map[string]bool                 `json:"features,omitempty"`
	Connectors map[string]TenantConnectorInput `json:"connectors,omitempty"`
	Sources    map[string]TenantSourceInput    `json:"sources,omitempty"`
}

// TenantPatch changes a tenant (PATCH /api/v1/tenants/{id}): each section present replaces
// the tenant's; connectors and sources are set by id, and those listed in
// remove_connectors and remove_sources are removed.
type TenantPatch struct {
	Name             *string                         `json:"name,omitempty"`
	Brand            *TenantBrand                    `json:"brand,omitempty"`
	Limits           *TenantLimits                   `json:"limits,omitempty"`
	Features         map[string]bool                 `json:"features,omitempty"`
	Connectors       map[string]TenantConnectorInput `json:"connectors,omitempty"`
	Sources          map[string]TenantSourceInput    `json:"sources,omitempty"`
	RemoveConnectors []string                        `json:"remove_connectors,omitempty"`
	RemoveSources    []string                        `json:"remove_sources,omitempty"`
}

// TenantList is every tenant, ordered by id.
type TenantList struct {
	Tenants []Tenant `json:"tenants"`
}
