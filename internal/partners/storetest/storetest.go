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
	"github.com/aquascene/aquahub/internal/partners"
)

// Run runs the contract suite; open returns a new empty store and registers its cleanup.
func Run(t *testing.T, open func(t testing.TB) partners.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s partners.Store)
	}{
		{"a partner round-trips every field", testRoundTrip},
		{"partners are listed by id, replaced and deleted", testListReplaceDelete},
		{"an order is attributed once per partner", testAttributionDedup},
		{"concurrent attributions of one order store one", testConcurrentAttribution},
		{"deleting a partner deletes its attributions", testDeleteAttributions},
		{"tenants do not see each other", testIsolation},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

var (
	ctx = context.Background()
	t0  = time.Date(2025, 8, 6, 12, 0, 0, 0, time.UTC)
)

// greenAqua is a partner with every field set.
func greenAqua(id string) partners.Partner {
	return partners.Partner{
		ID: id, Name: "Green Aqua",
		Catalog: &partners.Catalog{
			BaseURL: "https://api.greenaqua.example/api/v2", Auth: partners.Auth{Style: "header", Header: "X-Api-Key", Secret: "green_aqua_api_key"},
			ListPath: "/products", GetPath: "/products/{id}", ItemsPath: "data", ItemPath: "data", CategoryParam: "category",
			Paging:  map[string]any{"style": "page", "page_size": 50.0, "total_pages_path": "meta.total_pages"},
			Mapping: map[string]string{"id": "item.sku", "key_benefits": "map(item.highlights, .text)"},
		},
		Guidelines:     partners.Guidelines{Voice: "educational", ProductIntegration: "in a real scape", CallToAction: "Shop Green Aqua"},
		Affiliate:      partners.Affiliate{LinkTemplate: "https://greenaqua.hu/en/p/{product_id}", Tracking: map[string]string{"utm_source": "aquascene", "utm_content": "{content_id}"}},
		RevenueSharing: partners.RevenueSharing{CommissionPercent: 8, Currency: "EUR", USDExchangeRate: 0.92, ProductionCostPerContent: 20},
		Notification:   &partners.Notification{URL: "/content-notifications", Secret: "green_aqua_notification_key", Algorithm: "ES256"},
		CreatedAt:      t0, UpdatedAt: t0.Add(time.Minute),
	}
}

func put(t testing.TB, s partners.Store, tenant string, p partners.Partner) {
	t.Helper()
	if err := s.PutPartner(ctx, tenant, p); err != nil {
		t.Fatalf("PutPartner: %v", err)
	}
}

func testRoundTrip(t *testing.T, s partners.Store) {
	want := greenAqua("green-aqua")
	put(t, s, "acme", want)
	got, err := s.Partner(ctx, "acme", "green-aqua")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read back\n%+v\nwant\n%+v", got, want)
	}
	bare := partners.Partner{ID: "bare", Name: "Bare", RevenueSharing: partners.RevenueSharing{Currency: "USD"}, CreatedAt: t0, UpdatedAt: t0}
	put(t, s, "acme", bare)
	if got, _ := s.Partner(ctx, "acme", "bare"); got.Catalog != nil || got.Notification != nil {
		t.Fatalf("a partner without catalog and notification reads back %+v", got)
	}
}

func testListReplaceDelete(t *testing.T, s partners.Store) {
	for _, id := range []string{"b-shop", "a-shop", "green-aqua"} {
		put(t, s, "acme", greenAqua(id))
	}
	repl := greenAqua("a-shop")
	repl.Name = "A Shop"
	put(t, s, "acme", repl)
	list, err := s.Partners(ctx, "acme")
	if err != nil || len(list) != 3 || list[0].ID != "a-shop" || list[0].Name != "A Shop" || list[2].ID != "green-aqua" {
		t.Fatalf("Partners = %+v, %v", list, err)
	}
	if err := s.DeletePartner(ctx, "acme", "b-shop"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Partner(ctx, "acme", "b-shop"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("deleted partner: %v", err)
	}
	if err := s.DeletePartner(ctx, "acme", "b-shop"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("deleting again: %v, want ErrNotFound", err)
	}
}

func attribution(partner, order, content string, amount float64) partners.Attribution {
	return partners.Attribution{PartnerID: partner, OrderID: order, ContentID: content, Amount: amount, Currency: "EUR", OrderedAt: t0, RecordedAt: t0}
}

func add(t testing.TB, s partners.Store, a partners.Attribution) (partners.Attribution, bool) {
	t.Helper()
	got, added, err := s.AddAttribution(ctx, "acme", a)
	if err != nil {
		t.Fatalf("AddAttribution: %v", err)
	}
	return got, added
}

func testAttributionDedup(t *testing.T, s partners.Store) {
	tests := []struct {
		name      string
		a         partners.Attribution
		wantAdded bool
		wantAmt   float64
	}{
		{"first order", attribution("green-aqua", "WC-1001", "gen-1", 120), true, 120},
		{"the same order again, another amount", attribution("green-aqua", "WC-1001", "gen-2", 999), false, 120},
		{"another order", attribution("green-aqua", "WC-1002", "gen-1", 30.5), true, 30.5},
		{"the same order id at another partner", attribution("aquaflora", "WC-1001", "gen-3", 10), true, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, added := add(t, s, tt.a)
			if added != tt.wantAdded || got.Amount != tt.wantAmt || got.OrderID != tt.a.OrderID || got.PartnerID != tt.a.PartnerID {
				t.Fatalf("AddAttribution = %+v added %v; want added %v amount %v", got, added, tt.wantAdded, tt.wantAmt)
			}
		})
	}
	list, err := s.Attributions(ctx, "acme", "green-aqua")
	if err != nil || len(list) != 2 || list[0].OrderID != "WC-1001" || list[0].ContentID != "gen-1" || list[1].Amount != 30.5 || !list[0].OrderedAt.Equal(t0) {
		t.Fatalf("Attributions = %+v, %v", list, err)
	}
}

func testConcurrentAttribution(t *testing.T, s partners.Store) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	added := 0
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ok, err := s.AddAttribution(ctx, "acme", attribution("green-aqua", "WC-7", fmt.Sprint("gen-", i), float64(i)))
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				added++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if list, _ := s.Attributions(ctx, "acme", "green-aqua"); added != 1 || len(list) != 1 {
		t.Fatalf("%d calls reported adding, %d stored; want 1 and 1", added, len(list))
	}
}

func testDeleteAttributions(t *testing.T, s partners.Store) {
	put(t, s, "acme", greenAqua("green-aqua"))
	put(t, s, "acme", greenAqua("green-aqua-2"))
	add(t, s, attribution("green-aqua", "WC-1", "gen-1", 1))
	add(t, s, attribution("green-aqua-2", "WC-1", "gen-1", 1))
	if err := s.DeletePartner(ctx, "acme", "green-aqua"); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.Attributions(ctx, "acme", "green-aqua"); len(list) != 0 {
		t.Fatalf("attributions outlive their partner: %+v", list)
	}
	if list, _ := s.Attributions(ctx, "acme", "green-aqua-2"); len(list) != 1 {
		t.Fatalf("a partner whose id the deleted one prefixes lost its attributions: %+v", list)
	}
}

func testIsolation(t *testing.T, s partners.Store) {
	put(t, s, "acme", greenAqua("green-aqua"))
	add(t, s, attribution("green-aqua", "WC-1", "gen-1", 1))
	if _, err := s.Partner(ctx, "other", "green-aqua"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("other tenant reads the partner: %v", err)
	}
	if list, _ := s.Partners(ctx, "other"); len(list) != 0 {
		t.Fatalf("other tenant lists %v", list)
	}
	if list, _ := s.Attributions(ctx, "other", "green-aqua"); len(list) != 0 {
		t.Fatalf("other tenant reads attributions %v", list)
	}
	if _, added, _ := s.AddAttribution(ctx, "other", attribution("green-aqua", "WC-1", "gen-9", 5)); !added {
		t.Fatal("another tenant's order id blocked this tenant's")
	}
}
