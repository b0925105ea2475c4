package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/spf13/cobra"
)

// ingestResult is what `aquahub bench ingest` prints.
type ingestResult struct {
	Target         string  `json:"target"`
	Clients        int     `json:"clients"`
	DurationS      float64 `json:"duration_s"`
	Accepted       int64   `json:"accepted"`
	Errors         int64   `json:"errors"`
	AcceptedPerSec float64 `json:"accepted_per_s"`
	P50MS          float64 `json:"p50_ms"`
	P99MS          float64 `json:"p99_ms"`
	MaxMS          float64 `json:"max_ms"`
	// CPUMicros is the process's CPU time per accepted event while sending (hub and client
	// together, in-process), steadier than events/s on a busy machine.
	CPUMicros float64 `json:"cpu_us_per_event"`
	// NullPerSec is the same client against the HTTP kernel answering 202 and storing
	// nothing, in the same run; Ratio is AcceptedPerSec / NullPerSec (in-process only).
	NullPerSec float64 `json:"null_per_s,omitempty"`
	NullP99MS  float64 `json:"null_p99_ms,omitempty"`
	NullCPU    float64 `json:"null_cpu_us_per_event,omitempty"`
	Ratio      float64 `json:"ratio_to_null,omitempty"`
	// RunsCompleted and RunsPerSec measure the one-step rule end to end (in-process only).
	RunsCompleted int64   `json:"runs_completed,omitempty"`
	RunsPerSec    float64 `json:"runs_per_s,omitempty"`
	CPUs          int     `json:"cpus"`
}

const benchRule = `rules:
  - id: bench-one-step
    on: bench.ping
    steps:
      - id: note
        log: { message: "bench", level: debug, n: "${{ event.data.n }}" }
`

func newBenchIngestCmd() *cobra.Command {
	var (
		url, key string
		clients  int
		duration time.Duration
		asJSON   bool
		withNull bool
	)
	cmd := &cobra.Command{
		Use:   "ingest",
		Short: "Durably accepted events/s, latency percentiles and end-to-end runs/s of a one-step rule",
		Long: `Starts a hub on loopback with a temporary data directory and a one-step rule (or targets
--url), drives POST /api/v1/events from concurrent clients for --duration, and prints accepted
events/s with p50/p99 latency; in-process it then waits for every run and prints completed runs/s.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			var h *hub
			target := url
			if target == "" {
				th, err := startTempHub(ctx, tempHubSpec{prefix: "aquahub-bench-", rules: benchRule, log: slog.LevelWarn})
				if err != nil {
					return err
				}
				defer th.stop()
				h, target, key = th.h, th.url, DevAPIKey
			}
			var null ingestResult
			if h != nil && withNull {
				nullURL, stop, err := startNullServer()
				if err != nil {
					return err
				}
				null, err = benchIngest(ctx, nullURL, DevAPIKey, clients, duration, nil)
				stop()
				if err != nil {
					return fmt.Errorf("null server: %w", err)
				}
			}
			res, err := benchIngest(ctx, target, key, clients, duration, h)
			if err != nil {
				return err
			}
			if null.AcceptedPerSec > 0 {
				res.NullPerSec, res.NullP99MS, res.NullCPU = null.AcceptedPerSec, null.P99MS, null.CPUMicros
				res.Ratio = res.AcceptedPerSec / null.AcceptedPerSec
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "ingest: %d clients for %.1fs against %s (%d CPUs)\n", res.Clients, res.DurationS, res.Target, res.CPUs)
			fmt.Fprintf(out, "  accepted       %d events (%d errors)\n", res.Accepted, res.Errors)
			fmt.Fprintf(out, "  throughput     %.0f events/s, durably accepted (fsync'd before 202)\n", res.AcceptedPerSec)
			fmt.Fprintf(out, "  latency        p50 %.2f ms   p99 %.2f ms   max %.2f ms\n", res.P50MS, res.P99MS, res.MaxMS)
			if res.NullPerSec > 0 {
				fmt.Fprintf(out, "  null server    %.0f events/s (p99 %.2f ms): the HTTP kernel storing nothing, same client; ratio %.2f\n", res.NullPerSec, res.NullP99MS, res.Ratio)
				fmt.Fprintf(out, "  cpu per event  %.0f µs (null server %.0f µs; client included in both)\n", res.CPUMicros, res.NullCPU)
			}
			if res.RunsCompleted > 0 {
				fmt.Fprintf(out, "  end to end     %d runs completed, %.0f runs/s (one-step rule, from first event to last run)\n", res.RunsCompleted, res.RunsPerSec)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "target a running hub instead of starting one")
	cmd.Flags().StringVar(&key, "key", "dev-key", "API key for --url")
	cmd.Flags().IntVar(&clients, "clients", 64, "concurrent clients")
	cmd.Flags().DurationVar(&duration, "duration", 10*time.Second, "how long to send")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.Flags().BoolVar(&withNull, "null", true, "also measure the HTTP kernel storing nothing, for the ratio")
	return cmd
}

func benchIngest(ctx context.Context, target, key string, clients int, duration time.Duration, h *hub) (ingestResult, error) {
	res := ingestResult{Target: target, Clients: clients, CPUs: runtime.NumCPU()}
	cpu0 := processCPU()
	start := time.Now()
	deadline := start.Add(duration)
	sent := make([]int, clients)
	load := postEvents(ctx, target, key, clients, func(c int, buf []byte) ([]byte, bool) {
		i := sent[c]
		sent[c]++
		return fmt.Appendf(buf, `{"specversion":"1.0","id":"bench-%d-%d-%d","source":"aquahub/bench","type":"bench.ping","data":{"n":%d}}`, start.UnixNano(), c, i, i), time.Now().Before(deadline)
	})
	elapsed := time.Since(start)
	if load.Accepted > 0 {
		res.CPUMicros = float64((processCPU() - cpu0).Microseconds()) / float64(load.Accepted)
	}
	res.DurationS = elapsed.Seconds()
	res.Accepted, res.Errors = load.Accepted, load.Failed
	res.AcceptedPerSec = float64(res.Accepted) / elapsed.Seconds()
	res.P50MS, res.P99MS, res.MaxMS = percentileMS(load.Latencies, 0.50), percentileMS(load.Latencies, 0.99), percentileMS(load.Latencies, 1)
	if res.Accepted == 0 {
		return res, fmt.Errorf("no event was accepted (first error: %s)", load.FirstErr)
	}
	if h != nil {
		// Every accepted event started one run; wait for the queue to drain.
		for ctx.Err() == nil {
			st, err := h.db.Pipeline().Stats(ctx)
			if err != nil {
				return res, err
			}
			if st.Queued == 0 && st.Leased == 0 {
				break
			}
			if time.Since(start) > duration+5*time.Minute {
				return res, fmt.Errorf("runs did not finish: %d queued, %d leased", st.Queued, st.Leased)
			}
			time.Sleep(20 * time.Millisecond)
		}
		res.RunsCompleted = res.Accepted
		res.RunsPerSec = float64(res.RunsCompleted) / time.Since(start).Seconds()
	}
	return res, nil
}
