package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/aquascene/aquahub/plugins"
)

// pluginBenchResult is what `aquahub bench plugins` prints.
type pluginBenchResult struct {
	// NoopCallUS is the pooled call of a no-op action in a minimal module: the host's own
	// cost per call (pool, copies, two export calls, envelopes, validation).
	NoopCallUS float64 `json:"noop_call_us"`
	// InstantiateMS and InstanceMemoryMiB describe one instance of the http connector (a Go
	// reactor): instantiate plus _initialize, and linear memory afterwards.
	InstantiateMS     float64 `json:"instantiate_ms"`
	InstanceMemoryMiB float64 `json:"instance_memory_mib"`
	// ColdLoadMS and WarmLoadMS are Open times of the http connector with an empty and a
	// filled compilation cache.
	ColdLoadMS float64 `json:"cold_load_ms"`
	WarmLoadMS float64 `json:"warm_load_ms"`
	// HTTPCallsPerSec is the http connector's request action against a loopback server, with
	// Clients concurrent callers and a pool of the same size.
	HTTPCallsPerSec float64 `json:"http_calls_per_s"`
	HTTPCallP50MS   float64 `json:"http_call_p50_ms"`
	// HTTPCallCPUMicros is the process's CPU time per http connector call (host, guest and
	// the loopback server together), steadier than calls/s on a busy machine.
	HTTPCallCPUMicros float64 `json:"http_call_cpu_us"`
	Clients           int     `json:"clients"`
	ModuleMiB         float64 `json:"module_mib"`
	CPUs              int     `json:"cpus"`
}

func newBenchPluginsCmd() *cobra.Command {
	var (
		wasm     string
		duration time.Duration
		clients  int
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "plugins",
		Short: "Connector host figures: no-op call overhead, instantiate time and memory, load time, http connector calls/s",
		Long: `Measures the WASM host in process: the pooled call overhead of a no-op action (a minimal
module assembled by the host), the instantiate time and linear memory of one Go connector
instance, its load time with a cold and a warm compilation cache, and calls/s of the http
connector against a loopback server. Needs build/connectors/http.wasm (make connectors) or
--wasm.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := benchPlugins(cmd.Context(), wasm, duration, clients)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), res)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "pooled no-op call (host overhead)   %8.2f µs\n", res.NoopCallUS)
			fmt.Fprintf(w, "instantiate one Go instance         %8.1f ms\n", res.InstantiateMS)
			fmt.Fprintf(w, "linear memory per instance          %8.1f MiB\n", res.InstanceMemoryMiB)
			fmt.Fprintf(w, "load http connector, cold cache     %8.0f ms  (%.1f MiB module)\n", res.ColdLoadMS, res.ModuleMiB)
			fmt.Fprintf(w, "load http connector, warm cache     %8.0f ms\n", res.WarmLoadMS)
			fmt.Fprintf(w, "http connector vs loopback server   %8.0f calls/s  (p50 %.2f ms, %d clients, %d CPUs)\n",
				res.HTTPCallsPerSec, res.HTTPCallP50MS, res.Clients, res.CPUs)
			fmt.Fprintf(w, "  cpu per http connector call       %8.0f µs  (host, guest and server)\n", res.HTTPCallCPUMicros)
			return nil
		},
	}
	cmd.Flags().StringVar(&wasm, "wasm", "build/connectors/http.wasm", "the http connector module")
	cmd.Flags().DurationVar(&duration, "duration", 3*time.Second, "how long each throughput phase runs")
	cmd.Flags().IntVar(&clients, "clients", runtime.NumCPU(), "concurrent callers of the http connector")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func benchPlugins(ctx context.Context, wasm string, duration time.Duration, clients int) (pluginBenchResult, error) {
	res := pluginBenchResult{Clients: clients, CPUs: runtime.NumCPU()}
	module, err := os.ReadFile(wasm)
	if err != nil {
		return res, fmt.Errorf("%w (build it with make connectors, or pass --wasm)", err)
	}
	res.ModuleMiB = float64(len(module)) / (1 << 20)
	tmp, err := os.MkdirTemp("", "aquahub-bench-plugins-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(tmp)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	mkdir := func(name string, files map[string][]byte) string {
		d := filepath.Join(tmp, name)
		os.MkdirAll(d, 0o755)
		for f, b := range files {
			os.WriteFile(filepath.Join(d, f), b, 0o644)
		}
		return d
	}

	// No-op overhead.
	noop, err := plugins.Open(ctx, plugins.Config{Dir: mkdir("noop", map[string][]byte{"noop.wasm": plugins.NoopModule()})}, plugins.Deps{Logger: quiet})
	if err != nil {
		return res, err
	}
	call := plugins.ActionCall{Tenant: "bench", RunID: "r", StepID: "s", Connector: "noop", Action: "noop", Input: map[string]any{}, IdempotencyKey: "r/s"}
	for range 1000 {
		noop.Execute(ctx, call)
	}
	n, start := 0, time.Now()
	for time.Since(start) < duration/3 {
		for range 1000 {
			if _, err := noop.Execute(ctx, call); err != nil {
				noop.Close(ctx)
				return res, err
			}
		}
		n += 1000
	}
	res.NoopCallUS = float64(time.Since(start).Microseconds()) / float64(n)
	noop.Close(ctx)

	// Load times, cold then warm.
	dir := mkdir("http", map[string][]byte{"http.wasm": module})
	cache := filepath.Join(tmp, "cache")
	start = time.Now()
	cat, err := plugins.Open(ctx, plugins.Config{Dir: dir, CacheDir: cache}, plugins.Deps{Logger: quiet})
	if err != nil {
		return res, err
	}
	res.ColdLoadMS = ms(time.Since(start))
	cat.Close(ctx)
	var warm time.Duration
	for range 3 {
		start = time.Now()
		c, err := plugins.Open(ctx, plugins.Config{Dir: dir, CacheDir: cache}, plugins.Deps{Logger: quiet})
		if err != nil {
			return res, err
		}
		warm += time.Since(start)
		c.Close(ctx)
	}
	res.WarmLoadMS = ms(warm / 3)

	// Instances and throughput.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true,"n":1}`))
	}))
	defer api.Close()
	cat, err = plugins.Open(ctx, plugins.Config{Dir: dir, CacheDir: cache, PoolSize: clients}, plugins.Deps{
		Logger: quiet,
		Grants: func(string, string) (plugins.TenantConfig, bool) {
			return plugins.TenantConfig{Egress: []string{api.URL}}, true
		},
	})
	if err != nil {
		return res, err
	}
	defer cat.Close(ctx)
	var inst time.Duration
	for range 3 {
		st, err := cat.MeasureInstance(ctx, "http")
		if err != nil {
			return res, err
		}
		inst += st.Instantiate
		res.InstanceMemoryMiB = float64(st.MemoryBytes) / (1 << 20)
	}
	res.InstantiateMS = ms(inst / 3)

	in := map[string]any{"url": api.URL + "/ping"}
	var calls atomic.Int64
	var failed atomic.Value
	lat := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	deadline := time.Now().Add(duration)
	cpu0 := processCPU()
	start = time.Now()
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				t := time.Now()
				if _, err := cat.Execute(ctx, plugins.ActionCall{Tenant: "bench", Connector: "http", Action: "request", Input: in}); err != nil {
					failed.Store(err)
					return
				}
				lat[i] = append(lat[i], time.Since(t))
				calls.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return res, fmt.Errorf("http connector: %w", err)
	}
	res.HTTPCallsPerSec = float64(calls.Load()) / time.Since(start).Seconds()
	if n := calls.Load(); n > 0 {
		res.HTTPCallCPUMicros = float64((processCPU() - cpu0).Microseconds()) / float64(n)
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	if len(all) > 0 {
		res.HTTPCallP50MS = ms(medianDuration(all))
	}
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func medianDuration(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
