//go:build !wasip1

package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/partner/sim"
	"github.com/aquascene/aquahub/connectors/simkit"
	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/plugin/plugintest"
)

// greenAqua is the configuration that maps Green Aqua's catalog API onto the product
// shape, with pages of 10 so that paging shows.
func greenAqua(origin string) map[string]any {
	cfg := sim.ConnectorConfig(origin)
	cfg["paging"].(map[string]any)["page_size"] = 10
	return cfg
}

type fixture struct {
	sim *sim.Server
	h   *plugintest.Harness
}

func pemKey(t testing.TB, key any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// setup starts the simulator and a harness; edit changes the Green Aqua config, secrets
// replace the defaults (api key and the dev signing key) when given.
func setup(t testing.TB, edit func(cfg map[string]any), secrets map[string]string, opts ...sim.Option) *fixture {
	t.Helper()
	s := sim.New(opts...)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	cfg := greenAqua(ts.URL)
	if edit != nil {
		edit(cfg)
	}
	if secrets == nil {
		secrets = map[string]string{"api_key": sim.DefaultKey, "notification_secret": sim.DevNotificationSecret, "notification_key": sim.DevSigningKeyPEM}
	}
	h, err := plugintest.New(Connector, plugintest.Options{Config: cfg, Secrets: secrets, Egress: []string{ts.URL}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return &fixture{sim: s, h: h}
}

func wantError(t testing.TB, err error, kind abi.ErrorKind, field string) *abi.Error {
	t.Helper()
	var e *abi.Error
	if !errors.As(err, &e) || e.Kind != kind || e.Field != field {
		t.Fatalf("error = %v, want %s field %q", err, kind, field)
	}
	return e
}

func decode[T any](t testing.TB, out map[string]any) T {
	t.Helper()
	b, _ := json.Marshal(out)
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// Every paging style reads the whole catalog, mapped onto the product shape.
func TestListFollowsPaging(t *testing.T) {
	tests := []struct {
		name      string
		paging    map[string]any
		wantPages int
	}{
		{"page numbers with a page count", map[string]any{"style": "page", "page_size": 10, "total_pages_path": "meta.total_pages"}, 3},
		{"page numbers until a short page", map[string]any{"style": "page", "page_size": 10}, 3},
		{"page numbers, last page full", map[string]any{"style": "page", "page_size": 8}, 4},
		{"cursor", map[string]any{"style": "cursor", "page_size": 10, "next_cursor_path": "meta.next_cursor"}, 3},
		{"next URL in the body", map[string]any{"style": "next_url", "page_size": 10, "next_url_path": "links.next"}, 3},
		{"Link header", map[string]any{"style": "link", "page_size": 10}, 3},
	}
	catalog := sim.Catalog()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, func(cfg map[string]any) { cfg["paging"] = tt.paging }, nil)
			out, err := f.h.Invoke(context.Background(), "catalog.list", map[string]any{})
			if err != nil {
				t.Fatal(err)
			}
			got := decode[ListOut](t, out)
			if got.Count != len(catalog) || got.Pages != tt.wantPages || got.Truncated {
				t.Fatalf("%d products in %d pages (truncated %v), want %d in %d", got.Count, got.Pages, got.Truncated, len(catalog), tt.wantPages)
			}
			for i, p := range got.Products {
				if p.ID != catalog[i].SKU {
					t.Fatalf("product %d is %s, want %s (order or duplicates)", i, p.ID, catalog[i].SKU)
				}
			}
		})
	}
}

func TestMapping(t *testing.T) {
	f := setup(t, nil, nil)
	out, err := f.h.Invoke(context.Background(), "catalog.get", map[string]any{"id": "GA-SOIL-AMZ-9"})
	if err != nil {
		t.Fatal(err)
	}
	got := decode[Product](t, out)
	want := Product{
		ID: "GA-SOIL-AMZ-9", Name: "ADA Aqua Soil Amazonia 9 L", Category: "Substrates",
		Description: "Nutrient-rich active soil that lowers pH and hardness, the classic base of a Nature Aquarium.",
		PriceRange:  "€39.90", KeyBenefits: []string{"Lowers pH and KH for soft-water plants", "Rich in nutrients for the first months", "Granules keep their shape"},
		URL: "https://greenaqua.hu/en/substrates/ga-soil-amz-9", InStock: true, SEOKeywords: []string{"aqua soil", "aquarium substrate", "amazonia"},
		AffiliateURL: "https://greenaqua.hu/en/substrates/ga-soil-amz-9?ref=aquascene", Partner: "Green Aqua",
	}
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	if string(a) != string(b) {
		t.Fatalf("got  %s\nwant %s", a, b)
	}
}

func TestListFilters(t *testing.T) {
	f := setup(t, nil, nil)
	tests := []struct {
		name          string
		input         map[string]any
		wantIDs       string
		wantTruncated bool
	}{
		{"category", map[string]any{"category": "lights"}, "GA-LED-WRGB2-60,GA-LED-WRGB2-90,GA-LED-UNIV", false},
		{"extra params", map[string]any{"params": map[string]string{"q": "carpet"}}, "GA-PLT-MONTE,GA-PLT-HCCUBA,GA-TOOL-SCISS", false},
		{"out of stock", map[string]any{"params": map[string]string{"in_stock": "false"}}, "GA-CO2-DROP,GA-PLT-ROTALA", false},
		{"limit inside a page", map[string]any{"limit": 3}, "GA-CO2-PRO-2L,GA-CO2-REG-DS,GA-CO2-DIFF-IN", true},
		{"limit at a page end", map[string]any{"limit": 2, "page_size": 2}, "GA-CO2-PRO-2L,GA-CO2-REG-DS", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := f.h.Invoke(context.Background(), "catalog.list", tt.input)
			if err != nil {
				t.Fatal(err)
			}
			got := decode[ListOut](t, out)
			var ids []string
			for _, p := range got.Products {
				ids = append(ids, p.ID)
			}
			if strings.Join(ids, ",") != tt.wantIDs || got.Truncated != tt.wantTruncated {
				t.Fatalf("ids %v truncated %v", ids, got.Truncated)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(cfg map[string]any)
		secrets   map[string]string
		prepare   func(s *sim.Server)
		action    string
		input     map[string]any
		wantKind  abi.ErrorKind
		wantInMsg string
	}{
		{"wrong api key", nil, map[string]string{"api_key": "not-the-key"}, nil, "catalog.list", nil, abi.KindAuth, "401"},
		{"no api key", nil, map[string]string{}, nil, "catalog.list", nil, abi.KindAuth, "api_key"},
		{"a key header the manifest does not declare", func(c map[string]any) { c["auth_header"] = "X-Partner-Secret" }, nil, nil, "catalog.list", nil, abi.KindPermanent, "config auth_header"},
		{"bearer accepted", func(c map[string]any) { c["auth"] = "bearer" }, nil, nil, "catalog.get", map[string]any{"id": "GA-TOOL-SCISS"}, "", ""},
		{"unknown product", nil, nil, nil, "catalog.get", map[string]any{"id": "GA-NOPE"}, abi.KindNotFound, "no product"},
		{"throttled", nil, nil, func(s *sim.Server) { s.Injector().Inject(429, 1) }, "catalog.list", nil, abi.KindRateLimited, "429"},
		{"throttled on the second page", nil, nil, func(s *sim.Server) { s.Injector().Set(simkit.Faults{RateLimitEvery: 1}) }, "catalog.list", nil, abi.KindRateLimited, "page=2"},
		{"5xx", nil, nil, func(s *sim.Server) { s.Injector().Inject(503, 1) }, "catalog.list", nil, abi.KindTransient, "503"},
		{"unknown mapping field", func(c map[string]any) { c["mapping"] = map[string]any{"title": "title"} }, nil, nil, "catalog.list", nil, abi.KindPermanent, "config mapping.title"},
		{"mapping finds no id", func(c map[string]any) { c["mapping"] = map[string]any{"id": "code"} }, nil, nil, "catalog.get", map[string]any{"id": "GA-TOOL-SCISS"}, abi.KindPermanent, "config mapping.id"},
		{"bad paging style", func(c map[string]any) { c["paging"] = map[string]any{"style": "scroll"} }, nil, nil, "catalog.list", nil, abi.KindPermanent, "config paging.style"},
		{"cursor without a path", func(c map[string]any) { c["paging"] = map[string]any{"style": "cursor"} }, nil, nil, "catalog.list", nil, abi.KindPermanent, "next_cursor_path"},
		{"wrong items path", func(c map[string]any) { c["items_path"] = "products" }, nil, nil, "catalog.list", nil, abi.KindPermanent, "config items_path"},
		{"page size the partner refuses", nil, nil, nil, "catalog.list", map[string]any{"page_size": 500}, abi.KindInvalidInput, "per_page"},
		{"no base_url", func(c map[string]any) { delete(c, "base_url") }, nil, nil, "catalog.list", nil, abi.KindPermanent, "config base_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, tt.edit, tt.secrets)
			if tt.prepare != nil {
				tt.prepare(f.sim)
			}
			if tt.input == nil {
				tt.input = map[string]any{}
			}
			_, err := f.h.Invoke(context.Background(), tt.action, tt.input)
			if tt.wantKind == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			e := wantError(t, err, tt.wantKind, "")
			if !strings.Contains(e.Message, tt.wantInMsg) {
				t.Fatalf("message %q, want %q in it", e.Message, tt.wantInMsg)
			}
			if tt.wantKind == abi.KindRateLimited && e.RetryAfter() != 2*time.Second {
				t.Fatalf("retry after %s, want the partner's Retry-After", e.RetryAfter())
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	f := setup(t, nil, nil)
	f.sim.Injector().Set(simkit.Faults{Latency: 10 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := f.h.Invoke(ctx, "catalog.list", map[string]any{})
	wantError(t, err, abi.KindTransient, "")
}

func TestNotify(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	input := map[string]any{"content_id": "550e8400-e29b-41d4-a716-446655440000", "product_id": "GA-SOIL-AMZ-9",
		"title": "Complete guide to substrates", "url": "https://aquascene.bg/guides/substrates", "data": map[string]any{"content_type": "newsletter_article"}}
	alg := func(a string) func(map[string]any) { return func(c map[string]any) { c["notification_alg"] = a } }
	tests := []struct {
		name string
		edit func(cfg map[string]any)
		// secret is notification_secret, key notification_key; "" leaves it unset.
		secret, key string
		opts        []sim.Option
		wantKind    abi.ErrorKind
		wantInMsg   string
	}{
		{"HMAC with the shared secret (the default)", nil, sim.DevNotificationSecret, "", nil, "", ""},
		{"HMAC with another secret", nil, "whsec_someone_else", "", nil, abi.KindAuth, "401"},
		{"HMAC without the secret", nil, "", sim.DevSigningKeyPEM, nil, abi.KindAuth, "notification_secret"},
		{"ES256 with the partner's key", alg("ES256"), "", sim.DevSigningKeyPEM, nil, "", ""},
		{"RS256", alg("RS256"), "", pemKey(t, rsaKey), []sim.Option{sim.WithNotificationKey(rsaKey.Public())}, "", ""},
		{"a key the partner does not know", alg("ES256"), "", pemKey(t, otherKey), nil, abi.KindAuth, "401"},
		{"alg does not fit the key", alg("RS256"), "", sim.DevSigningKeyPEM, nil, abi.KindAuth, ""},
		{"no signing key", alg("ES256"), sim.DevNotificationSecret, "", nil, abi.KindAuth, "notification_key"},
		{"unknown alg", alg("HS256"), sim.DevNotificationSecret, "", nil, abi.KindPermanent, "config notification_alg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secrets := map[string]string{"api_key": sim.DefaultKey}
			if tt.secret != "" {
				secrets["notification_secret"] = tt.secret
			}
			if tt.key != "" {
				secrets["notification_key"] = tt.key
			}
			f := setup(t, tt.edit, secrets, tt.opts...)
			out, err := f.h.Invoke(context.Background(), "content.notify", input)
			if tt.wantKind != "" {
				e := wantError(t, err, tt.wantKind, "")
				if !strings.Contains(e.Message, tt.wantInMsg) {
					t.Fatalf("error %q does not mention %q", e.Message, tt.wantInMsg)
				}
				for _, n := range f.sim.Notifications() {
					if n.Verified {
						t.Fatal("a notification was accepted")
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ns := f.sim.Notifications()
			if len(ns) != 1 || !ns[0].Verified || ns[0].ID != out["notification_id"] || out["status"].(json.Number).String() != "202" {
				t.Fatalf("output %v, notifications %+v", out, ns)
			}
			var body struct {
				ID, Type, Partner string
				Data              map[string]any
			}
			_ = json.Unmarshal(ns[0].Body, &body)
			if body.ID != ns[0].ID || body.Type != "content.published" || body.Partner != "Green Aqua" ||
				body.Data["product_id"] != "GA-SOIL-AMZ-9" || body.Data["content_type"] != "newsletter_article" {
				t.Fatalf("body %s", ns[0].Body)
			}
			// A retry of the step carries the same id, so the partner sees a duplicate.
			again, err := f.h.Invoke(context.Background(), "content.notify", input)
			if err != nil || again["notification_id"] != out["notification_id"] {
				t.Fatalf("retry: %v %v", again, err)
			}
			if ns := f.sim.Notifications(); len(ns) != 2 || !ns[1].Duplicate {
				t.Fatalf("retry not recognised as a duplicate: %+v", ns)
			}
		})
	}
}

// TestIncludeRaw checks the mode the hub's partner mappings use: each product carries the
// partner's item as sent, and an id path that finds nothing is left for the hub to map.
func TestIncludeRaw(t *testing.T) {
	f := setup(t, func(c map[string]any) {
		c["include_raw"] = true
		c["mapping"] = map[string]any{"id": "code"}
	}, nil)
	out, err := f.h.Invoke(context.Background(), "catalog.get", map[string]any{"id": "GA-TOOL-SCISS"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := out["raw"].(map[string]any)
	if out["id"] != "" && out["id"] != nil || raw["sku"] != "GA-TOOL-SCISS" || raw["title"] == nil {
		t.Fatalf("product %v: want no id and the partner's item under raw", out)
	}
	list, err := f.h.Invoke(context.Background(), "catalog.list", map[string]any{"category": "tools"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list["products"].([]any) {
		if p.(map[string]any)["raw"] == nil {
			t.Fatalf("listed product without raw: %v", p)
		}
	}
}
