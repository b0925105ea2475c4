package inbound

import (
	"crypto/ecdsa"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aquascene/aquahub/sdk/signature"
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
	// Format is the hash, encoding and prefix of the header value.
	Format signature.HMAC
}

// Verify implements Verifier.
func (v HMAC) Verify(r Request) (Verified, error) {
	header := orDefault(v.Header, signature.Signature256Header)
	if err := v.Format.Verify(v.Secret, r.Header.Get(header), r.Body); err != nil {
		return Verified{}, unauthorized("%s: %v", header, err)
	}
	return Verified{}, nil
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
	id := r.Header.Get(signature.WebhookIDHeader)
	if id == "" || len(id) > 256 {
		return Verified{}, unauthorized("webhook-id header missing or too long")
	}
	ts := r.Header.Get(signature.WebhookTimestampHeader)
	if err := signature.VerifyStandard(v.Keys, id, ts, r.Header.Get(signature.WebhookSignatureHeader), r.Body, r.Now, v.Tolerance); err != nil {
		return Verified{}, fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	t, _ := signature.ParseTimestamp(ts)
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

// Airtable verifies X-Airtable-Content-MAC.
type Airtable struct {
	Key []byte
}

// Verify implements Verifier.
func (v Airtable) Verify(r Request) (Verified, error) {
	if err := signature.VerifyAirtable(v.Key, r.Header.Get(signature.AirtableHeader), r.Body); err != nil {
		return Verified{}, fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	return Verified{}, nil
}

// SendGrid verifies the Event Webhook's ECDSA P-256 signature over SHA-256(timestamp ‖ body).
type SendGrid struct {
	Key *ecdsa.PublicKey
	// Tolerance bounds the timestamp's distance from now (default 5 minutes; negative: none).
	Tolerance time.Duration
}

// SendGrid's signature headers.
const (
	SendGridSignatureHeader = signature.SendGridSignatureHeader
	SendGridTimestampHeader = signature.SendGridTimestampHeader
)

// Verify implements Verifier.
func (v SendGrid) Verify(r Request) (Verified, error) {
	ts := r.Header.Get(SendGridTimestampHeader)
	if err := signature.VerifySendGrid(v.Key, r.Header.Get(SendGridSignatureHeader), ts, r.Body, r.Now, v.Tolerance); err != nil {
		return Verified{}, fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	t, _ := signature.ParseTimestamp(strings.TrimSpace(ts))
	return Verified{Timestamp: t}, nil
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
