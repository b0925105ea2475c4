package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aquascene/aquahub/internal/inbound"
)

// Run runs the contract suite; open returns a new empty store and registers its cleanup.
func Run(t *testing.T, open func(t testing.TB) inbound.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s inbound.Store)
	}{
		{"a message id is seen until it expires", testSeenUntilExpiry},
		{"message ids are scoped by tenant and source", testSeenIsolation},
		{"expired message ids are forgotten, a batch at a time", testForget},
		{"concurrent remembers all land", testConcurrentRemember},
		{"payload cursors", testCursor},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

var t0 = time.Date(2025, 8, 6, 12, 0, 0, 0, time.UTC)

func seen(t testing.TB, s inbound.Store, tenant, source, id string, now time.Time) bool {
	t.Helper()
	ok, err := s.MessageSeen(context.Background(), tenant, source, id, now)
	if err != nil {
		t.Fatalf("MessageSeen: %v", err)
	}
	return ok
}

func remember(t testing.TB, s inbound.Store, tenant, source, id string, expires time.Time) {
	t.Helper()
	if err := s.RememberMessage(context.Background(), tenant, source, id, expires); err != nil {
		t.Fatalf("RememberMessage: %v", err)
	}
}

func testSeenUntilExpiry(t *testing.T, s inbound.Store) {
	if seen(t, s, "acme", "partner", "msg_1", t0) {
		t.Fatal("a new store has seen msg_1")
	}
	remember(t, s, "acme", "partner", "msg_1", t0.Add(time.Hour))
	tests := []struct {
		name string
		now  time.Time
		want bool
	}{
		{"right after", t0, true},
		{"just before expiry", t0.Add(time.Hour - time.Nanosecond), true},
		{"at expiry", t0.Add(time.Hour), false},
		{"after expiry", t0.Add(2 * time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := seen(t, s, "acme", "partner", "msg_1", tt.now); got != tt.want {
				t.Fatalf("MessageSeen at %s = %v, want %v", tt.now, got, tt.want)
			}
		})
	}
	// Remembering again moves the expiry.
	remember(t, s, "acme", "partner", "msg_1", t0.Add(3*time.Hour))
	if !seen(t, s, "acme", "partner", "msg_1", t0.Add(2*time.Hour)) {
		t.Fatal("a remembered-again id expired at its first expiry")
	}
}

func testSeenIsolation(t *testing.T, s inbound.Store) {
	remember(t, s, "acme", "partner", "msg_1", t0.Add(time.Hour))
	for _, c := range [][3]string{{"other", "partner", "msg_1"}, {"acme", "other-source", "msg_1"}, {"acme", "partner", "msg_2"}, {"acm", "epartner", "msg_1"}} {
		if seen(t, s, c[0], c[1], c[2], t0) {
			t.Errorf("%s/%s/%s is seen after only acme/partner/msg_1 was remembered", c[0], c[1], c[2])
		}
	}
}

func testForget(t *testing.T, s inbound.Store) {
	for i := range 5 {
		remember(t, s, "acme", "partner", fmt.Sprintf("old_%d", i), t0.Add(time.Minute))
	}
	remember(t, s, "other", "partner", "fresh", t0.Add(time.Hour))
	total := 0
	for range 10 {
		n, err := s.ForgetMessages(context.Background(), t0.Add(2*time.Minute), 2)
		if err != nil {
			t.Fatal(err)
		}
		if n > 2 {
			t.Fatalf("ForgetMessages deleted %d, over its limit of 2", n)
		}
		total += n
		if n == 0 {
			break
		}
	}
	if total != 5 {
		t.Fatalf("forgot %d ids, want the 5 expired ones", total)
	}
	if !seen(t, s, "other", "partner", "fresh", t0.Add(2*time.Minute)) {
		t.Fatal("an unexpired id was forgotten")
	}
}

func testConcurrentRemember(t *testing.T, s inbound.Store) {
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.RememberMessage(context.Background(), "acme", "partner", fmt.Sprintf("msg_%d", i), t0.Add(time.Hour)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i := range 20 {
		if !seen(t, s, "acme", "partner", fmt.Sprintf("msg_%d", i), t0) {
			t.Errorf("msg_%d was not remembered", i)
		}
	}
}

func testCursor(t *testing.T, s inbound.Store) {
	ctx := context.Background()
	if _, ok, err := s.PayloadCursor(ctx, "acme", "airtable", "achA"); ok || err != nil {
		t.Fatalf("a new store has a cursor (%v)", err)
	}
	if err := s.SetPayloadCursor(ctx, "acme", "airtable", "achA", 42); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                 string
		tenant, source, feed string
		want                 uint64
		ok                   bool
	}{
		{"stored", "acme", "airtable", "achA", 42, true},
		{"another feed of the source", "acme", "airtable", "achB", 0, false},
		{"another source", "acme", "airtable2", "achA", 0, false},
		{"another tenant", "other", "airtable", "achA", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := s.PayloadCursor(ctx, tt.tenant, tt.source, tt.feed)
			if err != nil || ok != tt.ok || got != tt.want {
				t.Fatalf("PayloadCursor = %d, %v, %v; want %d, %v", got, ok, err, tt.want, tt.ok)
			}
		})
	}
	if err := s.SetPayloadCursor(ctx, "acme", "airtable", "achA", 7); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.PayloadCursor(ctx, "acme", "airtable", "achA"); got != 7 {
		t.Fatalf("after setting 7, cursor = %d", got)
	}
}
