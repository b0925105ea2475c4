package inbound_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/inbound"
	"github.com/aquascene/aquahub/internal/storage/bolt"
	"github.com/aquascene/aquahub/sdk/netguard"
	"github.com/aquascene/aquahub/sdk/signature"
)

// Vendor test vectors: Airtable's documented notification and SendGrid's published example.
const (
	airtableSecret = "c2VjcmV0LWtleQ=="
	airtableBody   = `{"base": {"id": "app00000000000000"}, "webhook": {"id": "ach00000000000000"}, "timestamp": "2022-02-01T21:25:05.663Z"}`
	airtableMAC    = "hmac-sha256=e26da696a90933647bddc83995c3e1e3bb1c3d8ce1ff61cb7469767d50b2b2d4"

	sendgridKey  = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
	sendgridSig  = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
	sendgridTS   = "1600112502"
	sendgridBody = `[{"email":"hello@world.com","event":"dropped","reason":"Bounced Address","sg_event_id":"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA","sg_message_id":"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0","smtp-id":"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>","timestamp":1600112492}]` + "\r\n"

	swSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

	// wcSig was computed independently:
	// printf '%s' "$wcBody" | openssl dgst -sha256 -hmac wc-webhook-secret -binary | base64
	wcBody = `{"id":799,"name":"ADA Aqua Soil Amazonia 9L"}`
	wcSig  = "0p6ocHIYOlCO/XlrEp0toP6NvNkfG+DaBbWJn2JoN7E="
)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func seedSig(secret, body string) string { return signature.SignSHA256Hex(secret, []byte(body)) }

func swHeaders(id string, ts time.Time, body string) http.Header {
	k, _ := signature.Secret(swSecret).Key()
	unix := ts.Unix()
	return hdr("webhook-id", id, "webhook-timestamp", strconv.FormatInt(unix, 10),
		"webhook-signature", signature.SignStandard([][]byte{k}, id, unix, []byte(body)))
}

func TestVerifiers(t *testing.T) {
	sgNow := time.Unix(1600112502, 0)
	now := time.Unix(1754481600, 0)
	tests := []struct {
		name   string
		cfg    inbound.SourceConfig
		header http.Header
		body   string
		now    time.Time
		ok     bool
	}{
		{name: "airtable vector", cfg: inbound.SourceConfig{Verifier: "airtable", Secret: airtableSecret}, header: hdr("X-Airtable-Content-MAC", airtableMAC), body: airtableBody, ok: true},
		{name: "airtable tampered", cfg: inbound.SourceConfig{Verifier: "airtable", Secret: airtableSecret}, header: hdr("X-Airtable-Content-MAC", airtableMAC), body: airtableBody + " ", ok: false},
		{name: "airtable missing header", cfg: inbound.SourceConfig{Verifier: "airtable", Secret: airtableSecret}, header: hdr(), body: airtableBody, ok: false},
		{name: "airtable wrong prefix", cfg: inbound.SourceConfig{Verifier: "airtable", Secret: airtableSecret}, header: hdr("X-Airtable-Content-MAC", "sha256="+airtableMAC[12:]), body: airtableBody, ok: false},
		{name: "sendgrid vector", cfg: inbound.SourceConfig{Verifier: "sendgrid", Secret: sendgridKey}, header: hdr(signature.SendGridSignatureHeader, sendgridSig, signature.SendGridTimestampHeader, sendgridTS), body: sendgridBody, now: sgNow, ok: true},
		{name: "sendgrid tampered", cfg: inbound.SourceConfig{Verifier: "sendgrid", Secret: sendgridKey}, header: hdr(signature.SendGridSignatureHeader, sendgridSig, signature.SendGridTimestampHeader, sendgridTS), body: sendgridBody[:len(sendgridBody)-2], now: sgNow, ok: false},
		{name: "sendgrid other timestamp", cfg: inbound.SourceConfig{Verifier: "sendgrid", Secret: sendgridKey}, header: hdr(signature.SendGridSignatureHeader, sendgridSig, signature.SendGridTimestampHeader, "1600112503"), body: sendgridBody, now: sgNow, ok: false},
		{name: "sendgrid stale", cfg: inbound.SourceConfig{Verifier: "sendgrid", Secret: sendgridKey}, header: hdr(signature.SendGridSignatureHeader, sendgridSig, signature.SendGridTimestampHeader, sendgridTS), body: sendgridBody, now: sgNow.Add(time.Hour), ok: false},
		{name: "sendgrid garbage signature", cfg: inbound.SourceConfig{Verifier: "sendgrid", Secret: sendgridKey}, header: hdr(signature.SendGridSignatureHeader, "bm9wZQ==", signature.SendGridTimestampHeader, sendgridTS), body: sendgridBody, now: sgNow, ok: false},
		{name: "seed X-Signature-256", cfg: inbound.SourceConfig{Verifier: "hmac", Secret: "s3cret", Header: "X-Signature-256", Prefix: "sha256="}, header: hdr("X-Signature-256", seedSig("s3cret", `{"a":1}`)), body: `{"a":1}`, ok: true},
		{name: "seed wrong secret", cfg: inbound.SourceConfig{Verifier: "hmac", Secret: "other", Header: "X-Signature-256", Prefix: "sha256="}, header: hdr("X-Signature-256", seedSig("s3cret", `{"a":1}`)), body: `{"a":1}`, ok: false},
		{name: "seed missing prefix", cfg: inbound.SourceConfig{Verifier: "hmac", Secret: "s3cret", Header: "X-Signature-256", Prefix: "sha256="}, header: hdr("X-Signature-256", seedSig("s3cret", `{"a":1}`)[7:]), body: `{"a":1}`, ok: false},
		{name: "seed empty signature", cfg: inbound.SourceConfig{Verifier: "hmac", Secret: "s3cret", Prefix: "sha256="}, header: hdr("X-Signature-256", "sha256="), body: `{"a":1}`, ok: false},
		{name: "hmac sha512 base64", cfg: inbound.SourceConfig{Verifier: "hmac", Secret: "k", Header: "X-Sig", Algorithm: "sha512", Encoding: "base64"}, header: hdr("X-Sig", "hrYQK3VK5VjfDsPnkFyBJQs+G6abBgwbuWQajxmGMDX7AHyCmwZI2jigMlVjATH8L3deARDAqhGzN1ChTPSOyw=="), body: "hello", ok: true},
		{name: "hmac sha512 given sha256", cfg: inbound.SourceConfig{Verifier: "hmac", Secret: "k", Header: "X-Sig", Algorithm: "sha512"}, header: hdr("X-Sig", seedSig("k", "hello")[7:]), body: "hello", ok: false},
		{name: "standard webhooks", cfg: inbound.SourceConfig{Verifier: "standard-webhooks", Secret: swSecret}, header: swHeaders("msg_1", now, `{"x":1}`), body: `{"x":1}`, now: now, ok: true},
		{name: "standard webhooks stale", cfg: inbound.SourceConfig{Verifier: "standard-webhooks", Secret: swSecret}, header: swHeaders("msg_1", now.Add(-10*time.Minute), `{"x":1}`), body: `{"x":1}`, now: now, ok: false},
		{name: "standard webhooks future", cfg: inbound.SourceConfig{Verifier: "standard-webhooks", Secret: swSecret}, header: swHeaders("msg_1", now.Add(10*time.Minute), `{"x":1}`), body: `{"x":1}`, now: now, ok: false},
		{name: "standard webhooks tampered", cfg: inbound.SourceConfig{Verifier: "standard-webhooks", Secret: swSecret}, header: swHeaders("msg_1", now, `{"x":1}`), body: `{"x":2}`, now: now, ok: false},
		{name: "standard webhooks no id", cfg: inbound.SourceConfig{Verifier: "standard-webhooks", Secret: swSecret}, header: hdr("webhook-timestamp", "1"), body: `{}`, now: now, ok: false},
		{name: "basic", cfg: inbound.SourceConfig{Verifier: "basic", Secret: "hub:pa55word"}, header: hdr("Authorization", "Basic aHViOnBhNTV3b3Jk"), body: "{}", ok: true},
		{name: "basic wrong", cfg: inbound.SourceConfig{Verifier: "basic", Secret: "hub:pa55word"}, header: hdr("Authorization", "Basic aHViOm5vcGU="), body: "{}", ok: false},
		{name: "api key", cfg: inbound.SourceConfig{Verifier: "api_key", Secret: "0123456789abcdef"}, header: hdr("X-API-Key", "0123456789abcdef"), body: "{}", ok: true},
		{name: "api key bearer", cfg: inbound.SourceConfig{Verifier: "api_key", Secret: "0123456789abcdef", Header: "Authorization"}, header: hdr("Authorization", "Bearer 0123456789abcdef"), body: "{}", ok: true},
		{name: "api key wrong", cfg: inbound.SourceConfig{Verifier: "api_key", Secret: "0123456789abcdef"}, header: hdr("X-API-Key", "0123456789abcdeX"), body: "{}", ok: false},
		{name: "woocommerce", cfg: inbound.SourceConfig{Verifier: "woocommerce", Secret: "wc-webhook-secret"}, header: hdr(signature.WooCommerceSignatureHeader, wcSig), body: wcBody, ok: true},
		{name: "woocommerce tampered", cfg: inbound.SourceConfig{Verifier: "woocommerce", Secret: "wc-webhook-secret"}, header: hdr(signature.WooCommerceSignatureHeader, wcSig), body: wcBody + " ", ok: false},
		{name: "woocommerce other secret", cfg: inbound.SourceConfig{Verifier: "woocommerce", Secret: "other"}, header: hdr(signature.WooCommerceSignatureHeader, wcSig), body: wcBody, ok: false},
		{name: "woocommerce unsigned", cfg: inbound.SourceConfig{Verifier: "woocommerce", Secret: "wc-webhook-secret"}, header: hdr(), body: wcBody, ok: false},
		{name: "woocommerce hex signature", cfg: inbound.SourceConfig{Verifier: "woocommerce", Secret: "wc-webhook-secret"}, header: hdr(signature.WooCommerceSignatureHeader, "d29aa87072183a508efd796b129d2da0fe8dbcd91f1be0da05b589df626837b1"), body: wcBody, ok: false},
		{name: "woocommerce ping", cfg: inbound.SourceConfig{Verifier: "woocommerce", Secret: "wc-webhook-secret"}, header: hdr(), body: "webhook_id=7", ok: true},
		{name: "woocommerce ping with a bad signature", cfg: inbound.SourceConfig{Verifier: "woocommerce", Secret: "wc-webhook-secret"}, header: hdr(signature.WooCommerceSignatureHeader, "AAAA"), body: "webhook_id=7", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := inbound.DefaultSchemes().NewVerifier(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Verify(inbound.Request{Header: tt.header, Body: []byte(tt.body), Now: tt.now})
			if tt.ok && err != nil {
				t.Fatalf("Verify = %v, want ok", err)
			}
			if !tt.ok && (!errors.Is(err, inbound.ErrUnauthorized) || !errors.Is(err, core.ErrUnauthenticated)) {
				t.Fatalf("Verify = %v, want ErrUnauthorized (core.ErrUnauthenticated)", err)
			}
		})
	}
}

// TestBadSourcesAreRefused: the configuration's validation and the module's construction
// ask the same registry, so both refuse a bad source, naming the field.
func TestBadSourcesAreRefused(t *testing.T) {
	tests := []struct {
		name  string
		cfg   inbound.SourceConfig
		field string
	}{
		{name: "no verifier", cfg: inbound.SourceConfig{Secret: "x"}, field: "verifier"},
		{name: "unknown verifier", cfg: inbound.SourceConfig{Verifier: "github", Secret: "x"}, field: "verifier"},
		{name: "no secret", cfg: inbound.SourceConfig{Verifier: "hmac"}, field: "secret"},
		{name: "bad algorithm", cfg: inbound.SourceConfig{Verifier: "hmac", Secret: "x", Algorithm: "md5"}, field: "algorithm"},
		{name: "bad encoding", cfg: inbound.SourceConfig{Verifier: "hmac", Secret: "x", Encoding: "base32"}, field: "encoding"},
		{name: "bad whsec", cfg: inbound.SourceConfig{Verifier: "standard-webhooks", Secret: "nope"}, field: "secret"},
		{name: "basic without colon", cfg: inbound.SourceConfig{Verifier: "basic", Secret: "userpass"}, field: "secret"},
		{name: "short api key", cfg: inbound.SourceConfig{Verifier: "api_key", Secret: "short"}, field: "secret"},
		{name: "airtable not base64", cfg: inbound.SourceConfig{Verifier: "airtable", Secret: "!!"}, field: "secret"},
		{name: "sendgrid not a key", cfg: inbound.SourceConfig{Verifier: "sendgrid", Secret: "c2VjcmV0"}, field: "secret"},
		{name: "type does not compile", cfg: inbound.SourceConfig{Verifier: "hmac", Secret: "x", Type: `"a" +`}, field: "type"},
		{name: "negative tolerance", cfg: inbound.SourceConfig{Verifier: "standard-webhooks", Secret: swSecret, Tolerance: -time.Second}, field: "tolerance"},
		{name: "tolerance over a day", cfg: inbound.SourceConfig{Verifier: "sendgrid", Secret: sendgridKey, Tolerance: 25 * time.Hour}, field: "tolerance"},
		{name: "hmac field on another verifier", cfg: inbound.SourceConfig{Verifier: "basic", Secret: "u:p", Prefix: "sha256="}, field: "prefix"},
		{name: "tolerance on a verifier without timestamps", cfg: inbound.SourceConfig{Verifier: "hmac", Secret: "x", Tolerance: time.Minute}, field: "tolerance"},
		{name: "header on a verifier that reads none", cfg: inbound.SourceConfig{Verifier: "sendgrid", Secret: sendgridKey, Header: "X-Sig"}, field: "header"},
		{name: "woocommerce without secret", cfg: inbound.SourceConfig{Verifier: "woocommerce"}, field: "secret"},
		{name: "woocommerce with an hmac header", cfg: inbound.SourceConfig{Verifier: "woocommerce", Secret: "x", Header: "X-WC-Webhook-Signature"}, field: "header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			var fe *core.FieldError
			if !errors.As(err, &fe) || fe.Path != tt.field {
				t.Fatalf("Validate = %v, want an error on %q", err, tt.field)
			}
			_, err = inbound.New(map[string]map[string]inbound.SourceConfig{"aquascene": {"src": tt.cfg}}, inbound.Deps{})
			if err == nil || !strings.Contains(err.Error(), `source "src" of tenant "aquascene"`) || !strings.Contains(err.Error(), tt.field+":") {
				t.Fatalf("New = %v, want an error naming the source and %s", err, tt.field)
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

// newModule builds the module serving one tenant's sources over a storage file of its own.
func newModule(tb testing.TB, c *clock, tenant string, sources map[string]inbound.SourceConfig, policy netguard.Policy) (*inbound.Module, *recPublisher, *bolt.DB) {
	tb.Helper()
	db, err := bolt.Open(bolt.Config{Path: filepath.Join(tb.TempDir(), "hub.db")})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	pub := &recPublisher{}
	m, err := inbound.New(map[string]map[string]inbound.SourceConfig{tenant: sources}, inbound.Deps{Store: db.Inbound(), Publisher: pub, Clock: c, Policy: policy})
	if err != nil {
		tb.Fatal(err)
	}
	return m, pub, db
}

func TestReceiverMapsAndPublishes(t *testing.T) {
	r, pub, _ := newModule(t, &clock{t: time.Now()}, "aquascene", map[string]inbound.SourceConfig{"airtable": {
		Verifier: "hmac", Secret: "s3cret", Header: "X-Signature-256", Prefix: "sha256=",
		Type: `"airtable.content." + body.action`, Subject: "body.record.id", Data: "body.record",
	}}, netguard.Policy{})
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
	if _, err := r.Receive(t.Context(), "aquascene", "airtable", hdr("X-Signature-256", seedSig("wrong", body)), []byte(body)); !errors.Is(err, inbound.ErrUnauthorized) {
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
	r, pub, _ := newModule(t, c, "aquascene", map[string]inbound.SourceConfig{"partner": {Verifier: "standard-webhooks", Secret: swSecret, Type: `"partner." + body.kind`}}, netguard.Policy{})
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
	if _, err := r.Receive(t.Context(), "aquascene", "partner", old, []byte(body)); !errors.Is(err, inbound.ErrUnauthorized) {
		t.Fatalf("stale replay = %v", err)
	}
}

func TestModuleWithoutStorageRefusesRequests(t *testing.T) {
	m, err := inbound.New(map[string]map[string]inbound.SourceConfig{"aquascene": {"s": {Verifier: "hmac", Secret: "k"}}}, inbound.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Receive(t.Context(), "aquascene", "s", hdr(), []byte("{}")); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("Receive without storage = %v, want ErrClosed", err)
	}
}

func FuzzSourceEvent(f *testing.F) {
	f.Add([]byte(`{"action":"x"}`), "sha256=00")
	f.Add([]byte(`[1,2]`), "")
	f.Add([]byte("not json"), "sha256=zz")
	r, _, _ := newModule(f, &clock{t: time.Now()}, "t", map[string]inbound.SourceConfig{"s": {Verifier: "hmac", Secret: "k", Prefix: "sha256=", Type: `"a." + string(body?.action ?? "none")`}}, netguard.Policy{})
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		h := hdr("X-Signature-256", sig)
		if _, err := r.Receive(t.Context(), "t", "s", h, body); err != nil && !errors.Is(err, inbound.ErrUnauthorized) && !errors.Is(err, core.ErrInvalid) {
			t.Fatalf("unexpected error class: %v", err)
		}
		h.Set("X-Signature-256", seedSig("k", string(body)))
		if _, err := r.Receive(t.Context(), "t", "s", h, body); errors.Is(err, inbound.ErrUnauthorized) {
			t.Fatalf("a correct signature was refused: %v", err)
		}
	})
}
