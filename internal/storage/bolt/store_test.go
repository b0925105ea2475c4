package bolt_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/core/storetest"
	"github.com/aquascene/aquahub/internal/storage/bolt"
	"github.com/aquascene/aquahub/internal/webhooks"
	bbolt "go.etcd.io/bbolt"
)

// open returns a store in a temporary directory and, at cleanup, closes it and checks
// the file's consistency the way `bbolt check` does.
func open(t testing.TB) core.Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "aquahub.db")
	db, err := bolt.Open(bolt.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Check(); err != nil {
			t.Errorf("database check: %v", err)
		}
		db.Close()
	})
	return db.Pipeline()
}

func TestContract(t *testing.T) { storetest.Run(t, open) }

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aquahub.db")
	db, err := bolt.Open(bolt.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := db.Pipeline().Accept(ctx, core.AcceptRequest{Tenant: "acme", Events: []core.Pending{{Event: core.Event{ID: "e1", Source: "s", Type: "t", SpecVersion: "1.0"}, RuleIDs: []string{"r"}}}})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = bolt.Open(bolt.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	run, err := db.Pipeline().Run(ctx, "acme", res.Events[0].Runs[0])
	if err != nil || run.Status != core.RunQueued {
		t.Fatalf("after reopen: %+v %v", run, err)
	}
}

func TestSecondOpenFailsClearly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aquahub.db")
	db, err := bolt.Open(bolt.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	defer bolt.SetLockTimeout(50 * time.Millisecond)()
	_, err = bolt.Open(bolt.Config{Path: path})
	if err == nil {
		t.Fatal("a second open of a locked file succeeded")
	}
	if want := "locked by another process"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
}

func TestUnknownFormatVersionIsRefused(t *testing.T) {
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
	if err := raw.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("aquahub.meta")).Put([]byte("format_version"), []byte("7"))
	}); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	_, err = bolt.Open(bolt.Config{Path: path})
	if err == nil {
		t.Fatal("a file of format version 7 opened")
	}
	for _, want := range []string{path, `format version "7"`, fmt.Sprintf("reads versions 1 to %d", bolt.FormatVersion)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// TestVersion1QueueIsMigrated: a file written by format version 1 (queue keys be64(due)
// tenant\0run) opens, its queued runs are refiled per tenant and lease as before.
func TestVersion1QueueIsMigrated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aquahub.db")
	db, err := bolt.Open(bolt.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := db.Pipeline().Accept(ctx, core.AcceptRequest{Tenant: "acme", Events: []core.Pending{{Event: core.Event{ID: "e1", Source: "s", Type: "t", SpecVersion: "1.0"}, RuleIDs: []string{"r"}}}})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	// Rewrite the file as version 1 had it.
	raw, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = raw.Update(func(tx *bbolt.Tx) error {
		if err := tx.DeleteBucket([]byte("runqueue")); err != nil {
			return err
		}
		old, err := tx.CreateBucket([]byte("queue"))
		if err != nil {
			return err
		}
		k := binary.BigEndian.AppendUint64(nil, uint64(time.Now().Add(-time.Minute).UnixNano()))
		k = append(append(append(k, "acme"...), 0), res.Events[0].Runs[0]...)
		if err := old.Put(k, nil); err != nil {
			return err
		}
		return tx.Bucket([]byte("aquahub.meta")).Put([]byte("format_version"), []byte("1"))
	})
	if err != nil {
		t.Fatal(err)
	}
	raw.Close()
	db, err = bolt.Open(bolt.Config{Path: path})
	if err != nil {
		t.Fatalf("opening a version 1 file: %v", err)
	}
	defer db.Close()
	runs, err := db.Pipeline().Lease(ctx, time.Now(), 10, time.Minute, nil)
	if err != nil || len(runs) != 1 || runs[0].ID != res.Events[0].Runs[0] {
		t.Fatalf("the migrated queue: %+v %v", runs, err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestVersion2WebhookDueIsMigrated: a file written by format version 2 (one due index,
// be64(due) tenant\0endpoint\0message) opens with its messages in their endpoints' queues,
// due as before.
func TestVersion2WebhookDueIsMigrated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aquahub.db")
	db, err := bolt.Open(bolt.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	due := time.Now().Add(-time.Minute).UTC()
	err = db.Webhooks().Update(ctx, func(tx webhooks.Tx) error {
		for _, id := range []string{"msg_1", "msg_2"} {
			if err := tx.PutDelivery(webhooks.Delivery{Tenant: "acme", ID: id, EndpointID: "ep_1", State: webhooks.StatePending,
				Body: []byte(`{}`), Log: []webhooks.Attempt{}, DueAt: due}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = raw.Update(func(tx *bbolt.Tx) error {
		for _, b := range []string{"webhooks.queue", "webhooks.ready", "webhooks.heads"} {
			if err := tx.DeleteBucket([]byte(b)); err != nil {
				return err
			}
		}
		old, err := tx.CreateBucket([]byte("webhooks.due"))
		if err != nil {
			return err
		}
		for _, id := range []string{"msg_1", "msg_2"} {
			k := binary.BigEndian.AppendUint64(nil, uint64(due.UnixNano()))
			k = append(append(append(append(append(k, "acme"...), 0), "ep_1"...), 0), id...)
			if err := old.Put(k, nil); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("aquahub.meta")).Put([]byte("format_version"), []byte("2"))
	})
	if err != nil {
		t.Fatal(err)
	}
	raw.Close()
	db, err = bolt.Open(bolt.Config{Path: path})
	if err != nil {
		t.Fatalf("opening a version 2 file: %v", err)
	}
	defer db.Close()
	err = db.Webhooks().View(ctx, func(tx webhooks.Tx) error {
		eps, err := tx.DueEndpoints(time.Now(), 10, nil)
		if err != nil || len(eps) != 1 || eps[0].EndpointID != "ep_1" || !eps[0].At.Equal(due) {
			t.Fatalf("due endpoints after migrating: %+v %v", eps, err)
		}
		ds, err := tx.DueDeliveries("acme", "ep_1", time.Now(), 10)
		if err != nil || len(ds) != 2 {
			t.Fatalf("due messages after migrating: %d %v", len(ds), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}
