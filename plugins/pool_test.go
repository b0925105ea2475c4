package plugins

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func noopCatalog(t *testing.T, cfg Config) *Catalog {
	t.Helper()
	cfg.Dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(cfg.Dir, "noop.wasm"), NoopModule(), 0o644); err != nil {
		t.Fatal(err)
	}
	c, _ := openCatalog(t, cfg, Deps{}, nil, false)
	return c
}

func TestInstancesRecycleAfterCalls(t *testing.T) {
	c := noopCatalog(t, Config{RecycleAfterCalls: 3})
	for range 7 {
		if _, err := c.Execute(context.Background(), ActionCall{Connector: "noop", Action: "noop", Input: map[string]any{}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := counterValue(c.metrics.discarded.WithLabelValues("noop", "recycled_calls")); n != 2 {
		t.Fatalf("recycled %v instances after 7 calls with a limit of 3, want 2", n)
	}
}

func TestPoolBoundsInstances(t *testing.T) {
	c := noopCatalog(t, Config{PoolSize: 2})
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if _, err := c.Execute(context.Background(), ActionCall{Connector: "noop", Action: "noop", Input: map[string]any{}}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	info := c.Connectors()[0]
	if info.Live > 2 || counterValue(c.metrics.instances.WithLabelValues("noop")) > 2 {
		t.Fatalf("pool of 2 grew to %d live / %v created", info.Live, counterValue(c.metrics.instances.WithLabelValues("noop")))
	}
	if info.Calls != 320 || info.Errors != 0 {
		t.Fatalf("calls %d errors %d", info.Calls, info.Errors)
	}
}

// idleInstance takes the one idle instance of a connector, for inspection, and puts it back.
func idleInstance(t *testing.T, c *Catalog, id string) *instance {
	t.Helper()
	v, ok := c.get(id)
	if !ok {
		t.Fatalf("%s not loaded", id)
	}
	defer v.inflight.Done()
	inst := <-v.idle
	v.idle <- inst
	return inst
}

func TestInputBufferReuse(t *testing.T) {
	t.Run("guest exporting hub_reuse_input gets one hub_alloc per buffer size", func(t *testing.T) {
		c, _ := openCatalog(t, Config{PoolSize: 1}, Deps{KV: newMemKV()}, map[string]string{"hostile.wasm": hostileGuest(t)}, false)
		// Sizes grow past the buffer (a new hub_alloc) and shrink back (reused); every value
		// must come back intact, so no call reads a stale or short buffer.
		sizes := []int{10, 3000, 10, 20000, 50000, 5, 40000, 7}
		for i, n := range sizes {
			val := strings.Repeat(string(rune('a'+i)), n)
			out, err := invoke(t, c, "kv", map[string]any{"key": "k", "value": val})
			if err != nil || out["value"] != val {
				t.Fatalf("call %d (%d bytes): value came back wrong (%d bytes), err %v", i, n, len(fmt.Sprint(out["value"])), err)
			}
		}
		if got := idleInstance(t, c, "hostile").allocs; got != 3 {
			t.Fatalf("hub_alloc calls = %d for %d invokes, want 3 (4 KiB, 20 KB, 50 KB inputs)", got, len(sizes))
		}
	})
	t.Run("guest without the export gets a fresh buffer per call", func(t *testing.T) {
		c, _ := openCatalog(t, Config{PoolSize: 1}, Deps{}, map[string]string{"raw.wasm": rawGuest(t, "v1")}, false)
		for range 5 {
			if _, err := c.Execute(context.Background(), ActionCall{Connector: "raw", Action: "echo", Input: map[string]any{"a": 1.0}}); err != nil {
				t.Fatal(err)
			}
		}
		if got := idleInstance(t, c, "raw").allocs; got != 5 {
			t.Fatalf("hub_alloc calls = %d for 5 invokes, want 5", got)
		}
	})
}

// countingHandler counts log records by message.
type countingHandler struct {
	mu sync.Mutex
	n  map[string]int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n[r.Message]++
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

func (h *countingHandler) count(prefix string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for msg, c := range h.n {
		if strings.HasPrefix(msg, prefix) {
			n += c
		}
	}
	return n
}

func TestMissingDirectoryIsLoggedOncePerChange(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "connectors")
	logs := &countingHandler{n: map[string]int{}}
	c, _ := openCatalog(t, Config{Dir: dir}, Deps{Logger: slog.New(logs)}, nil, false)
	reload := func() {
		t.Helper()
		if _, err := c.Reload(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	reload()
	reload()
	if n := logs.count("connector directory does not exist"); n != 1 {
		t.Fatalf("3 scans of a missing directory logged it %d times, want once", n)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	reload()
	reload()
	if n := logs.count("connector directory appeared"); n != 1 {
		t.Fatalf("appearance logged %d times, want once", n)
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	reload()
	reload()
	if n := logs.count("connector directory does not exist"); n != 2 {
		t.Fatalf("missing again: logged %d times in all, want 2", n)
	}
}
