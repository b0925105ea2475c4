package bolt_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/identity"
	"github.com/aquascene/aquahub/internal/secrets"
	"github.com/aquascene/aquahub/internal/storage/bolt"
	"github.com/aquascene/aquahub/internal/webhooks"
	bbolt "go.etcd.io/bbolt"
)

func vault(t testing.TB) *secrets.Vault {
	t.Helper()
	key, err := secrets.ParseMasterKey(secrets.NewMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	v, err := secrets.NewVault(key)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// fileContains reports whether the raw file holds s anywhere.
func fileContains(t testing.TB, path, s string) bool {
	t.Helper()
	raw, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	found := false
	err = raw.View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bbolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error {
				if bytes.Contains(v, []byte(s)) || bytes.Contains(k, []byte(s)) {
					found = true
				}
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

const (
	plainSecret   = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	plainPrevious = "whsec_b2xkLXNlY3JldC1vbGQtc2VjcmV0LW9sZA=="
)

// TestPlaintextWebhookSecretsAreSealed: files of format versions 2 and 3 hold endpoint
// secrets in plain text. Opening one with a secret box seals them (version 4); the endpoint
// reads back with the same secrets, and no byte of the file holds them any more. Without the
// box the file is refused rather than misread.
func TestPlaintextWebhookSecretsAreSealed(t *testing.T) {
	for _, version := range []string{"2", "3"} {
		t.Run("format version "+version, func(t *testing.T) { sealsPlaintextSecrets(t, version) })
	}
}

func sealsPlaintextSecrets(t *testing.T, version string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "aquahub.db")
	db, err := bolt.Open(bolt.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	old := `{"id":"ep_1","url":"https://partner.example/hook","events":["content.*"],"enabled":true,"created_at":"2025-08-01T09:00:00Z",` +
		`"updated_at":"2025-08-06T12:00:01Z","tenant":"aquascene","secret":"` + plainSecret + `","previous_secret":"` + plainPrevious + `",` +
		`"rotation_ends_at":"2099-01-01T00:00:00Z"}`
	if err := raw.Update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket([]byte("webhooks.endpoints")).Put([]byte("aquascene\x00ep_1"), []byte(old)); err != nil {
			return err
		}
		return tx.Bucket([]byte("aquahub.meta")).Put([]byte("format_version"), []byte(version))
	}); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	if _, err := bolt.Open(bolt.Config{Path: path}); err == nil || !strings.Contains(err.Error(), "secret box") {
		t.Fatalf("a version %s file with secrets opened without a secret box: %v", version, err)
	}
	box := vault(t)
	db, err = bolt.OpenWith(bolt.Config{Path: path}, bolt.Options{Secrets: box})
	if err != nil {
		t.Fatalf("migrating: %v", err)
	}
	var ep webhooks.Endpoint
	err = db.Webhooks().View(context.Background(), func(tx webhooks.Tx) error {
		var err error
		ep, err = tx.Endpoint("aquascene", "ep_1")
		return err
	})
	db.Close()
	if err != nil || string(ep.Secret) != plainSecret || string(ep.PreviousSecret) != plainPrevious || ep.URL != "https://partner.example/hook" {
		t.Fatalf("after migration: %+v %v", ep, err)
	}
	for _, s := range []string{plainSecret, plainPrevious, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"} {
		if fileContains(t, path, s) {
			t.Errorf("the file still holds %q", s)
		}
	}
	// Another master key cannot read them.
	db, err = bolt.OpenWith(bolt.Config{Path: path}, bolt.Options{Secrets: vault(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Webhooks().View(context.Background(), func(tx webhooks.Tx) error {
		_, err := tx.Endpoint("aquascene", "ep_1")
		return err
	})
	if !errors.Is(err, secrets.ErrWrongMasterKey) || strings.Contains(err.Error(), plainSecret) {
		t.Fatalf("another master key: %v", err)
	}
}

// TestTenantSecretsAreSealedAndRotationRewraps: a tenant's connector and source secrets are
// not in the file; after a master key rotation they read back under the new key only.
func TestTenantSecretsAreSealedAndRotationRewraps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aquahub.db")
	oldBox := vault(t)
	db, err := bolt.OpenWith(bolt.Config{Path: path}, bolt.Options{Secrets: oldBox})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rec := identity.TenantRecord{Tenant: core.Tenant{ID: "acme", Name: "Acme", CreatedAt: time.Now(), Revision: 1,
		Connectors: map[string]core.ConnectorGrant{"sendgrid": {Config: map[string]any{"base_url": "https://api.sendgrid.com"},
			Secrets: map[string]string{"api_key": "SG.tenant-canary-value"}, Egress: []string{"https://api.sendgrid.com"}}},
		Sources: map[string]core.SourceSettings{"hook": {Settings: map[string]string{"verifier": "hmac"}, Secrets: map[string]string{"secret": "source-canary-value"}}},
	}}
	if err := db.Identity().PutTenant(ctx, rec); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, s := range []string{"SG.tenant-canary-value", "source-canary-value"} {
		if fileContains(t, path, s) {
			t.Fatalf("the file holds %q", s)
		}
	}
	newBox := vault(t)
	db, err = bolt.OpenWith(bolt.Config{Path: path}, bolt.Options{Secrets: newBox})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Identity().Tenants(ctx); !errors.Is(err, secrets.ErrWrongMasterKey) {
		t.Fatalf("before rotation the new key must not open the secrets: %v", err)
	}
	n, err := db.RewrapDataKeys(func(tenant string, wrapped []byte) ([]byte, error) {
		return secrets.RewrapDataKey(oldBox, newBox, tenant, wrapped)
	})
	if err != nil || n != 1 {
		t.Fatalf("rewrapped %d keys: %v", n, err)
	}
	recs, err := db.Identity().Tenants(ctx)
	if err != nil || len(recs) != 1 {
		t.Fatalf("after rotation: %v %v", recs, err)
	}
	got := recs[0]
	if got.Connectors["sendgrid"].Secrets["api_key"] != "SG.tenant-canary-value" || got.Sources["hook"].Secrets["secret"] != "source-canary-value" {
		t.Fatalf("secrets after rotation: %+v", got)
	}
}
