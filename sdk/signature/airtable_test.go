package signature_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/sdk/signature"
)

// Airtable's documented example, as pyairtable tests it.
const (
	airtableSecret = "c2VjcmV0LWtleQ=="
	airtableBody   = `{"base": {"id": "app00000000000000"}, "webhook": {"id": "ach00000000000000"}, "timestamp": "2022-02-01T21:25:05.663Z"}`
	airtableMAC    = "hmac-sha256=e26da696a90933647bddc83995c3e1e3bb1c3d8ce1ff61cb7469767d50b2b2d4"
)

func airtableKey(tb testing.TB, secret string) []byte {
	tb.Helper()
	k, err := signature.ParseAirtableSecret(secret)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func TestSignAirtableMatchesVector(t *testing.T) {
	if got := signature.SignAirtable(airtableKey(t, airtableSecret), []byte(airtableBody)); got != airtableMAC {
		t.Fatalf("SignAirtable = %s, want %s", got, airtableMAC)
	}
}

func TestVerifyAirtable(t *testing.T) {
	tests := []struct {
		name   string
		secret string
		header string
		body   string
		want   error
	}{
		{"vector", airtableSecret, airtableMAC, airtableBody, nil},
		{"surrounding spaces", airtableSecret, "  " + airtableMAC + " ", airtableBody, nil},
		{"body changed", airtableSecret, airtableMAC, airtableBody + " ", signature.ErrMismatch},
		{"other secret", "b3RoZXI=", airtableMAC, airtableBody, signature.ErrMismatch},
		{"missing", airtableSecret, "", airtableBody, signature.ErrMissing},
		{"wrong scheme", airtableSecret, "sha256=" + airtableMAC[12:], airtableBody, signature.ErrMalformed},
		{"not hex", airtableSecret, "hmac-sha256=zz" + airtableMAC[14:], airtableBody, signature.ErrMalformed},
		{"short", airtableSecret, "hmac-sha256=e26da696", airtableBody, signature.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := signature.VerifyAirtable(airtableKey(t, tt.secret), tt.header, []byte(tt.body))
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("VerifyAirtable = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseAirtableSecret(t *testing.T) {
	for _, s := range []string{"%%%", ""} {
		if _, err := signature.ParseAirtableSecret(s); !errors.Is(err, signature.ErrBadKey) {
			t.Errorf("ParseAirtableSecret(%q) = %v, want ErrBadKey", s, err)
		}
	}
}

func FuzzVerifyAirtable(f *testing.F) {
	f.Add(airtableSecret, airtableMAC, []byte(airtableBody))
	f.Add("", "", []byte{})
	f.Add(airtableSecret, "hmac-sha256=", []byte("x"))
	f.Fuzz(func(t *testing.T, secret, header string, body []byte) {
		key, err := signature.ParseAirtableSecret(secret)
		if err != nil {
			return
		}
		if signature.VerifyAirtable(key, header, body) != nil {
			return
		}
		// Whatever verifies is what SignAirtable produces (hex digits in either case).
		if want := signature.SignAirtable(key, body); !strings.EqualFold(want, strings.TrimSpace(header)) {
			t.Fatalf("VerifyAirtable accepted %q, SignAirtable gives %q", header, want)
		}
	})
}
