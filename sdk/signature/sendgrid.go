package signature

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// The headers of a signed SendGrid Event Webhook request. The signature is ECDSA P-256,
// base64 ASN.1 DER, over SHA-256 of the timestamp header's bytes followed by the raw body.
const (
	SendGridSignatureHeader = "X-Twilio-Email-Event-Webhook-Signature"
	SendGridTimestampHeader = "X-Twilio-Email-Event-Webhook-Timestamp"
)

// GenerateSendGridKey returns a new P-256 signing key, as SendGrid creates when signing is
// enabled.
func GenerateSendGridKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// EncodeSendGridKey returns the base64 DER SubjectPublicKeyInfo of pk, the form SendGrid
// shows as the verification key.
func EncodeSendGridKey(pk *ecdsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pk)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// ParseSendGridKey decodes the verification key SendGrid shows: base64 DER
// SubjectPublicKeyInfo of a P-256 key.
func ParseSendGridKey(b64 string) (*ecdsa.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, fmt.Errorf("%w: public key is not base64", ErrBadKey)
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: public key is not DER SubjectPublicKeyInfo", ErrBadKey)
	}
	pk, ok := k.(*ecdsa.PublicKey)
	if !ok || pk.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: public key is %T, want ECDSA P-256", ErrBadKey, k)
	}
	return pk, nil
}

// SignSendGrid returns the signature header value for timestamp (the timestamp header's
// value) and body.
func SignSendGrid(key *ecdsa.PrivateKey, timestamp string, body []byte) (string, error) {
	sig, err := ecdsa.SignASN1(rand.Reader, key, sendgridDigest(timestamp, body))
	if err != nil {
		return "", fmt.Errorf("signing event webhook: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// VerifySendGrid checks signature (the signature header's value) over timestamp (the
// timestamp header's value) and body, and that the timestamp is within tolerance of now
// (see CheckFresh), which bounds replays of a captured request.
func VerifySendGrid(pk *ecdsa.PublicKey, signature, timestamp string, body []byte, now time.Time, tolerance time.Duration) error {
	signature, timestamp = strings.TrimSpace(signature), strings.TrimSpace(timestamp)
	if signature == "" || timestamp == "" {
		return fmt.Errorf("%w: %s or %s is empty", ErrMissing, SendGridSignatureHeader, SendGridTimestampHeader)
	}
	ts, err := ParseTimestamp(timestamp)
	if err != nil {
		return fmt.Errorf("%s: %w", SendGridTimestampHeader, err)
	}
	if err := CheckFresh(ts, now, tolerance); err != nil {
		return err
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return fmt.Errorf("%w: %s is not base64", ErrMalformed, SendGridSignatureHeader)
	}
	if !ecdsa.VerifyASN1(pk, sendgridDigest(timestamp, body), sig) {
		return ErrMismatch
	}
	return nil
}

func sendgridDigest(timestamp string, body []byte) []byte {
	h := sha256.New()
	h.Write([]byte(timestamp))
	h.Write(body)
	return h.Sum(nil)
}
