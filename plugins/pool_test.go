package plugins

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aquascene/aquahub/core"
)

func noopCatalog(t *testing.T, opts Options) *Catalog {
	t.Helper()
	opts.Dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(opts.Dir, "noop.wasm"), NoopModule(), 0o644); err != nil {
		t.Fatal(err)
	}
	c, _ := openCatalog(t, opts, nil, false)
	return c
}

func TestInstancesRecycleAfterCalls(t *testing.T) {
	c := noopCatalog(t, Options{RecycleAfterCalls: 3})
	for range 7 {
		if _, err := c.Execute(context.Background(), core.StepCall{Connector: "noop", Action: "noop", Input: map[string]any{}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := counterValue(c.metrics.discarded.WithLabelValues("noop", "recycled_calls")); n != 2 {
		t.Fatalf("recycled %v instances after 7 calls with a limit of 3, want 2", n)
	}
}

func TestPoolBoundsInstances(t *testing.T) {
	c := noopCatalog(t, Options{PoolSize: 2})
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if _, err := c.Execute(context.Background(), core.StepCall{Connector: "noop", Action: "noop", Input: map[string]any{}}); err != nil {
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
