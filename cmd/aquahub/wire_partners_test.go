package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/partners"
	"github.com/aquascene/aquahub/internal/storage/bolt"
	"github.com/aquascene/aquahub/plugins"
)

// TestPartnerInstances checks the grant `connector: partner/<id>` runs with: the secrets
// the partner names, taken from the tenant's partner connector settings under the
// connector's own names, with the origins the operator bound them to, and the tenant's
// egress grant.
func TestPartnerInstances(t *testing.T) {
	db, err := bolt.Open(bolt.Config{Path: filepath.Join(t.TempDir(), "aquahub.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	pm := partners.New(partners.Deps{Store: db.Partners()})
	const origin = "https://api.greenaqua.example"
	h := &hub{log: slog.New(slog.DiscardHandler), modules: []core.Module{pm}, cfg: Config{Tenants: []Tenant{{ID: "t1", Connectors: map[string]plugins.TenantConfig{
		"partner": {
			Secrets:       map[string]string{"ga_key": "ga-api-key-0001", "ga_notify": "whsec_ga_notify_0001", "other_key": "other-key-0001"},
			Egress:        []string{origin, "https://api.aquaflora.example"},
			SecretOrigins: map[string][]string{"ga_key": {origin}, "other_key": {"https://api.aquaflora.example"}},
		},
	}}}}}
	if _, err := identityModule(h); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	register := func(id, keySecret string) {
		t.Helper()
		_, _, err := pm.Put(ctx, "t1", partners.Partner{ID: id, Name: id,
			Catalog:        &partners.Catalog{BaseURL: origin + "/api/v2", Auth: partners.Auth{Style: "header", Secret: keySecret}},
			RevenueSharing: partners.RevenueSharing{Currency: "USD"},
			Notification:   &partners.Notification{URL: "/content-notifications", Secret: "ga_notify"}})
		if err != nil {
			t.Fatal(err)
		}
	}
	register("green-aqua", "ga_key")
	register("unknown-secret", "no_such_secret")
	resolve := partnerInstances(h)

	inst, err := resolve(ctx, "t1", "partner", "green-aqua")
	if err != nil {
		t.Fatal(err)
	}
	g := inst.Grant
	if want := map[string]string{"api_key": "ga-api-key-0001", "notification_secret": "whsec_ga_notify_0001"}; !reflect.DeepEqual(g.Secrets, want) {
		t.Errorf("secrets %v, want %v", g.Secrets, want)
	}
	// The key keeps its binding under the connector's name; the unbound notification
	// secret stays free within the egress grant, as the tenant's own would be.
	if want := map[string][]string{"api_key": {origin}}; !reflect.DeepEqual(g.SecretOrigins, want) {
		t.Errorf("secret origins %v, want %v", g.SecretOrigins, want)
	}
	if len(g.Egress) != 2 || g.Config["notification_alg"] != partners.AlgHMAC || inst.Version == "" {
		t.Errorf("grant %+v, version %q", g, inst.Version)
	}

	tests := []struct {
		name, tenant, connector, instance, wantErr string
	}{
		{"a secret the tenant does not hold", "t1", "partner", "unknown-secret", "tenants[t1].connectors.partner.secrets"},
		{"an unregistered partner", "t1", "partner", "aquaflora", "aquaflora"},
		{"instances of another connector", "t1", "sendgrid", "green-aqua", "only the partner connector"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := resolve(ctx, tt.tenant, tt.connector, tt.instance)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one naming %q", err, tt.wantErr)
			}
		})
	}
}
