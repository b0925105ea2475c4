package plugins

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
)

// rateLimitedGuest is the hostile connector declaring 5 requests/s, burst 5, keyed by the
// first path segment, on every origin.
func rateLimitedGuest(tb testing.TB) string {
	return buildGuest(tb, "hostile-ratelimit", "./plugins/testdata/hostile", "-ldflags=-s -w -X main.rateLimit=5/5/1")
}

// arrivals records when each request reached the server, by path.
type arrivals struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (a *arrivals) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.at[r.URL.Path] = time.Now()
	a.mu.Unlock()
	fmt.Fprint(w, "ok")
}

// under returns the arrival times of the paths starting with prefix.
func (a *arrivals) under(prefix string) []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []time.Time
	for p, at := range a.at {
		if strings.HasPrefix(p, prefix) {
			out = append(out, at)
		}
	}
	return out
}

// maxInWindow returns the most requests that arrived within any window of length d.
func maxInWindow(times []time.Time, d time.Duration) int {
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	most := 0
	for i := range times {
		n := sort.Search(len(times), func(j int) bool { return !times[j].Before(times[i].Add(d)) }) - i
		most = max(most, n)
	}
	return most
}

func TestDeclaredRateLimitIsSharedByInstances(t *testing.T) {
	a := &arrivals{at: map[string]time.Time{}}
	srv, _ := loopbackServer(t, a)
	c, _ := openCatalog(t, Config{PoolSize: 4}, Deps{
		Grants: func(string, string) (TenantConfig, bool) {
			return TenantConfig{Egress: []string{srv.URL}, Secrets: map[string]string{"token": "tok-1234567"}}, true
		},
	}, map[string]string{"hostile.wasm": rateLimitedGuest(t)}, false)

	// 4 concurrent callers (one per instance) send 12 requests to key "a" of tenant t1,
	// while 5 requests to key "b" and 5 of tenant t2 to key "a" have buckets of their own.
	fetch := func(tenant, path string) error {
		_, err := c.Execute(context.Background(), ActionCall{Tenant: tenant, Connector: "hostile", Action: "fetch",
			Input: map[string]any{"url": srv.URL + path}})
		return err
	}
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	start := time.Now()
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 3 {
				if err := fetch("t1", fmt.Sprintf("/a/%d-%d", w, i)); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := range 5 {
		if err := fetch("t1", fmt.Sprintf("/b/%d", i)); err != nil {
			errs <- err
		}
		if err := fetch("t2", fmt.Sprintf("/a/t2-%d", i)); err != nil {
			errs <- err
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t1a, t2a, t1b := a.under("/a/")[:0], a.under("/a/t2-"), a.under("/b/")
	for p, at := range a.at {
		if strings.HasPrefix(p, "/a/") && !strings.HasPrefix(p, "/a/t2-") {
			t1a = append(t1a, at)
		}
	}
	if len(t1a) != 12 || len(t2a) != 5 || len(t1b) != 5 {
		t.Fatalf("server saw %d, %d and %d requests for t1 /a, t2 /a and t1 /b; want 12, 5 and 5", len(t1a), len(t2a), len(t1b))
	}
	// Tenant t1's 12 requests to key "a" need at least (12-5)/5 s = 1.4 s however fast
	// the machine, and the bucket lets through at most burst + rate × 1 s = 10 in any
	// second. Keys and tenants have buckets of their own: t1's /b and t2's /a never wait,
	// so each of their 5 requests fits in the burst.
	if elapsed := time.Since(start); elapsed < 1400*time.Millisecond {
		t.Fatalf("12 requests at 5/s with burst 5 finished in %s; the limit was not applied", elapsed)
	}
	if n := maxInWindow(t1a, time.Second); n > 10 {
		t.Fatalf("%d requests of t1 to key a within one second, want at most 10", n)
	}
}

func TestDeclaredRateLimitPastDeadlineIsRateLimited(t *testing.T) {
	a := &arrivals{at: map[string]time.Time{}}
	srv, _ := loopbackServer(t, a)
	c, _ := openCatalog(t, Config{}, Deps{
		Grants: func(string, string) (TenantConfig, bool) {
			return TenantConfig{Egress: []string{srv.URL}, Secrets: map[string]string{"token": "tok-1234567"}}, true
		},
	}, map[string]string{"hostile.wasm": rateLimitedGuest(t)}, false)
	fetch := func(ctx context.Context, i int) error {
		_, err := c.Execute(ctx, ActionCall{Tenant: "t1", Connector: "hostile", Action: "fetch",
			Input: map[string]any{"url": fmt.Sprintf("%s/a/%d", srv.URL, i)}})
		return err
	}
	// Spend the burst of 5 without a caller deadline.
	for i := range 5 {
		if err := fetch(context.Background(), i); err != nil {
			t.Fatal(err)
		}
	}
	// Now each request must wait up to 200 ms for a token, while the caller allows 100 ms:
	// the host must refuse at once rather than wait into the deadline. (A call that the
	// loaded machine makes miss its deadline for other reasons is skipped: the next one
	// finds the bucket no fuller, since a refused request takes no token.)
	var limited error
	limitedPath := ""
	for i := 5; i < 30 && limited == nil; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err := fetch(ctx, i)
		cancel()
		if err != nil && core.Classify(err).Class == core.ClassRateLimited {
			limited, limitedPath = err, fmt.Sprintf("/a/%d", i)
		}
	}
	if limited == nil {
		t.Fatal("requests beyond 5/s with 100 ms deadlines never failed as rate_limited")
	}
	if se := core.Classify(limited); se.RetryAfter <= 0 || !strings.Contains(limited.Error(), "rate limit of 5 requests/s") {
		t.Fatalf("want a retry-after and a message naming the limit, got %v (retry after %s)", limited, se.RetryAfter)
	}
	var ce *core.StepError
	if !errors.As(limited, &ce) {
		t.Fatalf("want a *core.StepError, got %T", limited)
	}
	if len(a.under(limitedPath)) != 0 {
		t.Fatalf("the refused request %s reached the server", limitedPath)
	}
}
