package wirejson

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// AppendString appends s as a JSON string the way encoding/json writes it: quotes,
// backslashes and control characters escaped, invalid UTF-8 replaced by U+FFFD, U+2028 and
// U+2029 escaped (for JavaScript consumers), and with escapeHTML also '<', '>' and '&'
// (json.Marshal's default).
func AppendString(dst []byte, s string, escapeHTML bool) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes that need no escaping at a time, as the reader scans.
		for i+8 <= len(s) {
			w := load8(s, i)
			if special8(w) || escapeHTML && html8(w) {
				break
			}
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && (!escapeHTML || c != '<' && c != '>' && c != '&') {
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

// load8 returns the eight bytes of s from i as a word.
func load8(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// html8 reports whether any of the eight bytes in w is '<', '>' or '&'.
func html8(w uint64) bool {
	zero := func(x uint64) uint64 { return (x - ones) &^ x }
	return (zero(w^(ones*'<'))|zero(w^(ones*'>'))|zero(w^(ones*'&')))&highs != 0
}

// AppendFloat writes f as encoding/json does: the shortest representation, in exponent
// form only below 1e-6 or from 1e21, with a one-digit negative exponent unpadded.
func AppendFloat(dst []byte, f float64, bits int) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("json: unsupported value: %s", strconv.FormatFloat(f, 'g', -1, bits))
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

// AppendAny appends x as encoding/json would when x has one of the shapes decoded JSON takes
// (nil, string, float64, bool, []any, map[string]any with keys sorted), escaping HTML as
// escapeHTML says. Any other value, and any value nested deeper than maxDepth, goes to
// other with its depth; other decides what it can write and what it refuses.
func AppendAny(dst []byte, x any, escapeHTML bool, depth, maxDepth int, other func(dst []byte, x any, depth int) ([]byte, error)) ([]byte, error) {
	if depth > maxDepth {
		return other(dst, x, depth)
	}
	switch x := x.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return AppendString(dst, x, escapeHTML), nil
	case float64:
		return AppendFloat(dst, x, 64)
	case bool:
		return strconv.AppendBool(dst, x), nil
	case []any:
		if x == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = AppendAny(dst, e, escapeHTML, depth+1, maxDepth, other); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		if x == nil {
			return append(dst, "null"...), nil
		}
		return AppendObject(dst, x, escapeHTML, func(dst []byte, e any) ([]byte, error) {
			return AppendAny(dst, e, escapeHTML, depth+1, maxDepth, other)
		})
	}
	return other(dst, x, depth)
}

// AppendObject appends m as a JSON object with its keys in sorted order, as encoding/json
// writes a map, escaping HTML in the keys as escapeHTML says; value appends one value.
func AppendObject[V any](dst []byte, m map[string]V, escapeHTML bool, value func(dst []byte, v V) ([]byte, error)) ([]byte, error) {
	var arr [16]string
	keys := arr[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, k, escapeHTML)
		dst = append(dst, ':')
		var err error
		if dst, err = value(dst, m[k]); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}
