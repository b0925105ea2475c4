package plugins

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestNoopModuleLoadsAndAnswers(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "noop.wasm"), NoopModule(), 0o644); err != nil {
		t.Fatal(err)
	}
	c, _ := openCatalog(t, Config{Dir: dir}, Deps{}, nil, false)
	res, err := c.Execute(context.Background(), ActionCall{Connector: "noop", Action: "noop", Input: map[string]any{"a": 1}})
	if err != nil || res.Output == nil {
		t.Fatalf("noop: %v %v", res, err)
	}
}

func BenchmarkPooledNoopCall(b *testing.B) {
	dir := b.TempDir()
	os.WriteFile(filepath.Join(dir, "noop.wasm"), NoopModule(), 0o644)
	c, _ := openCatalog(b, Config{Dir: dir}, Deps{}, nil, false)
	call := ActionCall{Tenant: "t", RunID: "r", StepID: "s", Connector: "noop", Action: "noop", Input: map[string]any{}, IdempotencyKey: "r/s"}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Execute(ctx, call); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGoGuestNoopCall(b *testing.B) {
	c, _ := openCatalog(b, Config{}, Deps{}, map[string]string{"hostile.wasm": hostileGuest(b)}, false)
	call := Call{Connector: "hostile", Action: "noop", Inputs: []json.RawMessage{json.RawMessage(`{}`)}}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Invoke(ctx, call); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInstantiateGoGuest(b *testing.B) {
	c, _ := openCatalog(b, Config{}, Deps{}, map[string]string{"hostile.wasm": hostileGuest(b)}, false)
	v, _ := c.get("hostile")
	defer v.inflight.Done()
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		inst, err := v.instantiate(ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(inst.memoryPages())*64, "KiB/instance")
		v.discard(inst, "bench")
	}
}

func BenchmarkWarmCacheLoad(b *testing.B) {
	path := hostileGuest(b)
	cache := b.TempDir()
	dir := b.TempDir()
	copyInto(b, dir, map[string]string{"hostile.wasm": path})
	openCatalog(b, Config{Dir: dir, CacheDir: cache}, Deps{}, nil, false) // fills the cache
	b.ResetTimer()
	for b.Loop() {
		c, err := Open(context.Background(), Config{Dir: dir, CacheDir: cache}, Deps{Logger: quietLogger()})
		if err != nil {
			b.Fatal(err)
		}
		c.Close(context.Background())
	}
}
