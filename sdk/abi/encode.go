package abi

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
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
		b, err := json.Marshal(r.Config)
		if err != nil {
			return dst, err
		}
		dst = append(dst, `,"config":`...)
		dst = append(dst, b...)
	}
	if len(r.Secrets) > 0 {
		dst = append(dst, `,"secrets":[`...)
		for i, s := range r.Secrets {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendJSONString(dst, s)
		}
		dst = append(dst, ']')
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
func AppendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
