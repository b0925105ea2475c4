package signature

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Verification errors. Every Verify function returns one of them, wrapped with the detail.
var (
	// ErrMissing is returned when the signature, or a header the scheme signs, is absent, or
	// holds no entry of a version this package knows.
	ErrMissing = errors.New("signature missing")
	// ErrMalformed is returned when the signature is not in the scheme's format (wrong prefix,
	// not hex or base64, wrong length).
	ErrMalformed = errors.New("signature malformed")
	// ErrMismatch is returned when a well-formed signature does not match the message.
	ErrMismatch = errors.New("signature does not match")
	// ErrBadTimestamp is returned when a signed timestamp is not decimal Unix seconds.
	ErrBadTimestamp = errors.New("malformed timestamp")
	// ErrStale is returned when a signed timestamp is outside the tolerance, in the past or
	// the future.
	ErrStale = errors.New("timestamp outside tolerance")
	// ErrBadKey is returned when a secret or public key cannot be used: not the scheme's
	// encoding, or the wrong size or curve.
	ErrBadKey = errors.New("malformed key")
)

// DefaultTolerance is how far a signed timestamp may be from the verifier's clock when the
// caller passes a zero tolerance.
const DefaultTolerance = 5 * time.Minute

// ParseTimestamp parses a signed timestamp header: decimal Unix seconds, digits only.
func ParseTimestamp(s string) (time.Time, error) {
	if s == "" || len(s) > 19 {
		return time.Time{}, ErrBadTimestamp
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return time.Time{}, ErrBadTimestamp
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, ErrBadTimestamp
	}
	return time.Unix(n, 0), nil
}

// CheckFresh returns ErrStale (wrapped) when ts is more than tolerance away from now.
// A zero tolerance means DefaultTolerance; a negative one skips the check.
func CheckFresh(ts, now time.Time, tolerance time.Duration) error {
	if tolerance == 0 {
		tolerance = DefaultTolerance
	}
	if tolerance < 0 {
		return nil
	}
	if d := now.Sub(ts); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp %d is %s from now", ErrStale, ts.Unix(), d.Round(time.Second))
	}
	return nil
}
