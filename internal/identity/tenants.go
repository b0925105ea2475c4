package identity

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/aquascene/aquahub/core"
)

// FileTenant is a tenant as the configuration file declares it: the identity module's part
// and the other modules' parts the wiring converted (connectors, inbound sources).
type FileTenant struct {
	ID         string
	Config     TenantConfig
	Connectors map[string]core.ConnectorGrant
	Sources    map[string]core.SourceSettings
}

// settings is the file tenant as a core.Tenant with the sections it sets pinned.
func (f FileTenant) settings() core.Tenant {
	t := f.Config.tenantSettings()
	t.ID = f.ID
	t.Connectors, t.Sources = f.Connectors, f.Sources
	if t.Name != "" {
		t.Pinned = append(t.Pinned, "name")
	}
	if t.Suspended {
		t.Pinned = append(t.Pinned, "suspended")
	}
	if !t.Brand.IsZero() {
		t.Pinned = append(t.Pinned, "brand")
	}
	if t.Limits != (core.TenantLimits{}) {
		t.Pinned = append(t.Pinned, "limits")
	}
	if len(t.Features) > 0 {
		t.Pinned = append(t.Pinned, "features")
	}
	for _, id := range slices.Sorted(maps.Keys(f.Connectors)) {
		t.Pinned = append(t.Pinned, "connectors."+id)
	}
	for _, name := range slices.Sorted(maps.Keys(f.Sources)) {
		t.Pinned = append(t.Pinned, "sources."+name)
	}
	return t
}

// registry is the tenants at run time: the file's, laid over what the API stored. Reads are
// lock-free from an immutable snapshot; changes are serialised and replace it.
type registry struct {
	mu     sync.Mutex // serialises changes
	file   map[string]core.Tenant
	stored map[string]TenantRecord
	snap   atomic.Pointer[snapshot]
}

type snapshot struct {
	byID map[string]*core.Tenant
	ids  []string
}

func newRegistry(file []FileTenant) *registry {
	r := &registry{file: map[string]core.Tenant{}, stored: map[string]TenantRecord{}}
	for _, f := range file {
		r.file[f.ID] = f.settings()
	}
	r.rebuild()
	return r
}

// load replaces the stored records (at start).
func (r *registry) load(records []TenantRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range records {
		r.stored[rec.ID] = rec
	}
	r.rebuild()
}

// rebuild recomputes the snapshot; mu is held (or the registry is not shared yet).
func (r *registry) rebuild() {
	s := &snapshot{byID: map[string]*core.Tenant{}}
	for id, f := range r.file {
		t := effective(f, r.stored[id], true)
		s.byID[id] = &t
	}
	for id, rec := range r.stored {
		if _, inFile := r.file[id]; inFile || !rec.DeletedAt.IsZero() {
			continue
		}
		t := effective(core.Tenant{}, rec, false)
		s.byID[id] = &t
	}
	s.ids = slices.Sorted(maps.Keys(s.byID))
	r.snap.Store(s)
}

// effective lays the file's pinned sections over the stored record.
func effective(file core.Tenant, rec TenantRecord, inFile bool) core.Tenant {
	t := rec.Tenant
	if !inFile {
		t.Pinned = nil
		if t.Name == "" {
			t.Name = t.ID
		}
		return t
	}
	t.ID, t.Pinned = file.ID, file.Pinned
	if file.IsPinned("name") {
		t.Name = file.Name
	}
	if file.IsPinned("suspended") {
		t.Suspended = true
	}
	if file.IsPinned("brand") {
		t.Brand = file.Brand
	}
	if file.IsPinned("limits") {
		t.Limits = file.Limits
	}
	if file.IsPinned("features") {
		t.Features = file.Features
	}
	t.Connectors = merged(t.Connectors, file.Connectors)
	t.Sources = merged(t.Sources, file.Sources)
	if t.Name == "" {
		t.Name = t.ID
	}
	return t
}

func merged[V any](stored, file map[string]V) map[string]V {
	if len(stored) == 0 && len(file) == 0 {
		return nil
	}
	out := maps.Clone(stored)
	if out == nil {
		out = map[string]V{}
	}
	maps.Copy(out, file)
	return out
}

// Tenant implements core.TenantDirectory.
func (r *registry) Tenant(id string) (*core.Tenant, bool) {
	t, ok := r.snap.Load().byID[id]
	return t, ok
}

// TenantIDs implements core.TenantDirectory.
func (r *registry) TenantIDs() []string { return slices.Clone(r.snap.Load().ids) }

// TenantPatch changes a tenant: each section that is not nil replaces the tenant's. In
// Connectors and Sources a nil entry removes that connector's or source's settings, and
// within an entry a secret given as "" is removed while secrets not named are kept.
type TenantPatch struct {
	Name       *string
	Brand      *core.BrandGuidelines
	Limits     *core.TenantLimits
	Features   *map[string]bool
	Connectors map[string]*core.ConnectorGrant
	Sources    map[string]*core.SourceSettings
}

// sections names the sections the patch changes, as Pinned names them.
func (p TenantPatch) sections() []string {
	var out []string
	if p.Name != nil {
		out = append(out, "name")
	}
	if p.Brand != nil {
		out = append(out, "brand")
	}
	if p.Limits != nil {
		out = append(out, "limits")
	}
	if p.Features != nil {
		out = append(out, "features")
	}
	for _, id := range slices.Sorted(maps.Keys(p.Connectors)) {
		out = append(out, "connectors."+id)
	}
	for _, name := range slices.Sorted(maps.Keys(p.Sources)) {
		out = append(out, "sources."+name)
	}
	return out
}

// apply changes t by p.
func (p TenantPatch) apply(t *core.Tenant) {
	if p.Name != nil {
		t.Name = *p.Name
	}
	if p.Brand != nil {
		t.Brand = *p.Brand
	}
	if p.Limits != nil {
		t.Limits = *p.Limits
	}
	if p.Features != nil {
		t.Features = maps.Clone(*p.Features)
	}
	if len(p.Connectors) > 0 {
		next := maps.Clone(t.Connectors)
		if next == nil {
			next = map[string]core.ConnectorGrant{}
		}
		for id, g := range p.Connectors {
			if g == nil {
				delete(next, id)
				continue
			}
			ng := core.ConnectorGrant{Config: g.Config, Egress: g.Egress, SecretOrigins: g.SecretOrigins, Secrets: mergeSecrets(next[id].Secrets, g.Secrets)}
			next[id] = ng
		}
		t.Connectors = next
	}
	if len(p.Sources) > 0 {
		next := maps.Clone(t.Sources)
		if next == nil {
			next = map[string]core.SourceSettings{}
		}
		for name, s := range p.Sources {
			if s == nil {
				delete(next, name)
				continue
			}
			next[name] = core.SourceSettings{Settings: s.Settings, Secrets: mergeSecrets(next[name].Secrets, s.Secrets)}
		}
		t.Sources = next
	}
}

func mergeSecrets(old, patch map[string]string) map[string]string {
	out := maps.Clone(old)
	if out == nil {
		out = map[string]string{}
	}
	for k, v := range patch {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// errNoStore is returned by a module built without storage (rules checks).
var errNoStore = fmt.Errorf("identity: built without storage: %w", core.ErrClosed)

// validate checks a tenant the API is about to store, with the modules' checks for
// connectors and sources.
func (m *Module) validate(t core.Tenant) error {
	errs := validateTenantSettings(t)
	for _, id := range slices.Sorted(maps.Keys(t.Connectors)) {
		if m.deps.CheckConnector != nil {
			errs = append(errs, prefixed("connectors."+id, m.deps.CheckConnector(id, t.Connectors[id])))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(t.Sources)) {
		if m.deps.CheckSource != nil {
			errs = append(errs, prefixed("sources."+name, m.deps.CheckSource(name, t.Sources[name])))
		}
	}
	return errors.Join(errs...)
}

// CreateTenant creates a tenant through the API. An id the configuration file declares, or
// one a deleted tenant had, is a conflict.
func (m *Module) CreateTenant(ctx context.Context, id string, p TenantPatch, suspended bool) (*core.Tenant, error) {
	if m.store == nil {
		return nil, errNoStore
	}
	if !ValidTenantID(id) {
		return nil, core.Invalid("id", "must be lowercase letters, digits and -, at most 63 (got %q)", id)
	}
	r := m.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.file[id]; ok {
		return nil, fmt.Errorf("tenant %q is declared in the configuration file: %w", id, core.ErrConflict)
	}
	if rec, ok := r.stored[id]; ok {
		if !rec.DeletedAt.IsZero() {
			return nil, fmt.Errorf("tenant id %q belonged to a deleted tenant and is not given again: %w", id, core.ErrConflict)
		}
		return nil, fmt.Errorf("tenant %q exists: %w", id, core.ErrConflict)
	}
	now := m.now()
	t := core.Tenant{ID: id, Suspended: suspended, CreatedAt: now, UpdatedAt: now, Revision: 1}
	p.apply(&t)
	if err := m.validate(t); err != nil {
		return nil, err
	}
	rec := TenantRecord{Tenant: t}
	if err := m.store.PutTenant(ctx, rec); err != nil {
		return nil, err
	}
	r.stored[id] = rec
	r.rebuild()
	out, _ := r.Tenant(id)
	return out, nil
}

// UpdateTenant changes a tenant's sections; a section the configuration file pins is a
// conflict naming it.
func (m *Module) UpdateTenant(ctx context.Context, id string, p TenantPatch) (*core.Tenant, error) {
	return m.change(ctx, id, p.sections(), func(t *core.Tenant) error {
		p.apply(t)
		return nil
	})
}

// SetSuspended suspends or resumes a tenant.
func (m *Module) SetSuspended(ctx context.Context, id string, suspended bool) (*core.Tenant, error) {
	return m.change(ctx, id, []string{"suspended"}, func(t *core.Tenant) error {
		t.Suspended = suspended
		return nil
	})
}

// change applies fn to the stored record of tenant id (created from the file's tenant when
// there is none) after checking that no section it touches is pinned.
func (m *Module) change(ctx context.Context, id string, sections []string, fn func(t *core.Tenant) error) (*core.Tenant, error) {
	if m.store == nil {
		return nil, errNoStore
	}
	r := m.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	cur, ok := r.snap.Load().byID[id]
	if !ok {
		return nil, fmt.Errorf("tenant %q: %w", id, core.ErrNotFound)
	}
	var pinned []string
	for _, s := range sections {
		if cur.IsPinned(s) {
			pinned = append(pinned, s)
		}
	}
	if len(pinned) > 0 {
		return nil, fmt.Errorf("tenant %q: %v set in the configuration file (tenants[].%s); change the file and restart: %w", id, pinned, pinned[0], core.ErrConflict)
	}
	rec, ok := r.stored[id]
	if !ok {
		rec = TenantRecord{Tenant: core.Tenant{ID: id, CreatedAt: m.now()}}
	}
	next := rec.Tenant
	next.Connectors, next.Sources, next.Features = maps.Clone(next.Connectors), maps.Clone(next.Sources), maps.Clone(next.Features)
	if err := fn(&next); err != nil {
		return nil, err
	}
	if err := m.validate(effective(r.file[id], TenantRecord{Tenant: next}, isFile(r, id))); err != nil {
		return nil, err
	}
	next.Revision++
	next.UpdatedAt = m.now()
	rec.Tenant = next
	if err := m.store.PutTenant(ctx, rec); err != nil {
		return nil, err
	}
	r.stored[id] = rec
	r.rebuild()
	out, _ := r.Tenant(id)
	return out, nil
}

func isFile(r *registry, id string) bool {
	_, ok := r.file[id]
	return ok
}

// DeleteTenant deletes a tenant created through the API and revokes its keys. Its id is
// never given again. A tenant of the configuration file is a conflict.
func (m *Module) DeleteTenant(ctx context.Context, id string) error {
	if m.store == nil {
		return errNoStore
	}
	r := m.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.file[id]; ok {
		return fmt.Errorf("tenant %q is declared in the configuration file; remove it there: %w", id, core.ErrConflict)
	}
	rec, ok := r.stored[id]
	if !ok || !rec.DeletedAt.IsZero() {
		return fmt.Errorf("tenant %q: %w", id, core.ErrNotFound)
	}
	keys, err := m.store.Keys(ctx, id)
	if err != nil {
		return err
	}
	now := m.now()
	for _, k := range keys {
		if k.RevokedAt.IsZero() {
			k.RevokedAt = now
			if err := m.store.PutKey(ctx, k); err != nil {
				return err
			}
		}
	}
	// The tombstone keeps no settings and no secrets.
	tomb := TenantRecord{Tenant: core.Tenant{ID: id, CreatedAt: rec.CreatedAt, UpdatedAt: now, Revision: rec.Revision + 1}, DeletedAt: now}
	if err := m.store.PutTenant(ctx, tomb); err != nil {
		return err
	}
	r.stored[id] = tomb
	r.rebuild()
	return nil
}

// Tenants lists every tenant, ordered by id.
func (m *Module) Tenants() []*core.Tenant {
	s := m.reg.snap.Load()
	out := make([]*core.Tenant, 0, len(s.ids))
	for _, id := range s.ids {
		out = append(out, s.byID[id])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
