package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/client"
)

// TestSoakFileLevelsOff posts events at a steady rate for a minute to a hub whose retention
// is two seconds, and shows that the data file stops growing: once the pruner keeps up, the
// pages freed by old runs and events hold the new ones. It prints the file's figures every
// five seconds. The assertion is on sizes, not times: over the second half, the file's
// pages must grow by less than a tenth of what the events posted in it take.
func TestSoakFileLevelsOff(t *testing.T) {
	if testing.Short() {
		t.Skip("posts events for a minute")
	}
	const (
		rate     = 200 // events per second
		duration = 60 * time.Second
		sample   = 5 * time.Second
	)
	h, c := startTestHub(t, func(cfg *Config) {
		cfg.Storage.Retention, cfg.Storage.DedupWindow = 2*time.Second, 2*time.Second
		cfg.Storage.PruneInterval = 250 * time.Millisecond
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ticks := make(chan int, rate)
	var sent, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ticks {
				_, err := c.SendEvent(ctx, client.Event{ID: fmt.Sprint("soak-", i), Source: "soak", Type: "soak.tick",
					Data: map[string]any{"n": i, "note": "a steady trickle of events, each with a run and a ledger entry"}})
				if err != nil && ctx.Err() == nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				if err == nil {
					sent.Add(1)
				}
			}
		}()
	}
	go func() {
		defer close(ticks)
		tick := time.NewTicker(time.Second / rate)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				select {
				case ticks <- i:
				default: // the hub is behind: skip rather than queue without bound
				}
			}
		}
	}()
	type row struct {
		at   time.Duration
		sent int64
		st   core.StorageStats
	}
	var rows []row
	start := time.Now()
	for at := sample; at <= duration; at += sample {
		time.Sleep(time.Until(start.Add(at)))
		rows = append(rows, row{at, sent.Load(), h.db.StorageStats()})
	}
	cancel()
	wg.Wait()
	t.Logf("%6s %8s %10s %12s %12s %12s %8s %8s", "time", "posted", "kept", "file", "high water", "in use", "pruned", "lag")
	for _, r := range rows {
		t.Logf("%6s %8d %10d %12d %12d %12d %8d %8s", r.at, r.sent, r.st.Events, r.st.FileBytes, r.st.HighWaterBytes, r.st.UsedBytes,
			r.st.Pruned.Events, r.st.PruneLag.Round(time.Millisecond))
	}
	if failed.Load() > 0 {
		t.Errorf("%d posts failed, the first with: %v", failed.Load(), firstErr.Load())
	}
	mid, end := rows[len(rows)/2-1], rows[len(rows)-1]
	posted := end.sent - mid.sent
	if posted < rate*int64(duration/time.Second)/4 {
		t.Fatalf("only %d events were posted in the second half; the test proves nothing", posted)
	}
	perEvent := float64(mid.st.UsedBytes) / float64(max(mid.st.Events, 1))
	wouldTake := perEvent * float64(posted)
	grew := end.st.HighWaterBytes - mid.st.HighWaterBytes
	t.Logf("second half: %d events posted, which would take %.0f bytes at %.0f bytes each; the file's pages grew by %d bytes", posted, wouldTake, perEvent, grew)
	if float64(grew) > wouldTake/10 {
		t.Errorf("the file kept growing: its pages grew by %d bytes in the second half, more than a tenth of the %.0f the events take", grew, wouldTake)
	}
	if end.st.Pruned.Runs == 0 || end.st.Pruned.Events == 0 {
		t.Errorf("nothing was pruned: %+v", end.st.Pruned)
	}
	if end.st.FileBytes > mid.st.FileBytes {
		t.Errorf("the file grew from %d to %d bytes in the second half", mid.st.FileBytes, end.st.FileBytes)
	}
}
