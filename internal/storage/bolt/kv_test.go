package bolt_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/aquascene/aquahub/internal/storage/bolt"
	"github.com/aquascene/aquahub/plugins"
	"github.com/aquascene/aquahub/plugins/storetest"
)

func openKV(t testing.TB) plugins.KVStore {
	t.Helper()
	db, err := bolt.Open(bolt.Config{Path: filepath.Join(t.TempDir(), "aquahub.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Check(); err != nil {
			t.Errorf("database check: %v", err)
		}
		db.Close()
	})
	return db.ConnectorKV()
}

func TestConnectorKVContract(t *testing.T) { storetest.Run(t, openKV) }

// TestConnectorKVReadsExistingFiles checks the layout files written before the store
// interface existed: bucket plugins.kv, key tenant\0connector\0key, the value's raw bytes.
func TestConnectorKVReadsExistingFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aquahub.db")
	raw, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = raw.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("plugins.kv"))
		if err != nil {
			return err
		}
		return b.Put([]byte("aquascene\x00airtable\x00cursor"), []byte("itrABC"))
	})
	raw.Close()
	if err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(bolt.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	kv := db.ConnectorKV()
	ctx := context.Background()
	scope := plugins.KVScope{Tenant: "aquascene", Connector: "airtable"}
	v, err := kv.Get(ctx, scope, []byte("cursor"))
	if err != nil || string(v) != "itrABC" {
		t.Fatalf("Get of a value written in the old layout: %q %v", v, err)
	}
	// The totals of values written before they were kept are counted at open.
	if u, err := kv.Usage(ctx, scope); err != nil || u != (plugins.KVUsage{Keys: 1, Bytes: int64(len("cursor") + len("itrABC"))}) {
		t.Fatalf("Usage of a scope written in the old layout: %+v %v", u, err)
	}
	if err := kv.Set(ctx, scope, []byte("next"), []byte("2"), plugins.KVQuota{Keys: 1}); !errors.Is(err, plugins.ErrKVQuota) {
		t.Fatalf("the quota should count the values written before totals were kept: %v", err)
	}
	if err := kv.Set(ctx, scope, []byte("next"), []byte("2"), plugins.KVQuota{}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err = bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := raw.View(func(tx *bbolt.Tx) error {
		if got := tx.Bucket([]byte("plugins.kv")).Get([]byte("aquascene\x00airtable\x00next")); string(got) != "2" {
			t.Errorf("Set wrote %q under tenant\\0connector\\0key, want \"2\"", got)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
