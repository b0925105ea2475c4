package core

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Adapters wrap them with %w; the HTTP kernel maps them onto HTTP statuses.
var (
	// ErrNotFound is returned when an event, run, DLQ entry or other object does not exist for
	// the tenant asking. Objects of other tenants are reported as not found too.
	ErrNotFound = errors.New("not found")
	// ErrInvalid is returned when input fails validation; the wrapping error names the field.
	ErrInvalid = errors.New("invalid input")
	// ErrConflict is returned when an operation does not fit the object's state, such as
	// replaying a run that is not dead-lettered.
	ErrConflict = errors.New("conflict")
	// ErrClosed is returned by an Engine or Store that has been shut down.
	ErrClosed = errors.New("closed")
	// ErrUnauthenticated is returned when a request's credential is missing, unknown or not
	// authentic (a bad signature); the wrapping error says which.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrForbidden is returned when the caller is known but may not do what it asked.
	ErrForbidden = errors.New("forbidden")
	// ErrOverloaded is returned when a tenant is over one of its limits (its queued runs,
	// say); the request may succeed later (see *OverloadError for when).
	ErrOverloaded = errors.New("overloaded")
	// ErrUnavailable is returned when the hub as a whole cannot take work now: its storage
	// is full or failing. Nothing was stored.
	ErrUnavailable = errors.New("unavailable")
)

// FieldError is a validation error about one field of the input. Its Path uses dots and
// indices, for example "data.fields.Topic" or "events[2].specversion".
type FieldError struct {
	Path   string
	Reason string
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return e.Path + ": " + e.Reason
}

// Is makes every FieldError match ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// Invalid returns a FieldError for path.
func Invalid(path, format string, args ...any) error {
	return &FieldError{Path: path, Reason: fmt.Sprintf(format, args...)}
}

// ErrorClass says how the engine treats a failed step.
type ErrorClass string

// The error classes of the connector ABI. Transient and RateLimited are retried; the rest
// dead-letter the run at once, since repeating the same input cannot succeed.
const (
	ClassInvalidInput ErrorClass = "invalid_input"
	ClassAuth         ErrorClass = "auth"
	ClassNotFound     ErrorClass = "not_found"
	ClassRateLimited  ErrorClass = "rate_limited"
	ClassTransient    ErrorClass = "transient"
	ClassPermanent    ErrorClass = "permanent"
	// ClassDeferred is the engine's own: the step was not tried because what it needs is
	// unavailable (a vendor's circuit is open, a resource is saturated). The run waits
	// RetryAfter and the attempt does not count.
	ClassDeferred ErrorClass = "deferred"
)

// Retryable reports whether a step failing with this class may succeed on a later attempt.
func (c ErrorClass) Retryable() bool { return c == ClassTransient || c == ClassRateLimited }

// StepError is the typed failure of one step.
type StepError struct {
	Class ErrorClass
	// RetryAfter, when positive, overrides the retry policy's next delay (a vendor's
	// Retry-After or rate-limit reset).
	RetryAfter time.Duration
	Err        error
}

func (e *StepError) Error() string {
	if e.Err == nil {
		return string(e.Class)
	}
	return string(e.Class) + ": " + e.Err.Error()
}

func (e *StepError) Unwrap() error { return e.Err }

// Transient marks err as worth retrying.
func Transient(err error) error { return &StepError{Class: ClassTransient, Err: err} }

// Permanent marks err as final: the run goes to the dead-letter queue.
func Permanent(err error) error { return &StepError{Class: ClassPermanent, Err: err} }

// Deferred marks a step that was not tried; the run waits after and keeps its attempt.
func Deferred(after time.Duration, err error) error {
	return &StepError{Class: ClassDeferred, RetryAfter: after, Err: err}
}

// RateLimited marks err as a rate limit; the next attempt waits at least after.
func RateLimited(after time.Duration, err error) error {
	return &StepError{Class: ClassRateLimited, RetryAfter: after, Err: err}
}

// Classify returns the StepError in err's chain, treating an untyped error as transient:
// an executor that does not know better should not lose work.
func Classify(err error) *StepError {
	var se *StepError
	if errors.As(err, &se) {
		return se
	}
	if errors.Is(err, ErrInvalid) {
		return &StepError{Class: ClassInvalidInput, Err: err}
	}
	return &StepError{Class: ClassTransient, Err: err}
}

// sentinelError is an error of a sentinel's kind with its own message, so that the message a
// caller reads does not start with the sentinel's text.
type sentinelError struct {
	kind error
	msg  string
}

func (e *sentinelError) Error() string        { return e.msg }
func (e *sentinelError) Is(target error) bool { return target == e.kind }

// Unauthenticated returns an error matching ErrUnauthenticated with the message given.
func Unauthenticated(format string, args ...any) error {
	return &sentinelError{kind: ErrUnauthenticated, msg: fmt.Sprintf(format, args...)}
}

// Forbidden returns an error matching ErrForbidden with the message given.
func Forbidden(format string, args ...any) error {
	return &sentinelError{kind: ErrForbidden, msg: fmt.Sprintf(format, args...)}
}

// OverloadError says which limit refused a request and when to try again. It matches
// ErrOverloaded, or ErrUnavailable when Hub is true.
type OverloadError struct {
	// Limit names the limit ("engine.max_queued_per_tenant").
	Limit string
	// Detail says what was over it.
	Detail string
	// After is when a retry may succeed.
	After time.Duration
	// Hub is true when the whole hub is over its limit, not one tenant.
	Hub bool
}

func (e *OverloadError) Error() string { return e.Detail + " (" + e.Limit + ")" }

// Is makes an OverloadError match ErrOverloaded, or ErrUnavailable for the whole hub.
func (e *OverloadError) Is(target error) bool {
	if e.Hub {
		return target == ErrUnavailable
	}
	return target == ErrOverloaded
}

// RetryAfter is when to try again.
func (e *OverloadError) RetryAfter() time.Duration { return e.After }

// ProblemExtra names the limit in the HTTP problem document, with the seed's error name for
// a tenant's own limits.
func (e *OverloadError) ProblemExtra() map[string]any {
	m := map[string]any{"limit": e.Limit}
	if !e.Hub {
		m["error"] = "TenantLimitExceeded"
	}
	return m
}
