package bolt_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/storage/bolt"
	"github.com/aquascene/aquahub/core/storetest"
	bbolt "go.etcd.io/bbolt"
)

// open returns a store in a temporary directory and, at cleanup, closes it and checks
// the file's consistency the way `bbolt check` does.
func open(t testing.TB) core.Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "aquahub.db")
	s, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.DB().View(func(tx *bbolt.Tx) error {
			for err := range tx.Check() {
				return err
			}
			return nil
		}); err != nil {
			t.Errorf("database check: %v", err)
		}
		s.Close()
	})
	return s
}

func TestContract(t *testing.T) { storetest.Run(t, open) }

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aquahub.db")
	s, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := s.Accept(ctx, core.AcceptRequest{Tenant: "acme", Events: []core.Pending{{Event: core.Event{ID: "e1", Source: "s", Type: "t", SpecVersion: "1.0"}, RuleIDs: []string{"r"}}}})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	run, err := s.Run(ctx, "acme", res.Events[0].Runs[0])
	if err != nil || run.Status != core.RunQueued {
		t.Fatalf("after reopen: %+v %v", run, err)
	}
}

func TestSecondOpenFailsClearly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aquahub.db")
	s, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = bolt.Open(path, bolt.Options{Timeout: 50_000_000})
	if err == nil {
		t.Fatal("a second open of a locked file succeeded")
	}
	if want := "locked by another process"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
}
