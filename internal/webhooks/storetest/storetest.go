package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/webhooks"
)

// Run runs the contract suite; open returns a new empty store and registers its cleanup.
func Run(t *testing.T, open func(t testing.TB) webhooks.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s webhooks.Store)
	}{
		{"endpoints keep every field and list in id order", testEndpoints},
		{"tenants are isolated", testTenantIsolation},
		{"sequences only grow", testSequences},
		{"messages keep every field", testDeliveryRoundTrip},
		{"messages list newest first with paging", testDeliveryListing},
		{"the due index follows DueAt", testDueIndex},
		{"a failed transaction changes nothing", testRollback},
		{"a view cannot write", testViewIsReadOnly},
		{"concurrent batches commit independently", testBatch},
		{"fan-out cursor and step messages", testCursorAndStepKeys},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

var t0 = time.Date(2025, 8, 6, 12, 0, 0, 0, time.UTC)

func update(t testing.TB, s webhooks.Store, fn func(tx webhooks.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func view(t testing.TB, s webhooks.Store, fn func(tx webhooks.Tx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

func endpoint(tenant, id string) webhooks.Endpoint {
	return webhooks.Endpoint{
		Tenant: tenant, ID: id, URL: "https://example.com/" + id, Events: []string{"content.*", "newsletter.sent"},
		Headers: map[string]string{"X-Team": "growth"}, Description: "partner feed", Enabled: true,
		CreatedAt: t0, UpdatedAt: t0.Add(time.Minute), Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	}
}

func delivery(tenant, endpointID, id string, due time.Time) webhooks.Delivery {
	return webhooks.Delivery{
		Tenant: tenant, ID: id, EndpointID: endpointID, EventType: "newsletter.sent", EventID: "ev-" + id, EventSeq: 7,
		State: webhooks.StatePending, NextAt: due, CreatedAt: t0, UpdatedAt: t0, Log: []webhooks.Attempt{},
		Body: []byte(`{"specversion":"1.0","id":"ev-1"}`), DueAt: due,
	}
}

func testEndpoints(t *testing.T, s webhooks.Store) {
	a := endpoint("acme", "ep_2")
	a.DisabledReason, a.FailingSince, a.RotationEndsAt, a.PreviousSecret = "the receiver answered 410 Gone", t0.Add(time.Hour), t0.Add(24*time.Hour), "whsec_b2xkLXNlY3JldC1vbGQtc2VjcmV0LW9sZA=="
	a.EndpointSettings = webhooks.EndpointSettings{MaxInFlight: 2, RateLimit: 0.5, Timeout: 1500 * time.Millisecond, Ordered: true}
	a.OrderedHead = "msg_7"
	b := endpoint("acme", "ep_1")
	b.Headers = nil
	update(t, s, func(tx webhooks.Tx) error {
		for _, ep := range []webhooks.Endpoint{a, b} {
			if err := tx.PutEndpoint(ep); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx webhooks.Tx) error {
		got, err := tx.Endpoint("acme", "ep_2")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, a) {
			t.Errorf("Endpoint = %+v\nwant %+v", got, a)
		}
		list, err := tx.Endpoints("acme")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID != "ep_1" || list[1].ID != "ep_2" {
			t.Errorf("Endpoints = %+v, want ep_1 then ep_2", list)
		}
		if _, err := tx.Endpoint("acme", "ep_3"); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("missing endpoint: %v, want ErrNotFound", err)
		}
		return nil
	})
	update(t, s, func(tx webhooks.Tx) error { return tx.DeleteEndpoint("acme", "ep_1") })
	view(t, s, func(tx webhooks.Tx) error {
		if _, err := tx.Endpoint("acme", "ep_1"); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("deleted endpoint: %v, want ErrNotFound", err)
		}
		return nil
	})
}

func testTenantIsolation(t *testing.T, s webhooks.Store) {
	update(t, s, func(tx webhooks.Tx) error {
		if err := tx.PutEndpoint(endpoint("acme", "ep_1")); err != nil {
			return err
		}
		if err := tx.PutStepMessage("acme", "run1/notify", "msg_1"); err != nil {
			return err
		}
		return tx.PutDelivery(delivery("acme", "ep_1", "msg_1", t0))
	})
	view(t, s, func(tx webhooks.Tx) error {
		if _, err := tx.Endpoint("other", "ep_1"); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("another tenant's endpoint: %v, want ErrNotFound", err)
		}
		if list, err := tx.Endpoints("other"); err != nil || len(list) != 0 {
			t.Errorf("another tenant lists %d endpoints (%v)", len(list), err)
		}
		// A tenant whose id extends another's sees none of its data either.
		if list, err := tx.Endpoints("acm"); err != nil || len(list) != 0 {
			t.Errorf("tenant acm lists %d endpoints of acme (%v)", len(list), err)
		}
		if _, err := tx.Delivery("other", "ep_1", "msg_1"); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("another tenant's message: %v, want ErrNotFound", err)
		}
		n := 0
		if err := tx.Deliveries("other", "ep_1", "", func(webhooks.Delivery) bool { n++; return true }); err != nil || n != 0 {
			t.Errorf("another tenant lists %d messages (%v)", n, err)
		}
		if _, ok, err := tx.StepMessage("other", "run1/notify"); ok || err != nil {
			t.Errorf("another tenant's step key found (%v)", err)
		}
		return nil
	})
}

func testSequences(t *testing.T, s webhooks.Store) {
	var seen []uint64
	for range 3 {
		update(t, s, func(tx webhooks.Tx) error {
			e, err := tx.NextEndpointSeq()
			if err != nil {
				return err
			}
			d, err := tx.NextDeliverySeq()
			seen = append(seen, e, d)
			return err
		})
	}
	for i := 2; i < len(seen); i++ {
		if seen[i] <= seen[i-2] {
			t.Fatalf("sequence went from %d to %d (all: %v)", seen[i-2], seen[i], seen)
		}
	}
}

func testDeliveryRoundTrip(t *testing.T, s webhooks.Store) {
	d := delivery("acme", "ep_1", "msg_1", t0.Add(5*time.Second))
	d.State, d.Attempts, d.Round, d.LastError, d.Trigger = webhooks.StateSending, 2, 1, "HTTP 500", "replay"
	d.LeaseUntil = t0.Add(time.Minute)
	d.Log = []webhooks.Attempt{
		{N: 1, At: t0, URL: "https://example.com/x", Status: 500, LatencyMS: 12.5, Response: "boom", Error: "HTTP 500", Trigger: "schedule"},
		{N: 2, At: t0.Add(5 * time.Second), URL: "https://example.com/x", Error: "timeout: deadline exceeded", Trigger: "replay"},
	}
	update(t, s, func(tx webhooks.Tx) error { return tx.PutDelivery(d) })
	view(t, s, func(tx webhooks.Tx) error {
		got, err := tx.Delivery("acme", "ep_1", "msg_1")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, d) {
			t.Errorf("Delivery = %+v\nwant %+v", got, d)
		}
		if _, err := tx.Delivery("acme", "ep_1", "msg_2"); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("missing message: %v, want ErrNotFound", err)
		}
		return nil
	})
}

func testDeliveryListing(t *testing.T, s webhooks.Store) {
	update(t, s, func(tx webhooks.Tx) error {
		for i := 1; i <= 5; i++ {
			if err := tx.PutDelivery(delivery("acme", "ep_1", fmt.Sprintf("msg_%d", i), time.Time{})); err != nil {
				return err
			}
		}
		// Another endpoint's message, whose id sorts between them, is not listed.
		return tx.PutDelivery(delivery("acme", "ep_2", "msg_3a", time.Time{}))
	})
	list := func(before string, limit int) []string {
		var ids []string
		view(t, s, func(tx webhooks.Tx) error {
			return tx.Deliveries("acme", "ep_1", before, func(d webhooks.Delivery) bool {
				ids = append(ids, d.ID)
				return len(ids) < limit
			})
		})
		return ids
	}
	tests := []struct {
		name   string
		before string
		limit  int
		want   []string
	}{
		{name: "all, newest first", limit: 10, want: []string{"msg_5", "msg_4", "msg_3", "msg_2", "msg_1"}},
		{name: "first page", limit: 2, want: []string{"msg_5", "msg_4"}},
		{name: "next page", before: "msg_4", limit: 2, want: []string{"msg_3", "msg_2"}},
		{name: "last page", before: "msg_2", limit: 2, want: []string{"msg_1"}},
		{name: "before the first", before: "msg_1", limit: 2, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := list(tt.before, tt.limit); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Deliveries(before %q) = %v, want %v", tt.before, got, tt.want)
			}
		})
	}
}

// dueIDs lists what is due at now endpoint by endpoint: tenant/endpoint:message ids.
func dueIDs(t testing.TB, s webhooks.Store, now time.Time, limit int, skip func(tenant, endpointID string) bool) []string {
	t.Helper()
	var ids []string
	update(t, s, func(tx webhooks.Tx) error {
		ids = nil
		eps, err := tx.DueEndpoints(now, limit, skip)
		if err != nil {
			return err
		}
		for _, ep := range eps {
			ds, err := tx.DueDeliveries(ep.Tenant, ep.EndpointID, now, 100)
			if err != nil {
				return err
			}
			entry := ep.Tenant + "/" + ep.EndpointID + ":"
			for i, d := range ds {
				if i > 0 {
					entry += ","
				}
				entry += d.ID
			}
			ids = append(ids, entry)
		}
		return nil
	})
	return ids
}

func nextDue(t testing.TB, s webhooks.Store) time.Time {
	t.Helper()
	var at time.Time
	view(t, s, func(tx webhooks.Tx) error {
		var err error
		at, _, err = tx.NextDue()
		return err
	})
	return at
}

func testDueIndex(t *testing.T, s webhooks.Store) {
	update(t, s, func(tx webhooks.Tx) error {
		for _, d := range []webhooks.Delivery{
			delivery("acme", "ep_1", "msg_late", t0.Add(time.Hour)),
			delivery("other", "ep_9", "msg_first", t0.Add(-time.Minute)),
			delivery("acme", "ep_1", "msg_now", t0),
			delivery("acme", "ep_1", "msg_before", t0.Add(-time.Second)),
			delivery("acme", "ep_2", "msg_two", t0.Add(-time.Second/2)),
			delivery("acme", "ep_1", "msg_done", time.Time{}),
		} {
			if err := tx.PutDelivery(d); err != nil {
				return err
			}
		}
		return nil
	})
	want := []string{"other/ep_9:msg_first", "acme/ep_1:msg_before,msg_now", "acme/ep_2:msg_two"}
	if got := dueIDs(t, s, t0, 10, nil); !reflect.DeepEqual(got, want) {
		t.Fatalf("due at t0 = %v, want %v (endpoints by earliest message, each's messages earliest first, nothing later)", got, want)
	}
	if got := dueIDs(t, s, t0, 1, nil); !reflect.DeepEqual(got, want[:1]) {
		t.Fatalf("due endpoints with limit 1 = %v", got)
	}
	skipFirst := func(tenant, ep string) bool { return tenant == "other" }
	if got := dueIDs(t, s, t0, 1, skipFirst); !reflect.DeepEqual(got, want[1:2]) {
		t.Fatalf("due endpoints passing over other/ep_9 = %v, want %v", got, want[1:2])
	}
	if got := nextDue(t, s); !got.Equal(t0.Add(-time.Minute)) {
		t.Fatalf("NextDue = %s, want t0-1m", got)
	}
	// Moving a message's DueAt moves it in its queue and its endpoint in the ready order; a
	// zero DueAt takes it out.
	update(t, s, func(tx webhooks.Tx) error {
		for _, id := range []string{"msg_now", "msg_before"} {
			d, err := tx.Delivery("acme", "ep_1", id)
			if err != nil {
				return err
			}
			d.DueAt = t0.Add(2 * time.Hour)
			if err := tx.PutDelivery(d); err != nil {
				return err
			}
		}
		f, err := tx.Delivery("other", "ep_9", "msg_first")
		if err != nil {
			return err
		}
		f.DueAt, f.State = time.Time{}, webhooks.StateSucceeded
		return tx.PutDelivery(f)
	})
	if got, want := dueIDs(t, s, t0.Add(time.Hour), 10, nil), []string{"acme/ep_2:msg_two", "acme/ep_1:msg_late"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after moving: due at t0+1h = %v, want %v", got, want)
	}
	if got, want := dueIDs(t, s, t0.Add(3*time.Hour), 10, nil), []string{"acme/ep_2:msg_two", "acme/ep_1:msg_late,msg_before,msg_now"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after moving: due at t0+3h = %v, want %v", got, want)
	}
	// A deleted message leaves the index, and an endpoint with nothing due leaves the ready
	// order.
	update(t, s, func(tx webhooks.Tx) error {
		if err := tx.DeleteDelivery("acme", "ep_1", "msg_late"); err != nil {
			return err
		}
		return tx.DeleteDelivery("acme", "ep_2", "msg_two")
	})
	if got, want := dueIDs(t, s, t0.Add(3*time.Hour), 10, nil), []string{"acme/ep_1:msg_before,msg_now"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after delete: due = %v, want %v", got, want)
	}
	if got := nextDue(t, s); !got.Equal(t0.Add(2 * time.Hour)) {
		t.Fatalf("NextDue after the moves = %s, want t0+2h", got)
	}
}

func testRollback(t *testing.T, s webhooks.Store) {
	boom := errors.New("boom")
	err := s.Update(context.Background(), func(tx webhooks.Tx) error {
		if err := tx.PutEndpoint(endpoint("acme", "ep_1")); err != nil {
			return err
		}
		if err := tx.PutDelivery(delivery("acme", "ep_1", "msg_1", t0)); err != nil {
			return err
		}
		if err := tx.SetFanOutCursor(42); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want the function's error", err)
	}
	view(t, s, func(tx webhooks.Tx) error {
		if _, err := tx.Endpoint("acme", "ep_1"); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("endpoint of a failed transaction: %v", err)
		}
		if cur, _ := tx.FanOutCursor(); cur != 0 {
			t.Errorf("cursor of a failed transaction: %d", cur)
		}
		return nil
	})
	if got := dueIDs(t, s, t0, 10, nil); len(got) != 0 {
		t.Errorf("due index of a failed transaction: %v", got)
	}
}

func testViewIsReadOnly(t *testing.T, s webhooks.Store) {
	err := s.View(context.Background(), func(tx webhooks.Tx) error { return tx.PutEndpoint(endpoint("acme", "ep_1")) })
	if err == nil {
		t.Fatal("PutEndpoint in View succeeded")
	}
}

func testBatch(t *testing.T, s webhooks.Store) {
	boom := errors.New("boom")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Batch(context.Background(), func(tx webhooks.Tx) error {
				if err := tx.PutEndpoint(endpoint("acme", fmt.Sprintf("ep_%d", i))); err != nil {
					return err
				}
				if i == 3 {
					return boom
				}
				return nil
			})
		}()
	}
	wg.Wait()
	view(t, s, func(tx webhooks.Tx) error {
		for i, err := range errs {
			_, gerr := tx.Endpoint("acme", fmt.Sprintf("ep_%d", i))
			switch {
			case i == 3 && (!errors.Is(err, boom) || !errors.Is(gerr, core.ErrNotFound)):
				t.Errorf("failing batch call: %v, endpoint %v", err, gerr)
			case i != 3 && (err != nil || gerr != nil):
				t.Errorf("batch call %d: %v, endpoint %v", i, err, gerr)
			}
		}
		return nil
	})
}

func testCursorAndStepKeys(t *testing.T, s webhooks.Store) {
	view(t, s, func(tx webhooks.Tx) error {
		if cur, err := tx.FanOutCursor(); cur != 0 || err != nil {
			t.Errorf("new store's cursor = %d, %v", cur, err)
		}
		if _, ok, err := tx.StepMessage("acme", "run1/notify"); ok || err != nil {
			t.Errorf("new store has a step message (%v)", err)
		}
		return nil
	})
	update(t, s, func(tx webhooks.Tx) error {
		if err := tx.SetFanOutCursor(1 << 40); err != nil {
			return err
		}
		return tx.PutStepMessage("acme", "run1/notify", "msg_1")
	})
	view(t, s, func(tx webhooks.Tx) error {
		if cur, err := tx.FanOutCursor(); cur != 1<<40 || err != nil {
			t.Errorf("cursor = %d, %v", cur, err)
		}
		if id, ok, err := tx.StepMessage("acme", "run1/notify"); id != "msg_1" || !ok || err != nil {
			t.Errorf("StepMessage = %q %v %v", id, ok, err)
		}
		return nil
	})
}
