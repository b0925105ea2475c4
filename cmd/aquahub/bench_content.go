package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/aquascene/aquahub/internal/content"
	"github.com/aquascene/aquahub/internal/content/openaifake"
	"github.com/aquascene/aquahub/internal/storage/bolt"
	"github.com/spf13/cobra"
)

// contentBenchResult is what `aquahub bench content` prints.
type contentBenchResult struct {
	// The batch against the OpenAI-compatible fake.
	Requests      int     `json:"requests"`
	LatencyMS     float64 `json:"fake_latency_ms"`
	MaxConcurrent int     `json:"max_concurrent"`
	BatchS        float64 `json:"batch_duration_s"`
	PerS          float64 `json:"batch_per_s"`
	IdealPerS     float64 `json:"ideal_per_s"`
	Efficiency    float64 `json:"efficiency_pct"`
	PeakInFlight  int64   `json:"fake_peak_in_flight"`
	Completed     int     `json:"completed"`
	Failed        int     `json:"failed"`
	// The builtin writer: generation (write, score, validate, render HTML) in memory, and
	// the same through a stored batch.
	BuiltinArticles     int     `json:"builtin_articles"`
	BuiltinPerS         float64 `json:"builtin_articles_per_s"`
	BuiltinUSPerArticle float64 `json:"builtin_us_per_article"`
	BuiltinBatchPerS    float64 `json:"builtin_batch_per_s"`
	BuiltinAvgWords     int     `json:"builtin_avg_words"`
	BuiltinAvgQuality   float64 `json:"builtin_avg_quality"`
	CPUs                int     `json:"cpus"`
}

func newBenchContentCmd() *cobra.Command {
	var (
		requests, concurrency, builtinN int
		latency                         time.Duration
		asJSON                          bool
	)
	cmd := &cobra.Command{
		Use:   "content",
		Short: "Batch generation against an in-process OpenAI-compatible fake, and the builtin writer's articles/s",
		Long: `Starts the OpenAI-compatible fake on 127.0.0.1 with a fixed answer latency, and runs one
content batch of --requests newsletter articles at --concurrency through the real service
(go-openai client, scoring, validation, persistence in the hub's storage file, events dropped). The ideal
throughput is concurrency / latency (8 / 200ms = 40/s). Then it measures the builtin writer:
articles/s of generation in memory (write, score, validate, HTML) and through a stored batch.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			res, err := benchContent(ctx, requests, concurrency, latency, builtinN)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "openai fake batch: %d requests, %s latency, max_concurrent %d\n", res.Requests, latency, res.MaxConcurrent)
			fmt.Fprintf(w, "  %.2fs, %.1f/s (ideal %.0f/s, %.0f%%), peak in flight %d, completed %d, failed %d\n",
				res.BatchS, res.PerS, res.IdealPerS, res.Efficiency, res.PeakInFlight, res.Completed, res.Failed)
			fmt.Fprintf(w, "builtin writer: %d articles, %.0f articles/s in memory (%.0f µs each, avg %d words, avg quality %.1f)\n",
				res.BuiltinArticles, res.BuiltinPerS, res.BuiltinUSPerArticle, res.BuiltinAvgWords, res.BuiltinAvgQuality)
			fmt.Fprintf(w, "  through a stored batch (max_concurrent %d): %.0f articles/s\n", res.MaxConcurrent, res.BuiltinBatchPerS)
			fmt.Fprintf(w, "cpus: %d\n", res.CPUs)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&requests, "requests", 200, "requests in the batch against the fake")
	fl.IntVar(&concurrency, "concurrency", 8, "the batch's max_concurrent")
	fl.DurationVar(&latency, "latency", 200*time.Millisecond, "the fake's answer latency")
	fl.IntVar(&builtinN, "builtin", 500, "articles for the builtin writer measurement")
	fl.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func benchContent(ctx context.Context, requests, concurrency int, latency time.Duration, builtinN int) (contentBenchResult, error) {
	res := contentBenchResult{Requests: requests, LatencyMS: float64(latency) / 1e6, MaxConcurrent: concurrency, CPUs: runtime.NumCPU(), BuiltinArticles: builtinN}
	if latency > 0 {
		res.IdealPerS = float64(concurrency) / latency.Seconds()
	}
	dir, err := os.MkdirTemp("", "aquahub-bench-content-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	db, err := bolt.Open(bolt.Config{Path: filepath.Join(dir, "bench.db")})
	if err != nil {
		return res, err
	}
	defer db.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	fake, err := openaifake.Start(openaifake.Options{Latency: latency, APIKey: "sk-bench"})
	if err != nil {
		return res, err
	}
	defer fake.Close()
	cfg := content.DefaultConfig()
	cfg.Provider, cfg.BaseURL, cfg.APIKey, cfg.MaxConcurrent = "openai", fake.URL(), "sk-bench", max(concurrency, cfg.MaxConcurrent)
	svc, stop, err := benchContentService(ctx, cfg, db, quiet)
	if err != nil {
		return res, err
	}
	defer stop()
	reqs := make([]content.Request, requests)
	for i := range reqs {
		reqs[i] = content.Request{Template: "newsletter_article", Topic: fmt.Sprintf("Aquascaping topic %d", i), Keywords: []string{"aquascaping", "planted tank"}}
	}
	dur, b, err := runBenchBatch(ctx, svc, reqs, concurrency)
	if err != nil {
		return res, err
	}
	res.BatchS, res.PeakInFlight = dur.Seconds(), fake.MaxInFlight()
	res.Completed, res.Failed = b.Progress.Completed, b.Progress.Failed
	res.PerS = float64(requests) / dur.Seconds()
	if res.IdealPerS > 0 {
		res.Efficiency = 100 * res.PerS / res.IdealPerS
	}

	// The builtin writer in memory.
	gen := content.NewGenerator(content.DefaultConfig(), nil)
	words, quality := 0, 0.0
	start := time.Now()
	for i := 0; i < builtinN; i++ {
		c, err := gen.Generate(ctx, "bench", content.Request{
			Template: "newsletter_article", Topic: fmt.Sprintf("Aquascaping topic %d", i), Audience: "beginners",
			Keywords: []string{"aquascaping", "planted tank"},
		})
		if err != nil {
			return res, fmt.Errorf("builtin writer: %w", err)
		}
		words += c.WordCount
		quality += c.QualityScore()
	}
	el := time.Since(start)
	if builtinN > 0 {
		res.BuiltinPerS = float64(builtinN) / el.Seconds()
		res.BuiltinUSPerArticle = float64(el.Microseconds()) / float64(builtinN)
		res.BuiltinAvgWords = words / builtinN
		res.BuiltinAvgQuality = float64(int(quality/float64(builtinN)*10)) / 10
	}

	// The builtin writer through a stored batch.
	bcfg := content.DefaultConfig()
	bcfg.MaxConcurrent = max(concurrency, bcfg.MaxConcurrent)
	bsvc, bstop, err := benchContentService(ctx, bcfg, db, quiet)
	if err != nil {
		return res, err
	}
	defer bstop()
	bdur, _, err := runBenchBatch(ctx, bsvc, reqs, concurrency)
	if err != nil {
		return res, err
	}
	res.BuiltinBatchPerS = float64(len(reqs)) / bdur.Seconds()
	return res, nil
}

// runBenchBatch runs one batch and returns the time from submission to its last item.
func runBenchBatch(ctx context.Context, svc *content.Service, reqs []content.Request, concurrency int) (time.Duration, content.Batch, error) {
	start := time.Now()
	b, err := svc.CreateBatch(ctx, "bench", content.BatchRequest{Name: "bench", MaxConcurrent: concurrency, Requests: reqs})
	if err != nil {
		return 0, b, err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	b, err = svc.WaitBatch(wctx, "bench", b.ID, nil)
	if err != nil {
		return 0, b, err
	}
	end := b.CompletedAt
	if end.Before(start) {
		end = time.Now()
	}
	return end.Sub(start), b, nil
}

// benchContentService starts a content module over db, events dropped; stop ends it.
func benchContentService(ctx context.Context, cfg content.Config, db *bolt.DB, log *slog.Logger) (*content.Service, func(), error) {
	m, err := content.New(cfg, nil, content.Deps{Store: db.Content(), Logger: log})
	if err != nil {
		return nil, nil, err
	}
	if err := m.Start(ctx); err != nil {
		return nil, nil, err
	}
	return m.Service(), func() { _ = m.Stop(context.WithoutCancel(ctx)) }, nil
}
