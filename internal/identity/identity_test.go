package identity_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/httpapi/apitest"
	"github.com/aquascene/aquahub/internal/identity"
)

func detail(body map[string]any) string { return fmt.Sprint(body["detail"]) }

// TestStoredKeyLifecycle: an admin creates a key, which is shown once and works with its
// role; listings never show it; a revoked key stops working at the very next request; an
// expired key is refused; another tenant can neither see nor revoke it.
func TestStoredKeyLifecycle(t *testing.T) {
	r := newRig(t)
	status, created, _ := r.srv.Call(t, "POST", "/api/v1/keys", "dev-key", map[string]any{"name": "ci", "role": "viewer"}, nil)
	key, _ := created["key"].(string)
	if status != 201 || !strings.HasPrefix(key, identity.KeyPrefix) || !strings.HasPrefix(key, fmt.Sprint(created["prefix"])) || created["status"] != "active" {
		t.Fatalf("create: %d %v", status, created)
	}
	apitest.RegisterSecret(key)
	id := created["id"].(string)
	if status, who, _ := r.srv.Call(t, "GET", "/api/v1/probe", key, nil, nil); status != 200 || who["role"] != "viewer" || who["subject"] != "key:"+identity.KeyPrefix+id {
		t.Fatalf("using the key: %d %v", status, who)
	}
	if status, body, _ := r.srv.Call(t, "POST", "/api/v1/probe", key, nil, nil); status != 403 || !strings.Contains(detail(body), "permission generate_content required (role viewer)") {
		t.Fatalf("a viewer key generating: %d %v", status, body)
	}
	// The listing shows it without the key (the canary check of apitest would catch it too).
	status, list, _ := r.srv.Call(t, "GET", "/api/v1/keys", "dev-key", nil, nil)
	if status != 200 || strings.Contains(fmt.Sprint(list), key) || len(list["keys"].([]any)) != 1 {
		t.Fatalf("list: %d %v", status, list)
	}
	// Another tenant neither sees nor revokes it.
	if status, other, _ := r.srv.Call(t, "GET", "/api/v1/keys", "other-key", nil, nil); status != 200 || len(other["keys"].([]any)) != 0 {
		t.Fatalf("another tenant's listing: %d %v", status, other)
	}
	if status, _, _ := r.srv.Call(t, "DELETE", "/api/v1/keys/"+id, "other-key", nil, nil); status != 404 {
		t.Fatalf("another tenant revoking: %d, want 404", status)
	}
	// A viewer may not manage keys.
	if status, body, _ := r.srv.Call(t, "POST", "/api/v1/keys", "viewer-key", map[string]any{"role": "admin"}, nil); status != 403 || !strings.Contains(detail(body), "permission admin_access required") {
		t.Fatalf("a viewer creating a key: %d %v", status, body)
	}
	if status, revoked, _ := r.srv.Call(t, "DELETE", "/api/v1/keys/"+id, "dev-key", nil, nil); status != 200 || revoked["status"] != "revoked" {
		t.Fatalf("revoke: %d %v", status, revoked)
	}
	if status, body, _ := r.srv.Call(t, "GET", "/api/v1/probe", key, nil, nil); status != 401 || !strings.Contains(detail(body), "was revoked") {
		t.Fatalf("a revoked key: %d %v", status, body)
	}
	// An expiring key stops at its expiry.
	_, short, _ := r.srv.Call(t, "POST", "/api/v1/keys", "dev-key", map[string]any{"role": "editor", "ttl": "1h"}, nil)
	shortKey := short["key"].(string)
	apitest.RegisterSecret(shortKey)
	if status, _, _ := r.srv.Call(t, "GET", "/api/v1/probe", shortKey, nil, nil); status != 200 {
		t.Fatalf("a fresh key with a ttl: %d", status)
	}
	r.clock.add(time.Hour)
	if status, body, _ := r.srv.Call(t, "GET", "/api/v1/probe", shortKey, nil, nil); status != 401 || !strings.Contains(detail(body), "expired") {
		t.Fatalf("an expired key: %d %v", status, body)
	}
	// A key that never existed, and one whose secret is wrong.
	forged := key[:len(key)-4] + "AAAA"
	for _, k := range []string{identity.KeyPrefix + "AAAAAAAAAAAA_" + strings.Repeat("B", 43), forged, identity.KeyPrefix + "short"} {
		if status, _, _ := r.srv.Call(t, "GET", "/api/v1/probe", k, nil, nil); status != 401 {
			t.Fatalf("key %q: %d", k, status)
		}
	}
	// Bad input names the field.
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"role": "owner"}, "role"},
		{map[string]any{"role": "viewer", "ttl": "soon"}, "ttl"},
		{map[string]any{"role": "viewer", "expires_at": r.clock.now().Add(-time.Hour)}, "expires_at"},
		{map[string]any{"role": "viewer", "colour": "red"}, `unknown field "colour"`},
	} {
		status, body, _ := r.srv.Call(t, "POST", "/api/v1/keys", "dev-key", tc.body, nil)
		if status != 400 || !strings.Contains(fmt.Sprint(body), tc.field) {
			t.Errorf("%v: %d %v, want 400 naming %s", tc.body, status, body, tc.field)
		}
	}
	// The audit log shows the changes and the failures, with who and from where.
	status, audit, _ := r.srv.Call(t, "GET", "/api/v1/audit", "dev-key", nil, nil)
	text := fmt.Sprint(audit)
	for _, want := range []string{"POST /api/v1/keys", "DELETE /api/v1/keys/:id", "auth.failed", "was revoked", "auth.forbidden", "config-key:aquascene[0]", "remote_addr"} {
		if status != 200 || !strings.Contains(text, want) {
			t.Errorf("the audit log does not show %q: %d %s", want, status, text)
		}
	}
	if status, _, _ := r.srv.Call(t, "GET", "/api/v1/audit", "viewer-key", nil, nil); status != 403 {
		t.Fatalf("a viewer reading the audit log: %d", status)
	}
}

// TestTenantsAtRunTime: the operator creates, changes, suspends, resumes and deletes
// tenants; the file's pinned sections cannot be changed; secrets are shown by name only;
// tenants' credentials do not reach the tenants API and the operator's reaches no tenant's
// data.
func TestTenantsAtRunTime(t *testing.T) {
	r := newRig(t)
	create := map[string]any{"id": "greenaqua", "name": "Green Aqua",
		"brand":      map[string]any{"voice": "Expert yet approachable", "target_audience": "hobbyists", "key_messages": []string{"nature first"}},
		"limits":     map[string]any{"daily_requests": 500, "llm_daily_tokens": 10000},
		"features":   map[string]bool{"partner_content": true},
		"connectors": map[string]any{"sendgrid": map[string]any{"secrets": map[string]string{"api_key": apitest.Canary}, "egress": []string{"https://api.sendgrid.com"}}},
		"sources":    map[string]any{"orders": map[string]any{"settings": map[string]string{"verifier": "hmac"}, "secrets": map[string]string{"secret": apitest.Canary}}},
	}
	status, tenant, _ := r.srv.Call(t, "POST", "/api/v1/tenants", operatorToken, create, nil)
	if status != 201 || tenant["name"] != "Green Aqua" || fmt.Sprint(tenant["connectors"]) != "map[sendgrid:map[egress:[https://api.sendgrid.com] secrets:[api_key]]]" {
		t.Fatalf("create: %d %v", status, tenant)
	}
	got, ok := r.mod.Tenant("greenaqua")
	if !ok || got.Connectors["sendgrid"].Secrets["api_key"] != apitest.Canary || got.Brand.Voice != "Expert yet approachable" || got.Limits.LLMDailyTokens != 10000 {
		t.Fatalf("the registry: %+v", got)
	}
	// Its first key comes from the operator.
	status, k, _ := r.srv.Call(t, "POST", "/api/v1/tenants/greenaqua/keys", operatorToken, map[string]any{"role": "admin", "name": "bootstrap"}, nil)
	if status != 201 {
		t.Fatalf("the first key: %d %v", status, k)
	}
	key := k["key"].(string)
	apitest.RegisterSecret(key)
	if status, who, _ := r.srv.Call(t, "GET", "/api/v1/probe", key, nil, nil); status != 200 || who["tenant"] != "greenaqua" {
		t.Fatalf("the new tenant's key: %d %v", status, who)
	}
	tests := []struct {
		name, method, path, cred string
		body                     any
		status                   int
		detail                   string
	}{
		{"a tenant admin cannot list tenants", "GET", "/api/v1/tenants", "dev-key", nil, 403, "operator credential is required"},
		{"the operator reaches no tenant data", "GET", "/api/v1/probe", operatorToken, nil, 403, "administers tenants only"},
		{"the operator has no keys of its own", "GET", "/api/v1/keys", operatorToken, nil, 403, "administers tenants only"},
		{"a pinned section", "PATCH", "/api/v1/tenants/aquascene", operatorToken, map[string]any{"limits": map[string]any{"daily_requests": 1}}, 409, "limits"},
		{"a pinned connector", "PATCH", "/api/v1/tenants/aquascene", operatorToken, map[string]any{"remove_connectors": []string{"sendgrid"}}, 409, "connectors.sendgrid"},
		{"deleting a file tenant", "DELETE", "/api/v1/tenants/aquascene", operatorToken, nil, 409, "configuration file"},
		{"a file tenant's id", "POST", "/api/v1/tenants", operatorToken, map[string]any{"id": "aquascene"}, 409, "configuration file"},
		{"an existing id", "POST", "/api/v1/tenants", operatorToken, map[string]any{"id": "greenaqua"}, 409, "exists"},
		{"a bad id", "POST", "/api/v1/tenants", operatorToken, map[string]any{"id": "Green Aqua"}, 400, "id: must be lowercase"},
		{"a negative limit", "POST", "/api/v1/tenants", operatorToken, map[string]any{"id": "neg", "limits": map[string]any{"daily_requests": -5}}, 400, "limits.daily_requests: may not be negative"},
		{"a bad egress origin", "POST", "/api/v1/tenants", operatorToken, map[string]any{"id": "eg", "connectors": map[string]any{"http": map[string]any{"egress": []string{"ftp://x"}}}}, 400, "connectors.http.egress[0]"},
		{"an unknown source setting", "POST", "/api/v1/tenants", operatorToken, map[string]any{"id": "src", "sources": map[string]any{"s": map[string]any{"settings": map[string]string{"verifier": "hmac", "colour": "red"}}}}, 400, "sources.s.settings.colour: unknown setting"},
		{"a secret given as a setting", "POST", "/api/v1/tenants", operatorToken, map[string]any{"id": "src2", "sources": map[string]any{"s": map[string]any{"settings": map[string]string{"verifier": "hmac", "secret": "x"}}}}, 400, "is a secret"},
		{"an unknown tenant", "GET", "/api/v1/tenants/ghost", operatorToken, nil, 404, "ghost"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := r.srv.Call(t, tc.method, tc.path, tc.cred, tc.body, nil)
			if status != tc.status || !strings.Contains(fmt.Sprint(body), tc.detail) {
				t.Fatalf("%d %v, want %d saying %q", status, body, tc.status, tc.detail)
			}
		})
	}
	// An unpinned section of a file tenant can change; the answer lists what is pinned.
	status, aq, _ := r.srv.Call(t, "PATCH", "/api/v1/tenants/aquascene", operatorToken, map[string]any{"brand": map[string]any{"voice": "warm"}}, nil)
	if status != 200 || fmt.Sprint(aq["brand"]) != "map[voice:warm]" || fmt.Sprint(aq["pinned"]) != "[name limits connectors.sendgrid]" {
		t.Fatalf("patching an unpinned section: %d %v", status, aq)
	}
	// A secret patched by name keeps the others; "" removes one.
	if status, _, _ := r.srv.Call(t, "PATCH", "/api/v1/tenants/greenaqua", operatorToken, map[string]any{"connectors": map[string]any{"sendgrid": map[string]any{"secrets": map[string]string{"other": "x-" + apitest.Canary}}}}, nil); status != 200 {
		t.Fatalf("patch secrets: %d", status)
	}
	got, _ = r.mod.Tenant("greenaqua")
	if got.Connectors["sendgrid"].Secrets["api_key"] != apitest.Canary || got.Connectors["sendgrid"].Secrets["other"] == "" || got.Revision < 2 {
		t.Fatalf("after patching one secret: %+v", got.Connectors)
	}
	// Suspension stops the tenant's credentials; resuming restores them.
	if status, _, _ := r.srv.Call(t, "POST", "/api/v1/tenants/greenaqua/suspend", operatorToken, nil, nil); status != 200 {
		t.Fatal("suspend")
	}
	if status, body, _ := r.srv.Call(t, "GET", "/api/v1/probe", key, nil, nil); status != 403 || !strings.Contains(detail(body), "suspended") {
		t.Fatalf("a suspended tenant's key: %d %v", status, body)
	}
	if err := r.mod.AdmitEvents("greenaqua", 1); err == nil {
		t.Fatal("a suspended tenant may ingest")
	}
	if status, _, _ := r.srv.Call(t, "POST", "/api/v1/tenants/greenaqua/resume", operatorToken, nil, nil); status != 200 {
		t.Fatal("resume")
	}
	if status, _, _ := r.srv.Call(t, "GET", "/api/v1/probe", key, nil, nil); status != 200 {
		t.Fatalf("a resumed tenant's key: %d", status)
	}
	// Deletion revokes its keys and retires its id.
	if status, _, _ := r.srv.Call(t, "DELETE", "/api/v1/tenants/greenaqua", operatorToken, nil, nil); status != 204 {
		t.Fatal("delete")
	}
	if status, _, _ := r.srv.Call(t, "GET", "/api/v1/probe", key, nil, nil); status != 401 {
		t.Fatalf("a deleted tenant's key: %d", status)
	}
	if status, body, _ := r.srv.Call(t, "POST", "/api/v1/tenants", operatorToken, map[string]any{"id": "greenaqua"}, nil); status != 409 || !strings.Contains(detail(body), "deleted tenant") {
		t.Fatalf("reusing a deleted id: %d %v", status, body)
	}
	// The registry survives a restart: the module reloads what the API stored, secrets
	// unsealed.
	again, err := identity.New(identity.Config{}, fileTenants(), identity.Deps{Store: r.db.Identity()})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := again.Tenant("greenaqua"); ok {
		t.Fatal("a deleted tenant came back after a restart")
	}
	aqAgain, _ := again.Tenant("aquascene")
	if aqAgain.Brand.Voice != "warm" || aqAgain.Name != "AquaScene" {
		t.Fatalf("after a restart: %+v", aqAgain)
	}
	// Every change is in the hub's audit log, by the operator.
	_, audit, _ := r.srv.Call(t, "GET", "/api/v1/hub/audit?tenant=-", operatorToken, nil, nil)
	for _, want := range []string{"POST /api/v1/tenants", "PATCH /api/v1/tenants/:id", "POST /api/v1/tenants/:id/suspend", "DELETE /api/v1/tenants/:id", "operator"} {
		if !strings.Contains(fmt.Sprint(audit), want) {
			t.Errorf("the hub's audit log does not show %q", want)
		}
	}
}

// TestDailyRequestQuota: past its daily_requests a tenant is answered 429 with Retry-After
// and a problem naming the limit, as the seed's TenantLimitExceeded; other tenants and the
// next day are not affected.
func TestDailyRequestQuota(t *testing.T) {
	r := newRig(t)
	if _, err := r.mod.CreateTenant(context.Background(), "small", identity.TenantPatch{Limits: &core.TenantLimits{DailyRequests: 3}}, false); err != nil {
		t.Fatal(err)
	}
	_, key, err := r.mod.CreateKey(context.Background(), "small", "test", identity.KeyInput{Role: core.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	apitest.RegisterSecret(key)
	for i := range 3 {
		if status, _, _ := r.srv.Call(t, "GET", "/api/v1/probe", key, nil, nil); status != 200 {
			t.Fatalf("request %d: %d", i+1, status)
		}
	}
	status, body, header := r.srv.Call(t, "GET", "/api/v1/probe", key, nil, nil)
	if status != 429 || header.Get("Retry-After") == "" || body["limit"] != "tenants[small].limits.daily_requests" ||
		body["error"] != "TenantLimitExceeded" || !strings.Contains(detail(body), "Daily limit of 3 requests exceeded for tenant small") {
		t.Fatalf("over the quota: %d %v %v", status, header, body)
	}
	if status, _, _ := r.srv.Call(t, "GET", "/api/v1/probe", "other-key", nil, nil); status != 200 {
		t.Fatal("another tenant was refused")
	}
	r.clock.add(24 * time.Hour)
	if status, _, _ := r.srv.Call(t, "GET", "/api/v1/probe", key, nil, nil); status != 200 {
		t.Fatal("the quota did not reset the next day")
	}
}

// TestIngestionRate: a tenant's ingest_rate refuses events past its burst with a retry time
// and a limit name; time restores the budget; a tenant without a rate is never refused.
func TestIngestionRate(t *testing.T) {
	r := newRig(t)
	if _, err := r.mod.CreateTenant(context.Background(), "bursty", identity.TenantPatch{Limits: &core.TenantLimits{IngestRate: 2, IngestBurst: 4}}, false); err != nil {
		t.Fatal(err)
	}
	if err := r.mod.AdmitEvents("bursty", 4); err != nil {
		t.Fatalf("the burst: %v", err)
	}
	err := r.mod.AdmitEvents("bursty", 1)
	oe, ok := err.(*core.OverloadError)
	if !ok || oe.Limit != "tenants[bursty].limits.ingest_rate" || oe.RetryAfter() < time.Second {
		t.Fatalf("past the burst: %v", err)
	}
	if err := r.mod.AdmitEvents("bursty", 5); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("a batch larger than the burst: %v", err)
	}
	r.clock.add(time.Second)
	if err := r.mod.AdmitEvents("bursty", 2); err != nil {
		t.Fatalf("after a second at 2/s: %v", err)
	}
	for range 100 {
		if err := r.mod.AdmitEvents("aquascene", 10); err != nil {
			t.Fatalf("a tenant without a rate: %v", err)
		}
	}
	if err := r.mod.AdmitEvents("ghost", 1); err == nil {
		t.Fatal("an unknown tenant may ingest")
	}
}

// TestFailedCredentialsAreAuditedWithinABudget: a flood of bad credentials from one address
// writes at most the per-minute budget, and the next entry says how many were left out.
func TestFailedCredentialsAreAuditedWithinABudget(t *testing.T) {
	r := newRig(t, func(c *identity.Config) { c.FailedAuthAuditPerMinute = 5 })
	for i := range 50 {
		if status, _, _ := r.srv.Call(t, "GET", "/api/v1/probe", fmt.Sprintf("wrong-key-%d", i), nil, nil); status != 401 {
			t.Fatal("a wrong key was accepted")
		}
	}
	_, body, _ := r.srv.Call(t, "GET", "/api/v1/hub/audit?tenant=-&limit=1000", operatorToken, nil, nil)
	entries := body["entries"].([]any)
	if len(entries) != 5 {
		t.Fatalf("%d entries for 50 failures, want the budget of 5", len(entries))
	}
	e := entries[0].(map[string]any)
	if e["action"] != "auth.failed" || e["outcome"] != "denied" || e["remote_addr"] == "" || !strings.Contains(fmt.Sprint(e["actor"]), "unknown credential") {
		t.Fatalf("entry: %v", e)
	}
	r.clock.add(time.Minute)
	r.srv.Call(t, "GET", "/api/v1/probe", "wrong-key-x", nil, nil)
	_, body, _ = r.srv.Call(t, "GET", "/api/v1/hub/audit?tenant=-&limit=1", operatorToken, nil, nil)
	if d := fmt.Sprint(body["entries"].([]any)[0].(map[string]any)["detail"]); !strings.Contains(d, "45 earlier failures") {
		t.Fatalf("the next entry does not count those left out: %s", d)
	}
}
