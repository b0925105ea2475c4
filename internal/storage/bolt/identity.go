package bolt

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/identity"
	bbolt "go.etcd.io/bbolt"
)

// The identity module's buckets.
var (
	bucketIdentityKeys        = []byte("identity.keys")         // key id → keyRecord
	bucketIdentityTenants     = []byte("identity.tenants")      // tenant → tenantRecord (secrets sealed)
	bucketIdentityAudit       = []byte("identity.audit")        // be64(seq) → auditRecord
	bucketIdentityAuditTenant = []byte("identity.audit.tenant") // tenant\0be64(seq) → empty
	bucketIdentityCounters    = []byte("identity.counters")     // day\0tenant → be64(requests)
)

// Identity is the identity module's store (identity.Store) on the hub's file.
type Identity struct {
	db  handle
	box core.SecretBox
}

// Identity returns the identity module's store. Tenants' connector secrets and source keys
// are sealed with the DB's SecretBox.
func (d *DB) Identity() *Identity { return &Identity{db: d.db, box: d.box} }

type keyRecord struct {
	ID        string    `json:"id"`
	Tenant    string    `json:"tenant"`
	Name      string    `json:"name,omitempty"`
	Role      string    `json:"role"`
	Hash      []byte    `json:"sha256"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

func toKeyRecord(k identity.Key) keyRecord {
	return keyRecord{ID: k.ID, Tenant: k.Tenant, Name: k.Name, Role: k.Role, Hash: k.Hash, CreatedBy: k.CreatedBy,
		CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt}
}

func (r keyRecord) key() identity.Key {
	return identity.Key{ID: r.ID, Tenant: r.Tenant, Name: r.Name, Role: r.Role, Hash: r.Hash, CreatedBy: r.CreatedBy,
		CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, RevokedAt: r.RevokedAt}
}

// PutKey implements identity.Store.
func (s *Identity) PutKey(ctx context.Context, k identity.Key) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Batch(func(tx *bbolt.Tx) error {
		return putRecord(tx.Bucket(bucketIdentityKeys), []byte(k.ID), toKeyRecord(k))
	})
}

// Key implements identity.Store.
func (s *Identity) Key(ctx context.Context, id string) (identity.Key, error) {
	if err := ctx.Err(); err != nil {
		return identity.Key{}, err
	}
	var r keyRecord
	var ok bool
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		ok, err = getRecord(tx.Bucket(bucketIdentityKeys), []byte(id), &r)
		return err
	})
	if err != nil {
		return identity.Key{}, err
	}
	if !ok {
		return identity.Key{}, fmt.Errorf("API key %q: %w", id, core.ErrNotFound)
	}
	return r.key(), nil
}

// Keys implements identity.Store.
func (s *Identity) Keys(ctx context.Context, tenant string) ([]identity.Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []identity.Key
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketIdentityKeys).ForEach(func(k, v []byte) error {
			var r keyRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decoding API key %q: %w", k, err)
			}
			if r.Tenant == tenant {
				out = append(out, r.key())
			}
			return nil
		})
	})
	// Oldest first.
	slices.SortStableFunc(out, func(a, b identity.Key) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, err
}

// tenantRecord is a tenant with its secrets sealed with its own data key.
type tenantRecord struct {
	ID         string                     `json:"id"`
	Name       string                     `json:"name,omitempty"`
	Suspended  bool                       `json:"suspended,omitempty"`
	Brand      tenantBrandRecord          `json:"brand,omitzero"`
	Limits     tenantLimitsRecord         `json:"limits,omitzero"`
	Features   map[string]bool            `json:"features,omitempty"`
	Connectors map[string]connectorRecord `json:"connectors,omitempty"`
	Sources    map[string]sourceRecord    `json:"sources,omitempty"`
	Revision   uint64                     `json:"revision"`
	CreatedAt  time.Time                  `json:"created_at"`
	UpdatedAt  time.Time                  `json:"updated_at"`
	DeletedAt  time.Time                  `json:"deleted_at,omitzero"`
}

type tenantBrandRecord struct {
	Voice          string   `json:"voice,omitempty"`
	TargetAudience string   `json:"target_audience,omitempty"`
	KeyMessages    []string `json:"key_messages,omitempty"`
}

type tenantLimitsRecord struct {
	DailyRequests  int     `json:"daily_requests,omitempty"`
	IngestRate     float64 `json:"ingest_rate,omitempty"`
	IngestBurst    int     `json:"ingest_burst,omitempty"`
	LLMDailyTokens int     `json:"llm_daily_tokens,omitempty"`
	LLMDailyUSD    float64 `json:"llm_daily_usd,omitempty"`
	MaxQueuedRuns  int     `json:"max_queued_runs,omitempty"`
}

type connectorRecord struct {
	Config  map[string]any    `json:"config,omitempty"`
	Secrets map[string][]byte `json:"sealed_secrets,omitempty"`
	Egress  []string          `json:"egress,omitempty"`
	// SecretOrigins binds secrets to origins by name.
	SecretOrigins map[string][]string `json:"secret_origins,omitempty"`
}

type sourceRecord struct {
	Settings map[string]string `json:"settings,omitempty"`
	Secrets  map[string][]byte `json:"sealed_secrets,omitempty"`
}

func sealAll(box core.SecretBox, tx *bbolt.Tx, tenant string, m map[string]string) (map[string][]byte, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		sealed, err := seal(box, tx, tenant, v)
		if err != nil {
			return nil, fmt.Errorf("sealing secret %q: %w", k, err)
		}
		out[k] = sealed
	}
	return out, nil
}

func unsealAll(box core.SecretBox, tx *bbolt.Tx, tenant string, m map[string][]byte) (map[string]string, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		plain, err := unseal(box, tx, tenant, v)
		if err != nil {
			return nil, fmt.Errorf("secret %q: %w", k, err)
		}
		out[k] = plain
	}
	return out, nil
}

func toTenantRecord(box core.SecretBox, tx *bbolt.Tx, t identity.TenantRecord) (tenantRecord, error) {
	r := tenantRecord{
		ID: t.ID, Name: t.Name, Suspended: t.Suspended,
		Brand: tenantBrandRecord{Voice: t.Brand.Voice, TargetAudience: t.Brand.TargetAudience, KeyMessages: t.Brand.KeyMessages},
		Limits: tenantLimitsRecord{DailyRequests: t.Limits.DailyRequests, IngestRate: t.Limits.IngestRate, IngestBurst: t.Limits.IngestBurst,
			LLMDailyTokens: t.Limits.LLMDailyTokens, LLMDailyUSD: t.Limits.LLMDailyUSD, MaxQueuedRuns: t.Limits.MaxQueuedRuns},
		Features: t.Features, Revision: t.Revision, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, DeletedAt: t.DeletedAt,
	}
	for id, g := range t.Connectors {
		sealed, err := sealAll(box, tx, t.ID, g.Secrets)
		if err != nil {
			return r, fmt.Errorf("connector %q: %w", id, err)
		}
		if r.Connectors == nil {
			r.Connectors = map[string]connectorRecord{}
		}
		r.Connectors[id] = connectorRecord{Config: g.Config, Secrets: sealed, Egress: g.Egress, SecretOrigins: g.SecretOrigins}
	}
	for name, src := range t.Sources {
		sealed, err := sealAll(box, tx, t.ID, src.Secrets)
		if err != nil {
			return r, fmt.Errorf("source %q: %w", name, err)
		}
		if r.Sources == nil {
			r.Sources = map[string]sourceRecord{}
		}
		r.Sources[name] = sourceRecord{Settings: src.Settings, Secrets: sealed}
	}
	return r, nil
}

func (r tenantRecord) tenant(box core.SecretBox, tx *bbolt.Tx) (identity.TenantRecord, error) {
	t := identity.TenantRecord{Tenant: core.Tenant{
		ID: r.ID, Name: r.Name, Suspended: r.Suspended,
		Brand: core.BrandGuidelines{Voice: r.Brand.Voice, TargetAudience: r.Brand.TargetAudience, KeyMessages: r.Brand.KeyMessages},
		Limits: core.TenantLimits{DailyRequests: r.Limits.DailyRequests, IngestRate: r.Limits.IngestRate, IngestBurst: r.Limits.IngestBurst,
			LLMDailyTokens: r.Limits.LLMDailyTokens, LLMDailyUSD: r.Limits.LLMDailyUSD, MaxQueuedRuns: r.Limits.MaxQueuedRuns},
		Features: r.Features, Revision: r.Revision, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}, DeletedAt: r.DeletedAt}
	for id, c := range r.Connectors {
		secrets, err := unsealAll(box, tx, r.ID, c.Secrets)
		if err != nil {
			return t, fmt.Errorf("tenant %q connector %q: %w", r.ID, id, err)
		}
		if t.Connectors == nil {
			t.Connectors = map[string]core.ConnectorGrant{}
		}
		t.Connectors[id] = core.ConnectorGrant{Config: c.Config, Secrets: secrets, Egress: c.Egress, SecretOrigins: c.SecretOrigins}
	}
	for name, s := range r.Sources {
		secrets, err := unsealAll(box, tx, r.ID, s.Secrets)
		if err != nil {
			return t, fmt.Errorf("tenant %q source %q: %w", r.ID, name, err)
		}
		if t.Sources == nil {
			t.Sources = map[string]core.SourceSettings{}
		}
		t.Sources[name] = core.SourceSettings{Settings: s.Settings, Secrets: secrets}
	}
	return t, nil
}

// PutTenant implements identity.Store.
func (s *Identity) PutTenant(ctx context.Context, t identity.TenantRecord) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bbolt.Tx) error {
		r, err := toTenantRecord(s.box, tx, t)
		if err != nil {
			return fmt.Errorf("tenant %q: %w", t.ID, err)
		}
		return putRecord(tx.Bucket(bucketIdentityTenants), []byte(t.ID), r)
	})
}

// Tenants implements identity.Store.
func (s *Identity) Tenants(ctx context.Context) ([]identity.TenantRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []identity.TenantRecord
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketIdentityTenants).ForEach(func(k, v []byte) error {
			var r tenantRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decoding tenant %q: %w", k, err)
			}
			t, err := r.tenant(s.box, tx)
			if err != nil {
				return err
			}
			out = append(out, t)
			return nil
		})
	})
	return out, err
}

type auditRecord struct {
	Tenant     string    `json:"tenant,omitempty"`
	Time       time.Time `json:"time"`
	Actor      string    `json:"actor"`
	Action     string    `json:"action"`
	Target     string    `json:"target,omitempty"`
	Outcome    string    `json:"outcome"`
	Detail     string    `json:"detail,omitempty"`
	RemoteAddr string    `json:"remote_addr,omitempty"`
}

const auditIDPrefix = "aud_"

func auditID(seq []byte) string { return auditIDPrefix + hex.EncodeToString(seq) }

func parseAuditID(id string) ([]byte, bool) {
	b, err := hex.DecodeString(strings.TrimPrefix(id, auditIDPrefix))
	return b, err == nil && len(b) == 8 && strings.HasPrefix(id, auditIDPrefix)
}

func (r auditRecord) entry(seq []byte) core.AuditEntry {
	return core.AuditEntry{ID: auditID(seq), Tenant: r.Tenant, Time: r.Time, Actor: r.Actor, Action: r.Action, Target: r.Target,
		Outcome: r.Outcome, Detail: r.Detail, RemoteAddr: r.RemoteAddr}
}

// AppendAudit implements identity.Store; concurrent calls share commits.
func (s *Identity) AppendAudit(ctx context.Context, e core.AuditEntry) (core.AuditEntry, error) {
	if err := ctx.Err(); err != nil {
		return e, err
	}
	err := s.db.Batch(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketIdentityAudit)
		n, err := b.NextSequence()
		if err != nil {
			return err
		}
		seq := be64(n)
		e.ID = auditID(seq)
		r := auditRecord{Tenant: e.Tenant, Time: e.Time, Actor: e.Actor, Action: e.Action, Target: e.Target, Outcome: e.Outcome,
			Detail: e.Detail, RemoteAddr: e.RemoteAddr}
		if err := putRecord(b, seq, r); err != nil {
			return err
		}
		return tx.Bucket(bucketIdentityAuditTenant).Put(append(append([]byte(e.Tenant), 0), seq...), nil)
	})
	return e, err
}

// Audit implements identity.Store.
func (s *Identity) Audit(ctx context.Context, f identity.AuditFilter) ([]core.AuditEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var before []byte
	if f.Before != "" {
		seq, ok := parseAuditID(f.Before)
		if !ok {
			return nil, core.Invalid("before", "not an audit entry id (got %q)", f.Before)
		}
		before = seq
	}
	var out []core.AuditEntry
	err := s.db.View(func(tx *bbolt.Tx) error {
		entries := tx.Bucket(bucketIdentityAudit)
		read := func(seq []byte) error {
			var r auditRecord
			ok, err := getRecord(entries, seq, &r)
			if err != nil || !ok {
				return err
			}
			out = append(out, r.entry(seq))
			return nil
		}
		if f.AllTenants {
			c := entries.Cursor()
			var k []byte
			if before != nil {
				k, _ = lastBefore(c, before)
			} else {
				k, _ = c.Last()
			}
			for ; k != nil && len(out) < limit; k, _ = c.Prev() {
				if err := read(bytes.Clone(k)); err != nil {
					return err
				}
			}
			return nil
		}
		p := append([]byte(f.Tenant), 0)
		start := append(bytes.Clone(p), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
		if before != nil {
			start = append(bytes.Clone(p), before...)
		}
		c := tx.Bucket(bucketIdentityAuditTenant).Cursor()
		for k, _ := lastBefore(c, start); k != nil && bytes.HasPrefix(k, p) && len(out) < limit; k, _ = c.Prev() {
			if len(k) != len(p)+8 {
				continue
			}
			if err := read(bytes.Clone(k[len(p):])); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// PruneAudit implements identity.Store: the oldest entries first.
func (s *Identity) PruneAudit(ctx context.Context, before time.Time, limit int) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n := 0
	err := s.db.Update(func(tx *bbolt.Tx) error {
		n = 0
		entries, index := tx.Bucket(bucketIdentityAudit), tx.Bucket(bucketIdentityAuditTenant)
		c := entries.Cursor()
		for k, v := c.First(); k != nil && n < limit; k, v = c.Next() {
			var r auditRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decoding audit entry %x: %w", k, err)
			}
			if !r.Time.Before(before) {
				break
			}
			if err := index.Delete(append(append([]byte(r.Tenant), 0), k...)); err != nil {
				return err
			}
			if err := c.Delete(); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// RequestCounts implements identity.Store.
func (s *Identity) RequestCounts(ctx context.Context, day string) (map[string]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := map[string]int{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		return scan(tx.Bucket(bucketIdentityCounters), prefix(day), func(k, v []byte) (bool, error) {
			if n, ok := readBE64(v); ok {
				out[string(k[len(day)+1:])] = int(n)
			}
			return true, nil
		})
	})
	return out, err
}

// AddRequests implements identity.Store.
func (s *Identity) AddRequests(ctx context.Context, day string, counts map[string]int, keepFrom string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketIdentityCounters)
		for tenant, n := range counts {
			k := key(day, tenant)
			cur, _ := readBE64(b.Get(k))
			if err := b.Put(k, be64(cur+uint64(n))); err != nil {
				return err
			}
		}
		c := b.Cursor()
		for k, _ := c.First(); k != nil && string(k[:max(0, bytes.IndexByte(k, 0))]) < keepFrom; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}

var _ identity.Store = (*Identity)(nil)
