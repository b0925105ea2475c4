package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/secrets"
	"github.com/aquascene/aquahub/internal/storage/bolt"
	"github.com/aquascene/aquahub/internal/webhooks"
	"github.com/aquascene/aquahub/sdk/signature"
	"github.com/spf13/cobra"
)

// webhookBenchRun is one scenario of `aquahub bench webhooks`.
type webhookBenchRun struct {
	Endpoints     int     `json:"endpoints"`
	Events        int     `json:"events"`
	Deliveries    int64   `json:"deliveries"`
	DurationS     float64 `json:"duration_s"`
	DeliveriesPer float64 `json:"deliveries_per_s"`
}

// webhookBenchResult is what `aquahub bench webhooks` prints.
type webhookBenchResult struct {
	Runs []webhookBenchRun `json:"runs"`
	// SignNS is the cost of signing one message (webhook-signature and X-Signature-256).
	SignNS    float64 `json:"sign_ns_per_msg"`
	BodyBytes int     `json:"body_bytes"`
	Workers   int     `json:"workers"`
	// EndpointConcurrency is each endpoint's max_in_flight.
	EndpointConcurrency int `json:"endpoint_concurrency"`
	CPUs                int `json:"cpus"`
}

func newBenchWebhooksCmd() *cobra.Command {
	var (
		deliveries int
		workers    int
		perEP      int
		asJSON     bool
	)
	cmd := &cobra.Command{
		Use:   "webhooks",
		Short: "Signed webhook deliveries/s to a loopback receiver from 1 and 100 endpoints, and signing cost",
		Long: `Runs the delivery service on a temporary bbolt file against a loopback HTTP receiver.
Each scenario fans out events to 1 or 100 endpoints until about --deliveries messages have been
sent; every message is queued durably, claimed, signed, POSTed and recorded (fsync'd) as in
production. Then it measures the cost of signing one message.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			if perEP == 0 {
				perEP = webhooks.DefaultConfig().EndpointConcurrency
			}
			res := webhookBenchResult{Workers: workers, EndpointConcurrency: perEP, CPUs: runtime.NumCPU(), BodyBytes: len(benchEventBody(0))}
			for _, eps := range []int{1, 100} {
				r, err := benchWebhookDelivery(ctx, eps, max(deliveries/eps, 1), workers, perEP)
				if err != nil {
					return err
				}
				res.Runs = append(res.Runs, r)
			}
			res.SignNS = benchSigning()
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "webhooks: %d workers, %d in flight per endpoint, %d-byte events, loopback receiver (%d CPUs)\n",
				res.Workers, res.EndpointConcurrency, res.BodyBytes, res.CPUs)
			for _, r := range res.Runs {
				fmt.Fprintf(out, "  %3d endpoint(s)  %6d deliveries in %.2fs  %8.0f deliveries/s\n", r.Endpoints, r.Deliveries, r.DurationS, r.DeliveriesPer)
			}
			fmt.Fprintf(out, "  signing          %.1f µs per message (Standard Webhooks v1 + X-Signature-256)\n", res.SignNS/1000)
			return nil
		},
	}
	cmd.Flags().IntVar(&deliveries, "deliveries", 5000, "messages per scenario")
	cmd.Flags().IntVar(&workers, "workers", 32, "concurrent delivery requests")
	cmd.Flags().IntVar(&perEP, "endpoint-concurrency", 0, "requests in flight per endpoint (default: webhooks.endpoint_concurrency's default)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

func benchEventBody(n int) []byte {
	b, _ := json.Marshal(map[string]any{
		"specversion": "1.0", "id": fmt.Sprintf("bench-%d", n), "source": "aquahub/bench", "type": "newsletter.sent",
		"data": map[string]any{"campaign_id": "camp-550e8400-e29b-41d4-a716-446655440000", "subject": "This Week in Aquascaping",
			"recipients_count": 1250, "segments": []string{"beginners", "intermediate"}, "provider": "sendgrid"},
	})
	return b
}

// benchEvents is an in-memory event sequence.
type benchEvents struct{ evs []core.Event }

func (b *benchEvents) EventsAfter(_ context.Context, after uint64, limit int) ([]core.Event, error) {
	if after >= uint64(len(b.evs)) {
		return nil, nil
	}
	end := min(int(after)+limit, len(b.evs))
	return b.evs[after:end], nil
}

func benchWebhookDelivery(ctx context.Context, endpoints, events, workers, perEndpoint int) (webhookBenchRun, error) {
	run := webhookBenchRun{Endpoints: endpoints, Events: events}
	dir, err := os.MkdirTemp("", "aquahub-bench-webhooks-")
	if err != nil {
		return run, err
	}
	defer os.RemoveAll(dir)
	// Endpoint secrets are sealed at rest, as in the hub: a throwaway master key seals them.
	key, err := secrets.ParseMasterKey(secrets.NewMasterKey())
	if err != nil {
		return run, err
	}
	vault, err := secrets.NewVault(key)
	if err != nil {
		return run, err
	}
	db, err := bolt.OpenWith(bolt.Config{Path: filepath.Join(dir, "hub.db")}, bolt.Options{Secrets: vault})
	if err != nil {
		return run, err
	}
	defer db.Close()

	var got atomic.Int64
	want := int64(endpoints * events)
	allIn := make(chan struct{})
	var once sync.Once
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return run, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
		if got.Add(1) >= want {
			once.Do(func() { close(allIn) })
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()

	src := &benchEvents{}
	for i := range events {
		src.evs = append(src.evs, core.Event{ID: fmt.Sprintf("bench-%d", i), Source: "aquahub/bench", Type: "newsletter.sent",
			SpecVersion: "1.0", Data: json.RawMessage(benchEventBody(i)), Tenant: DevTenant, Seq: uint64(i + 1)})
	}
	svc, err := webhooks.New(webhooks.Config{AllowHTTP: true, AllowLoopback: true, Workers: workers, EndpointConcurrency: perEndpoint}, webhooks.Deps{
		Store: db.Webhooks(), Events: src, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return run, err
	}
	base := "http://" + ln.Addr().String()
	for i := range endpoints {
		if _, err := svc.Create(ctx, DevTenant, webhooks.EndpointInput{URL: fmt.Sprintf("%s/ep/%d", base, i), Events: []string{"newsletter.*"}}); err != nil {
			return run, err
		}
	}
	start := time.Now()
	if err := svc.Start(ctx); err != nil {
		return run, err
	}
	defer svc.Stop(context.WithoutCancel(ctx))
	select {
	case <-allIn:
	case <-time.After(5 * time.Minute):
		return run, fmt.Errorf("bench webhooks: only %d of %d deliveries arrived in 5 minutes", got.Load(), want)
	}
	// The receiver has every request; wait for the last outcomes to be recorded too.
	last := lastEndpoint(ctx, svc)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		busy := 0
		for _, st := range []webhooks.DeliveryState{webhooks.StatePending, webhooks.StateSending} {
			ds, err := svc.Deliveries(ctx, DevTenant, last, webhooks.DeliveryFilter{State: st, Limit: 1})
			if err != nil {
				return run, err
			}
			busy += len(ds)
		}
		if busy == 0 {
			break
		}
	}
	elapsed := time.Since(start)
	run.Deliveries = got.Load()
	run.DurationS = elapsed.Seconds()
	run.DeliveriesPer = float64(run.Deliveries) / elapsed.Seconds()
	return run, nil
}

func lastEndpoint(ctx context.Context, svc *webhooks.Module) string {
	eps, _ := svc.List(ctx, DevTenant)
	if len(eps) == 0 {
		return ""
	}
	return eps[len(eps)-1].ID
}

// benchSigning returns nanoseconds per signed message (BuildRequest minus the request itself
// is not separable, so it times the two signatures directly).
func benchSigning() float64 {
	secret := signature.NewSecret()
	key, _ := secret.Key()
	body := benchEventBody(1)
	const n = 20000
	start := time.Now()
	var sink int
	for i := range n {
		ts := int64(1754481600 + i)
		sig := signature.SignStandard([][]byte{key}, "msg_0000000000000001deadbeef", ts, body)
		sha := signature.SignSHA256Hex(string(secret), body)
		sink += len(sig) + len(sha)
	}
	if sink == 0 {
		panic("unreachable")
	}
	return float64(time.Since(start).Nanoseconds()) / n
}
