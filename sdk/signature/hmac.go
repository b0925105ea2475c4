package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// Signature256Header carries the seed guide's body signature, Signature256.
const Signature256Header = "X-Signature-256"

// Signature256 is the seed guide's X-Signature-256 format, "sha256=" + hex(HMAC-SHA256 of
// the raw body), which GitHub uses too.
var Signature256 = HMAC{Prefix: "sha256="}

// SignSHA256Hex returns the X-Signature-256 value of body where the key is secret exactly as
// the receiver holds it (its UTF-8 bytes; a whsec_ secret keeps its prefix).
func SignSHA256Hex(secret string, body []byte) string {
	return Signature256.Sign([]byte(secret), body)
}

// HMAC is a header format that carries Prefix + encode(HMAC(key, raw body)). The zero value
// is lowercase hex of HMAC-SHA256 with no prefix. Sign and Verify treat a Hash or Encoding
// that Check refuses as the default, so check formats that come from configuration first.
type HMAC struct {
	// Hash is "sha256" (default, also when empty) or "sha512".
	Hash string
	// Encoding is "hex" (default, also when empty) or "base64" (standard, padded).
	Encoding string
	// Prefix precedes the encoded MAC, such as "sha256=".
	Prefix string
}

// Check reports a hash or encoding this package does not know; the error names the field.
func (f HMAC) Check() error {
	switch f.Hash {
	case "", "sha256", "sha512":
	default:
		return fmt.Errorf("hash must be sha256 or sha512 (got %q)", f.Hash)
	}
	switch f.Encoding {
	case "", "hex", "base64":
	default:
		return fmt.Errorf("encoding must be hex or base64 (got %q)", f.Encoding)
	}
	return nil
}

func (f HMAC) newHash() func() hash.Hash {
	if f.Hash == "sha512" {
		return sha512.New
	}
	return sha256.New
}

func (f HMAC) sum(key, body []byte) []byte {
	m := hmac.New(f.newHash(), key)
	m.Write(body)
	return m.Sum(nil)
}

// Sign returns the header value for body.
func (f HMAC) Sign(key, body []byte) string {
	mac := f.sum(key, body)
	if f.Encoding == "base64" {
		return f.Prefix + base64.StdEncoding.EncodeToString(mac)
	}
	return f.Prefix + hex.EncodeToString(mac)
}

// Verify checks that value, the header as received, is the signature of body under key,
// in constant time.
func (f HMAC) Verify(key []byte, value string, body []byte) error {
	value = strings.TrimSpace(value)
	if value == "" {
		return ErrMissing
	}
	enc, ok := strings.CutPrefix(value, f.Prefix)
	if !ok {
		return fmt.Errorf("%w: does not start with %q", ErrMalformed, f.Prefix)
	}
	var got []byte
	var err error
	if f.Encoding == "base64" {
		got, err = base64.StdEncoding.DecodeString(enc)
	} else {
		got, err = hex.DecodeString(enc)
	}
	want := f.sum(key, body)
	if err != nil || len(got) != len(want) {
		return fmt.Errorf("%w: not %d bytes of %s", ErrMalformed, len(want), orDefault(f.Encoding, "hex"))
	}
	if !hmac.Equal(got, want) {
		return ErrMismatch
	}
	return nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
