package signature_test

import (
	"errors"
	"testing"

	"github.com/aquascene/aquahub/sdk/signature"
)

func TestSignSHA256HexMatchesSeed(t *testing.T) {
	// python: hmac.new(b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", b'{"test": 2432232314}', hashlib.sha256).hexdigest()
	got := signature.SignSHA256Hex(string(vectorSecret), []byte(vectorBody))
	if want := "sha256=80ec8a89ce3cd22133a1066caecb4d04fea7467657c8514d717ec42c38a5c94c"; got != want {
		t.Fatalf("SignSHA256Hex = %q, want %q", got, want)
	}
}

func TestHMACVerify(t *testing.T) {
	seed := signature.SignSHA256Hex("s3cret", []byte(`{"a":1}`))
	tests := []struct {
		name   string
		format signature.HMAC
		key    string
		value  string
		body   string
		want   error
	}{
		{name: "seed X-Signature-256", format: signature.Signature256, key: "s3cret", value: seed, body: `{"a":1}`},
		{name: "upper-case hex", format: signature.Signature256, key: "s3cret", value: "sha256=" + upper(seed[7:]), body: `{"a":1}`},
		{name: "surrounding spaces", format: signature.Signature256, key: "s3cret", value: " " + seed + " ", body: `{"a":1}`},
		{name: "wrong secret", format: signature.Signature256, key: "other", value: seed, body: `{"a":1}`, want: signature.ErrMismatch},
		{name: "other body", format: signature.Signature256, key: "s3cret", value: seed, body: `{"a":2}`, want: signature.ErrMismatch},
		{name: "missing prefix", format: signature.Signature256, key: "s3cret", value: seed[7:], body: `{"a":1}`, want: signature.ErrMalformed},
		{name: "empty signature", format: signature.Signature256, key: "s3cret", value: "sha256=", body: `{"a":1}`, want: signature.ErrMalformed},
		{name: "empty header", format: signature.Signature256, key: "s3cret", value: "", body: `{"a":1}`, want: signature.ErrMissing},
		{name: "not hex", format: signature.Signature256, key: "s3cret", value: "sha256=zz", body: `{"a":1}`, want: signature.ErrMalformed},
		{name: "sha512 base64", format: signature.HMAC{Hash: "sha512", Encoding: "base64"}, key: "k",
			value: "hrYQK3VK5VjfDsPnkFyBJQs+G6abBgwbuWQajxmGMDX7AHyCmwZI2jigMlVjATH8L3deARDAqhGzN1ChTPSOyw==", body: "hello"},
		{name: "sha512 given a sha256 MAC", format: signature.HMAC{Hash: "sha512"}, key: "k", value: signature.HMAC{}.Sign([]byte("k"), []byte("hello")), body: "hello", want: signature.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.format.Verify([]byte(tt.key), tt.value, []byte(tt.body))
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestHMACCheck(t *testing.T) {
	tests := []struct {
		name   string
		format signature.HMAC
		ok     bool
	}{
		{name: "zero value", ok: true},
		{name: "sha512 base64", format: signature.HMAC{Hash: "sha512", Encoding: "base64"}, ok: true},
		{name: "md5", format: signature.HMAC{Hash: "md5"}},
		{name: "base32", format: signature.HMAC{Encoding: "base32"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.format.Check(); (err == nil) != tt.ok {
				t.Fatalf("Check = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
