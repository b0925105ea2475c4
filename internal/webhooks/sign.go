package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every Standard Webhooks signing secret.
const SecretPrefix = "whsec_"

// DefaultTolerance is how far a webhook-timestamp may be from the verifier's clock.
const DefaultTolerance = 5 * time.Minute

// Signature errors, each returned (possibly wrapped) by Verify.
var (
	// ErrNoSignature means the webhook-signature header is missing or holds no v1 entry.
	ErrNoSignature = errors.New("no v1 signature")
	// ErrBadSignature means no v1 entry matched any of the keys.
	ErrBadSignature = errors.New("signature does not match")
	// ErrBadTimestamp means webhook-timestamp is not a non-negative integer.
	ErrBadTimestamp = errors.New("malformed timestamp")
	// ErrStale means the timestamp is outside the tolerance, in the past or the future.
	ErrStale = errors.New("timestamp outside tolerance")
	// ErrBadSecret means a secret is not whsec_ followed by base64 of 24 to 64 bytes.
	ErrBadSecret = errors.New("malformed secret")
)

// Secret is a signing secret in its whsec_ form.
type Secret string

// NewSecret returns a fresh secret of 32 random bytes.
func NewSecret() Secret {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("webhooks: reading random bytes: %v", err)) // crypto/rand never fails on Linux
	}
	return Secret(SecretPrefix + base64.StdEncoding.EncodeToString(b))
}

// Key returns the HMAC key: the base64-decoded bytes after the whsec_ prefix.
func (s Secret) Key() ([]byte, error) {
	rest, ok := strings.CutPrefix(string(s), SecretPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: must start with %q", ErrBadSecret, SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("%w: the part after %q is not standard base64", ErrBadSecret, SecretPrefix)
	}
	if len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("%w: key is %d bytes, want 24 to 64", ErrBadSecret, len(key))
	}
	return key, nil
}

// SignV1 returns the Standard Webhooks v1 signature entry "v1,<base64>" of
// HMAC-SHA256(key, id + "." + timestamp + "." + body).
func SignV1(key []byte, id string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(nil, ts, 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// SignatureHeader returns the webhook-signature value: one v1 entry per key, space separated
// (several while a secret is being rotated).
func SignatureHeader(keys [][]byte, id string, ts int64, body []byte) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = SignV1(k, id, ts, body)
	}
	return strings.Join(parts, " ")
}

// SignSHA256Hex returns the seed integration guide's X-Signature-256 value,
// "sha256=" + hex(HMAC-SHA256(secret, body)), where the key is the secret string exactly as
// the receiver holds it (its UTF-8 bytes, whsec_ prefix included).
func SignSHA256Hex(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// SignatureEntry is one "version,signature" item of a webhook-signature header.
type SignatureEntry struct {
	Version   string
	Signature []byte
}

// ParseSignatureHeader splits a webhook-signature header into its entries. Entries of
// unknown versions are kept (with a nil Signature when it is not base64) so the caller can
// ignore them; v1 entries with an empty or non-base64 signature are dropped. It never fails:
// an unusable header yields no entries.
func ParseSignatureHeader(h string) []SignatureEntry {
	var out []SignatureEntry
	for _, f := range strings.Fields(h) {
		version, sig, ok := strings.Cut(f, ",")
		if !ok || version == "" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(sig)
		if err != nil || len(raw) == 0 {
			if version == "v1" {
				continue
			}
			raw = nil
		}
		out = append(out, SignatureEntry{Version: version, Signature: raw})
		if len(out) >= 16 { // a header with more entries than any rotation needs is not ours
			break
		}
	}
	return out
}

// ParseTimestamp parses a webhook-timestamp value: decimal Unix seconds, not negative.
func ParseTimestamp(s string) (time.Time, error) {
	if s == "" || len(s) > 19 {
		return time.Time{}, ErrBadTimestamp
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return time.Time{}, ErrBadTimestamp
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, ErrBadTimestamp
	}
	return time.Unix(n, 0), nil
}

// Verify checks a Standard Webhooks message: the timestamp must be within tolerance of now
// (DefaultTolerance when tolerance is zero, no check when negative) and one v1 entry of
// sigHeader must match one of keys.
func Verify(keys [][]byte, id, tsHeader, sigHeader string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := ParseTimestamp(tsHeader)
	if err != nil {
		return err
	}
	if tolerance == 0 {
		tolerance = DefaultTolerance
	}
	if tolerance > 0 {
		if d := now.Sub(ts); d > tolerance || d < -tolerance {
			return fmt.Errorf("%w: %s is %s from now", ErrStale, tsHeader, d.Round(time.Second))
		}
	}
	entries := ParseSignatureHeader(sigHeader)
	seenV1 := false
	for _, k := range keys {
		want := SignV1(k, id, ts.Unix(), body)
		wantRaw, _ := base64.StdEncoding.DecodeString(want[3:])
		for _, e := range entries {
			if e.Version != "v1" {
				continue
			}
			seenV1 = true
			if hmac.Equal(e.Signature, wantRaw) {
				return nil
			}
		}
	}
	if !seenV1 {
		return ErrNoSignature
	}
	return ErrBadSignature
}
