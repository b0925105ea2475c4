package plugins

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeOutputsFast decodes the common invoke response, {"results":[{"output":V},...]}
// with exactly n results and only those keys, into the output values, as encoding/json
// would decode each V into an `any`. It reports ok=false for anything else (a result with
// an error, a whole-call error, other or duplicate keys, invalid JSON, numbers out of
// float64 range, invalid UTF-8); the caller then decodes with abi.DecodeInvokeResponse,
// which owns the envelope's semantics. So the fast path only has to be right when it
// succeeds; FuzzDecodeOutputsFast checks that it agrees with encoding/json then.
//
// It exists because encoding/json (reflection, then a second decode of each output) was
// the largest cost of a pooled call.
func decodeOutputsFast(b []byte, n int) ([]any, bool) {
	p := fastParser{b: b}
	if !p.consume('{') {
		return nil, false
	}
	key, ok := p.key()
	if !ok || key != "results" || !p.consume('[') {
		return nil, false
	}
	outs := make([]any, 0, n)
	if !p.consume(']') {
		for {
			if !p.consume('{') {
				return nil, false
			}
			key, ok := p.key()
			if !ok || key != "output" {
				return nil, false
			}
			v, ok := p.value(0)
			if !ok || !p.consume('}') {
				return nil, false
			}
			outs = append(outs, v)
			if p.consume(',') {
				continue
			}
			if !p.consume(']') {
				return nil, false
			}
			break
		}
	}
	if !p.consume('}') {
		return nil, false
	}
	p.ws()
	if p.i != len(p.b) || len(outs) != n {
		return nil, false
	}
	return outs, true
}

// fastParser is a strict JSON reader that gives up (ok=false) rather than reporting errors.
type fastParser struct {
	b []byte
	i int
}

// maxFastDepth is below encoding/json's nesting limit; deeper values take the slow path.
const maxFastDepth = 1000

func (p *fastParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *fastParser) consume(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// key reads `"name":`.
func (p *fastParser) key() (string, bool) {
	p.ws()
	s, ok := p.str()
	if !ok || !p.consume(':') {
		return "", false
	}
	return s, true
}

func (p *fastParser) value(depth int) (any, bool) {
	if depth > maxFastDepth {
		return nil, false
	}
	p.ws()
	if p.i >= len(p.b) {
		return nil, false
	}
	switch c := p.b[p.i]; {
	case c == '{':
		p.i++
		m := map[string]any{}
		if p.consume('}') {
			return m, true
		}
		for {
			k, ok := p.key()
			if !ok {
				return nil, false
			}
			v, ok := p.value(depth + 1)
			if !ok {
				return nil, false
			}
			m[k] = v // a repeated key: the last wins, as in encoding/json
			if p.consume(',') {
				continue
			}
			if p.consume('}') {
				return m, true
			}
			return nil, false
		}
	case c == '[':
		p.i++
		a := []any{}
		if p.consume(']') {
			return a, true
		}
		for {
			v, ok := p.value(depth + 1)
			if !ok {
				return nil, false
			}
			a = append(a, v)
			if p.consume(',') {
				continue
			}
			if p.consume(']') {
				return a, true
			}
			return nil, false
		}
	case c == '"':
		return p.str()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	return nil, false
}

func (p *fastParser) literal(s string) bool {
	if len(p.b)-p.i >= len(s) && string(p.b[p.i:p.i+len(s)]) == s {
		p.i += len(s)
		return true
	}
	return false
}

// number reads a JSON number (RFC 8259 grammar) as a float64.
func (p *fastParser) number() (any, bool) {
	start := p.i
	if p.b[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.i < len(p.b) && p.b[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		return nil, false
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return nil, false
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, false
		}
	}
	f, err := strconv.ParseFloat(string(p.b[start:p.i]), 64)
	if err != nil {
		return nil, false
	}
	return f, true
}

// str reads a JSON string. Invalid UTF-8 gives up (encoding/json would replace it).
func (p *fastParser) str() (string, bool) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return "", false
	}
	p.i++
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := string(p.b[start:p.i])
			p.i++
			return s, true
		case c == '\\':
			return p.escaped(start)
		case c < 0x20:
			return "", false
		case c < utf8.RuneSelf:
			p.i++
		default:
			r, size := utf8.DecodeRune(p.b[p.i:])
			if r == utf8.RuneError && size == 1 {
				return "", false
			}
			p.i += size
		}
	}
	return "", false
}

// escaped continues str from the first backslash, building the string.
func (p *fastParser) escaped(start int) (string, bool) {
	out := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(out), true
		case c < 0x20:
			return "", false
		case c == '\\':
			if p.i+1 >= len(p.b) {
				return "", false
			}
			e := p.b[p.i+1]
			p.i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := p.hex4()
				if !ok {
					return "", false
				}
				if utf16.IsSurrogate(r) {
					// A valid pair decodes to one rune; anything else is left to encoding/json,
					// which has its own replacement rules.
					if p.i+1 >= len(p.b) || p.b[p.i] != '\\' || p.b[p.i+1] != 'u' {
						return "", false
					}
					p.i += 2
					r2, ok := p.hex4()
					if !ok {
						return "", false
					}
					if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
						return "", false
					}
				}
				out = utf8.AppendRune(out, r)
			default:
				return "", false
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			p.i++
		default:
			r, size := utf8.DecodeRune(p.b[p.i:])
			if r == utf8.RuneError && size == 1 {
				return "", false
			}
			out = append(out, p.b[p.i:p.i+size]...)
			p.i += size
		}
	}
	return "", false
}

func (p *fastParser) hex4() (rune, bool) {
	if len(p.b)-p.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range p.b[p.i : p.i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	p.i += 4
	return r, true
}
