package eventwebhook

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header names of a signed Event Webhook request.
const (
	SignatureHeader = "X-Twilio-Email-Event-Webhook-Signature"
	TimestampHeader = "X-Twilio-Email-Event-Webhook-Timestamp"
)

// Errors returned by Verify and ParsePublicKey.
var (
	// ErrBadPublicKey is returned when the key is not base64 DER of an ECDSA P-256 public key.
	ErrBadPublicKey = errors.New("sendgrid event webhook: public key is not a base64 DER ECDSA P-256 key")
	// ErrMissingSignature is returned when the signature or timestamp header is empty.
	ErrMissingSignature = errors.New("sendgrid event webhook: missing signature or timestamp")
	// ErrMalformedSignature is returned when the signature is not base64 or the timestamp not
	// a non-negative integer.
	ErrMalformedSignature = errors.New("sendgrid event webhook: malformed signature or timestamp")
	// ErrSignatureMismatch is returned when the signature does not verify.
	ErrSignatureMismatch = errors.New("sendgrid event webhook: signature does not match body")
	// ErrStale is returned by VerifyFresh when the timestamp is outside the allowed skew.
	ErrStale = errors.New("sendgrid event webhook: timestamp outside the allowed window")
)

// ParsePublicKey decodes the base64 DER SubjectPublicKeyInfo SendGrid publishes.
func ParsePublicKey(b64 string) (*ecdsa.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, ErrBadPublicKey
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, ErrBadPublicKey
	}
	pk, ok := k.(*ecdsa.PublicKey)
	if !ok || pk.Curve != elliptic.P256() {
		return nil, ErrBadPublicKey
	}
	return pk, nil
}

// EncodePublicKey returns the base64 DER SubjectPublicKeyInfo of pk, the form SendGrid shows.
func EncodePublicKey(pk *ecdsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pk)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// GenerateKey returns a new P-256 signing key, as SendGrid creates when signing is enabled.
func GenerateKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// Sign returns the signature header value for timestamp and body.
func Sign(key *ecdsa.PrivateKey, timestamp string, body []byte) (string, error) {
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest(timestamp, body))
	if err != nil {
		return "", fmt.Errorf("signing event webhook: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// Verify checks signature (the SignatureHeader value) over timestamp (the TimestampHeader
// value) and body with the base64 public key.
func Verify(publicKey, signature, timestamp string, body []byte) error {
	pk, err := ParsePublicKey(publicKey)
	if err != nil {
		return err
	}
	return VerifyKey(pk, signature, timestamp, body)
}

// VerifyKey is Verify with a parsed key.
func VerifyKey(pk *ecdsa.PublicKey, signature, timestamp string, body []byte) error {
	signature, timestamp = strings.TrimSpace(signature), strings.TrimSpace(timestamp)
	if signature == "" || timestamp == "" {
		return ErrMissingSignature
	}
	if _, err := parseTimestamp(timestamp); err != nil {
		return err
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return ErrMalformedSignature
	}
	if !ecdsa.VerifyASN1(pk, digest(timestamp, body), sig) {
		return ErrSignatureMismatch
	}
	return nil
}

// VerifyFresh is VerifyKey that also rejects timestamps more than skew away from now, which
// bounds replays of a captured request.
func VerifyFresh(pk *ecdsa.PublicKey, signature, timestamp string, body []byte, now time.Time, skew time.Duration) error {
	if err := VerifyKey(pk, signature, timestamp, body); err != nil {
		return err
	}
	ts, _ := parseTimestamp(strings.TrimSpace(timestamp))
	if d := now.Sub(time.Unix(ts, 0)); d > skew || d < -skew {
		return ErrStale
	}
	return nil
}

func parseTimestamp(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, ErrMalformedSignature
	}
	return n, nil
}

func digest(timestamp string, body []byte) []byte {
	h := sha256.New()
	h.Write([]byte(timestamp))
	h.Write(body)
	return h.Sum(nil)
}
