package bolt_test

import (
	"testing"

	"github.com/aquascene/aquahub/internal/storage/bolt"
)

// Check on a file that is being written reports no damage: bbolt's own check, run beside
// commits, takes the pages a later commit freed for pages both reachable and free.
func TestCheckWhileWriting(t *testing.T) {
	db := openDB(t, bolt.Config{})
	_, stop := writeInBackground(t, db, 4, func(i int) error {
		if i%50 == 0 {
			return bolt.FileDedupJournal(db)
		}
		return nil
	})
	defer stop()
	for range 100 {
		if err := db.Check(); err != nil {
			t.Error(err)
			break
		}
	}
}
