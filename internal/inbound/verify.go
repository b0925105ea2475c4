package inbound

import (
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strings"
	"time"

	"github.com/aquascene/aquahub/internal/webhooks"
)

// ErrUnauthorized is returned (wrapped with the reason) when a request fails verification.
var ErrUnauthorized = errors.New("webhook not authentic")

// Request is what a Verifier sees: the headers and the exact bytes received.
type Request struct {
	Header http.Header
	Body   []byte
	Now    time.Time
}

// Verified is what a Verifier learned about an authentic request, for replay protection.
type Verified struct {
	// ID is the sender's message id when the scheme has one (webhook-id); it is
	// deduplicated and becomes the event id unless an id expression is configured.
	ID string
	// Timestamp is the signed send time when the scheme has one.
	Timestamp time.Time
}

// Verifier checks one authentication scheme. Verify returns an error wrapping
// ErrUnauthorized when the request is not authentic.
type Verifier interface {
	Verify(r Request) (Verified, error)
}

// Verifier names accepted in Spec.Verifier.
const (
	VerifierHMAC             = "hmac"
	VerifierStandardWebhooks = "standard-webhooks"
	VerifierBasic            = "basic"
	VerifierAPIKey           = "api_key"
	VerifierAirtable         = "airtable"
	VerifierSendGrid         = "sendgrid"
)

// Verifiers lists the verifier names.
var Verifiers = []string{VerifierHMAC, VerifierStandardWebhooks, VerifierBasic, VerifierAPIKey, VerifierAirtable, VerifierSendGrid}

func unauthorized(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnauthorized, fmt.Sprintf(format, args...))
}

// HMAC verifies a header holding prefix + encode(HMAC(secret, raw body)), as GitHub and the
// seed guide's X-Signature-256 do.
type HMAC struct {
	// Header carries the signature (default X-Signature-256).
	Header string
	// Secret is the key, used as its UTF-8 bytes.
	Secret []byte
	// Hash is sha256 (default) or sha512.
	Hash string
	// Encoding is hex (default) or base64.
	Encoding string
	// Prefix precedes the encoded MAC, such as "sha256=".
	Prefix string
}

// Verify implements Verifier.
func (v HMAC) Verify(r Request) (Verified, error) {
	header := v.Header
	if header == "" {
		header = "X-Signature-256"
	}
	got := r.Header.Get(header)
	if got == "" {
		return Verified{}, unauthorized("%s header missing", header)
	}
	enc, ok := strings.CutPrefix(got, v.Prefix)
	if !ok {
		return Verified{}, unauthorized("%s does not start with %q", header, v.Prefix)
	}
	var sig []byte
	var err error
	if v.Encoding == "base64" {
		sig, err = base64.StdEncoding.DecodeString(enc)
	} else {
		sig, err = hex.DecodeString(strings.ToLower(enc))
	}
	if err != nil || len(sig) == 0 {
		return Verified{}, unauthorized("%s is not %s", header, orDefault(v.Encoding, "hex"))
	}
	newHash := sha256.New
	if v.Hash == "sha512" {
		newHash = sha512.New
	}
	if !hmac.Equal(sig, mac(newHash, v.Secret, r.Body)) {
		return Verified{}, unauthorized("%s does not match the body", header)
	}
	return Verified{}, nil
}

func mac(h func() hash.Hash, key, body []byte) []byte {
	m := hmac.New(h, key)
	m.Write(body)
	return m.Sum(nil)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// StandardWebhooks verifies webhook-id, webhook-timestamp and webhook-signature.
type StandardWebhooks struct {
	// Keys are the decoded secrets (several while the sender rotates).
	Keys [][]byte
	// Tolerance bounds the timestamp's distance from now (default 5 minutes).
	Tolerance time.Duration
}

// Verify implements Verifier.
func (v StandardWebhooks) Verify(r Request) (Verified, error) {
	id := r.Header.Get("webhook-id")
	if id == "" || len(id) > 256 {
		return Verified{}, unauthorized("webhook-id header missing or too long")
	}
	ts := r.Header.Get("webhook-timestamp")
	if err := webhooks.Verify(v.Keys, id, ts, r.Header.Get("webhook-signature"), r.Body, r.Now, v.Tolerance); err != nil {
		return Verified{}, fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	t, _ := webhooks.ParseTimestamp(ts)
	return Verified{ID: id, Timestamp: t}, nil
}

// Basic verifies HTTP Basic credentials.
type Basic struct {
	Username, Password string
}

// Verify implements Verifier.
func (v Basic) Verify(r Request) (Verified, error) {
	req := http.Request{Header: r.Header}
	user, pass, ok := req.BasicAuth()
	if !ok {
		return Verified{}, unauthorized("Basic credentials missing")
	}
	u := subtle.ConstantTimeCompare([]byte(user), []byte(v.Username))
	p := subtle.ConstantTimeCompare([]byte(pass), []byte(v.Password))
	if u&p != 1 {
		return Verified{}, unauthorized("wrong Basic credentials")
	}
	return Verified{}, nil
}

// APIKey verifies a shared key in a header. With the Authorization header the key follows
// "Bearer ".
type APIKey struct {
	// Header carries the key (default X-API-Key).
	Header string
	Key    string
}

// Verify implements Verifier.
func (v APIKey) Verify(r Request) (Verified, error) {
	header := orDefault(v.Header, "X-API-Key")
	got := r.Header.Get(header)
	if strings.EqualFold(header, "Authorization") {
		got = strings.TrimPrefix(got, "Bearer ")
	}
	if got == "" {
		return Verified{}, unauthorized("%s header missing", header)
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(v.Key)) != 1 {
		return Verified{}, unauthorized("wrong key in %s", header)
	}
	return Verified{}, nil
}

// Airtable verifies X-Airtable-Content-MAC: "hmac-sha256=" + hex(HMAC-SHA256(key, body)),
// where key is the webhook's macSecretBase64, decoded.
type Airtable struct {
	Key []byte
}

// Verify implements Verifier.
func (v Airtable) Verify(r Request) (Verified, error) {
	return HMAC{Header: "X-Airtable-Content-MAC", Secret: v.Key, Prefix: "hmac-sha256="}.Verify(r)
}

// SendGrid verifies the Event Webhook's ECDSA P-256 signature over SHA-256(timestamp ‖ body).
type SendGrid struct {
	Key *ecdsa.PublicKey
	// Tolerance bounds the timestamp's distance from now (default 5 minutes; negative: none).
	Tolerance time.Duration
}

// SendGrid's signature headers.
const (
	SendGridSignatureHeader = "X-Twilio-Email-Event-Webhook-Signature"
	SendGridTimestampHeader = "X-Twilio-Email-Event-Webhook-Timestamp"
)

// ParseSendGridKey reads the verification key SendGrid shows: base64 DER SubjectPublicKeyInfo.
func ParseSendGridKey(b64 string) (*ecdsa.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, fmt.Errorf("public key is not base64: %w", err)
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("public key is not DER SubjectPublicKeyInfo: %w", err)
	}
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key is %T, want ECDSA", pub)
	}
	return k, nil
}

// Verify implements Verifier.
func (v SendGrid) Verify(r Request) (Verified, error) {
	sigB64 := r.Header.Get(SendGridSignatureHeader)
	ts := r.Header.Get(SendGridTimestampHeader)
	if sigB64 == "" || ts == "" {
		return Verified{}, unauthorized("%s or %s header missing", SendGridSignatureHeader, SendGridTimestampHeader)
	}
	t, err := webhooks.ParseTimestamp(ts)
	if err != nil {
		return Verified{}, unauthorized("%s: %v", SendGridTimestampHeader, err)
	}
	if err := checkTolerance(t, r.Now, v.Tolerance); err != nil {
		return Verified{}, err
	}
	sig, err := base64.StdEncoding.DecodeString(sigB64)
	if err != nil {
		return Verified{}, unauthorized("%s is not base64", SendGridSignatureHeader)
	}
	h := sha256.New()
	h.Write([]byte(ts))
	h.Write(r.Body)
	if !ecdsa.VerifyASN1(v.Key, h.Sum(nil), sig) {
		return Verified{}, unauthorized("ECDSA signature does not match")
	}
	return Verified{Timestamp: t}, nil
}

func checkTolerance(t, now time.Time, tolerance time.Duration) error {
	if tolerance == 0 {
		tolerance = webhooks.DefaultTolerance
	}
	if tolerance < 0 {
		return nil
	}
	if d := now.Sub(t); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: %w: timestamp is %s from now", ErrUnauthorized, webhooks.ErrStale, d.Round(time.Second))
	}
	return nil
}

// Interface guards.
var (
	_ Verifier = HMAC{}
	_ Verifier = StandardWebhooks{}
	_ Verifier = Basic{}
	_ Verifier = APIKey{}
	_ Verifier = Airtable{}
	_ Verifier = SendGrid{}
)
