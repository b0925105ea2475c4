package core

import (
	"slices"
	"time"
)

// Tenant is an organisation using the hub as the registry knows it at run time: declared in
// the configuration file, created through the tenants API, or both (the file then pins the
// sections it sets). Values handed out by a TenantDirectory are shared and must not be
// modified.
type Tenant struct {
	ID   string
	Name string
	// Suspended tenants cannot authenticate, ingest or fire schedules; their runs wait.
	Suspended bool
	Brand     BrandGuidelines
	Limits    TenantLimits
	// Features are named flags rules and modules may consult (tenant.features in rules).
	Features map[string]bool
	// Connectors are the tenant's connector settings by connector id: configuration,
	// secrets and egress grant.
	Connectors map[string]ConnectorGrant
	// Sources are the tenant's inbound webhook sources by name, as settings (the inbound
	// module's source configuration keys) with the secret ones among them.
	Sources map[string]SourceSettings
	// Pinned lists the sections the configuration file sets ("name", "brand", "limits",
	// "features", "connectors.<id>", "sources.<name>"); the API cannot change them.
	Pinned []string
	// Revision grows with every change, so that what is built from a tenant (a connector's
	// egress client, a compiled source) is rebuilt when it changes.
	Revision  uint64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// IsPinned reports whether the configuration file sets section.
func (t *Tenant) IsPinned(section string) bool { return slices.Contains(t.Pinned, section) }

// BrandGuidelines are the seed's brand_guidelines: the content engine writes them into every
// prompt for the tenant.
type BrandGuidelines struct {
	Voice          string
	TargetAudience string
	KeyMessages    []string
}

// IsZero reports whether no guideline is set.
func (b BrandGuidelines) IsZero() bool {
	return b.Voice == "" && b.TargetAudience == "" && len(b.KeyMessages) == 0
}

// TenantLimits are a tenant's quotas. Zero means no limit of the tenant's own (the hub's
// default applies where it has one).
type TenantLimits struct {
	// DailyRequests caps authenticated API requests per UTC day (the seed's
	// api_limits.daily_requests).
	DailyRequests int
	// IngestRate caps events stored per second from outside the hub, with IngestBurst
	// events allowed at once (default: IngestRate rounded up).
	IngestRate  float64
	IngestBurst int
	// LLMDailyTokens and LLMDailyUSD cap what generations use per UTC day.
	LLMDailyTokens int
	LLMDailyUSD    float64
	// MaxQueuedRuns replaces engine.max_queued_per_tenant for this tenant.
	MaxQueuedRuns int
}

// ConnectorGrant is a tenant's settings for one connector.
type ConnectorGrant struct {
	// Config is passed to the connector as its configuration.
	Config map[string]any
	// Secrets are injected by name by the host; the connector never sees them.
	Secrets map[string]string
	// Egress are the origins the connector may call for this tenant.
	Egress []string
	// SecretOrigins binds secrets by name to the origins of Egress they may be sent to.
	SecretOrigins map[string][]string
}

// SourceSettings are an inbound source's settings by configuration key (verifier, header,
// type …). Secrets holds the keys whose values are secret (secret, token), apart from the
// rest so that they are stored sealed and never shown.
type SourceSettings struct {
	Settings map[string]string
	Secrets  map[string]string
}

// TenantDirectory is the registry of tenants at run time. Lookups are served from memory.
type TenantDirectory interface {
	// Tenant returns the tenant with that id; ok is false when there is none.
	Tenant(id string) (t *Tenant, ok bool)
	// TenantIDs lists every tenant, suspended ones included, in order.
	TenantIDs() []string
}

// StaticTenants is a TenantDirectory of fixed ids with no settings, for tests and tools.
type StaticTenants []string

// Tenant implements TenantDirectory.
func (s StaticTenants) Tenant(id string) (*Tenant, bool) {
	if !slices.Contains(s, id) {
		return nil, false
	}
	return &Tenant{ID: id}, true
}

// TenantIDs implements TenantDirectory.
func (s StaticTenants) TenantIDs() []string { return slices.Clone(s) }

// Admission decides whether a tenant may put more work into the hub now. Errors are
// *OverloadError (a limit; the caller may retry after its RetryAfter) or match ErrForbidden
// (a suspended tenant).
type Admission interface {
	// AdmitEvents is asked before n events from outside the hub are stored for tenant.
	AdmitEvents(tenant string, n int) error
}

// SecretBox seals secret values for storage with an envelope scheme: a data key per tenant,
// itself stored wrapped by a master key. Stores call it for the secret fields of their
// records; keys is where the tenant's wrapped data key lives, the caller's own transaction,
// so that a data key created on first use commits with the first value it sealed.
type SecretBox interface {
	// Seal encrypts plaintext for tenant.
	Seal(keys DataKeys, tenant string, plaintext []byte) ([]byte, error)
	// Open decrypts what Seal returned for the same tenant. Errors never contain the value.
	Open(keys DataKeys, tenant string, sealed []byte) ([]byte, error)
}

// DataKeys holds each tenant's wrapped data key, inside one store transaction.
type DataKeys interface {
	// DataKey returns tenant's wrapped data key, nil when it has none.
	DataKey(tenant string) ([]byte, error)
	// PutDataKey stores tenant's wrapped data key.
	PutDataKey(tenant string, wrapped []byte) error
}
