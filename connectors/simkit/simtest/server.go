package simtest

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Now is the time a simulator under test reads from its clock, fixed so that dates in its
// answers are the same on every run.
var Now = time.Date(2025, 8, 6, 12, 0, 0, 0, time.UTC)

// Start builds a simulator with newSim, its clock stopped at Now (withClock is the
// simulator's clock option) and opts applied after, and serves it on a test server closed
// when the test ends.
func Start[S http.Handler, O any](tb testing.TB, newSim func(...O) S, withClock func(func() time.Time) O, opts ...O) (S, *httptest.Server) {
	tb.Helper()
	s := newSim(append([]O{withClock(func() time.Time { return Now })}, opts...)...)
	return s, Serve(tb, s, nil)
}

// Serve serves h on a test server closed when the test ends; wrap, when not nil, puts a
// handler in front of h (a fault aimed at one request, a check of the vendor's spec).
func Serve(tb testing.TB, h http.Handler, wrap func(http.Handler) http.Handler) *httptest.Server {
	tb.Helper()
	if wrap != nil {
		h = wrap(h)
	}
	ts := httptest.NewServer(h)
	tb.Cleanup(ts.Close)
	return ts
}
