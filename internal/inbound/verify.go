package inbound

import (
	"fmt"
	"net/http"
	"time"

	"github.com/aquascene/aquahub/core"
)

// ErrUnauthorized is returned (wrapped with the reason) when a request fails verification.
// It matches core.ErrUnauthenticated, so the HTTP kernel answers 401.
var ErrUnauthorized = core.Unauthenticated("webhook not authentic")

func unauthorized(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnauthorized, fmt.Sprintf(format, args...))
}

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
	// Handshake marks a sender's unsigned handshake that the scheme accepts because it
	// publishes nothing, such as WooCommerce's ping when a webhook is created. The module
	// answers it 200 without publishing.
	Handshake bool
}

// Verifier checks one authentication scheme. Verify returns an error wrapping
// ErrUnauthorized when the request is not authentic.
type Verifier interface {
	Verify(r Request) (Verified, error)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
