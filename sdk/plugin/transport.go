package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/aquascene/aquahub/sdk/abi"
)

// Transport is an http.RoundTripper over the host's http_request import. The host follows
// redirects (re-checking each one), so responses are final.
type Transport struct{}

// HTTPClient returns an *http.Client whose requests go through the host. Use it like any
// client; make requests with the action's context.
func HTTPClient() *http.Client { return &http.Client{Transport: Transport{}} }

// EgressError is returned by Transport when the host refused or could not complete the
// request (egress_denied, response_too_large, timeout, network, invalid_request,
// rate_limited, circuit_open). An action that returns it unchanged reports egress_denied,
// invalid_request and response_too_large as permanent failures, rate_limited as
// rate_limited with the host's retry-after, circuit_open as transient with the host's
// retry-after (the host defers such a call whatever the action returns), and the others as
// transient.
type EgressError struct{ *abi.HTTPError }

// Unwrap returns the typed form of the failure.
func (e *EgressError) Unwrap() error {
	switch e.Code {
	case abi.HTTPErrorRateLimited:
		return RateLimited(time.Duration(e.RetryAfterMS)*time.Millisecond, errors.New(e.HTTPError.Error()))
	case abi.HTTPErrorDenied, abi.HTTPErrorInvalid, abi.HTTPErrorTooLarge:
		return &Error{Kind: abi.KindPermanent, Err: errors.New(e.HTTPError.Error())}
	case abi.HTTPErrorCircuitOpen:
		return &Error{Kind: abi.KindTransient, RetryAfter: time.Duration(e.RetryAfterMS) * time.Millisecond, Err: errors.New(e.HTTPError.Error())}
	}
	return &Error{Kind: abi.KindTransient, Err: errors.New(e.HTTPError.Error())}
}

// RoundTrip implements http.RoundTripper.
func (Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	areq := &abi.HTTPRequest{Method: req.Method, URL: req.URL.String(), Headers: map[string][]string(req.Header.Clone())}
	if req.Body != nil && req.Body != http.NoBody {
		b, err := readBody(req.Body, req.ContentLength)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("reading request body: %w", err)
		}
		areq.Body = b
	}
	resp, err := Do(req.Context(), areq)
	if err != nil {
		return nil, err
	}
	hdr := http.Header(resp.Headers)
	if hdr == nil {
		hdr = http.Header{}
	}
	return &http.Response{
		Status:        strconv.Itoa(resp.Status) + " " + http.StatusText(resp.Status),
		StatusCode:    resp.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        hdr,
		Body:          io.NopCloser(bytes.NewReader(resp.Body)),
		ContentLength: int64(len(resp.Body)),
		Request:       req,
	}, nil
}

// Do sends req through the host's http_request import, as Transport does, but without the
// net/http request and response around it: a connector that builds its requests from its
// input spares a wasm guest the URL parsing, header copying and readers per call. The
// method must be a valid HTTP method and the URL absolute; header names are sent as given
// (Transport's come canonicalised by net/http). The host leaves req as it is; the answer's
// status is final (the host follows redirects). A refused or failed request is an
// *EgressError.
func Do(ctx context.Context, req *abi.HTTPRequest) (*abi.HTTPResponse, error) {
	h := hostFrom(ctx)
	if h == nil {
		return nil, ErrNoHost
	}
	resp := h.HTTP(ctx, req)
	if resp.Error != nil {
		return nil, &EgressError{resp.Error}
	}
	return resp, nil
}

// readBody reads a request body into one buffer of its declared length (io.ReadAll would
// grow one from 512 bytes, leaving garbage for the wasm guest's collector).
func readBody(r io.Reader, length int64) ([]byte, error) {
	if length <= 0 || length > abi.DefaultMaxResponseBytes {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, length+1) // +1: room to read EOF without growing
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}
