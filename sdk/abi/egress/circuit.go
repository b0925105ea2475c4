package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aquascene/aquahub/sdk/abi"
)

// CircuitOutcome is what became of one request a Circuit let through.
type CircuitOutcome int

// The outcomes reported to a Circuit. Only the destination's own failures count against it:
// a 4xx is an answer, and a request refused by the egress rules or cancelled by the caller
// says nothing about the destination.
const (
	// CircuitSuccess: a response that is not a server error.
	CircuitSuccess CircuitOutcome = iota
	// CircuitFailure: a 5xx response or a network error.
	CircuitFailure
	// CircuitTimeout: the request's deadline passed before the response arrived.
	CircuitTimeout
	// CircuitIgnored: the request ended for a reason that is not the destination's.
	CircuitIgnored
)

// Circuit guards the origins a client calls (ABI revision 1.6): each request and each
// redirect asks Allow before it is rate-limited and sent, and reports its outcome to the
// function Allow returned. A Circuit that refuses an origin returns a *CircuitOpenError;
// the request then fails with the circuit_open code and nothing is dialled. The host keeps
// one breaker per tenant, connector and origin (see package plugins).
type Circuit interface {
	Allow(ctx context.Context, origin string) (done func(CircuitOutcome), err error)
}

// CircuitOpenError is a request a Circuit refused because its origin's breaker is open.
type CircuitOpenError struct {
	Origin string
	// RetryAfter is when the breaker may let a request to Origin through again.
	RetryAfter time.Duration
}

func (e *CircuitOpenError) Error() string {
	return fmt.Sprintf("the circuit for %s is open after repeated failures; retry in %s", e.Origin, e.RetryAfter.Round(time.Millisecond))
}

// Origin returns u's origin as breakers key it: scheme://host:port, host in lower case and
// the scheme's default port filled in.
func Origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = abi.DefaultPort(u.Scheme)
	}
	return u.Scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// circuitTransport applies Policy.Circuit to every request the client sends, redirects
// included, before the rate limit and the dial.
type circuitTransport struct {
	c    *Client
	next http.RoundTripper
}

func (t circuitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	circuit := t.c.policy.Circuit
	if circuit == nil {
		return t.next.RoundTrip(req)
	}
	done, err := circuit.Allow(req.Context(), Origin(req.URL))
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	resp, err := t.next.RoundTrip(req)
	done(circuitOutcome(req.Context(), resp, err))
	return resp, err
}

// circuitOutcome classifies one round trip for a breaker.
func circuitOutcome(ctx context.Context, resp *http.Response, err error) CircuitOutcome {
	var denied *DeniedError
	var limited *RateLimitedError
	var ne net.Error
	switch {
	case err == nil && resp.StatusCode >= 500:
		return CircuitFailure
	case err == nil:
		return CircuitSuccess
	case errors.As(err, &denied), errors.As(err, &limited):
		return CircuitIgnored
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return CircuitTimeout
	case ctx.Err() != nil:
		return CircuitIgnored // the caller gave up, not the destination
	}
	return CircuitFailure
}
