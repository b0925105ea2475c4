package abi

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonReader reads one JSON document the way encoding/json's Unmarshal reads it into the
// envelope types the guest SDK decodes: the same grammar, the same nesting limit, the same
// string unescaping (invalid UTF-8 and lone surrogates become U+FFFD), object keys matched
// exactly or else case-insensitively, unknown keys skipped, null leaving scalars untouched
// and setting slices, maps and pointers to nil, a repeated object key decoded again on top
// of the first (maps and pointed-to structs merge). It exists because encoding/json's
// reflection and garbage cost a wasm guest far more than the few fields it needs.
type jsonReader struct {
	data  []byte
	pos   int
	depth int
	buf   []byte // scratch for unescaping keys
}

// maxJSONDepth is encoding/json's nesting limit.
const maxJSONDepth = 10000

var errJSONEnd = errors.New("unexpected end of JSON input")

func (d *jsonReader) syntax(what string) error {
	if d.pos >= len(d.data) {
		return errJSONEnd
	}
	return fmt.Errorf("invalid character %s %s (offset %d)", quoteChar(d.data[d.pos]), what, d.pos)
}

func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}

func typeError(what, into string, off int) error {
	return fmt.Errorf("cannot unmarshal %s into %s (offset %d)", what, into, off)
}

func (d *jsonReader) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// next skips whitespace and returns the next byte, or 0 at the end.
func (d *jsonReader) next() byte {
	d.ws()
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

// end reports an error unless only whitespace is left.
func (d *jsonReader) end() error {
	if d.next() != 0 || d.pos < len(d.data) {
		return d.syntax("after top-level value")
	}
	return nil
}

// kind names the value starting at the next byte, for type errors.
func (d *jsonReader) kind() string {
	switch d.next() {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// null consumes a null literal if one is next.
func (d *jsonReader) null() (bool, error) {
	if d.next() != 'n' {
		return false, nil
	}
	return true, d.literal("null")
}

func (d *jsonReader) literal(lit string) error {
	for i := 0; i < len(lit); i++ {
		if d.pos >= len(d.data) {
			return errJSONEnd
		}
		if d.data[d.pos] != lit[i] {
			return d.syntax("in literal " + lit)
		}
		d.pos++
	}
	return nil
}

func (d *jsonReader) push() error {
	d.depth++
	if d.depth > maxJSONDepth {
		return errors.New("exceeded max depth")
	}
	return nil
}

// skip reads and validates any value and returns its bytes. It loops rather than
// recursing, since inputs pass through it whole.
func (d *jsonReader) skip() ([]byte, error) {
	d.ws()
	start := d.pos
	var arr [32]byte
	open := arr[:0] // the brackets of the containers skip is inside
	for {
		// The reader is at a value.
		switch d.next() {
		case '{':
			d.pos++
			if err := d.push(); err != nil {
				return nil, err
			}
			if d.next() == '}' {
				d.pos++
				d.depth--
				break
			}
			open = append(open, '}')
			if err := d.skipKey(); err != nil {
				return nil, err
			}
			continue
		case '[':
			d.pos++
			if err := d.push(); err != nil {
				return nil, err
			}
			if d.next() == ']' {
				d.pos++
				d.depth--
				break
			}
			open = append(open, ']')
			continue
		case '"':
			if _, _, err := d.stringSpan(); err != nil {
				return nil, err
			}
		case 't':
			if err := d.literal("true"); err != nil {
				return nil, err
			}
		case 'f':
			if err := d.literal("false"); err != nil {
				return nil, err
			}
		case 'n':
			if err := d.literal("null"); err != nil {
				return nil, err
			}
		default:
			if _, err := d.number(); err != nil {
				return nil, err
			}
		}
		// The reader is after a value: close containers until one has more.
		for {
			if len(open) == 0 {
				return d.data[start:d.pos], nil
			}
			closer := open[len(open)-1]
			c := d.next()
			if c == ',' {
				d.pos++
				if closer == '}' {
					if err := d.skipKey(); err != nil {
						return nil, err
					}
				}
				break
			}
			if c != closer {
				if closer == '}' {
					return nil, d.syntax("after object key:value pair")
				}
				return nil, d.syntax("after array element")
			}
			d.pos++
			d.depth--
			open = open[:len(open)-1]
		}
	}
}

// skipKey reads an object key and its colon.
func (d *jsonReader) skipKey() error {
	if d.next() != '"' {
		return d.syntax("looking for beginning of object key string")
	}
	if _, _, err := d.stringSpan(); err != nil {
		return err
	}
	if d.next() != ':' {
		return d.syntax("after object key")
	}
	d.pos++
	return nil
}

// object reads an object, calling field with each key (unescaped; valid only during the
// call) with the reader at the key's value, which field must consume.
func (d *jsonReader) object(field func(key []byte) error) error {
	if d.next() != '{' {
		return d.syntax("looking for beginning of object")
	}
	d.pos++
	if err := d.push(); err != nil {
		return err
	}
	if d.next() == '}' {
		d.pos++
		d.depth--
		return nil
	}
	for {
		if d.next() != '"' {
			return d.syntax("looking for beginning of object key string")
		}
		// An escaped key gets its own buffer: the value may use the scratch one.
		key, err := d.rawString(nil)
		if err != nil {
			return err
		}
		if d.next() != ':' {
			return d.syntax("after object key")
		}
		d.pos++
		if err := field(key); err != nil {
			return err
		}
		switch d.next() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			d.depth--
			return nil
		default:
			return d.syntax("after object key:value pair")
		}
	}
}

// array reads an array, calling elem with the reader at each element.
func (d *jsonReader) array(elem func() error) error {
	if d.next() != '[' {
		return d.syntax("looking for beginning of array")
	}
	d.pos++
	if err := d.push(); err != nil {
		return err
	}
	if d.next() == ']' {
		d.pos++
		d.depth--
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch d.next() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			d.depth--
			return nil
		default:
			return d.syntax("after array element")
		}
	}
}

// stringSpan validates the string starting at pos and returns its contents between the
// quotes and whether they need unescaping (escapes, invalid UTF-8).
func (d *jsonReader) stringSpan() (raw []byte, plain bool, err error) {
	d.pos++ // opening quote
	start := d.pos
	plain = true
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			raw = d.data[start:d.pos]
			d.pos++
			return raw, plain, nil
		case c == '\\':
			plain = false
			d.pos++
			if d.pos >= len(d.data) {
				return nil, false, errJSONEnd
			}
			switch d.data[d.pos] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.pos++
			case 'u':
				d.pos++
				for range 4 {
					if d.pos >= len(d.data) {
						return nil, false, errJSONEnd
					}
					if !isHex(d.data[d.pos]) {
						return nil, false, d.syntax("in \\u hexadecimal character escape")
					}
					d.pos++
				}
			default:
				return nil, false, d.syntax("in string escape code")
			}
		case c < 0x20:
			return nil, false, d.syntax("in string literal")
		case c < utf8.RuneSelf:
			d.pos++
		default:
			r, size := utf8.DecodeRune(d.data[d.pos:])
			if r == utf8.RuneError && size == 1 {
				plain = false
			}
			d.pos += size
		}
	}
	return nil, false, errJSONEnd
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// rawString reads a string and returns its unescaped bytes: a slice of the input when
// nothing needed unescaping, else appended to dst.
func (d *jsonReader) rawString(dst []byte) ([]byte, error) {
	raw, plain, err := d.stringSpan()
	if err != nil {
		return nil, err
	}
	if plain {
		return raw, nil
	}
	return unescape(dst, raw), nil
}

// str reads a string value into a new string.
func (d *jsonReader) str() (string, error) {
	b, err := d.scratchString()
	return string(b), err
}

// scratchString reads a string whose unescaped bytes are valid until the next call.
func (d *jsonReader) scratchString() ([]byte, error) {
	raw, plain, err := d.stringSpan()
	if err != nil || plain {
		return raw, err
	}
	d.buf = unescape(d.buf[:0], raw)
	return d.buf, nil
}

// unescape appends the contents of a valid JSON string (without its quotes) to dst.
func unescape(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			switch s[i+1] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r := hex4(s[i+2:])
				i += 6
				if utf16.IsSurrogate(r) {
					// A high surrogate followed by an escaped low one is one rune; anything
					// else is U+FFFD, and what follows is read on its own.
					if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if pair := utf16.DecodeRune(r, hex4(s[i+2:])); pair != unicode.ReplacementChar {
							dst = utf8.AppendRune(dst, pair)
							i += 6
							continue
						}
					}
					r = unicode.ReplacementChar
				}
				dst = utf8.AppendRune(dst, r)
				continue
			default: // '"', '\\', '/'
				dst = append(dst, s[i+1])
			}
			i += 2
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
		}
	}
	return dst
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c >= 'a':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// number reads and validates a number literal.
func (d *jsonReader) number() ([]byte, error) {
	start := d.pos
	at := func(i int) byte {
		if i < len(d.data) {
			return d.data[i]
		}
		return 0
	}
	digits := func() int {
		n := 0
		for c := at(d.pos); '0' <= c && c <= '9'; c = at(d.pos) {
			d.pos++
			n++
		}
		return n
	}
	fail := func(what string) ([]byte, error) {
		if d.pos >= len(d.data) {
			return nil, errJSONEnd
		}
		return nil, d.syntax(what)
	}
	if at(d.pos) == '-' {
		d.pos++
	}
	switch c := at(d.pos); {
	case c == '0':
		d.pos++
	case '1' <= c && c <= '9':
		digits()
	default:
		if d.pos == start {
			return fail("looking for beginning of value")
		}
		return fail("in numeric literal")
	}
	if at(d.pos) == '.' {
		d.pos++
		if digits() == 0 {
			return fail("after decimal point in numeric literal")
		}
	}
	if c := at(d.pos); c == 'e' || c == 'E' {
		d.pos++
		if c := at(d.pos); c == '+' || c == '-' {
			d.pos++
		}
		if digits() == 0 {
			return fail("in exponent of numeric literal")
		}
	}
	return d.data[start:d.pos], nil
}

// stringField reads a string or null (which leaves *v as it was).
func (d *jsonReader) stringField(v *string) error {
	switch d.next() {
	case 'n':
		return d.literal("null")
	case '"':
		s, err := d.str()
		*v = s
		return err
	}
	return d.mismatch("string")
}

// mismatch skips a value of the wrong type and reports it.
func (d *jsonReader) mismatch(into string) error {
	off, kind := d.pos, d.kind()
	if _, err := d.skip(); err != nil {
		return err
	}
	return typeError(kind, into, off)
}

// intField reads an integer or null (which leaves *v as it was).
func (d *jsonReader) intField(v *int64) error {
	switch c := d.next(); {
	case c == 'n':
		return d.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		off := d.pos
		num, err := d.number()
		if err != nil {
			return err
		}
		n, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil {
			return typeError("number "+string(num), "int64", off)
		}
		*v = n
		return nil
	}
	return d.mismatch("int64")
}

// bytesField reads base64 (standard encoding, as encoding/json writes []byte), an array
// of byte values, or null (nil).
func (d *jsonReader) bytesField(v *[]byte) error {
	switch c := d.next(); c {
	case 'n':
		*v = nil
		return d.literal("null")
	case '"':
		off := d.pos
		s, err := d.scratchString()
		if err != nil {
			return err
		}
		b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
		n, err := base64.StdEncoding.Decode(b, s)
		if err != nil {
			return fmt.Errorf("base64 string at offset %d: %w", off, err)
		}
		*v = b[:n]
		return nil
	case '[':
		out := (*v)[:0]
		if out == nil {
			out = []byte{}
		}
		err := d.array(func() error {
			off := d.pos
			if isNull, err := d.null(); isNull || err != nil {
				var b byte
				if len(out) < cap(out) {
					b = out[:len(out)+1][len(out)]
				}
				out = append(out, b)
				return err
			}
			if c := d.next(); c != '-' && (c < '0' || c > '9') {
				return d.mismatch("uint8")
			}
			num, err := d.number()
			if err != nil {
				return err
			}
			n, err := strconv.ParseUint(string(num), 10, 8)
			if err != nil {
				return typeError("number "+string(num), "uint8", off)
			}
			out = append(out, byte(n))
			return nil
		})
		*v = out
		return err
	}
	return d.mismatch("[]byte")
}

// stringsField reads an array of strings (null elements are "") or null (nil).
func (d *jsonReader) stringsField(v *[]string) error {
	switch d.next() {
	case 'n':
		*v = nil
		return d.literal("null")
	case '[':
		// Like encoding/json, decode into the existing array: a null element keeps what
		// that position held.
		out := (*v)[:0]
		if out == nil {
			out = []string{}
		}
		err := d.array(func() error {
			var s string
			if len(out) < cap(out) {
				s = out[:len(out)+1][len(out)]
			}
			err := d.stringField(&s)
			out = append(out, s)
			return err
		})
		*v = out
		return err
	}
	return d.mismatch("[]string")
}

// headersField reads an object of string arrays or null (nil). A repeated key replaces
// the earlier value; an existing map is added to, as encoding/json does.
func (d *jsonReader) headersField(v *map[string][]string) error {
	switch d.next() {
	case 'n':
		*v = nil
		return d.literal("null")
	case '{':
		if *v == nil {
			*v = map[string][]string{}
		}
		m := *v
		return d.object(func(key []byte) error {
			var vals []string
			err := d.stringsField(&vals)
			m[string(key)] = vals
			return err
		})
	}
	return d.mismatch("map[string][]string")
}

// anyValue reads any value as encoding/json does into an interface: objects as
// map[string]any, arrays as []any, numbers as float64.
func (d *jsonReader) anyValue() (any, error) {
	switch c := d.next(); c {
	case '{':
		m := map[string]any{}
		err := d.object(func(key []byte) error {
			v, err := d.anyValue()
			m[string(key)] = v
			return err
		})
		return m, err
	case '[':
		a := []any{}
		err := d.array(func() error {
			v, err := d.anyValue()
			a = append(a, v)
			return err
		})
		return a, err
	case '"':
		return d.str()
	case 't':
		return true, d.literal("true")
	case 'f':
		return false, d.literal("false")
	case 'n':
		return nil, d.literal("null")
	default:
		off := d.pos
		num, err := d.number()
		if err != nil {
			return nil, err
		}
		f, err := strconv.ParseFloat(string(num), 64)
		if err != nil {
			return nil, typeError("number "+string(num), "float64", off)
		}
		return f, nil
	}
}

// mapField reads an object into *v (adding to an existing map) or null (nil).
func (d *jsonReader) mapField(v *map[string]any) error {
	switch d.next() {
	case 'n':
		*v = nil
		return d.literal("null")
	case '{':
		if *v == nil {
			*v = map[string]any{}
		}
		m := *v
		return d.object(func(key []byte) error {
			val, err := d.anyValue()
			m[string(key)] = val
			return err
		})
	}
	return d.mismatch("map[string]any")
}

// fieldName returns the entry of names that key names: an exact match, else one equal to
// it under encoding/json's case folding. It returns "" for an unknown key.
func fieldName(key []byte, names ...string) string {
	for _, n := range names {
		if string(key) == n {
			return n
		}
	}
	var arr [64]byte
	folded := foldKey(arr[:0], key)
	for _, n := range names {
		if upperASCIIEqual(folded, n) {
			return n
		}
	}
	return ""
}

// upperASCIIEqual reports whether folded is name in upper case; names are ASCII.
func upperASCIIEqual(folded []byte, name string) bool {
	if len(folded) != len(name) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if folded[i] != c {
			return false
		}
	}
	return true
}

// foldKey appends key with every letter mapped to the upper case of its lower case, the
// folding under which encoding/json matches object keys to field names.
func foldKey(dst, key []byte) []byte {
	for i := 0; i < len(key); {
		c := key[i]
		if c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(key[i:])
		dst = utf8.AppendRune(dst, unicode.ToUpper(unicode.ToLower(r)))
		i += size
	}
	return dst
}
