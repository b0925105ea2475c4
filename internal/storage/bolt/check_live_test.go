package bolt_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/storage/bolt"
)

// Check on a file that is being written reports no damage: bbolt's own check, run beside
// commits, takes the pages a later commit freed for pages both reachable and free.
func TestCheckWhileWriting(t *testing.T) {
	db := openDB(t, bolt.Config{})
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				_, err := db.Pipeline().Accept(context.Background(), core.AcceptRequest{Tenant: "acme", Events: []core.Pending{{
					Event: core.Event{ID: fmt.Sprintf("w%d-%d", w, i), Source: "app", Type: "t", SpecVersion: "1.0"}, RuleIDs: []string{"r"}}}})
				if err != nil {
					t.Error(err)
					return
				}
				if i%50 == 0 {
					if err := bolt.FileDedupJournal(db); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	for range 100 {
		if err := db.Check(); err != nil {
			t.Error(err)
			break
		}
	}
	stop.Store(true)
	wg.Wait()
}
