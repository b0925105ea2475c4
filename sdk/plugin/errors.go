package plugin

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aquascene/aquahub/sdk/abi"
)

// Error is a typed action failure. Build one with the constructors below; a handler's
// untyped error is reported as transient.
type Error struct {
	Kind abi.ErrorKind
	// Field names the offending input field for KindInvalidInput.
	Field string
	// RetryAfter is the least delay before a retry, for rate limits.
	RetryAfter time.Duration
	Err        error
}

// Error implements error.
func (e *Error) Error() string {
	s := string(e.Kind)
	if e.Field != "" {
		s += ": " + e.Field
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the wrapped error.
func (e *Error) Unwrap() error { return e.Err }

// RateLimited reports that the vendor throttled the call; the hub retries no sooner than
// retryAfter (zero leaves the delay to the retry policy). err may be nil.
func RateLimited(retryAfter time.Duration, err error) error {
	return &Error{Kind: abi.KindRateLimited, RetryAfter: retryAfter, Err: err}
}

// Permanent reports a failure that repeating cannot fix; the run is dead-lettered.
func Permanent(err error) error { return &Error{Kind: abi.KindPermanent, Err: err} }

// Transient reports a failure worth retrying (the default for untyped errors).
func Transient(err error) error { return &Error{Kind: abi.KindTransient, Err: err} }

// Auth reports rejected or missing credentials.
func Auth(err error) error { return &Error{Kind: abi.KindAuth, Err: err} }

// NotFound reports that the object the input names does not exist.
func NotFound(err error) error { return &Error{Kind: abi.KindNotFound, Err: err} }

// InvalidInput reports a bad input field (dotted path, may be empty).
func InvalidInput(field string, err error) error {
	return &Error{Kind: abi.KindInvalidInput, Field: field, Err: err}
}

// toABIError converts any error into the wire form.
func toABIError(err error) *abi.Error {
	var pe *Error
	if errors.As(err, &pe) {
		msg := ""
		if pe.Err != nil {
			msg = pe.Err.Error()
		}
		return &abi.Error{Kind: pe.Kind, Message: msg, Field: pe.Field, RetryAfterMS: pe.RetryAfter.Milliseconds()}
	}
	var ae *abi.Error
	if errors.As(err, &ae) {
		return ae
	}
	return &abi.Error{Kind: abi.KindTransient, Message: err.Error()}
}

// CheckResponse maps an HTTP response status onto a typed error, or returns nil for 1xx-3xx
// statuses: 401 and 403 are Auth, 404 and 410 NotFound, 429 RateLimited (honouring
// Retry-After in seconds or as an HTTP date), 400 and 422 InvalidInput, 408 and 5xx
// Transient (503 with Retry-After too), other 4xx Permanent. The message carries the
// status and up to 200 bytes of body, which the caller must have read into body.
func CheckResponse(resp *http.Response, body []byte) error {
	if resp.StatusCode < 400 {
		return nil
	}
	snippet := strings.TrimSpace(string(body))
	if len(snippet) > 200 {
		snippet = snippet[:200] + "..."
	}
	err := fmt.Errorf("%s: %s", resp.Status, snippet)
	if resp.Request != nil {
		err = fmt.Errorf("%s %s: %s: %s", resp.Request.Method, resp.Request.URL.Redacted(), resp.Status, snippet)
	}
	retry := parseRetryAfter(resp.Header.Get("Retry-After"))
	switch code := resp.StatusCode; {
	case code == 401 || code == 403:
		return Auth(err)
	case code == 404 || code == 410:
		return NotFound(err)
	case code == 429:
		return RateLimited(retry, err)
	case code == 400 || code == 422:
		return InvalidInput("", err)
	case code == 408 || code >= 500:
		if retry > 0 {
			return &Error{Kind: abi.KindTransient, RetryAfter: retry, Err: err}
		}
		return Transient(err)
	default:
		return Permanent(err)
	}
}

func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
