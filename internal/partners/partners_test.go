package partners_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/httpapi/apitest"
	"github.com/aquascene/aquahub/internal/partners"
	"github.com/aquascene/aquahub/internal/storage/bolt"
)

var now = time.Date(2025, 8, 20, 12, 0, 0, 0, time.UTC)

// greenAquaInput is Green Aqua's registration as the API takes it.
func greenAquaInput() map[string]any {
	return map[string]any{
		"id": "green-aqua", "name": "Green Aqua",
		"catalog": map[string]any{
			"base_url": "https://api.greenaqua.example/api/v2",
			"auth":     map[string]any{"style": "header", "secret": "green_aqua_api_key"},
			"paging":   map[string]any{"style": "page", "page_size": 50, "total_pages_path": "meta.total_pages"},
			"mapping": map[string]any{"id": "item.sku", "name": "item.title", "category": "item.category.name",
				"price_range": "item.price.label", "key_benefits": "map(item.highlights, .text)",
				"description": "item.summary + ' (' + item.category.name + ')'", "in_stock": "item.availability.in_stock"},
		},
		"content_guidelines": map[string]any{"voice": "educational and trustworthy", "product_integration": "Show it in a real scape.",
			"call_to_action": "Get it at Green Aqua"},
		"affiliate": map[string]any{"link_template": "https://greenaqua.hu/en/p/{product_id}",
			"tracking": map[string]any{"utm_source": "aquascene", "utm_medium": "content", "utm_content": "{content_id}"}},
		"revenue_sharing": map[string]any{"commission_percent": 10, "currency": "EUR", "usd_exchange_rate": 0.9, "production_cost_per_content": 15},
		"notification":    map[string]any{"url": "/content-notifications", "secret": "green_aqua_notification_secret"},
	}
}

// fakeContent is the content engine's records for the ROI: pieces by id.
type fakeContent map[string]partners.ContentPiece

func (f fakeContent) PartnerContent(_ context.Context, tenant, partnerID string, since time.Time) ([]partners.ContentPiece, error) {
	var out []partners.ContentPiece
	for _, id := range []string{"gen-1", "gen-2", "gen-3", "gen-old", "gen-other"} {
		if c, ok := f[id]; ok && tenant == "aquascene" && c.PartnerID == partnerID && !c.CreatedAt.Before(since) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (f fakeContent) ContentPiece(_ context.Context, tenant, id string) (partners.ContentPiece, error) {
	c, ok := f[id]
	if !ok || tenant != "aquascene" {
		return c, fmt.Errorf("content %q: %w", id, core.ErrNotFound)
	}
	return c, nil
}

// fakeMetrics are page views and clicks by content id.
type fakeMetrics map[string]partners.ContentMetrics

func (f fakeMetrics) ContentMetrics(_ context.Context, _ string, ids []string, _, _ time.Time) (map[string]partners.ContentMetrics, error) {
	out := map[string]partners.ContentMetrics{}
	for _, id := range ids {
		if m, ok := f[id]; ok {
			out[id] = m
		}
	}
	return out, nil
}

func newModule(t testing.TB) *partners.Module {
	t.Helper()
	db, err := bolt.Open(bolt.Config{Path: filepath.Join(t.TempDir(), "aquahub.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	content := fakeContent{
		"gen-1":     {ID: "gen-1", PartnerID: "green-aqua", ProductID: "GA-CO2-PRO-2L", QualityScore: 9.2, CostUSD: 0.05, CreatedAt: now.AddDate(0, 0, -3)},
		"gen-2":     {ID: "gen-2", PartnerID: "green-aqua", ProductID: "GA-SOIL-AMZ-9", QualityScore: 8.6, CostUSD: 0.05, CreatedAt: now.AddDate(0, 0, -10)},
		"gen-old":   {ID: "gen-old", PartnerID: "green-aqua", QualityScore: 5, CostUSD: 1, CreatedAt: now.AddDate(0, 0, -45)},
		"gen-other": {ID: "gen-other", PartnerID: "aquaflora", QualityScore: 7, CreatedAt: now.AddDate(0, 0, -1)},
		"gen-plain": {ID: "gen-plain", CreatedAt: now},
	}
	metrics := fakeMetrics{"gen-1": {PageViews: 1200, Clicks: 84}, "gen-2": {PageViews: 300, Clicks: 9}, "gen-old": {PageViews: 99999, Clicks: 999}}
	return partners.New(partners.Deps{Store: db.Partners(), Content: content, Metrics: metrics, Now: func() time.Time { return now }})
}

func TestValidation(t *testing.T) {
	srv := apitest.New(t, newModule(t))
	tests := []struct {
		name  string
		edit  func(in map[string]any)
		field string
	}{
		{"bad id", func(in map[string]any) { in["id"] = "Green Aqua" }, "id"},
		{"no name", func(in map[string]any) { delete(in, "name") }, "name"},
		{"base url not http", func(in map[string]any) { sub(in, "catalog")["base_url"] = "ftp://x" }, "catalog.base_url"},
		{"unknown auth style", func(in map[string]any) { sub(in, "catalog")["auth"] = map[string]any{"style": "oauth", "secret": "k"} }, "catalog.auth.style"},
		{"header auth without a secret", func(in map[string]any) { sub(in, "catalog")["auth"] = map[string]any{"style": "header"} }, "catalog.auth.secret"},
		{"mapping of an unknown field", func(in map[string]any) { sub(in, "catalog")["mapping"] = map[string]any{"title": "item.title"} }, "catalog.mapping.title"},
		{"mapping that does not compile", func(in map[string]any) { sub(in, "catalog")["mapping"] = map[string]any{"name": "item.title +"} }, "catalog.mapping.name"},
		{"unknown paging style", func(in map[string]any) { sub(in, "catalog")["paging"] = map[string]any{"style": "scroll"} }, "catalog.paging.style"},
		{"unknown link placeholder", func(in map[string]any) { sub(in, "affiliate")["link_template"] = "https://greenaqua.hu/{sku}" }, "affiliate.link_template"},
		{"link that is no URL", func(in map[string]any) { sub(in, "affiliate")["link_template"] = "greenaqua.hu/{product_id}" }, "affiliate.link_template"},
		{"commission over 100", func(in map[string]any) { sub(in, "revenue_sharing")["commission_percent"] = 120 }, "revenue_sharing.commission_percent"},
		{"lower-case currency", func(in map[string]any) { sub(in, "revenue_sharing")["currency"] = "eur" }, "revenue_sharing.currency"},
		{"no exchange rate for EUR", func(in map[string]any) { delete(sub(in, "revenue_sharing"), "usd_exchange_rate") }, "revenue_sharing.usd_exchange_rate"},
		{"negative production cost", func(in map[string]any) { sub(in, "revenue_sharing")["production_cost_per_content"] = -1 }, "revenue_sharing.production_cost_per_content"},
		{"notification without a secret", func(in map[string]any) { sub(in, "notification")["secret"] = "" }, "notification.secret"},
		{"notification algorithm", func(in map[string]any) { sub(in, "notification")["algorithm"] = "HS256" }, "notification.algorithm"},
		{"key header the connector does not send keys in", func(in map[string]any) {
			sub(in, "catalog")["auth"] = map[string]any{"style": "header", "header": "X-Partner-Secret", "secret": "k"}
		}, "catalog.auth.header"},
		{"unknown field", func(in map[string]any) { in["revenue_share"] = 5 }, "revenue_share"},
		{"wrong type", func(in map[string]any) { in["name"] = 5 }, "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := greenAquaInput()
			tt.edit(in)
			code, body, _ := srv.Call(t, "POST", "/api/v1/partners", "admin-key", in, nil)
			if code != 400 || !strings.Contains(fieldsOf(body), tt.field) {
				t.Fatalf("POST = %d %v, want 400 naming %s", code, body, tt.field)
			}
		})
	}
}

func sub(in map[string]any, k string) map[string]any { return in[k].(map[string]any) }

func fieldsOf(body map[string]any) string {
	var s []string
	list, _ := body["errors"].([]any)
	for _, e := range list {
		s = append(s, e.(map[string]any)["field"].(string))
	}
	return strings.Join(s, ",")
}

func TestRegistryRoutes(t *testing.T) {
	srv := apitest.New(t, newModule(t))
	code, created, hdr := srv.Call(t, "POST", "/api/v1/partners", "admin-key", greenAquaInput(), nil)
	if code != 201 || created["id"] != "green-aqua" || hdr.Get("Location") != "/api/v1/partners/green-aqua" {
		t.Fatalf("POST = %d %v", code, created)
	}
	if sub(created, "catalog")["auth"].(map[string]any)["header"] != "X-Api-Key" || sub(created, "notification")["algorithm"] != "hmac-sha256" {
		t.Fatalf("defaults not filled: %v", created)
	}
	if code, _, _ := srv.Call(t, "POST", "/api/v1/partners", "admin-key", greenAquaInput(), nil); code != 409 {
		t.Fatalf("registering twice = %d, want 409", code)
	}
	in := greenAquaInput()
	in["name"] = "Green Aqua Kft."
	code, replaced, _ := srv.Call(t, "PUT", "/api/v1/partners/green-aqua", "admin-key", in, nil)
	if code != 200 || replaced["name"] != "Green Aqua Kft." || replaced["created_at"] != created["created_at"] {
		t.Fatalf("PUT = %d %v", code, replaced)
	}
	in["id"] = "aquaflora"
	if code, body, _ := srv.Call(t, "PUT", "/api/v1/partners/green-aqua", "admin-key", in, nil); code != 400 || fieldsOf(body) != "id" {
		t.Fatalf("PUT with another id in the body = %d %v", code, body)
	}
	if code, _, _ := srv.Call(t, "PUT", "/api/v1/partners/aquaflora", "admin-key", in, nil); code != 201 {
		t.Fatalf("PUT of a new partner = %d, want 201", code)
	}
	code, list, _ := srv.Call(t, "GET", "/api/v1/partners", "admin-key", nil, nil)
	if ps := list["partners"].([]any); code != 200 || len(ps) != 2 || ps[0].(map[string]any)["id"] != "aquaflora" {
		t.Fatalf("GET /partners = %d %v", code, list)
	}
	perms := []struct {
		method, path, key string
		want              int
	}{
		{"GET", "/api/v1/partners", "viewer-key", 403},
		{"GET", "/api/v1/partners/green-aqua", "viewer-key", 403},
		{"DELETE", "/api/v1/partners/green-aqua", "viewer-key", 403},
		{"GET", "/api/v1/partners/green-aqua/roi", "viewer-key", 200},
		{"GET", "/api/v1/partners/green-aqua/revenue", "viewer-key", 200},
		{"GET", "/api/v1/partners/green-aqua", "other-key", 404},
		{"GET", "/api/v1/partners", "", 401},
		{"GET", "/api/v1/partners/green-aqua/roi?period_days=0", "viewer-key", 400},
		{"GET", "/api/v1/partners/nobody/roi", "viewer-key", 404},
	}
	for _, p := range perms {
		if code, body, _ := srv.Call(t, p.method, p.path, p.key, nil, nil); code != p.want {
			t.Errorf("%s %s as %q = %d %v, want %d", p.method, p.path, p.key, code, body, p.want)
		}
	}
	if code, _, _ := srv.Call(t, "DELETE", "/api/v1/partners/aquaflora", "admin-key", nil, nil); code != 200 {
		t.Fatalf("DELETE = %d", code)
	}
	if code, _, _ := srv.Call(t, "DELETE", "/api/v1/partners/aquaflora", "admin-key", nil, nil); code != 404 {
		t.Fatalf("DELETE again = %d, want 404", code)
	}
}

func register(t testing.TB, m *partners.Module) partners.Partner {
	t.Helper()
	srv := apitest.New(t, m)
	if code, body, _ := srv.Call(t, "POST", "/api/v1/partners", "admin-key", greenAquaInput(), nil); code != 201 {
		t.Fatalf("POST = %d %v", code, body)
	}
	p, err := m.Get(context.Background(), "aquascene", "green-aqua")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAffiliateLinks(t *testing.T) {
	p := register(t, newModule(t))
	tests := []struct {
		name string
		link partners.Link
		want string
	}{
		{"for a content piece", partners.Link{ProductID: "GA-CO2-PRO-2L", ContentID: "gen-1"},
			"https://greenaqua.hu/en/p/GA-CO2-PRO-2L?utm_content=gen-1&utm_medium=content&utm_source=aquascene"},
		{"without a content id the parameter is left out", partners.Link{ProductID: "GA-CO2-PRO-2L"},
			"https://greenaqua.hu/en/p/GA-CO2-PRO-2L?utm_medium=content&utm_source=aquascene"},
		{"ids are escaped", partners.Link{ProductID: "GA 1/2", ContentID: "gen-1"},
			"https://greenaqua.hu/en/p/GA%201%2F2?utm_content=gen-1&utm_medium=content&utm_source=aquascene"},
		{"no product, no link", partners.Link{ContentID: "gen-1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.AffiliateLink(tt.link); got != tt.want {
				t.Fatalf("AffiliateLink(%+v) = %q, want %q", tt.link, got, tt.want)
			}
		})
	}
}

// TestConnectorSettings checks what the partner connector runs with as partner/green-aqua:
// its config and secret names, and the expr mapping applied to the products it returns.
func TestConnectorSettings(t *testing.T) {
	m := newModule(t)
	register(t, m)
	s, err := m.ConnectorSettings(context.Background(), "aquascene", "green-aqua")
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"base_url": "https://api.greenaqua.example/api/v2", "auth": "header", "auth_header": "X-Api-Key",
		"include_raw": true, "partner": "Green Aqua", "notify_url": "/content-notifications", "notification_alg": "hmac-sha256"} {
		if s.Config[k] != want {
			t.Errorf("config %s = %v, want %v", k, s.Config[k], want)
		}
	}
	if s.Secrets["api_key"] != "green_aqua_api_key" || s.Secrets["notification_secret"] != "green_aqua_notification_secret" || s.Version == "" {
		t.Fatalf("secrets %v, version %q", s.Secrets, s.Version)
	}
	raw := map[string]any{"sku": "GA-CO2-PRO-2L", "title": "CO2 Pro Set", "summary": "A 2 l CO2 system",
		"category": map[string]any{"name": "CO2 systems"}, "price": map[string]any{"label": "€150-€180"},
		"highlights":   []any{map[string]any{"text": "stable bubble count"}, map[string]any{"text": "solenoid"}},
		"availability": map[string]any{"in_stock": 3.0}}
	out, err := s.Output("catalog.get", map[string]any{"id": "", "name": "", "key_benefits": []any{}, "raw": raw})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"id": "GA-CO2-PRO-2L", "name": "CO2 Pro Set", "category": "CO2 systems", "price_range": "€150-€180",
		"description": "A 2 l CO2 system (CO2 systems)", "in_stock": true, "partner_id": "green-aqua",
		"affiliate_url": "https://greenaqua.hu/en/p/GA-CO2-PRO-2L?utm_medium=content&utm_source=aquascene"}
	for k, v := range want {
		if out[k] != v {
			t.Errorf("product %s = %v, want %v", k, out[k], v)
		}
	}
	if kb := out["key_benefits"].([]any); len(kb) != 2 || kb[1] != "solenoid" || out["raw"] != nil {
		t.Fatalf("key benefits %v, raw %v", out["key_benefits"], out["raw"])
	}
	_, err = s.Output("catalog.list", map[string]any{"products": []any{map[string]any{"raw": map[string]any{"title": "no sku"}}}})
	if err == nil || !strings.Contains(err.Error(), "catalog.mapping.id") || !strings.Contains(err.Error(), "products[0]") {
		t.Fatalf("a product without an id: %v", err)
	}
	if _, err := m.ConnectorSettings(context.Background(), "aquascene", "nobody"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("unknown partner: %v", err)
	}
}

// TestEditedMappingApplies: a partner's mapping is compiled once, not per call, and an
// edit takes effect at the next call.
func TestEditedMappingApplies(t *testing.T) {
	m := newModule(t)
	p := register(t, m)
	name := func() any {
		t.Helper()
		s, err := m.ConnectorSettings(context.Background(), "aquascene", "green-aqua")
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Output("catalog.get", map[string]any{"raw": map[string]any{"sku": "GA-1", "title": "CO2 Pro Set",
			"summary": "A set", "category": map[string]any{"name": "CO2 systems"}, "price": map[string]any{"label": "€150"},
			"highlights": []any{}, "availability": map[string]any{"in_stock": 1.0}}})
		if err != nil {
			t.Fatal(err)
		}
		return out["name"]
	}
	if got := name(); got != "CO2 Pro Set" {
		t.Fatalf("name %v before the edit", got)
	}
	p.Catalog.Mapping["name"] = `upper(item.title)`
	if _, _, err := m.Put(context.Background(), "aquascene", p); err != nil {
		t.Fatal(err)
	}
	if got := name(); got != "CO2 PRO SET" {
		t.Fatalf("name %v after the mapping was edited, want the new mapping's", got)
	}
}

func attribute(t testing.TB, m *partners.Module, in map[string]any) (map[string]any, error) {
	t.Helper()
	res, err := m.StepKinds()[0].Execute(context.Background(), core.StepCall{Tenant: "aquascene", Input: in})
	return res.Output, err
}

// TestROI is the fixed scenario: Green Aqua (10% commission in EUR, $1 = €0.90, €15
// production cost per piece) has two pieces in the last 30 days (quality 9.2 and 8.6,
// $0.05 each, 1,500 page views and 93 clicks between them) and one older piece; three
// orders are attributed, one of them twice, and one to the older piece.
func TestROI(t *testing.T) {
	m := newModule(t)
	register(t, m)
	orders := []struct {
		in        map[string]any
		recorded  bool
		wantClass core.ErrorClass
	}{
		{map[string]any{"content_id": "gen-1", "order_id": "WC-1001", "amount": 180.0, "currency": "EUR"}, true, ""},
		{map[string]any{"content_id": "gen-1", "order_id": "WC-1001", "amount": 180.0, "currency": "EUR"}, false, ""},
		{map[string]any{"content_id": "gen-2", "order_id": 1002.0, "amount": 120.5, "currency": "eur", "partner_id": "green-aqua"}, true, ""},
		{map[string]any{"content_id": "gen-old", "order_id": "WC-900", "amount": 500.0, "currency": "EUR"}, true, ""},
		{map[string]any{"content_id": "gen-1", "order_id": "WC-1003", "amount": 10.0, "currency": "USD"}, false, core.ClassInvalidInput},
		{map[string]any{"content_id": "gen-plain", "order_id": "WC-1004", "amount": 10.0, "currency": "EUR"}, false, core.ClassInvalidInput},
		{map[string]any{"content_id": "gen-1", "order_id": "WC-1005", "amount": 10.0, "currency": "EUR", "partner_id": "aquaflora"}, false, core.ClassInvalidInput},
		{map[string]any{"content_id": "gen-9", "order_id": "WC-1006", "amount": 10.0, "currency": "EUR"}, false, core.ClassInvalidInput},
		{map[string]any{"content_id": "gen-1", "order_id": "WC-1007", "amount": -1.0, "currency": "EUR"}, false, core.ClassInvalidInput},
	}
	for i, o := range orders {
		out, err := attribute(t, m, o.in)
		if o.wantClass != "" {
			var se *core.StepError
			if !errors.As(err, &se) || se.Class != o.wantClass {
				t.Fatalf("order %d: error %v, want %s", i, err, o.wantClass)
			}
			continue
		}
		if err != nil || out["recorded"] != o.recorded || out["duplicate"] == o.recorded {
			t.Fatalf("order %d: %v %v, want recorded %v", i, out, err, o.recorded)
		}
	}
	r, err := m.ROI(context.Background(), "aquascene", "green-aqua", 30)
	if err != nil {
		t.Fatal(err)
	}
	// Earnings 10% of €300.50 = €30.05; cost 2 × $0.05 × 0.9 = €0.09 plus 2 × €15 = €30.09;
	// ROI (30.05 − 30.09) / 30.09 = −0.13%.
	checks := []struct {
		name      string
		got, want float64
	}{
		{"content pieces", float64(r.ContentPieces), 2},
		{"average quality", r.AverageQuality, 8.9},
		{"page views", r.PageViews, 1500},
		{"clicks", r.Clicks, 93},
		{"attributed revenue", r.AttributedRevenue, 300.5},
		{"orders", float64(r.Orders), 2},
		{"earnings", r.Earnings, 30.05},
		{"generation cost", r.GenerationCost, 0.09},
		{"production cost", r.ProductionCost, 30},
		{"total cost", r.TotalCost, 30.09},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if r.ROIPercent == nil || *r.ROIPercent != -0.13 {
		t.Fatalf("ROI %v, want -0.13", r.ROIPercent)
	}
	srv := apitest.New(t, m)
	code, body, _ := srv.Call(t, "GET", "/api/v1/partners/green-aqua/roi?period_days=60", "viewer-key", nil, nil)
	if code != 200 || body["content_pieces_generated"] != 3.0 || body["attributed_revenue"] != 800.5 || body["roi_percentage"] == nil {
		t.Fatalf("GET roi?period_days=60 = %d %v", code, body)
	}
	code, body, _ = srv.Call(t, "GET", "/api/v1/partners/green-aqua/revenue", "viewer-key", nil, nil)
	if list := body["attributions"].([]any); code != 200 || len(list) != 3 {
		t.Fatalf("GET revenue = %d %v", code, body)
	}
}

func TestROIWithoutCost(t *testing.T) {
	m := newModule(t)
	in := greenAquaInput()
	sub(in, "revenue_sharing")["production_cost_per_content"] = 0
	sub(in, "revenue_sharing")["currency"] = "USD"
	delete(sub(in, "revenue_sharing"), "usd_exchange_rate")
	srv := apitest.New(t, m)
	if code, body, _ := srv.Call(t, "POST", "/api/v1/partners", "admin-key", in, nil); code != 201 {
		t.Fatalf("POST = %d %v", code, body)
	}
	// The two pieces cost $0.10 together: ROI is defined.
	code, body, _ := srv.Call(t, "GET", "/api/v1/partners/green-aqua/roi", "viewer-key", nil, nil)
	if code != 200 || body["total_cost"] != 0.1 || body["roi_percentage"] != -100.0 {
		t.Fatalf("GET roi = %d %v", code, body)
	}
	// A partner with no content in the period has no cost and no ROI.
	code, body, _ = srv.Call(t, "GET", "/api/v1/partners/green-aqua/roi?period_days=1", "viewer-key", nil, nil)
	if code != 200 || body["content_pieces_generated"] != 0.0 || body["roi_percentage"] != nil {
		t.Fatalf("GET roi?period_days=1 = %d %v", code, body)
	}
}

func TestAttributeCheck(t *testing.T) {
	k := partners.New(partners.Deps{}).StepKinds()[0]
	tests := []struct {
		name string
		in   map[string]any
		want string
	}{
		{"expressions", map[string]any{"content_id": "${{ event.data.content_id }}", "order_id": "${{ event.data.order_id }}", "amount": "${{ event.data.amount }}", "currency": "EUR"}, ""},
		{"missing order id", map[string]any{"content_id": "c", "amount": 1.0, "currency": "EUR"}, "order_id: required"},
		{"unknown field", map[string]any{"content_id": "c", "order_id": "o", "amount": 1.0, "currency": "EUR", "total": 1}, "total: unknown field"},
		{"bad currency", map[string]any{"content_id": "c", "order_id": "o", "amount": 1.0, "currency": "euro"}, "currency: must be an ISO 4217 code"},
		{"bad time", map[string]any{"content_id": "c", "order_id": "o", "amount": 1.0, "currency": "EUR", "ordered_at": "monday"}, "ordered_at: must be an RFC 3339 time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := k.Check(core.StepDef{Kind: "attribute_revenue", Input: tt.in})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestNotificationSecretByAlgorithm checks that the notification secret reaches the
// connector under the name its algorithm signs with: the HMAC's shared secret or the JWT's
// signing key.
func TestNotificationSecretByAlgorithm(t *testing.T) {
	tests := []struct {
		name, algorithm, secret string
	}{
		{"HMAC", "hmac-sha256", "notification_secret"},
		{"ES256", "ES256", "notification_key"},
		{"RS256", "RS256", "notification_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newModule(t)
			in := greenAquaInput()
			sub(in, "notification")["algorithm"] = tt.algorithm
			if code, body, _ := apitest.New(t, m).Call(t, "POST", "/api/v1/partners", "admin-key", in, nil); code != 201 {
				t.Fatalf("POST = %d %v", code, body)
			}
			s, err := m.ConnectorSettings(context.Background(), "aquascene", "green-aqua")
			if err != nil {
				t.Fatal(err)
			}
			if s.Config["notification_alg"] != tt.algorithm || s.Secrets[tt.secret] != "green_aqua_notification_secret" || len(s.Secrets) != 2 {
				t.Fatalf("config %v, secrets %v", s.Config, s.Secrets)
			}
		})
	}
}
