package abi

import (
	"strconv"

	"github.com/aquascene/aquahub/sdk/internal/wirejson"
)

// AppendJSON appends the request's JSON encoding to dst. It produces what json.Marshal
// produces for the same value (same field names, omitempty rules and string escaping, except
// that '<', '>' and '&' are not HTML-escaped) without reflection, because the host encodes
// one request per call. Inputs are copied as they are: each must be valid JSON.
func (r *InvokeRequest) AppendJSON(dst []byte) ([]byte, error) {
	dst = append(dst, `{"action":`...)
	dst = AppendJSONString(dst, r.Action)
	dst = append(dst, `,"inputs":`...)
	if r.Inputs == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, in := range r.Inputs {
			if i > 0 {
				dst = append(dst, ',')
			}
			if len(in) == 0 {
				dst = append(dst, "null"...)
				continue
			}
			dst = append(dst, in...)
		}
		dst = append(dst, ']')
	}
	if len(r.Config) > 0 {
		var err error
		if dst, err = AppendJSONValue(append(dst, `,"config":`...), r.Config); err != nil {
			return dst, err
		}
	}
	if len(r.Secrets) > 0 {
		dst = appendStrings(append(dst, `,"secrets":`...), r.Secrets)
	}
	for _, f := range [...]struct{ name, v string }{
		{`,"tenant":`, r.Tenant}, {`,"run_id":`, r.RunID}, {`,"step_id":`, r.StepID},
		{`,"idempotency_key":`, r.IdempotencyKey},
	} {
		if f.v != "" {
			dst = append(dst, f.name...)
			dst = AppendJSONString(dst, f.v)
		}
	}
	if r.Attempt != 0 {
		dst = append(dst, `,"attempt":`...)
		dst = strconv.AppendInt(dst, int64(r.Attempt), 10)
	}
	if r.DeadlineUnixMS != 0 {
		dst = append(dst, `,"deadline_unix_ms":`...)
		dst = strconv.AppendInt(dst, r.DeadlineUnixMS, 10)
	}
	if r.LogLevel != "" {
		dst = append(dst, `,"log_level":`...)
		dst = AppendJSONString(dst, r.LogLevel)
	}
	return append(dst, '}'), nil
}

// AppendJSONString appends s as a JSON string: quotes, backslashes and control characters
// escaped, invalid UTF-8 replaced by U+FFFD, U+2028 and U+2029 escaped (as encoding/json
// does, for JavaScript consumers).
func AppendJSONString(dst []byte, s string) []byte { return wirejson.AppendString(dst, s, false) }
