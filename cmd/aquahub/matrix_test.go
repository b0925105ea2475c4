package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/httpapi/apitest"
	"github.com/aquascene/aquahub/internal/identity"
	"github.com/aquascene/aquahub/internal/inbound"
	"github.com/aquascene/aquahub/plugins"
)

// seedPermissions is the audit of every operation against the seed's role model (viewer:
// read_content and view_analytics; editor: + write_content; content_manager: +
// generate_content and manage_subscribers; admin: everything). Reading content, runs and
// templates is read_content; changing content and templates and posting events is
// write_content; generating is generate_content; usage figures are view_analytics; the
// integration's own configuration (webhook endpoints and their deliveries, API keys, the
// audit log) and destructive operations on runs are admin_access. Operations marked
// operator administer the hub itself and take the operator's credential only. A new
// operation fails TestEveryRouteHasTheSeedsPermission until it is added here.
var seedPermissions = map[string]string{
	"POST /api/v1/events":                                     "write_content",
	"GET /api/v1/events/{id}":                                 "read_content",
	"GET /api/v1/runs":                                        "read_content",
	"GET /api/v1/runs/{id}":                                   "read_content",
	"GET /api/v1/dlq":                                         "read_content",
	"POST /api/v1/dlq/{id}/replay":                            "admin_access",
	"DELETE /api/v1/dlq/{id}":                                 "admin_access",
	"POST /api/v1/content/generate":                           "generate_content",
	"POST /api/v1/content/batches":                            "generate_content",
	"GET /api/v1/content":                                     "read_content",
	"GET /api/v1/content/{id}":                                "read_content",
	"GET /api/v1/content/batches/{id}":                        "read_content",
	"GET /api/v1/content/usage":                               "view_analytics",
	"GET /api/v1/templates":                                   "read_content",
	"GET /api/v1/templates/{id}":                              "read_content",
	"POST /api/v1/templates":                                  "write_content",
	"PUT /api/v1/templates/{id}":                              "write_content",
	"DELETE /api/v1/templates/{id}":                           "write_content",
	"POST /api/v1/webhooks":                                   "admin_access",
	"GET /api/v1/webhooks":                                    "admin_access",
	"GET /api/v1/webhooks/{id}":                               "admin_access",
	"PUT /api/v1/webhooks/{id}":                               "admin_access",
	"DELETE /api/v1/webhooks/{id}":                            "admin_access",
	"POST /api/v1/webhooks/{id}/rotate":                       "admin_access",
	"GET /api/v1/webhooks/{id}/deliveries":                    "admin_access",
	"GET /api/v1/webhooks/{id}/deliveries/{delivery}":         "admin_access",
	"POST /api/v1/webhooks/{id}/deliveries/{delivery}/replay": "admin_access",
	"POST /api/v1/webhooks/{id}/recover":                      "admin_access",
	"GET /api/v1/connectors":                                  "read_content",
	"GET /api/v1/connectors/{id}":                             "read_content",
	"POST /api/v1/connectors/reload":                          "operator",
	"POST /api/v1/keys":                                       "admin_access",
	"GET /api/v1/keys":                                        "admin_access",
	"DELETE /api/v1/keys/{id}":                                "admin_access",
	"GET /api/v1/audit":                                       "admin_access",
	"POST /api/v1/tenants":                                    "operator",
	"GET /api/v1/tenants":                                     "operator",
	"GET /api/v1/tenants/{id}":                                "operator",
	"PATCH /api/v1/tenants/{id}":                              "operator",
	"DELETE /api/v1/tenants/{id}":                             "operator",
	"POST /api/v1/tenants/{id}/suspend":                       "operator",
	"POST /api/v1/tenants/{id}/resume":                        "operator",
	"POST /api/v1/tenants/{id}/keys":                          "operator",
	"GET /api/v1/hub/audit":                                   "operator",
	"POST /api/v1/partners":                                   "admin_access",
	"GET /api/v1/partners":                                    "admin_access",
	"GET /api/v1/partners/{id}":                               "admin_access",
	"PUT /api/v1/partners/{id}":                               "admin_access",
	"DELETE /api/v1/partners/{id}":                            "admin_access",
	"GET /api/v1/partners/{id}/revenue":                       "view_analytics",
	"GET /api/v1/partners/{id}/roi":                           "view_analytics",
	"GET /api/v1/analytics/content":                           "view_analytics",
	"GET /api/v1/analytics/content/{id}":                      "view_analytics",
	"GET /healthz":                                            "public",
	"GET /readyz":                                             "public",
	"GET /openapi.json":                                       "public",
	"GET /metrics":                                            "public",
	"POST /hooks/{tenant}/{source}":                           "public",
}

// hubGlobal are operations on the hub's own objects, the same for every tenant: the
// connector catalog.
var hubGlobal = map[string]bool{"GET /api/v1/connectors/{id}": true}

const matrixRules = `rules:
  - id: matrix-ok
    on: matrix.ok
    steps: [ { id: note, log: { message: "ok ${{ event.id }}", level: debug } } ]
  - id: matrix-dead
    on: matrix.dead
    retry: { attempts: 1 }
    steps: [ { id: bad, emit: { type: "${{ event.data.t }}" } } ]
`

// matrixHub is a whole hub as serve builds it, started, on a temporary directory: tenant
// aquascene with a key per role, a connector grant and an inbound source whose secrets are
// the canary; tenant other; the operator token; an HS256 JWT key (the canary). Its logs
// go through apitest.Logger, which fails the test on any line holding the canary.
type matrixHub struct {
	h   *hub
	srv *apitest.Server
	dir string
	ids map[string]string
}

const matrixOperator = "matrix-operator-token-0123456789abcdef"

var roleKeys = map[string]string{
	core.RoleViewer: "viewer-key-123", core.RoleEditor: "editor-key-123", core.RoleContentManager: "manager-key-123", core.RoleAdmin: "admin-key-123",
}

func newMatrixHub(t *testing.T) *matrixHub {
	t.Helper()
	dir := t.TempDir()
	conns := filepath.Join(dir, "connectors")
	if err := os.MkdirAll(conns, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(conns, "noop.wasm"), plugins.NoopModule(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(matrixRules), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Storage.Path = filepath.Join(dir, "data", "aquahub.db")
	cfg.Rules.Paths = []string{filepath.Join(dir, "rules.yaml")}
	cfg.Connectors.Dir = conns
	cfg.Connectors.WatchInterval = 0
	cfg.Engine.LeaseTTL = 5 * time.Second
	cfg.Webhooks.AllowHTTP, cfg.Webhooks.AllowLoopback = true, true
	cfg.Identity.OperatorToken = matrixOperator
	cfg.Identity.JWT.Keys = []identity.JWTKey{{ID: "hs", Secret: apitest.Canary}}
	var keys []identity.ConfigKey
	for role, k := range roleKeys {
		keys = append(keys, identity.ConfigKey{Key: k, Role: role})
	}
	cfg.Tenants = []Tenant{
		{ID: "aquascene", TenantConfig: identity.TenantConfig{APIKeys: keys, Name: "AquaScene"},
			Connectors: map[string]plugins.TenantConfig{"noop": {Secrets: map[string]string{"api_key": apitest.Canary}, Egress: []string{"https://api.example.com"}}},
			Sources:    map[string]inbound.SourceConfig{"hook": {Verifier: "hmac", Secret: apitest.Canary, Header: "X-Signature-256", Prefix: "sha256="}}},
		{ID: "other", TenantConfig: identity.TenantConfig{APIKeys: []identity.ConfigKey{{Key: "other-key-123", Role: core.RoleAdmin}}}},
	}
	log := apitest.Logger(t)
	h, err := buildHub(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if _, _, err := h.start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := h.shutdown(); err != nil {
			t.Error(err)
		}
	})
	return &matrixHub{h: h, srv: apitest.Wrap(t, h.server), dir: dir, ids: map[string]string{}}
}

// fixture creates one of every object for tenant aquascene through the API and records
// their ids.
func (m *matrixHub) fixture(t *testing.T) {
	t.Helper()
	admin := roleKeys[core.RoleAdmin]
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	t.Cleanup(receiver.Close)
	whsec := "whsec_" + base64.StdEncoding.EncodeToString([]byte(apitest.Canary))
	apitest.RegisterSecret(whsec)
	call := func(method, path string, body any, want int) map[string]any {
		t.Helper()
		status, out, _ := m.srv.Call(t, method, path, admin, body, nil)
		if status != want {
			t.Fatalf("fixture %s %s: %d %v", method, path, status, out)
		}
		return out
	}
	ep := call("POST", "/api/v1/webhooks", map[string]any{"url": receiver.URL + "/in", "events": []string{"*"}, "secret": whsec}, 201)
	m.ids["endpoint"] = ep["id"].(string)
	acc := call("POST", "/api/v1/events", map[string]any{"specversion": "1.0", "id": "ev-ok", "source": "matrix", "type": "matrix.ok"}, 202)
	m.ids["event"] = "ev-ok"
	m.ids["run"] = acc["runs"].([]any)[0].(string)
	dead := call("POST", "/api/v1/events", map[string]any{"specversion": "1.0", "id": "ev-dead", "source": "matrix", "type": "matrix.dead", "data": map[string]any{"t": ""}}, 202)
	m.ids["dead"] = dead["runs"].([]any)[0].(string)
	gen := call("POST", "/api/v1/content/generate", map[string]any{"template": "newsletter_article", "topic": "CO2 injection", "keywords": []string{"co2"}}, 201)
	m.ids["content"] = gen["id"].(string)
	batch := call("POST", "/api/v1/content/batches", map[string]any{"name": "b", "requests": []any{map[string]any{"template": "instagram_caption", "topic": "moss"}}}, 202)
	m.ids["batch"] = batch["id"].(string)
	tpl := call("GET", "/api/v1/templates/newsletter_article", nil, 200)
	tpl["id"] = "matrix_tpl"
	delete(tpl, "source")
	call("PUT", "/api/v1/templates/matrix_tpl", tpl, 201)
	m.ids["template"] = "matrix_tpl"
	if status, body, _ := m.srv.Call(t, "POST", "/api/v1/tenants", matrixOperator, map[string]any{"id": "scratch"}, nil); status != 201 {
		t.Fatalf("fixture: the operator's scratch tenant: %d %v", status, body)
	}
	m.ids["receiver"] = receiver.URL
	key := call("POST", "/api/v1/keys", map[string]any{"role": "viewer", "name": "matrix"}, 201)
	apitest.RegisterSecret(key["key"].(string))
	m.ids["key"] = key["id"].(string)
	call("PUT", "/api/v1/partners/matrix-partner", map[string]any{"name": "Matrix partner", "revenue_sharing": map[string]any{"currency": "EUR", "usd_exchange_rate": 0.92}}, 201)
	m.ids["partner"] = "matrix-partner"
	// Wait for the dead run and a delivery to the endpoint.
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, run, _ := m.srv.Call(t, "GET", "/api/v1/runs/"+m.ids["dead"], admin, nil, nil)
		_, dl, _ := m.srv.Call(t, "GET", "/api/v1/webhooks/"+m.ids["endpoint"]+"/deliveries", admin, nil, nil)
		list, _ := dl["deliveries"].([]any)
		if status == 200 && run["status"] == "dead" && len(list) > 0 {
			m.ids["delivery"] = list[0].(map[string]any)["id"].(string)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the fixture did not settle: run %v, deliveries %v", run, dl)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var paramPattern = regexp.MustCompile(`\{[a-z]+\}`)

// body is what the matrix sends to op: a valid body where validation would otherwise answer
// before the id is looked up.
func (m *matrixHub) body(op string) any {
	switch op {
	case "PUT /api/v1/webhooks/{id}":
		return map[string]any{"url": m.ids["receiver"] + "/x", "events": []string{"*"}}
	case "POST /api/v1/webhooks/{id}/recover":
		return map[string]any{"since": "2020-01-01T00:00:00Z"}
	}
	return map[string]any{}
}

// concrete fills an operation's path with the fixture's ids.
func (m *matrixHub) concrete(t *testing.T, op string) string {
	t.Helper()
	_, path, _ := strings.Cut(op, " ")
	byPrefix := []struct{ prefix, param, id string }{
		{"/api/v1/events/", "{id}", m.ids["event"]},
		{"/api/v1/runs/", "{id}", m.ids["run"]},
		{"/api/v1/dlq/", "{id}", m.ids["dead"]},
		{"/api/v1/content/batches/", "{id}", m.ids["batch"]},
		{"/api/v1/content/", "{id}", m.ids["content"]},
		{"/api/v1/templates/", "{id}", m.ids["template"]},
		{"/api/v1/webhooks/", "{id}", m.ids["endpoint"]},
		{"/api/v1/webhooks/", "{delivery}", m.ids["delivery"]},
		{"/api/v1/keys/", "{id}", m.ids["key"]},
		{"/api/v1/connectors/", "{id}", "noop"},
		{"/api/v1/tenants/", "{id}", "scratch"},
		{"/api/v1/partners/", "{id}", m.ids["partner"]},
		{"/api/v1/analytics/content/", "{id}", m.ids["content"]},
		{"/hooks/", "{tenant}", "aquascene"},
		{"/hooks/", "{source}", "hook"},
	}
	for _, b := range byPrefix {
		if strings.HasPrefix(path, b.prefix) {
			path = strings.Replace(path, b.param, b.id, 1)
		}
	}
	if paramPattern.MatchString(path) {
		t.Fatalf("%s: no fixture id for %s; add one to the matrix fixture", op, paramPattern.FindString(path))
	}
	return path
}

// operations lists the document's operations, sorted, with their x-permission and whether
// they are the operator's.
func (m *matrixHub) operations() []string {
	var out []string
	for k := range m.h.server.Document().Operations() {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (m *matrixHub) permissionOf(op string) string {
	o := m.h.server.Document().Operations()[op]
	switch {
	case o.Public:
		return "public"
	case o.Operator:
		return "operator"
	}
	return string(o.Permission)
}

// TestEveryRouteHasTheSeedsPermission compares every operation's declared permission with
// the audit in seedPermissions.
func TestEveryRouteHasTheSeedsPermission(t *testing.T) {
	m := newMatrixHub(t)
	ops := m.operations()
	for _, op := range ops {
		want, ok := seedPermissions[op]
		if !ok {
			t.Errorf("%s is not in the permission audit (seedPermissions); decide its permission from the seed's role model", op)
			continue
		}
		if got := m.permissionOf(op); got != want {
			t.Errorf("%s declares %s; the audit says %s", op, got, want)
		}
	}
	for op := range seedPermissions {
		if !slices.Contains(ops, op) {
			t.Errorf("the audit lists %s, which the hub does not serve", op)
		}
	}
	t.Logf("%d operations audited", len(ops))
}

// TestRouteMatrix generates, from the OpenAPI document's operations, the cross-tenant
// matrix (another tenant's admin naming tenant aquascene's ids gets 404, never data, and
// changes nothing) and the permission matrix (each role and the operator on every
// operation: 403 naming what is missing exactly where the seed's model refuses). Every
// answer is checked against its schema and for the canary secret, and every log line for
// the canary.
func TestRouteMatrix(t *testing.T) {
	m := newMatrixHub(t)
	m.fixture(t)
	ops := m.operations()
	fixtureIDs := []string{m.ids["run"], m.ids["dead"], m.ids["content"], m.ids["batch"], m.ids["endpoint"], m.ids["delivery"], m.ids["key"], m.ids["partner"], "matrix_tpl", "ev-ok"}

	crossChecked := 0
	t.Run("cross-tenant", func(t *testing.T) {
		for _, op := range ops {
			perm := m.permissionOf(op)
			if perm == "public" || perm == "operator" || hubGlobal[op] {
				continue
			}
			method, _, _ := strings.Cut(op, " ")
			path := m.concrete(t, op)
			status, body, _ := m.srv.Call(t, method, path, "other-key-123", m.body(op), nil)
			raw := fmt.Sprint(body)
			switch {
			case paramPattern.MatchString(strings.SplitN(op, " ", 2)[1]):
				// An id of tenant aquascene's: not found. PUT /templates/{id} and
				// /partners/{id} name an object in the caller's own namespace; with no body it
				// is refused, and aquascene's stays.
				if op == "PUT /api/v1/templates/{id}" || op == "PUT /api/v1/partners/{id}" {
					if status != 400 {
						t.Errorf("%s as another tenant: %d %v, want 400", op, status, body)
					}
				} else if status != 404 {
					t.Errorf("%s %s as another tenant: %d %v, want 404", method, path, status, body)
				}
			case op == "GET /api/v1/audit":
				// The caller's own audit log shows the paths it asked for, aquascene's ids
				// among them: its own input, not aquascene's data.
				if status != 200 || strings.Contains(raw, "tenant:aquascene") {
					t.Errorf("%s as another tenant: %d %v", op, status, body)
				}
			case method == "GET":
				if status != 200 {
					t.Errorf("%s as another tenant: %d %v", op, status, body)
				}
				for _, id := range fixtureIDs {
					if strings.Contains(raw, id) {
						t.Errorf("%s as another tenant shows aquascene's %s: %s", op, id, raw)
					}
				}
			}
			crossChecked++
		}
		// Nothing of aquascene's changed.
		admin := roleKeys[core.RoleAdmin]
		for _, p := range []string{"/api/v1/runs/" + m.ids["dead"], "/api/v1/webhooks/" + m.ids["endpoint"], "/api/v1/templates/matrix_tpl", "/api/v1/content/" + m.ids["content"]} {
			if status, body, _ := m.srv.Call(t, "GET", p, admin, nil, nil); status != 200 {
				t.Errorf("after the cross-tenant matrix aquascene's %s: %d %v", p, status, body)
			}
		}
		_, run, _ := m.srv.Call(t, "GET", "/api/v1/runs/"+m.ids["dead"], admin, nil, nil)
		if run["status"] != "dead" {
			t.Errorf("another tenant's replay moved aquascene's dead run: %v", run["status"])
		}
		_, keys, _ := m.srv.Call(t, "GET", "/api/v1/keys", admin, nil, nil)
		if !strings.Contains(fmt.Sprint(keys), "status:active") {
			t.Errorf("another tenant's revoke reached aquascene's key: %v", keys)
		}
	})

	type cred struct{ name, secret, role string }
	creds := []cred{{"viewer", roleKeys[core.RoleViewer], core.RoleViewer}, {"editor", roleKeys[core.RoleEditor], core.RoleEditor},
		{"content_manager", roleKeys[core.RoleContentManager], core.RoleContentManager}, {"admin", roleKeys[core.RoleAdmin], core.RoleAdmin},
		{"operator", matrixOperator, ""}}
	checked, refused := 0, 0
	t.Run("permissions", func(t *testing.T) {
		// The refusals first: they change nothing, so every id still exists for them.
		for _, wantAllowed := range []bool{false, true} {
			for _, op := range ops {
				perm := m.permissionOf(op)
				if perm == "public" {
					continue
				}
				method, _, _ := strings.Cut(op, " ")
				path := m.concrete(t, op)
				for _, c := range creds {
					allowed := perm == "operator" && c.role == "" ||
						perm != "operator" && c.role != "" && slices.Contains(core.RolePermissions[c.role], core.Permission(perm))
					if allowed != wantAllowed {
						continue
					}
					status, body, _ := m.srv.Call(t, method, path, c.secret, m.body(op), nil)
					detail := fmt.Sprint(body["detail"])
					checked++
					switch {
					case !allowed && status != 403:
						t.Errorf("%s as %s: %d %v, want 403", op, c.name, status, body)
					case !allowed && perm == "operator" && !strings.Contains(detail, "operator credential is required"):
						t.Errorf("%s as %s: 403 %q does not say the operator's credential is needed", op, c.name, detail)
					case !allowed && perm != "operator" && c.role != "" && !strings.Contains(detail, "permission "+perm+" required"):
						t.Errorf("%s as %s: 403 %q does not name %s", op, c.name, detail, perm)
					case !allowed && c.role == "" && perm != "operator" && !strings.Contains(detail, "administers tenants only"):
						t.Errorf("%s as the operator: 403 %q", op, detail)
					case allowed && (status == 401 || status == 403):
						t.Errorf("%s as %s: %d %v, want it allowed", op, c.name, status, body)
					}
					if !allowed {
						refused++
					}
				}
			}
		}
	})
	t.Logf("%d operations; cross-tenant matrix: %d calls; permission matrix: %d calls (%d refused with 403 naming the permission)", len(ops), crossChecked, checked, refused)

	// No byte of the data file holds the canary: the connector secret, the source key, the
	// webhook secret are sealed.
	raw, err := os.ReadFile(m.h.cfg.Storage.Path)
	if err != nil {
		t.Fatal(err)
	}
	if v := apitest.LeakedSecret(raw); v != "" {
		t.Errorf("the data file holds a secret in plain text (%.12s…)", v)
	}
}
