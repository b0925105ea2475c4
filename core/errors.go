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
