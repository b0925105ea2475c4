package identity

import (
	"context"
	"time"

	"github.com/aquascene/aquahub/core"
)

// Store is what the identity module keeps: API keys (hashed), the tenants created or changed
// through the API (their secrets sealed by the store), the audit log and each tenant's daily
// request count. The storage package implements it; storetest is its contract. Every method
// is safe for concurrent use; errors for a missing record wrap core.ErrNotFound.
type Store interface {
	// PutKey creates or replaces an API key.
	PutKey(ctx context.Context, k Key) error
	// Key returns the key with that id, of any tenant.
	Key(ctx context.Context, id string) (Key, error)
	// Keys returns a tenant's keys, revoked ones included, oldest first.
	Keys(ctx context.Context, tenant string) ([]Key, error)

	// PutTenant creates or replaces a tenant's record.
	PutTenant(ctx context.Context, t TenantRecord) error
	// Tenants returns every tenant record, deleted ones included, ordered by id.
	Tenants(ctx context.Context) ([]TenantRecord, error)

	// AppendAudit stores an entry and returns it with its ID.
	AppendAudit(ctx context.Context, e core.AuditEntry) (core.AuditEntry, error)
	// Audit returns entries newest first: f.Tenant's ("" is the hub's own), or every
	// tenant's with f.AllTenants.
	Audit(ctx context.Context, f AuditFilter) ([]core.AuditEntry, error)
	// PruneAudit deletes up to limit entries older than before and returns how many.
	PruneAudit(ctx context.Context, before time.Time, limit int) (int, error)

	// RequestCounts returns each tenant's API request count on day (YYYY-MM-DD, UTC).
	RequestCounts(ctx context.Context, day string) (map[string]int, error)
	// AddRequests adds counts to the tenants' counts on day, and forgets days before
	// keepFrom.
	AddRequests(ctx context.Context, day string, counts map[string]int, keepFrom string) error
}

// Key is a stored API key. Only its SHA-256 digest is kept; the key itself is shown once.
type Key struct {
	// ID is the key's public part, visible in the key after "aqh_live_".
	ID     string
	Tenant string
	// Name says what the key is for.
	Name string
	Role string
	// Hash is the SHA-256 digest of the whole key.
	Hash []byte
	// CreatedBy is the subject that created it.
	CreatedBy string
	CreatedAt time.Time
	// ExpiresAt ends the key; zero never.
	ExpiresAt time.Time
	// RevokedAt, once set, ends the key at once.
	RevokedAt time.Time
}

// Prefix is the visible start of the key, by which listings and logs name it.
func (k Key) Prefix() string { return KeyPrefix + k.ID }

// Active reports whether the key may authenticate at now.
func (k Key) Active(now time.Time) bool {
	return k.RevokedAt.IsZero() && (k.ExpiresAt.IsZero() || now.Before(k.ExpiresAt))
}

// TenantRecord is a tenant as the API last wrote it; the registry lays the configuration
// file's pinned sections over it.
type TenantRecord struct {
	core.Tenant
	// DeletedAt marks a deleted tenant: its id is never given again, so that a new tenant
	// cannot inherit a deleted one's data.
	DeletedAt time.Time
}

// AuditFilter selects audit entries.
type AuditFilter struct {
	Tenant     string
	AllTenants bool
	// Before continues a listing before this entry id.
	Before string
	// Limit caps the answer (the API: default 100, at most 1000).
	Limit int
}
