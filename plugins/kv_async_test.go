package plugins

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
)

// gatedKV holds every Set until the test opens its gate, and tells whether one is stored.
type gatedKV struct {
	*memKV
	gate   chan struct{}
	stored atomic.Bool
	fail   error // when set, Set fails with it once the gate opens
}

func newGatedKV() *gatedKV { return &gatedKV{memKV: newMemKV(), gate: make(chan struct{})} }

func (g *gatedKV) Set(ctx context.Context, scope KVScope, key, value []byte, quota KVQuota) error {
	<-g.gate
	if g.fail != nil {
		return g.fail
	}
	err := g.memKV.Set(ctx, scope, key, value, quota)
	g.stored.Store(err == nil)
	return err
}

// A guest's kv_set answers before the value is on disk, and the call makes up for it: a
// request of the call leaves only once the value is durable, the call returns only once
// it is, and the instance (the lane) is handed back before the call waits.
func TestKVSetIsDurableBeforeWhatFollowsIt(t *testing.T) {
	kv := newGatedKV()
	var seenStored atomic.Bool
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		seenStored.Store(kv.stored.Load())
	}))
	defer srv.Close()
	c, _ := openCatalog(t, Config{PoolSize: 1}, Deps{KV: kv, Grants: func(string, string) (TenantConfig, bool) {
		return TenantConfig{Egress: []string{srv.URL}}, true
	}}, map[string]string{"hostile.wasm": hostileGuest(t)}, false)

	t.Run("before a request", func(t *testing.T) {
		go func() {
			time.Sleep(100 * time.Millisecond)
			close(kv.gate)
		}()
		if _, err := c.Execute(context.Background(), ActionCall{Tenant: "t1", Connector: "hostile", Action: "kvput",
			Input: map[string]any{"key": "sent", "value": "1", "url": srv.URL + "/x"}}); err != nil {
			t.Fatal(err)
		}
		if requests.Load() != 1 || !seenStored.Load() {
			t.Fatalf("%d requests; the value was stored when the request arrived: %v", requests.Load(), seenStored.Load())
		}
	})

	t.Run("before the call returns, after the lane is free", func(t *testing.T) {
		kv.gate = make(chan struct{})
		kv.stored.Store(false)
		var storedAtRelease atomic.Bool
		released := make(chan struct{})
		go func() {
			<-released
			time.Sleep(100 * time.Millisecond)
			close(kv.gate)
		}()
		res, err := c.Execute(context.Background(), ActionCall{Tenant: "t1", Connector: "hostile", Action: "kvput",
			Input: map[string]any{"key": "cursor", "value": "2"},
			Released: func() {
				storedAtRelease.Store(kv.stored.Load())
				close(released)
			}})
		if err != nil {
			t.Fatal(err)
		}
		if storedAtRelease.Load() {
			t.Fatal("the lane was released after the write: it waited holding the instance")
		}
		if !kv.stored.Load() {
			t.Fatalf("the call returned %v before its kv_set was stored", res.Output)
		}
		// The instance served the next call while the write waited; it still serves.
		stillServes(t, c, "hostile", "noop")
	})

	t.Run("a write that fails after the guest went on fails the call", func(t *testing.T) {
		kv.gate, kv.fail = make(chan struct{}), errors.New("disk gone")
		close(kv.gate)
		_, err := c.Execute(context.Background(), ActionCall{Tenant: "t1", Connector: "hostile", Action: "kvput",
			Input: map[string]any{"key": "lost", "value": "3"}})
		if err == nil || !strings.Contains(err.Error(), "kv_set") || !strings.Contains(err.Error(), "disk gone") {
			t.Fatalf("want the call to fail with the write's error, got %v", err)
		}
		if cls := core.Classify(err).Class; cls != core.ClassTransient {
			t.Fatalf("class %s, want transient: the step runs again", cls)
		}
		before := requests.Load()
		_, err = c.Execute(context.Background(), ActionCall{Tenant: "t1", Connector: "hostile", Action: "kvput",
			Input: map[string]any{"key": "lost", "value": "4", "url": srv.URL + "/y"}})
		if err == nil || requests.Load() != before {
			t.Fatalf("a request after a failed kv_set left (%d requests) or the call succeeded: %v", requests.Load()-before, err)
		}
	})
}

// The quota still refuses a kv_set synchronously: the guest is told, not the step.
func TestKVSetOverQuotaIsRefusedAtOnce(t *testing.T) {
	c, _ := openCatalog(t, Config{KVQuotaKeys: 2}, Deps{KV: newMemKV()}, map[string]string{"hostile.wasm": hostileGuest(t)}, false)
	res, err := c.Execute(context.Background(), ActionCall{Tenant: "t1", Connector: "hostile", Action: "kvflood", Input: map[string]any{"count": 5, "bytes": 4}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Output["done"] != float64(2) || !strings.Contains(res.Output["err"].(string), "quota") {
		t.Fatalf("want the third kv_set refused with a quota error, got %v", res.Output)
	}
}
