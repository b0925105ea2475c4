package eventwebhook

import (
	"errors"
	"testing"
	"time"
)

// The vector of wire-contracts.md §2.4 (sendgrid-go helpers/eventwebhook/eventwebhook_test.go).
const (
	vectorKey       = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
	vectorSignature = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
	vectorTimestamp = "1600112502"
	vectorPayload   = `[{"email":"hello@world.com","event":"dropped","reason":"Bounced Address","sg_event_id":"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA","sg_message_id":"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0","smtp-id":"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>","timestamp":1600112492}]` + "\r\n"
)

func TestVerify(t *testing.T) {
	tests := []struct {
		name      string
		key       string
		signature string
		timestamp string
		payload   string
		want      error
	}{
		{"vector", vectorKey, vectorSignature, vectorTimestamp, vectorPayload, nil},
		{"payload without CRLF", vectorKey, vectorSignature, vectorTimestamp, vectorPayload[:len(vectorPayload)-2], ErrSignatureMismatch},
		{"other timestamp", vectorKey, vectorSignature, "1600112503", vectorPayload, ErrSignatureMismatch},
		{"missing signature", vectorKey, "", vectorTimestamp, vectorPayload, ErrMissingSignature},
		{"missing timestamp", vectorKey, vectorSignature, "", vectorPayload, ErrMissingSignature},
		{"negative timestamp", vectorKey, vectorSignature, "-1", vectorPayload, ErrMalformedSignature},
		{"non-numeric timestamp", vectorKey, vectorSignature, "16001125O2", vectorPayload, ErrMalformedSignature},
		{"signature not base64", vectorKey, "***", vectorTimestamp, vectorPayload, ErrMalformedSignature},
		{"signature garbage DER", vectorKey, "AAAA", vectorTimestamp, vectorPayload, ErrSignatureMismatch},
		{"key not base64", "***", vectorSignature, vectorTimestamp, vectorPayload, ErrBadPublicKey},
		{"key not a key", "AAAA", vectorSignature, vectorTimestamp, vectorPayload, ErrBadPublicKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.key, tt.signature, tt.timestamp, []byte(tt.payload))
			if tt.want == nil && err != nil || !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSignRoundTrip(t *testing.T) {
	key, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := EncodePublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`[{"event":"delivered"}]`)
	sig, err := Sign(key, "1700000000", body)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(pub, sig, "1700000000", body); err != nil {
		t.Fatalf("own signature: %v", err)
	}
	pk, _ := ParsePublicKey(pub)
	now := time.Unix(1700000000, 0)
	if err := VerifyFresh(pk, sig, "1700000000", body, now.Add(4*time.Minute), 5*time.Minute); err != nil {
		t.Fatalf("fresh: %v", err)
	}
	if err := VerifyFresh(pk, sig, "1700000000", body, now.Add(6*time.Minute), 5*time.Minute); !errors.Is(err, ErrStale) {
		t.Fatalf("stale = %v", err)
	}
}

func FuzzVerify(f *testing.F) {
	f.Add(vectorSignature, vectorTimestamp, []byte(vectorPayload))
	f.Add("", "", []byte{})
	f.Add("MEUCIQ==", "0", []byte("[]"))
	pk, err := ParsePublicKey(vectorKey)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, sig, ts string, body []byte) {
		_ = VerifyKey(pk, sig, ts, body)
	})
}
