package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// eventLoad is what postEvents measured.
type eventLoad struct {
	// Accepted and Failed count the requests answered 202 and the others.
	Accepted, Failed int64
	// Latencies are the accepted requests' round trips.
	Latencies []time.Duration
	// FirstErr describes the first failure.
	FirstErr string
}

// postEvents posts structured CloudEvents to target's /api/v1/events from clients concurrent
// connections until ctx ends or next says there is nothing more to send. next writes the c-th
// client's next body into buf. The clients are fasthttp's: they share the hub's CPUs, and
// net/http's client costs more of them per request than the hub's own HTTP layers
// (docs/performance.md, findings 13 and 20).
func postEvents(ctx context.Context, target, key string, clients int, next func(c int, buf []byte) ([]byte, bool)) eventLoad {
	hc := &fasthttp.Client{MaxConnsPerHost: clients * 2, ReadTimeout: time.Minute, WriteTimeout: time.Minute}
	defer hc.CloseIdleConnections()
	lats := make([][]time.Duration, clients)
	var accepted, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.Header.SetMethod(fasthttp.MethodPost)
			req.SetRequestURI(target + "/api/v1/events")
			req.Header.SetContentType("application/cloudevents+json")
			req.Header.Set("Authorization", "Bearer "+key)
			var body []byte
			for ctx.Err() == nil {
				var ok bool
				if body, ok = next(c, body[:0]); !ok {
					return
				}
				req.SetBodyRaw(body)
				t0 := time.Now()
				if err := hc.Do(req, resp); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				if resp.StatusCode() != fasthttp.StatusAccepted {
					failed.Add(1)
					problem := resp.Body()
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%d %s", resp.StatusCode(), problem[:min(len(problem), 200)]))
					continue
				}
				lats[c] = append(lats[c], time.Since(t0))
				accepted.Add(1)
			}
		}()
	}
	wg.Wait()
	out := eventLoad{Accepted: accepted.Load(), Failed: failed.Load()}
	out.FirstErr, _ = firstErr.Load().(string)
	for _, l := range lats {
		out.Latencies = append(out.Latencies, l...)
	}
	return out
}
