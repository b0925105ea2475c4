package bolt_test

import (
	"path/filepath"
	"testing"

	"github.com/aquascene/aquahub/internal/storage/bolt"
	"github.com/aquascene/aquahub/internal/webhooks"
	"github.com/aquascene/aquahub/internal/webhooks/storetest"
)

func TestWebhooksContract(t *testing.T) {
	storetest.Run(t, func(t testing.TB) webhooks.Store { return openDB(t).Webhooks() })
}

// openDB returns a file in a temporary directory, sealing secrets with a fresh master key,
// and at cleanup closes it and checks its consistency the way `bbolt check` does.
func openDB(t testing.TB) *bolt.DB {
	t.Helper()
	db, err := bolt.OpenWith(bolt.Config{Path: filepath.Join(t.TempDir(), "aquahub.db")}, bolt.Options{Secrets: vault(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Check(); err != nil {
			t.Errorf("database check: %v", err)
		}
		db.Close()
	})
	return db
}
