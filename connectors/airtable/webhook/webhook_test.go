package webhook

import (
	"errors"
	"strings"
	"testing"
)

// The vector of wire-contracts.md §1.7 (pyairtable tests/test_models_webhook.py).
const (
	vectorSecret = "c2VjcmV0LWtleQ=="
	vectorBody   = `{"base": {"id": "app00000000000000"}, "webhook": {"id": "ach00000000000000"}, "timestamp": "2022-02-01T21:25:05.663Z"}`
	vectorHeader = "hmac-sha256=e26da696a90933647bddc83995c3e1e3bb1c3d8ce1ff61cb7469767d50b2b2d4"
)

func TestSignMatchesVector(t *testing.T) {
	got, err := Sign(vectorSecret, []byte(vectorBody))
	if err != nil {
		t.Fatal(err)
	}
	if got != vectorHeader {
		t.Fatalf("Sign = %s, want %s", got, vectorHeader)
	}
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name   string
		secret string
		header string
		body   string
		want   error
	}{
		{"vector", vectorSecret, vectorHeader, vectorBody, nil},
		{"surrounding spaces", vectorSecret, "  " + vectorHeader + " ", vectorBody, nil},
		{"body changed", vectorSecret, vectorHeader, vectorBody + " ", ErrSignatureMismatch},
		{"other secret", "b3RoZXI=", vectorHeader, vectorBody, ErrSignatureMismatch},
		{"missing", vectorSecret, "", vectorBody, ErrMissingSignature},
		{"wrong scheme", vectorSecret, "sha256=e26da696a90933647bddc83995c3e1e3bb1c3d8ce1ff61cb7469767d50b2b2d4", vectorBody, ErrMalformedSignature},
		{"not hex", vectorSecret, "hmac-sha256=zz6da696a90933647bddc83995c3e1e3bb1c3d8ce1ff61cb7469767d50b2b2d4", vectorBody, ErrMalformedSignature},
		{"short", vectorSecret, "hmac-sha256=e26da696", vectorBody, ErrMalformedSignature},
		{"bad secret", "%%%", vectorHeader, vectorBody, ErrBadSecret},
		{"empty secret", "", vectorHeader, vectorBody, ErrBadSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.secret, tt.header, []byte(tt.body))
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	f.Add(vectorSecret, vectorHeader, []byte(vectorBody))
	f.Add("", "", []byte{})
	f.Add(vectorSecret, "hmac-sha256=", []byte("x"))
	f.Fuzz(func(t *testing.T, secret, header string, body []byte) {
		err := Verify(secret, header, body)
		if err != nil {
			return
		}
		// Whatever verifies must be exactly what Sign produces.
		want, serr := Sign(secret, body)
		if serr != nil {
			t.Fatalf("Verify accepted but Sign failed: %v", serr)
		}
		if want != header && want != strings.TrimSpace(header) {
			t.Fatalf("Verify accepted %q, Sign gives %q", header, want)
		}
	})
}
