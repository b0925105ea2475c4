package inbound

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/webhooks"
	bbolt "go.etcd.io/bbolt"
)

// Vendor test vectors from wire-contracts.md §1.7 (Airtable) and §2.4 (SendGrid).
const (
	airtableSecret = "c2VjcmV0LWtleQ=="
	airtableBody   = `{"base": {"id": "app00000000000000"}, "webhook": {"id": "ach00000000000000"}, "timestamp": "2022-02-01T21:25:05.663Z"}`
	airtableMAC    = "hmac-sha256=e26da696a90933647bddc83995c3e1e3bb1c3d8ce1ff61cb7469767d50b2b2d4"

	sendgridKey  = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
	sendgridSig  = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
	sendgridTS   = "1600112502"
	sendgridBody = `[{"email":"hello@world.com","event":"dropped","reason":"Bounced Address","sg_event_id":"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA","sg_message_id":"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0","smtp-id":"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>","timestamp":1600112492}]` + "\r\n"

	swSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func seedSig(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func swHeaders(id string, ts time.Time, body string) http.Header {
	k, _ := webhooks.Secret(swSecret).Key()
	unix := ts.Unix()
	return hdr("webhook-id", id, "webhook-timestamp", strconv.FormatInt(unix, 10),
		"webhook-signature", webhooks.SignatureHeader([][]byte{k}, id, unix, []byte(body)))
}

func TestVerifiers(t *testing.T) {
	sgNow := time.Unix(1600112502, 0)
	now := time.Unix(1754481600, 0)
	tests := []struct {
		name   string
		spec   Spec
		header http.Header
		body   string
		now    time.Time
		ok     bool
	}{
		{name: "airtable vector", spec: Spec{Verifier: "airtable", Secret: airtableSecret}, header: hdr("X-Airtable-Content-MAC", airtableMAC), body: airtableBody, ok: true},
		{name: "airtable tampered", spec: Spec{Verifier: "airtable", Secret: airtableSecret}, header: hdr("X-Airtable-Content-MAC", airtableMAC), body: airtableBody + " ", ok: false},
		{name: "airtable missing header", spec: Spec{Verifier: "airtable", Secret: airtableSecret}, header: hdr(), body: airtableBody, ok: false},
		{name: "airtable wrong prefix", spec: Spec{Verifier: "airtable", Secret: airtableSecret}, header: hdr("X-Airtable-Content-MAC", "sha256="+airtableMAC[12:]), body: airtableBody, ok: false},
		{name: "sendgrid vector", spec: Spec{Verifier: "sendgrid", Secret: sendgridKey}, header: hdr(SendGridSignatureHeader, sendgridSig, SendGridTimestampHeader, sendgridTS), body: sendgridBody, now: sgNow, ok: true},
		{name: "sendgrid tampered", spec: Spec{Verifier: "sendgrid", Secret: sendgridKey}, header: hdr(SendGridSignatureHeader, sendgridSig, SendGridTimestampHeader, sendgridTS), body: sendgridBody[:len(sendgridBody)-2], now: sgNow, ok: false},
		{name: "sendgrid other timestamp", spec: Spec{Verifier: "sendgrid", Secret: sendgridKey}, header: hdr(SendGridSignatureHeader, sendgridSig, SendGridTimestampHeader, "1600112503"), body: sendgridBody, now: sgNow, ok: false},
		{name: "sendgrid stale", spec: Spec{Verifier: "sendgrid", Secret: sendgridKey}, header: hdr(SendGridSignatureHeader, sendgridSig, SendGridTimestampHeader, sendgridTS), body: sendgridBody, now: sgNow.Add(time.Hour), ok: false},
		{name: "sendgrid garbage signature", spec: Spec{Verifier: "sendgrid", Secret: sendgridKey}, header: hdr(SendGridSignatureHeader, "bm9wZQ==", SendGridTimestampHeader, sendgridTS), body: sendgridBody, now: sgNow, ok: false},
		{name: "seed X-Signature-256", spec: Spec{Verifier: "hmac", Secret: "s3cret", Header: "X-Signature-256", Prefix: "sha256="}, header: hdr("X-Signature-256", seedSig("s3cret", `{"a":1}`)), body: `{"a":1}`, ok: true},
		{name: "seed wrong secret", spec: Spec{Verifier: "hmac", Secret: "other", Header: "X-Signature-256", Prefix: "sha256="}, header: hdr("X-Signature-256", seedSig("s3cret", `{"a":1}`)), body: `{"a":1}`, ok: false},
		{name: "seed missing prefix", spec: Spec{Verifier: "hmac", Secret: "s3cret", Header: "X-Signature-256", Prefix: "sha256="}, header: hdr("X-Signature-256", seedSig("s3cret", `{"a":1}`)[7:]), body: `{"a":1}`, ok: false},
		{name: "seed empty signature", spec: Spec{Verifier: "hmac", Secret: "s3cret", Prefix: "sha256="}, header: hdr("X-Signature-256", "sha256="), body: `{"a":1}`, ok: false},
		{name: "hmac sha512 base64", spec: Spec{Verifier: "hmac", Secret: "k", Header: "X-Sig", Algorithm: "sha512", Encoding: "base64"}, header: hdr("X-Sig", "hrYQK3VK5VjfDsPnkFyBJQs+G6abBgwbuWQajxmGMDX7AHyCmwZI2jigMlVjATH8L3deARDAqhGzN1ChTPSOyw=="), body: "hello", ok: true},
		{name: "hmac sha512 given sha256", spec: Spec{Verifier: "hmac", Secret: "k", Header: "X-Sig", Algorithm: "sha512"}, header: hdr("X-Sig", seedSig("k", "hello")[7:]), body: "hello", ok: false},
		{name: "standard webhooks", spec: Spec{Verifier: "standard-webhooks", Secret: swSecret}, header: swHeaders("msg_1", now, `{"x":1}`), body: `{"x":1}`, now: now, ok: true},
		{name: "standard webhooks stale", spec: Spec{Verifier: "standard-webhooks", Secret: swSecret}, header: swHeaders("msg_1", now.Add(-10*time.Minute), `{"x":1}`), body: `{"x":1}`, now: now, ok: false},
		{name: "standard webhooks future", spec: Spec{Verifier: "standard-webhooks", Secret: swSecret}, header: swHeaders("msg_1", now.Add(10*time.Minute), `{"x":1}`), body: `{"x":1}`, now: now, ok: false},
		{name: "standard webhooks tampered", spec: Spec{Verifier: "standard-webhooks", Secret: swSecret}, header: swHeaders("msg_1", now, `{"x":1}`), body: `{"x":2}`, now: now, ok: false},
		{name: "standard webhooks no id", spec: Spec{Verifier: "standard-webhooks", Secret: swSecret}, header: hdr("webhook-timestamp", "1"), body: `{}`, now: now, ok: false},
		{name: "basic", spec: Spec{Verifier: "basic", Secret: "hub:pa55word"}, header: hdr("Authorization", "Basic aHViOnBhNTV3b3Jk"), body: "{}", ok: true},
		{name: "basic wrong", spec: Spec{Verifier: "basic", Secret: "hub:pa55word"}, header: hdr("Authorization", "Basic aHViOm5vcGU="), body: "{}", ok: false},
		{name: "api key", spec: Spec{Verifier: "api_key", Secret: "0123456789abcdef"}, header: hdr("X-API-Key", "0123456789abcdef"), body: "{}", ok: true},
		{name: "api key bearer", spec: Spec{Verifier: "api_key", Secret: "0123456789abcdef", Header: "Authorization"}, header: hdr("Authorization", "Bearer 0123456789abcdef"), body: "{}", ok: true},
		{name: "api key wrong", spec: Spec{Verifier: "api_key", Secret: "0123456789abcdef"}, header: hdr("X-API-Key", "0123456789abcdeX"), body: "{}", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewVerifier(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Verify(Request{Header: tt.header, Body: []byte(tt.body), Now: tt.now})
			if tt.ok && err != nil {
				t.Fatalf("Verify = %v, want ok", err)
			}
			if !tt.ok && !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("Verify = %v, want ErrUnauthorized", err)
			}
		})
	}
}

func TestNewSourceRejects(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
	}{
		{name: "no verifier", spec: Spec{Secret: "x"}},
		{name: "unknown verifier", spec: Spec{Verifier: "github", Secret: "x"}},
		{name: "no secret", spec: Spec{Verifier: "hmac"}},
		{name: "bad algorithm", spec: Spec{Verifier: "hmac", Secret: "x", Algorithm: "md5"}},
		{name: "bad encoding", spec: Spec{Verifier: "hmac", Secret: "x", Encoding: "base32"}},
		{name: "bad whsec", spec: Spec{Verifier: "standard-webhooks", Secret: "nope"}},
		{name: "basic without colon", spec: Spec{Verifier: "basic", Secret: "userpass"}},
		{name: "short api key", spec: Spec{Verifier: "api_key", Secret: "short"}},
		{name: "airtable not base64", spec: Spec{Verifier: "airtable", Secret: "!!"}},
		{name: "sendgrid not a key", spec: Spec{Verifier: "sendgrid", Secret: "c2VjcmV0"}},
		{name: "type does not compile", spec: Spec{Verifier: "hmac", Secret: "x", Type: `"a" +`}},
		{name: "negative tolerance", spec: Spec{Verifier: "hmac", Secret: "x", Tolerance: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewSource("aquascene", "src", tt.spec); err == nil {
				t.Fatal("NewSource accepted a bad spec")
			}
		})
	}
}

type recPublisher struct {
	mu     sync.Mutex
	events []core.Event
	seen   map[string]bool
}

func (p *recPublisher) Publish(_ context.Context, tenant string, evs ...core.Event) ([]core.Accepted, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen == nil {
		p.seen = map[string]bool{}
	}
	var out []core.Accepted
	for _, e := range evs {
		k := tenant + e.Source + e.ID
		out = append(out, core.Accepted{ID: e.ID, Source: e.Source, Duplicate: p.seen[k], Seq: uint64(len(p.events) + 1)})
		if !p.seen[k] {
			e.Tenant = tenant
			p.events = append(p.events, e)
			p.seen[k] = true
		}
	}
	return out, nil
}

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

func newReceiver(tb testing.TB, c *clock, sources ...*Source) (*Receiver, *recPublisher) {
	tb.Helper()
	db, err := bbolt.Open(filepath.Join(tb.TempDir(), "hub.db"), 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	pub := &recPublisher{}
	r, err := NewReceiver(ReceiverOptions{DB: db, Publisher: pub, Clock: c}, sources...)
	if err != nil {
		tb.Fatal(err)
	}
	return r, pub
}

func TestReceiverMapsAndPublishes(t *testing.T) {
	src, err := NewSource("aquascene", "airtable", Spec{
		Verifier: "hmac", Secret: "s3cret", Header: "X-Signature-256", Prefix: "sha256=",
		Type: `"airtable.content." + body.action`, Subject: "body.record.id", Data: "body.record",
	})
	if err != nil {
		t.Fatal(err)
	}
	r, pub := newReceiver(t, &clock{t: time.Now()}, src)
	body := `{"action":"scheduled","record":{"id":"rec1","fields":{"Topic":"CO2"}}}`
	res, err := r.Receive(t.Context(), "aquascene", "airtable", hdr("X-Signature-256", seedSig("s3cret", body)), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(pub.events) != 1 {
		t.Fatalf("%d events published", len(pub.events))
	}
	ev := pub.events[0]
	if ev.Type != "airtable.content.scheduled" || ev.Subject != "rec1" || string(ev.Data) != `{"fields":{"Topic":"CO2"},"id":"rec1"}` || ev.Source != "aquahub/hooks/airtable" || ev.Tenant != "aquascene" {
		t.Fatalf("event = %+v data %s", ev, ev.Data)
	}
	if res.Accepted.ID != ev.ID {
		t.Fatalf("result %+v", res)
	}
	if _, err := r.Receive(t.Context(), "aquascene", "airtable", hdr("X-Signature-256", seedSig("wrong", body)), []byte(body)); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("bad signature = %v", err)
	}
	if _, err := r.Receive(t.Context(), "other", "airtable", hdr("X-Signature-256", seedSig("s3cret", body)), []byte(body)); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("other tenant's source = %v", err)
	}
	bad := `{"record":{}}` // body.action is missing: string + nil fails
	if _, err := r.Receive(t.Context(), "aquascene", "airtable", hdr("X-Signature-256", seedSig("s3cret", bad)), []byte(bad)); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("failing mapping = %v, want ErrInvalid", err)
	}
}

func TestReceiverDeduplicatesMessageIDs(t *testing.T) {
	c := &clock{t: time.Now()}
	src, err := NewSource("aquascene", "partner", Spec{Verifier: "standard-webhooks", Secret: swSecret, Type: `"partner." + body.kind`})
	if err != nil {
		t.Fatal(err)
	}
	r, pub := newReceiver(t, c, src)
	body := `{"kind":"product.updated"}`
	first, err := r.Receive(t.Context(), "aquascene", "partner", swHeaders("msg_42", c.t, body), []byte(body))
	if err != nil || first.Duplicate {
		t.Fatalf("first = %+v, %v", first, err)
	}
	c.t = c.t.Add(time.Minute) // the sender retries with a fresh timestamp and the same id
	again, err := r.Receive(t.Context(), "aquascene", "partner", swHeaders("msg_42", c.t, body), []byte(body))
	if err != nil || !again.Duplicate {
		t.Fatalf("retry = %+v, %v; want a duplicate", again, err)
	}
	if len(pub.events) != 1 || pub.events[0].ID != "msg_42" || pub.events[0].Type != "partner.product.updated" {
		t.Fatalf("published %+v", pub.events)
	}
	// A captured request replayed after the tolerance is refused.
	old := swHeaders("msg_43", c.t, body)
	c.t = c.t.Add(6 * time.Minute)
	if _, err := r.Receive(t.Context(), "aquascene", "partner", old, []byte(body)); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("stale replay = %v", err)
	}
}

func FuzzSourceEvent(f *testing.F) {
	f.Add([]byte(`{"action":"x"}`), "sha256=00")
	f.Add([]byte(`[1,2]`), "")
	f.Add([]byte("not json"), "sha256=zz")
	src, err := NewSource("t", "s", Spec{Verifier: "hmac", Secret: "k", Prefix: "sha256=", Type: `"a." + string(body?.action ?? "none")`})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		h := hdr("X-Signature-256", sig)
		if _, _, err := src.Event(h, body, time.Now()); err != nil && !errors.Is(err, ErrUnauthorized) && !errors.Is(err, core.ErrInvalid) {
			t.Fatalf("unexpected error class: %v", err)
		}
		h.Set("X-Signature-256", seedSig("k", string(body)))
		if _, _, err := src.Event(h, body, time.Now()); errors.Is(err, ErrUnauthorized) {
			t.Fatalf("a correct signature was refused: %v", err)
		}
	})
}
