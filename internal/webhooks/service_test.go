package webhooks_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/webhooks"
	"github.com/aquascene/aquahub/sdk/signature"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

func TestCreateRejects(t *testing.T) {
	h := newHarness(t, func(c *webhooks.Config) { c.AllowHTTP, c.AllowLoopback = false, false })
	tests := []struct {
		name string
		in   webhooks.EndpointInput
		path string
	}{
		{name: "missing url", in: webhooks.EndpointInput{Events: []string{"*"}}, path: "url"},
		{name: "http without permission", in: webhooks.EndpointInput{URL: "http://example.com/", Events: []string{"*"}}, path: "url"},
		{name: "loopback", in: webhooks.EndpointInput{URL: "https://127.0.0.1/", Events: []string{"*"}}, path: "url"},
		{name: "decimal loopback", in: webhooks.EndpointInput{URL: "https://2130706433/", Events: []string{"*"}}, path: "url"},
		{name: "metadata", in: webhooks.EndpointInput{URL: "https://169.254.169.254/", Events: []string{"*"}}, path: "url"},
		{name: "no events", in: webhooks.EndpointInput{URL: "https://example.com/"}, path: "events"},
		{name: "empty pattern", in: webhooks.EndpointInput{URL: "https://example.com/", Events: []string{""}}, path: "events[0]"},
		{name: "reserved header", in: webhooks.EndpointInput{URL: "https://example.com/", Events: []string{"*"}, Headers: map[string]string{"webhook-id": "x"}}, path: "headers.webhook-id"},
		{name: "bad header name", in: webhooks.EndpointInput{URL: "https://example.com/", Events: []string{"*"}, Headers: map[string]string{"a b": "x"}}, path: "headers.a b"},
		{name: "header injection", in: webhooks.EndpointInput{URL: "https://example.com/", Events: []string{"*"}, Headers: map[string]string{"X-A": "x\r\nY: z"}}, path: "headers.X-A"},
		{name: "bad secret", in: webhooks.EndpointInput{URL: "https://example.com/", Events: []string{"*"}, Secret: "hunter2"}, path: "secret"},
		{name: "negative concurrency", in: webhooks.EndpointInput{URL: "https://example.com/", Events: []string{"*"},
			EndpointSettings: webhooks.EndpointSettings{MaxInFlight: -1}}, path: "max_in_flight"},
		{name: "concurrency too high", in: webhooks.EndpointInput{URL: "https://example.com/", Events: []string{"*"},
			EndpointSettings: webhooks.EndpointSettings{MaxInFlight: 1000}}, path: "max_in_flight"},
		{name: "ordered with concurrency", in: webhooks.EndpointInput{URL: "https://example.com/", Events: []string{"*"},
			EndpointSettings: webhooks.EndpointSettings{MaxInFlight: 2, Ordered: true}}, path: "max_in_flight"},
		{name: "negative rate limit", in: webhooks.EndpointInput{URL: "https://example.com/", Events: []string{"*"},
			EndpointSettings: webhooks.EndpointSettings{RateLimit: -1}}, path: "rate_limit"},
		{name: "timeout too short", in: webhooks.EndpointInput{URL: "https://example.com/", Events: []string{"*"},
			EndpointSettings: webhooks.EndpointSettings{Timeout: time.Millisecond}}, path: "timeout_ms"},
		{name: "timeout over the hub's", in: webhooks.EndpointInput{URL: "https://example.com/", Events: []string{"*"},
			EndpointSettings: webhooks.EndpointSettings{Timeout: time.Hour}}, path: "timeout_ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.mod.Create(t.Context(), "aquascene", tt.in)
			var fe *core.FieldError
			if !errors.As(err, &fe) || fe.Path != tt.path {
				t.Fatalf("Create = %v, want a field error on %q", err, tt.path)
			}
		})
	}
}

func TestEndpointCRUDIsTenantScoped(t *testing.T) {
	h := newHarness(t, nil)
	ep, sec := h.create(t, "http://127.0.0.1:1/x", "content.*")
	if _, err := sec.Key(); err != nil || !strings.HasPrefix(string(sec), signature.SecretPrefix) {
		t.Fatalf("generated secret %q: %v", sec, err)
	}
	if _, err := h.mod.Get(t.Context(), "other", ep.ID); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("other tenant Get = %v, want ErrNotFound", err)
	}
	if err := h.mod.Delete(t.Context(), "other", ep.ID); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("other tenant Delete = %v, want ErrNotFound", err)
	}
	off := false
	up, err := h.mod.Update(t.Context(), "aquascene", ep.ID, webhooks.EndpointInput{URL: "http://127.0.0.1:2/y", Events: []string{"*"}, Enabled: &off})
	if err != nil || up.URL != "http://127.0.0.1:2/y" || up.Enabled {
		t.Fatalf("Update = %+v, %v", up, err)
	}
	list, _ := h.mod.List(t.Context(), "aquascene")
	if len(list) != 1 {
		t.Fatalf("List = %d endpoints, want 1", len(list))
	}
	if b, _ := json.Marshal(webhooks.APIEndpoint(list[0])); strings.Contains(string(b), "whsec_") {
		t.Fatalf("endpoint JSON shows its secret: %s", b)
	}
	if err := h.mod.Delete(t.Context(), "aquascene", ep.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.mod.Get(t.Context(), "aquascene", ep.ID); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("Get after Delete = %v", err)
	}
}

func TestFanOutDeliversSignedEvents(t *testing.T) {
	h := newHarness(t, nil)
	rc := newReceiver(t, nil)
	ep, err := h.mod.Create(t.Context(), "aquascene", webhooks.EndpointInput{URL: rc.URL + "/hook", Events: []string{"content.*"}, Headers: map[string]string{"x-team": "growth"}})
	if err != nil {
		t.Fatal(err)
	}
	sec := ep.Secret
	want := h.events.add("aquascene", "content.generation.completed")
	h.events.add("aquascene", "social.posted")            // filtered out
	h.events.add("other", "content.generation.completed") // other tenant
	h.events.add("aquascene", "content.generation.failed")

	if n := h.pass(t); n != 2 {
		t.Fatalf("pass made %d attempts, want 2", n)
	}
	if n := h.pass(t); n != 0 {
		t.Fatalf("second pass made %d attempts, want 0 (nothing doubled)", n)
	}
	reqs := rc.requests()
	if len(reqs) != 2 {
		t.Fatalf("receiver saw %d requests, want 2", len(reqs))
	}
	r := reqs[0]
	if !strings.Contains(string(r.body), `"id":"ev-1"`) { // requests run concurrently
		r = reqs[1]
	}
	wantBody, _ := json.Marshal(want)
	if string(r.body) != string(wantBody) {
		t.Fatalf("body = %s, want the event JSON %s", r.body, wantBody)
	}
	wh, _ := standardwebhooks.NewWebhook(string(sec))
	// The reference library checks the timestamp against the wall clock; the fake clock
	// is in the past, so check signature and timestamp separately.
	if err := wh.VerifyIgnoringTimestamp(r.body, r.header); err != nil {
		t.Fatalf("reference library rejects the delivery: %v", err)
	}
	if got := r.header.Get(signature.WebhookTimestampHeader); got != "1754481600" {
		t.Fatalf("webhook-timestamp = %s, want the clock's 1754481600", got)
	}
	if got := r.header.Get(signature.Signature256Header); got != signature.SignSHA256Hex(string(sec), r.body) {
		t.Fatalf("X-Signature-256 = %s", got)
	}
	if r.header.Get("X-Team") != "growth" || r.path != "/hook" {
		t.Fatalf("custom header or path lost: %v %s", r.header, r.path)
	}
	d, err := h.mod.Delivery(t.Context(), "aquascene", ep.ID, r.header.Get(signature.WebhookIDHeader))
	if err != nil || d.State != webhooks.StateSucceeded || len(d.Log) != 1 || d.Log[0].Status != 204 || d.EventID != want.ID {
		t.Fatalf("delivery = %+v, %v", d, err)
	}
}

func TestRetryScheduleUnderFakeClock(t *testing.T) {
	h := newHarness(t, nil)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(500)
		w.Write([]byte("boom"))
	})
	ep, _ := h.create(t, rc.URL, "*")
	h.events.add("aquascene", "newsletter.sent")
	for i, delay := range webhooks.DefaultConfig().Schedule {
		if delay > 0 {
			h.clock.Advance(delay - time.Second)
			if n := h.pass(t); n != 0 {
				t.Fatalf("attempt %d sent %s early", i+1, time.Second)
			}
			h.clock.Advance(time.Second)
		}
		if n := h.pass(t); n != 1 {
			t.Fatalf("attempt %d: pass made %d attempts, want 1", i+1, n)
		}
	}
	d := h.delivery(t, ep)
	if d.State != webhooks.StateDead || d.Attempts != len(webhooks.DefaultConfig().Schedule) {
		t.Fatalf("after the schedule: state %s, %d attempts; want dead after %d", d.State, d.Attempts, len(webhooks.DefaultConfig().Schedule))
	}
	if d.Log[0].Response != "boom" || d.Log[0].Status != 500 || d.Log[0].Error != "HTTP 500" {
		t.Fatalf("attempt log = %+v", d.Log[0])
	}
	reqs := rc.requests()
	ids, stamps := map[string]bool{}, map[string]bool{}
	for _, r := range reqs {
		ids[r.header.Get(signature.WebhookIDHeader)] = true
		stamps[r.header.Get(signature.WebhookTimestampHeader)] = true
	}
	if len(ids) != 1 || len(stamps) != len(reqs) {
		t.Fatalf("%d ids and %d timestamps over %d attempts; want 1 id, fresh timestamps", len(ids), len(stamps), len(reqs))
	}
	h.clock.Advance(48 * time.Hour)
	if n := h.pass(t); n != 0 {
		t.Fatalf("dead message attempted again")
	}
}

func TestGoneDisablesEndpoint(t *testing.T) {
	h := newHarness(t, nil)
	rc := newReceiver(t, status(http.StatusGone))
	ep, _ := h.create(t, rc.URL, "*")
	h.events.add("aquascene", "newsletter.sent")
	h.pass(t)
	got, _ := h.mod.Get(t.Context(), "aquascene", ep.ID)
	if got.Enabled || !strings.Contains(got.DisabledReason, "410") {
		t.Fatalf("endpoint after 410 = %+v", got)
	}
	if d := h.delivery(t, ep); d.State != webhooks.StateDead {
		t.Fatalf("message after 410 is %s, want dead", d.State)
	}
	if types := h.pub.types(); len(types) != 1 || types[0] != webhooks.EventEndpointDisabled {
		t.Fatalf("published %v, want one %s", types, webhooks.EventEndpointDisabled)
	}
	h.events.add("aquascene", "newsletter.sent")
	h.clock.Advance(time.Hour)
	h.pass(t)
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("disabled endpoint received %d requests, want 1", n)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	tests := []struct {
		name       string
		code       int
		retryAfter string
		want       time.Duration
	}{
		{name: "503 asks for an hour", code: 503, retryAfter: "3600", want: time.Hour},
		{name: "429 asks for less than the schedule", code: 429, retryAfter: "1", want: 5 * time.Second},
		{name: "429 http date", code: 429, retryAfter: "Wed, 06 Aug 2025 12:10:00 GMT", want: 10 * time.Minute},
		{name: "500 ignores retry-after", code: 500, retryAfter: "3600", want: 5 * time.Second},
		{name: "503 malformed", code: 503, retryAfter: "soon", want: 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", tt.retryAfter)
				w.WriteHeader(tt.code)
			})
			ep, _ := h.create(t, rc.URL, "*")
			h.events.add("aquascene", "newsletter.sent")
			start := h.clock.Now()
			h.pass(t)
			d := h.delivery(t, ep)
			if d.State != webhooks.StatePending || d.NextAt.Sub(start) != tt.want {
				t.Fatalf("next attempt in %s (state %s), want %s", d.NextAt.Sub(start), d.State, tt.want)
			}
		})
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	h := newHarness(t, nil)
	var elsewhere atomic.Int64
	other := newReceiver(t, func(int, http.ResponseWriter, *http.Request) { elsewhere.Add(1) })
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/stolen", http.StatusTemporaryRedirect)
	})
	ep, _ := h.create(t, rc.URL, "*")
	h.events.add("aquascene", "newsletter.sent")
	h.pass(t)
	if elsewhere.Load() != 0 {
		t.Fatal("the redirect was followed")
	}
	d := h.delivery(t, ep)
	if d.State != webhooks.StatePending || d.Log[0].Status != 307 || !strings.Contains(d.Log[0].Error, "redirect") {
		t.Fatalf("delivery after redirect = %+v", d)
	}
}

// TestCrashMidDeliveryRedelivers kills the sender after the receiver got the request but
// before the outcome was recorded, reopens the file, and checks the message is sent again
// with the same webhook-id once its lease runs out.
func TestCrashMidDeliveryRedelivers(t *testing.T) {
	h := newHarness(t, nil)
	ctx, crash := context.WithCancel(context.Background())
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			crash() // the process dies while the receiver is answering
		}
		w.WriteHeader(200)
	})
	ep, _ := h.create(t, rc.URL, "*")
	h.events.add("aquascene", "newsletter.sent")
	if _, err := h.mod.FanOut(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.mod.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.db.Close(); err != nil {
		t.Fatal(err)
	}

	h.db = openDB(t, h.path)
	h.start(t, nil)
	if n := h.pass(t); n != 0 {
		t.Fatalf("message re-sent while its lease holds")
	}
	h.clock.Advance(webhooks.Lease(h.mod))
	if n := h.pass(t); n != 1 {
		t.Fatalf("after the lease ran out: %d attempts, want 1", n)
	}
	reqs := rc.requests()
	if len(reqs) != 2 {
		t.Fatalf("receiver saw %d requests, want 2", len(reqs))
	}
	if a, b := reqs[0].header.Get(signature.WebhookIDHeader), reqs[1].header.Get(signature.WebhookIDHeader); a != b || a == "" {
		t.Fatalf("webhook-id changed across the crash: %q then %q", a, b)
	}
	if d := h.delivery(t, ep); d.State != webhooks.StateSucceeded {
		t.Fatalf("state after redelivery = %s", d.State)
	}
}

func TestContinuousFailureDisablesAfterFiveDays(t *testing.T) {
	day := 24 * time.Hour
	h := newHarness(t, func(c *webhooks.Config) { c.Schedule = []time.Duration{0, day, day, day, day, day, day, day} })
	fail := atomic.Bool{}
	fail.Store(true)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		if fail.Load() {
			w.WriteHeader(500)
		}
	})
	ep, _ := h.create(t, rc.URL, "*")
	h.events.add("aquascene", "newsletter.sent")
	h.pass(t)
	// One success in between resets the clock of continuous failure.
	fail.Store(false)
	h.events.add("aquascene", "newsletter.sent")
	h.clock.Advance(day / 2)
	h.pass(t)
	if got, _ := h.mod.Get(t.Context(), "aquascene", ep.ID); !got.FailingSince.IsZero() {
		t.Fatalf("a success did not reset failing_since: %v", got.FailingSince)
	}
	fail.Store(true)
	for i := 0; i < 6; i++ {
		h.clock.Advance(day)
		h.pass(t)
		got, _ := h.mod.Get(t.Context(), "aquascene", ep.ID)
		failingFor := h.clock.Now().Sub(got.FailingSince)
		if got.Enabled != (failingFor < 5*day) {
			t.Fatalf("after failing for %s: enabled=%v", failingFor, got.Enabled)
		}
		if !got.Enabled {
			break
		}
	}
	if types := h.pub.types(); len(types) != 1 || types[0] != webhooks.EventEndpointDisabled {
		t.Fatalf("published %v, want one %s", types, webhooks.EventEndpointDisabled)
	}
	ev := h.pub.events[0]
	if ev.Tenant != "aquascene" || ev.Subject != ep.ID || !strings.Contains(string(ev.Data), "failing continuously") {
		t.Fatalf("disabled event = %+v data %s", ev, ev.Data)
	}
}

func TestRotationSignsWithBothSecrets(t *testing.T) {
	h := newHarness(t, nil)
	rc := newReceiver(t, nil)
	ep, oldSec := h.create(t, rc.URL, "*")
	rotated, err := h.mod.Rotate(t.Context(), "aquascene", ep.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	newSec := rotated.Secret
	h.events.add("aquascene", "a")
	h.pass(t)
	h.clock.Advance(24*time.Hour + time.Second)
	h.events.add("aquascene", "b")
	h.pass(t)
	reqs := rc.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	for _, sec := range []signature.Secret{oldSec, newSec} {
		wh, _ := standardwebhooks.NewWebhook(string(sec))
		if err := wh.VerifyIgnoringTimestamp(reqs[0].body, reqs[0].header); err != nil {
			t.Fatalf("during rotation, a signature with %s is missing: %v", sec[:10], err)
		}
	}
	if reqs[0].header.Get(signature.Signature256Header) != signature.SignSHA256Hex(string(newSec), reqs[0].body) {
		t.Fatal("X-Signature-256 is not signed with the new secret")
	}
	if n := len(strings.Fields(reqs[1].header.Get(signature.WebhookSignatureHeader))); n != 1 {
		t.Fatalf("after the overlap: %d signatures, want 1", n)
	}
	wh, _ := standardwebhooks.NewWebhook(string(oldSec))
	if err := wh.VerifyIgnoringTimestamp(reqs[1].body, reqs[1].header); err == nil {
		t.Fatal("the old secret still verifies after the overlap")
	}
}

func TestReplayAndRecover(t *testing.T) {
	h := newHarness(t, func(c *webhooks.Config) { c.Schedule = []time.Duration{0} })
	var fail atomic.Bool
	fail.Store(true)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		if fail.Load() {
			w.WriteHeader(502)
		}
	})
	ep, _ := h.create(t, rc.URL, "*")
	for range 3 {
		h.events.add("aquascene", "newsletter.sent")
	}
	h.pass(t)
	ds, _ := h.mod.Deliveries(t.Context(), "aquascene", ep.ID, webhooks.DeliveryFilter{State: webhooks.StateDead})
	if len(ds) != 3 {
		t.Fatalf("%d dead, want 3", len(ds))
	}
	fail.Store(false)
	if _, err := h.mod.Replay(t.Context(), "aquascene", ep.ID, ds[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.mod.Replay(t.Context(), "aquascene", ep.ID, ds[0].ID); !errors.Is(err, core.ErrConflict) {
		t.Fatalf("replaying a pending message = %v, want ErrConflict", err)
	}
	h.pass(t)
	d, _ := h.mod.Delivery(t.Context(), "aquascene", ep.ID, ds[0].ID)
	if d.State != webhooks.StateSucceeded || d.Log[len(d.Log)-1].Trigger != "replay" {
		t.Fatalf("replayed delivery = %+v", d)
	}
	n, err := h.mod.Recover(t.Context(), "aquascene", ep.ID, h.clock.Now().Add(-time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("Recover = %d, %v; want 2", n, err)
	}
	h.pass(t)
	reqs := rc.requests()
	if len(reqs) != 6 {
		t.Fatalf("%d requests, want 6", len(reqs))
	}
	ids := map[string]int{}
	for _, r := range reqs {
		ids[r.header.Get(signature.WebhookIDHeader)]++
	}
	if len(ids) != 3 {
		t.Fatalf("%d distinct webhook-ids over replays, want 3 (ids are stable)", len(ids))
	}
	if _, err := h.mod.Replay(t.Context(), "other", ep.ID, ds[0].ID); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("cross-tenant replay = %v", err)
	}
}

func TestDeletedEndpointDropsQueuedMessages(t *testing.T) {
	h := newHarness(t, nil)
	rc := newReceiver(t, nil)
	ep, _ := h.create(t, rc.URL, "*")
	h.events.add("aquascene", "x")
	h.mod.FanOut(t.Context())
	if err := h.mod.Delete(t.Context(), "aquascene", ep.ID); err != nil {
		t.Fatal(err)
	}
	if n := h.pass(t); n != 0 || len(rc.requests()) != 0 {
		t.Fatal("a deleted endpoint received a message")
	}
	h.db.Webhooks().View(t.Context(), func(tx webhooks.Tx) error {
		if due, err := tx.DueEndpoints(h.clock.Now().Add(365*24*time.Hour), 10, nil); err != nil || len(due) != 0 {
			t.Fatalf("due index still holds %d endpoints (%v)", len(due), err)
		}
		return nil
	})
}

func TestSendIsIdempotent(t *testing.T) {
	h := newHarness(t, nil)
	rc := newReceiver(t, nil)
	ep, _ := h.create(t, rc.URL, "*")
	ev := core.Event{ID: "r1", Source: "aquahub/rules/x", Type: "partner.notify", SpecVersion: "1.0"}
	a, err := h.mod.Send(t.Context(), "aquascene", ep.ID, ev, "run1/step1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.mod.Send(t.Context(), "aquascene", ep.ID, ev, "run1/step1")
	if err != nil || a.ID != b.ID {
		t.Fatalf("second Send = %s, %v; want the same message %s", b.ID, err, a.ID)
	}
	h.pass(t)
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
}

// TestSSRFListenerSeesNothing registers blocked spellings of a loopback listener's address
// under the production policy, and sends one message through an endpoint that was stored
// before the policy tightened: the listener must accept no connection.
func TestSSRFListenerSeesNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	h := newHarness(t, func(c *webhooks.Config) { c.AllowLoopback = false })
	for _, host := range []string{"127.0.0.1", "localhost", "2130706433", "0x7f000001", "0177.0.0.1", "127.1", "[::1]", "[::ffff:127.0.0.1]", "0.0.0.0"} {
		u := "http://" + host + ":" + itoa(port) + "/"
		t.Run(host, func(t *testing.T) {
			_, err := h.mod.Create(t.Context(), "aquascene", webhooks.EndpointInput{URL: u, Events: []string{"*"}})
			if !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("Create(%s) = %v, want refused", u, err)
			}
		})
	}
	// An endpoint stored under a looser policy is refused at send time.
	loose := newHarness(t, nil)
	loose.db.Close()
	loose.db = h.db
	loose.start(t, nil)
	ep, _ := loose.create(t, "http://localhost:"+itoa(port)+"/", "*")
	h.events.add("aquascene", "x")
	h.pass(t)
	if n := conns.Load(); n != 0 {
		t.Fatalf("loopback listener accepted %d connections, want 0", n)
	}
	d := h.delivery(t, ep)
	if d.State != webhooks.StatePending || !strings.Contains(d.Log[0].Error, "not allowed") {
		t.Fatalf("delivery = %+v", d)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
