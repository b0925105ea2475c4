package signature

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The Standard Webhooks headers: the message id (stable across retries), the send time in
// Unix seconds, and one or more "v1,<base64>" signatures separated by spaces.
const (
	WebhookIDHeader        = "webhook-id"
	WebhookTimestampHeader = "webhook-timestamp"
	WebhookSignatureHeader = "webhook-signature"
)

// SecretPrefix starts every Standard Webhooks signing secret.
const SecretPrefix = "whsec_"

// Secret is a Standard Webhooks signing secret in its whsec_ form.
type Secret string

// NewSecret returns a fresh secret of 32 random bytes.
func NewSecret() Secret {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error
	return Secret(SecretPrefix + base64.StdEncoding.EncodeToString(b))
}

// Key returns the HMAC key: the base64-decoded bytes after the whsec_ prefix, 24 to 64 of
// them.
func (s Secret) Key() ([]byte, error) {
	rest, ok := strings.CutPrefix(string(s), SecretPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: must start with %q", ErrBadKey, SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("%w: the part after %q is not standard base64", ErrBadKey, SecretPrefix)
	}
	if len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("%w: key is %d bytes, want 24 to 64", ErrBadKey, len(key))
	}
	return key, nil
}

// SignV1 returns one v1 signature entry, "v1," + base64(HMAC-SHA256(key, id.timestamp.body)).
func SignV1(key []byte, id string, ts int64, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(v1(key, id, ts, body))
}

func v1(key []byte, id string, ts int64, body []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(nil, ts, 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return mac.Sum(nil)
}

// SignStandard returns the webhook-signature value: one v1 entry per key, space separated
// (several while a secret is being rotated).
func SignStandard(keys [][]byte, id string, ts int64, body []byte) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = SignV1(k, id, ts, body)
	}
	return strings.Join(parts, " ")
}

// Entry is one "version,signature" item of a webhook-signature header.
type Entry struct {
	Version   string
	Signature []byte
}

// maxEntries bounds the entries read from one header: more than any rotation needs.
const maxEntries = 16

// ParseStandardSignature splits a webhook-signature header into its entries. Entries of
// unknown versions are kept (with a nil Signature when it is not base64) so the caller can
// ignore them; v1 entries with an empty or non-base64 signature are dropped. It never fails:
// an unusable header yields no entries.
func ParseStandardSignature(h string) []Entry {
	var out []Entry
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
		out = append(out, Entry{Version: version, Signature: raw})
		if len(out) >= maxEntries {
			break
		}
	}
	return out
}

// VerifyStandard checks a Standard Webhooks message: the timestamp header must be within
// tolerance of now (see CheckFresh) and one v1 entry of the signature header must match one
// of keys.
func VerifyStandard(keys [][]byte, id, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := ParseTimestamp(timestamp)
	if err != nil {
		return err
	}
	if err := CheckFresh(ts, now, tolerance); err != nil {
		return err
	}
	entries := ParseStandardSignature(signature)
	seenV1 := false
	for _, k := range keys {
		want := v1(k, id, ts.Unix(), body)
		for _, e := range entries {
			if e.Version != "v1" {
				continue
			}
			seenV1 = true
			if hmac.Equal(e.Signature, want) {
				return nil
			}
		}
	}
	if !seenV1 {
		return fmt.Errorf("%w: no v1 entry in %s", ErrMissing, WebhookSignatureHeader)
	}
	return ErrMismatch
}
