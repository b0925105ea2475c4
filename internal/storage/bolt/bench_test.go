package bolt_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/storage/bolt"
)

// BenchmarkAccept measures durable accepts (one event, one run, fsync'd) from concurrent
// writers sharing commits through DB.Batch; -cpu does not matter, the writer count does.
func BenchmarkAccept(b *testing.B) {
	for _, writers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s, err := bolt.Open(filepath.Join(b.TempDir(), "db"), bolt.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			var n atomic.Int64
			b.ReportAllocs()
			// RunParallel starts parallelism × GOMAXPROCS goroutines.
			b.SetParallelism(max(1, writers/runtime.GOMAXPROCS(0)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id := n.Add(1)
					_, err := s.Accept(context.Background(), core.AcceptRequest{Tenant: "acme", Events: []core.Pending{{
						Event:   core.Event{ID: fmt.Sprint(id), Source: "bench", Type: "bench.ping", SpecVersion: "1.0", Data: []byte(`{"n":1}`)},
						RuleIDs: []string{"rule"},
					}}})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "accepts/s")
		})
	}
}
