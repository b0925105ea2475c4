package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/identity"
)

// Run runs the contract against stores open returns, one per subtest.
func Run(t *testing.T, open func(tb testing.TB) identity.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s identity.Store)
	}{
		{"keys keep every field and list per tenant", testKeys},
		{"tenants keep every field, secrets included", testTenants},
		{"audit entries list newest first per tenant and for all", testAudit},
		{"audit pruning deletes the oldest only", testPrune},
		{"request counts add up per day and old days go", testCounts},
		{"concurrent audit appends all land", testConcurrentAudit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

var t0 = time.Date(2025, 8, 6, 12, 0, 0, 0, time.UTC)

func testKeys(t *testing.T, s identity.Store) {
	ctx := context.Background()
	a := identity.Key{ID: "AAAAAAAAAAAA", Tenant: "acme", Name: "ci", Role: core.RoleEditor, Hash: []byte("0123456789abcdef0123456789abcdef"),
		CreatedBy: "key:x", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	b := identity.Key{ID: "BBBBBBBBBBBB", Tenant: "acme", Role: core.RoleViewer, Hash: []byte("h2"), CreatedAt: t0.Add(time.Minute)}
	o := identity.Key{ID: "CCCCCCCCCCCC", Tenant: "other", Role: core.RoleAdmin, Hash: []byte("h3"), CreatedAt: t0}
	for _, k := range []identity.Key{b, a, o} {
		if err := s.PutKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Key(ctx, a.ID)
	if err != nil || !reflect.DeepEqual(norm(got), norm(a)) {
		t.Fatalf("Key = %+v %v, want %+v", got, err, a)
	}
	if _, err := s.Key(ctx, "nope"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("missing key: %v", err)
	}
	list, err := s.Keys(ctx, "acme")
	if err != nil || len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID {
		t.Fatalf("Keys(acme) = %+v %v, want a then b", list, err)
	}
	a.RevokedAt = t0.Add(2 * time.Minute)
	if err := s.PutKey(ctx, a); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Key(ctx, a.ID); !got.RevokedAt.Equal(a.RevokedAt) {
		t.Fatalf("revocation not kept: %+v", got)
	}
}

func norm(k identity.Key) identity.Key {
	k.CreatedAt, k.ExpiresAt, k.RevokedAt = k.CreatedAt.UTC(), k.ExpiresAt.UTC(), k.RevokedAt.UTC()
	return k
}

func testTenants(t *testing.T, s identity.Store) {
	ctx := context.Background()
	want := identity.TenantRecord{Tenant: core.Tenant{
		ID: "acme", Name: "Acme", Suspended: true, Revision: 3, CreatedAt: t0, UpdatedAt: t0.Add(time.Hour),
		Brand:    core.BrandGuidelines{Voice: "calm", TargetAudience: "beginners", KeyMessages: []string{"a", "b"}},
		Limits:   core.TenantLimits{DailyRequests: 10, IngestRate: 2.5, IngestBurst: 5, LLMDailyTokens: 1000, LLMDailyUSD: 1.5, MaxQueuedRuns: 7},
		Features: map[string]bool{"beta": true},
		Connectors: map[string]core.ConnectorGrant{"sendgrid": {Config: map[string]any{"base_url": "https://api.sendgrid.com"},
			Secrets: map[string]string{"api_key": "SG.x"}, Egress: []string{"https://api.sendgrid.com"}}},
		Sources: map[string]core.SourceSettings{"hook": {Settings: map[string]string{"verifier": "hmac"}, Secrets: map[string]string{"secret": "s3"}}},
	}}
	gone := identity.TenantRecord{Tenant: core.Tenant{ID: "gone", CreatedAt: t0, Revision: 2}, DeletedAt: t0.Add(time.Hour)}
	for _, r := range []identity.TenantRecord{want, gone} {
		if err := s.PutTenant(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.Tenants(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("Tenants = %+v %v", list, err)
	}
	got := list[0]
	got.CreatedAt, got.UpdatedAt = got.CreatedAt.UTC(), got.UpdatedAt.UTC()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("tenant = %+v\nwant %+v", got, want)
	}
	if list[1].ID != "gone" || list[1].DeletedAt.IsZero() {
		t.Fatalf("the tombstone: %+v", list[1])
	}
}

func testAudit(t *testing.T, s identity.Store) {
	ctx := context.Background()
	var ids []string
	for i, tenant := range []string{"acme", "other", "", "acme", "acme"} {
		e, err := s.AppendAudit(ctx, core.AuditEntry{Tenant: tenant, Time: t0.Add(time.Duration(i) * time.Second), Actor: "a", Action: fmt.Sprint("act", i), Outcome: "ok", RemoteAddr: "10.0.0.1"})
		if err != nil || e.ID == "" {
			t.Fatalf("append: %+v %v", e, err)
		}
		ids = append(ids, e.ID)
	}
	acme, err := s.Audit(ctx, identity.AuditFilter{Tenant: "acme", Limit: 10})
	if err != nil || len(acme) != 3 || acme[0].Action != "act4" || acme[2].Action != "act0" || acme[0].RemoteAddr != "10.0.0.1" {
		t.Fatalf("acme's entries: %+v %v", acme, err)
	}
	page, err := s.Audit(ctx, identity.AuditFilter{Tenant: "acme", Limit: 1, Before: acme[0].ID})
	if err != nil || len(page) != 1 || page[0].Action != "act3" {
		t.Fatalf("acme's next page: %+v %v", page, err)
	}
	hub, err := s.Audit(ctx, identity.AuditFilter{Tenant: "", Limit: 10})
	if err != nil || len(hub) != 1 || hub[0].Action != "act2" {
		t.Fatalf("the hub's entries: %+v %v", hub, err)
	}
	all, err := s.Audit(ctx, identity.AuditFilter{AllTenants: true, Limit: 10})
	if err != nil || len(all) != 5 || all[0].ID != ids[4] || all[4].ID != ids[0] {
		t.Fatalf("all entries: %+v %v", all, err)
	}
	if _, err := s.Audit(ctx, identity.AuditFilter{Tenant: "acme", Before: "not-an-id"}); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("a bad cursor: %v", err)
	}
}

func testPrune(t *testing.T, s identity.Store) {
	ctx := context.Background()
	for i := range 5 {
		if _, err := s.AppendAudit(ctx, core.AuditEntry{Tenant: "acme", Time: t0.Add(time.Duration(i) * time.Hour), Actor: "a", Action: fmt.Sprint(i), Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.PruneAudit(ctx, t0.Add(2*time.Hour), 1)
	if err != nil || n != 1 {
		t.Fatalf("pruned %d %v, want 1 (the limit)", n, err)
	}
	n, err = s.PruneAudit(ctx, t0.Add(2*time.Hour), 100)
	if err != nil || n != 1 {
		t.Fatalf("pruned %d %v, want 1", n, err)
	}
	left, err := s.Audit(ctx, identity.AuditFilter{Tenant: "acme", Limit: 10})
	if err != nil || len(left) != 3 || left[2].Action != "2" {
		t.Fatalf("left: %+v %v", left, err)
	}
	all, _ := s.Audit(ctx, identity.AuditFilter{AllTenants: true, Limit: 10})
	if len(all) != 3 {
		t.Fatalf("the index and the entries disagree: %d entries", len(all))
	}
}

func testCounts(t *testing.T, s identity.Store) {
	ctx := context.Background()
	if err := s.AddRequests(ctx, "2025-08-01", map[string]int{"acme": 3}, "2025-07-01"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRequests(ctx, "2025-08-06", map[string]int{"acme": 2, "other": 1}, "2025-07-01"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRequests(ctx, "2025-08-06", map[string]int{"acme": 5}, "2025-08-02"); err != nil {
		t.Fatal(err)
	}
	got, err := s.RequestCounts(ctx, "2025-08-06")
	if err != nil || got["acme"] != 7 || got["other"] != 1 {
		t.Fatalf("counts %v %v", got, err)
	}
	old, err := s.RequestCounts(ctx, "2025-08-01")
	if err != nil || len(old) != 0 {
		t.Fatalf("a day before keepFrom is kept: %v %v", old, err)
	}
}

func testConcurrentAudit(t *testing.T, s identity.Store) {
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.AppendAudit(ctx, core.AuditEntry{Tenant: "acme", Time: t0, Actor: "a", Action: fmt.Sprint(i), Outcome: "ok"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	all, err := s.Audit(ctx, identity.AuditFilter{Tenant: "acme", Limit: 100})
	if err != nil || len(all) != 20 {
		t.Fatalf("%d entries %v, want 20", len(all), err)
	}
	seen := map[string]bool{}
	for _, e := range all {
		if seen[e.ID] {
			t.Fatalf("id %s given twice", e.ID)
		}
		seen[e.ID] = true
	}
}
