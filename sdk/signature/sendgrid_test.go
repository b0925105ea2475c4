package signature_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/sdk/signature"
)

// SendGrid's published example, as its own Go helper library tests it.
const (
	sendgridKey       = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
	sendgridSignature = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
	sendgridTimestamp = "1600112502"
	sendgridPayload   = `[{"email":"hello@world.com","event":"dropped","reason":"Bounced Address","sg_event_id":"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA","sg_message_id":"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0","smtp-id":"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>","timestamp":1600112492}]` + "\r\n"
)

var sendgridNow = time.Unix(1600112502, 0)

func TestVerifySendGrid(t *testing.T) {
	pk, err := signature.ParseSendGridKey(sendgridKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		signature string
		timestamp string
		payload   string
		now       time.Time
		want      error
	}{
		{"vector", sendgridSignature, sendgridTimestamp, sendgridPayload, sendgridNow, nil},
		{"payload without CRLF", sendgridSignature, sendgridTimestamp, sendgridPayload[:len(sendgridPayload)-2], sendgridNow, signature.ErrMismatch},
		{"other timestamp", sendgridSignature, "1600112503", sendgridPayload, sendgridNow, signature.ErrMismatch},
		{"missing signature", "", sendgridTimestamp, sendgridPayload, sendgridNow, signature.ErrMissing},
		{"missing timestamp", sendgridSignature, "", sendgridPayload, sendgridNow, signature.ErrMissing},
		{"negative timestamp", sendgridSignature, "-1", sendgridPayload, sendgridNow, signature.ErrBadTimestamp},
		{"non-numeric timestamp", sendgridSignature, "16001125O2", sendgridPayload, sendgridNow, signature.ErrBadTimestamp},
		{"signature not base64", "***", sendgridTimestamp, sendgridPayload, sendgridNow, signature.ErrMalformed},
		{"signature garbage DER", "AAAA", sendgridTimestamp, sendgridPayload, sendgridNow, signature.ErrMismatch},
		{"stale", sendgridSignature, sendgridTimestamp, sendgridPayload, sendgridNow.Add(6 * time.Minute), signature.ErrStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := signature.VerifySendGrid(pk, tt.signature, tt.timestamp, []byte(tt.payload), tt.now, 0)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("VerifySendGrid = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseSendGridKey(t *testing.T) {
	for _, k := range []string{"***", "AAAA", "c2VjcmV0"} {
		if _, err := signature.ParseSendGridKey(k); !errors.Is(err, signature.ErrBadKey) {
			t.Errorf("ParseSendGridKey(%q) = %v, want ErrBadKey", k, err)
		}
	}
}

func TestSignSendGridRoundTrip(t *testing.T) {
	key, err := signature.GenerateSendGridKey()
	if err != nil {
		t.Fatal(err)
	}
	enc, err := signature.EncodeSendGridKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := signature.ParseSendGridKey(enc)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`[{"event":"delivered"}]`)
	sig, err := signature.SignSendGrid(key, "1700000000", body)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1700000000, 0)
	if err := signature.VerifySendGrid(pk, sig, "1700000000", body, now.Add(4*time.Minute), 5*time.Minute); err != nil {
		t.Fatalf("own signature: %v", err)
	}
	if err := signature.VerifySendGrid(pk, sig, "1700000000", body, now.Add(6*time.Minute), 5*time.Minute); !errors.Is(err, signature.ErrStale) {
		t.Fatalf("stale = %v", err)
	}
}

func FuzzVerifySendGrid(f *testing.F) {
	f.Add(sendgridSignature, sendgridTimestamp, []byte(sendgridPayload))
	f.Add("", "", []byte{})
	f.Add("MEUCIQ==", "0", []byte("[]"))
	pk, err := signature.ParseSendGridKey(sendgridKey)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, sig, ts string, body []byte) {
		err := signature.VerifySendGrid(pk, sig, ts, body, sendgridNow, -1)
		// A signature is ECDSA, so (r, n-s) verifies too; a fuzzer does not find it by chance.
		if err == nil && (strings.TrimSpace(sig) != sendgridSignature || strings.TrimSpace(ts) != sendgridTimestamp || string(body) != sendgridPayload) {
			t.Fatalf("a message other than the vector verified: %q %q %q", sig, ts, body)
		}
	})
}
