package inbound

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/sendgrid/eventwebhook"
	"github.com/aquascene/aquahub/core"
)

func TestSendGridVectorBecomesOneEvent(t *testing.T) {
	src, err := NewSource("aquascene", "sendgrid", Spec{Verifier: VerifierSendGrid, Secret: sendgridKey})
	if err != nil {
		t.Fatal(err)
	}
	r, pub := newReceiver(t, &clock{t: time.Unix(1600112502, 0)}, src)
	h := hdr(SendGridSignatureHeader, sendgridSig, SendGridTimestampHeader, sendgridTS)
	res, err := r.Receive(t.Context(), "aquascene", "sendgrid", h, []byte(sendgridBody))
	if err != nil {
		t.Fatal(err)
	}
	if len(pub.events) != 1 || len(res.Events) != 1 {
		t.Fatalf("published %d, result %+v", len(pub.events), res)
	}
	ev := pub.events[0]
	if ev.Type != "email.dropped" || ev.ID != "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA" || ev.Subject != "hello@world.com" ||
		ev.Source != "aquahub/hooks/sendgrid" || ev.Time.Unix() != 1600112492 {
		t.Fatalf("event %+v", ev)
	}
	var data map[string]any
	if err := json.Unmarshal(ev.Data, &data); err != nil || data["reason"] != "Bounced Address" || data["event"] != "dropped" {
		t.Fatalf("data %s (%v)", ev.Data, err)
	}
	// SendGrid retries a batch it thinks failed: the same sg_event_ids publish nothing new.
	res, err = r.Receive(t.Context(), "aquascene", "sendgrid", h, []byte(sendgridBody))
	if err != nil || !res.Duplicate || len(pub.events) != 1 {
		t.Fatalf("retried batch: %+v, %v, %d events", res, err, len(pub.events))
	}
}

// signedBatch signs body as the SendGrid simulator does, at now.
func signedBatch(t *testing.T, now time.Time, body string) (Spec, http.Header) {
	t.Helper()
	key, err := eventwebhook.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := eventwebhook.EncodePublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	sig, err := eventwebhook.Sign(key, ts, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return Spec{Verifier: VerifierSendGrid, Secret: pub}, hdr(SendGridSignatureHeader, sig, SendGridTimestampHeader, ts)
}

func TestSendGridBatchTypes(t *testing.T) {
	now := time.Unix(1754481600, 0)
	body := `[
	 {"email":"a@example.com","event":"processed","sg_event_id":"p1","timestamp":1754481500},
	 {"email":"a@example.com","event":"delivered","sg_event_id":"d1","timestamp":1754481510},
	 {"email":"a@example.com","event":"open","sg_event_id":"o1","timestamp":1754481520,"content_id":"CNT-1"},
	 {"email":"a@example.com","event":"click","sg_event_id":"c1","timestamp":1754481530,"url":"https://aquascene.bg"},
	 {"email":"b@example.com","event":"bounce","sg_event_id":"b1","timestamp":1754481540},
	 {"email":"b@example.com","event":"dropped","sg_event_id":"x1"},
	 {"email":"b@example.com","event":"deferred","sg_event_id":"x2"},
	 {"email":"b@example.com","event":"spamreport","sg_event_id":"x3"},
	 {"email":"b@example.com","event":"unsubscribe","sg_event_id":"x4"},
	 {"email":"b@example.com","event":"group_unsubscribe"}
	]`
	spec, h := signedBatch(t, now, body)
	src, err := NewSource("aquascene", "sendgrid", spec)
	if err != nil {
		t.Fatal(err)
	}
	r, pub := newReceiver(t, &clock{t: now}, src)
	if _, err := r.Receive(t.Context(), "aquascene", "sendgrid", h, []byte(body)); err != nil {
		t.Fatal(err)
	}
	want := []string{"email.processed", "email.delivered", "email.opened", "email.clicked", "email.bounced",
		"email.dropped", "email.deferred", "email.spamreport", "email.unsubscribe", "email.group_unsubscribe"}
	if len(pub.events) != len(want) {
		t.Fatalf("%d events, want %d", len(pub.events), len(want))
	}
	for i, w := range want {
		if pub.events[i].Type != w {
			t.Errorf("event %d type %s, want %s", i, pub.events[i].Type, w)
		}
	}
	if last := pub.events[len(want)-1]; len(last.ID) < 10 || last.ID[:7] != "sha256-" {
		t.Errorf("an item without sg_event_id got id %q, want a hash", last.ID)
	}
	if pub.events[5].Time.Unix() != now.Unix() {
		t.Errorf("an item without timestamp has time %s, want the receive time", pub.events[5].Time)
	}
}

func TestSendGridMappingPerItem(t *testing.T) {
	now := time.Unix(1754481600, 0)
	body := `[{"email":"a@example.com","event":"open","sg_event_id":"o1","content_id":"CNT-1"}]`
	spec, h := signedBatch(t, now, body)
	spec.Type = `"newsletter." + body.event`
	spec.Subject = "body.content_id"
	spec.Data = `{"who": body.email}`
	src, err := NewSource("aquascene", "sendgrid", spec)
	if err != nil {
		t.Fatal(err)
	}
	r, pub := newReceiver(t, &clock{t: now}, src)
	if _, err := r.Receive(t.Context(), "aquascene", "sendgrid", h, []byte(body)); err != nil {
		t.Fatal(err)
	}
	ev := pub.events[0]
	if ev.Type != "newsletter.open" || ev.Subject != "CNT-1" || ev.ID != "o1" || string(ev.Data) != `{"who":"a@example.com"}` {
		t.Fatalf("event %+v data %s", ev, ev.Data)
	}
}

func TestSendGridBadBatches(t *testing.T) {
	now := time.Unix(1754481600, 0)
	tests := []struct {
		name, body string
	}{
		{"not an array", `{"event":"open"}`},
		{"not JSON", `[{"event":`},
		{"item not an object", `[1]`},
		{"null item", `[null]`},
		{"no event name", `[{"email":"a@example.com","sg_event_id":"x"}]`},
		{"event name not a name", `[{"email":"a@example.com","event":"Open Now"}]`},
		{"event name not a string", `[{"email":"a@example.com","event":7}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, h := signedBatch(t, now, tt.body)
			src, err := NewSource("aquascene", "sendgrid", spec)
			if err != nil {
				t.Fatal(err)
			}
			r, pub := newReceiver(t, &clock{t: now}, src)
			_, err = r.Receive(t.Context(), "aquascene", "sendgrid", h, []byte(tt.body))
			if !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("Receive = %v, want ErrInvalid", err)
			}
			if len(pub.events) != 0 {
				t.Fatalf("a refused batch published %d events", len(pub.events))
			}
		})
	}
	t.Run("unsigned", func(t *testing.T) {
		spec, _ := signedBatch(t, now, "[]")
		src, _ := NewSource("aquascene", "sendgrid", spec)
		r, _ := newReceiver(t, &clock{t: now}, src)
		if _, err := r.Receive(t.Context(), "aquascene", "sendgrid", hdr(), []byte(`[]`)); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("Receive = %v, want ErrUnauthorized", err)
		}
	})
}
