package wirejson

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Reader reads one JSON document the way encoding/json's Unmarshal reads it into the
// types the guest SDK decodes: the same grammar, the same nesting limit, the same
// string unescaping (invalid UTF-8 and lone surrogates become U+FFFD), object keys matched
// exactly or else case-insensitively, unknown keys skipped, null leaving scalars untouched
// and setting slices, maps and pointers to nil, a repeated object key decoded again on top
// of the first (maps and pointed-to structs merge). It exists because encoding/json's
// reflection and garbage cost a wasm guest far more than the few fields it needs.
type Reader struct {
	data  []byte
	pos   int
	depth int
	buf   []byte // scratch for ScratchString
	// shared makes strings and raw values point into data instead of copying it (see
	// DecodeObjectShared).
	shared bool
}

// NewReader returns a reader of b.
func NewReader(b []byte) *Reader { return &Reader{data: b} }

// maxJSONDepth is encoding/json's nesting limit.
const maxJSONDepth = 10000

var errJSONEnd = errors.New("unexpected end of JSON input")

func (d *Reader) syntax(what string) error {
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

func (d *Reader) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// Next skips whitespace and returns the next byte, or 0 at the end.
func (d *Reader) Next() byte {
	d.ws()
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

// End reports an error unless only whitespace is left.
func (d *Reader) End() error {
	if d.Next() != 0 || d.pos < len(d.data) {
		return d.syntax("after top-level value")
	}
	return nil
}

// kind names the value starting at the next byte, for type errors.
func (d *Reader) kind() string {
	switch d.Next() {
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

// Null consumes a null literal if one is next.
func (d *Reader) Null() (bool, error) {
	if d.Next() != 'n' {
		return false, nil
	}
	return true, d.Literal("null")
}

// Literal reads the literal lit (true, false or null).
func (d *Reader) Literal(lit string) error {
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

func (d *Reader) push() error {
	d.depth++
	if d.depth > maxJSONDepth {
		return errors.New("exceeded max depth")
	}
	return nil
}

// Skip reads and validates any value and returns its bytes. It loops rather than
// recursing, since inputs pass through it whole.
func (d *Reader) Skip() ([]byte, error) {
	d.ws()
	start := d.pos
	var arr [32]byte
	open := arr[:0] // the brackets of the containers skip is inside
	for {
		// The reader is at a value.
		switch d.Next() {
		case '{':
			d.pos++
			if err := d.push(); err != nil {
				return nil, err
			}
			if d.Next() == '}' {
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
			if d.Next() == ']' {
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
			if err := d.Literal("true"); err != nil {
				return nil, err
			}
		case 'f':
			if err := d.Literal("false"); err != nil {
				return nil, err
			}
		case 'n':
			if err := d.Literal("null"); err != nil {
				return nil, err
			}
		default:
			if _, err := d.Number(); err != nil {
				return nil, err
			}
		}
		// The reader is after a value: close containers until one has more.
		for {
			if len(open) == 0 {
				return d.data[start:d.pos], nil
			}
			closer := open[len(open)-1]
			c := d.Next()
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
func (d *Reader) skipKey() error {
	if d.Next() != '"' {
		return d.syntax("looking for beginning of object key string")
	}
	if _, _, err := d.stringSpan(); err != nil {
		return err
	}
	if d.Next() != ':' {
		return d.syntax("after object key")
	}
	d.pos++
	return nil
}

// Object reads an object, calling field with each key (unescaped; valid only during the
// call) with the reader at the key's value, which field must consume.
func (d *Reader) Object(field func(key []byte) error) error {
	if d.Next() != '{' {
		return d.syntax("looking for beginning of object")
	}
	d.pos++
	if err := d.push(); err != nil {
		return err
	}
	if d.Next() == '}' {
		d.pos++
		d.depth--
		return nil
	}
	for {
		if d.Next() != '"' {
			return d.syntax("looking for beginning of object key string")
		}
		// An escaped key gets its own buffer: the value may use the scratch one.
		key, err := d.RawString(nil)
		if err != nil {
			return err
		}
		if d.Next() != ':' {
			return d.syntax("after object key")
		}
		d.pos++
		if err := field(key); err != nil {
			return err
		}
		switch d.Next() {
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

// Array reads an array, calling elem with the reader at each element.
func (d *Reader) Array(elem func() error) error {
	if d.Next() != '[' {
		return d.syntax("looking for beginning of array")
	}
	d.pos++
	if err := d.push(); err != nil {
		return err
	}
	if d.Next() == ']' {
		d.pos++
		d.depth--
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch d.Next() {
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
func (d *Reader) stringSpan() (raw []byte, plain bool, err error) {
	// The loop works on locals and stores the position only when it returns: a wasm
	// guest would otherwise load and store d.pos and d.data at every byte.
	data, pos := d.data, d.pos+1 // after the opening quote
	start := pos
	plain = true
	for pos < len(data) {
		// Eight ordinary bytes at a time: a wasm guest pays for every branch of the
		// byte loop below, and strings are most of what it reads.
		for pos+8 <= len(data) && !special8(binary.LittleEndian.Uint64(data[pos:])) {
			pos += 8
		}
		if pos >= len(data) {
			break
		}
		c := data[pos]
		switch {
		case c == '"':
			d.pos = pos + 1
			return data[start:pos], plain, nil
		case c == '\\':
			plain = false
			pos++
			if pos >= len(data) {
				d.pos = pos
				return nil, false, errJSONEnd
			}
			switch data[pos] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				pos++
			case 'u':
				pos++
				for range 4 {
					d.pos = pos
					if pos >= len(data) {
						return nil, false, errJSONEnd
					}
					if !isHex(data[pos]) {
						return nil, false, d.syntax("in \\u hexadecimal character escape")
					}
					pos++
				}
			default:
				d.pos = pos
				return nil, false, d.syntax("in string escape code")
			}
		case c < 0x20:
			d.pos = pos
			return nil, false, d.syntax("in string literal")
		case c < utf8.RuneSelf:
			pos++
		default:
			r, size := utf8.DecodeRune(data[pos:])
			if r == utf8.RuneError && size == 1 {
				plain = false
			}
			pos += size
		}
	}
	d.pos = pos
	return nil, false, errJSONEnd
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special8 reports whether any of the eight bytes in w is a quote, a backslash, a
// control character or not ASCII: the bytes a JSON string's reader must look at. The
// test is exact for every byte order.
func special8(w uint64) bool {
	quote, backslash := w^(ones*'"'), w^(ones*'\\')
	zero := func(x uint64) uint64 { return (x - ones) &^ x }
	return (zero(quote)|zero(backslash)|(w-ones*0x20)&^w|w)&highs != 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// RawString reads a string and returns its unescaped bytes: a slice of the input when
// nothing needed unescaping, else appended to dst.
func (d *Reader) RawString(dst []byte) ([]byte, error) {
	raw, plain, err := d.stringSpan()
	if err != nil {
		return nil, err
	}
	if plain {
		return raw, nil
	}
	return unescape(dst, raw), nil
}

// String reads a string value into a new string.
func (d *Reader) String() (string, error) {
	if d.shared {
		raw, plain, err := d.stringSpan()
		if err != nil || !plain {
			return string(unescape(nil, raw)), err
		}
		return unsafe.String(unsafe.SliceData(raw), len(raw)), nil
	}
	b, err := d.ScratchString()
	return string(b), err
}

// keyString returns an object key from Object as a string. A key Object hands out is
// either part of data or a buffer of its own, so a shared reader may point into it.
func (d *Reader) keyString(key []byte) string {
	if d.shared && len(key) > 0 {
		return unsafe.String(unsafe.SliceData(key), len(key))
	}
	return string(key)
}

// ScratchString reads a string whose unescaped bytes are valid until the next call.
func (d *Reader) ScratchString() ([]byte, error) {
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

// Number reads and validates a number literal.
func (d *Reader) Number() ([]byte, error) {
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

// StringField reads a string or null (which leaves *v as it was).
func (d *Reader) StringField(v *string) error {
	switch d.Next() {
	case 'n':
		return d.Literal("null")
	case '"':
		s, err := d.String()
		*v = s
		return err
	}
	return d.Mismatch("string")
}

// Mismatch skips a value of the wrong type and reports it.
func (d *Reader) Mismatch(into string) error {
	off, kind := d.pos, d.kind()
	if _, err := d.Skip(); err != nil {
		return err
	}
	return typeError(kind, into, off)
}

// IntField reads an integer or null (which leaves *v as it was).
func (d *Reader) IntField(v *int64) error {
	switch c := d.Next(); {
	case c == 'n':
		return d.Literal("null")
	case c == '-' || '0' <= c && c <= '9':
		off := d.pos
		num, err := d.Number()
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
	return d.Mismatch("int64")
}

// BytesField reads base64 (standard encoding, as encoding/json writes []byte), an array
// of byte values, or null (nil).
func (d *Reader) BytesField(v *[]byte) error {
	switch c := d.Next(); c {
	case 'n':
		*v = nil
		return d.Literal("null")
	case '"':
		off := d.pos
		s, err := d.ScratchString()
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
		err := d.Array(func() error {
			off := d.pos
			if isNull, err := d.Null(); isNull || err != nil {
				var b byte
				if len(out) < cap(out) {
					b = out[:len(out)+1][len(out)]
				}
				out = append(out, b)
				return err
			}
			if c := d.Next(); c != '-' && (c < '0' || c > '9') {
				return d.Mismatch("uint8")
			}
			num, err := d.Number()
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
	return d.Mismatch("[]byte")
}

// StringsField reads an array of strings (null elements are "") or null (nil).
func (d *Reader) StringsField(v *[]string) error {
	switch d.Next() {
	case 'n':
		*v = nil
		return d.Literal("null")
	case '[':
		// Like encoding/json, decode into the existing array: a null element keeps what
		// that position held.
		out := (*v)[:0]
		if out == nil {
			out = []string{}
		}
		err := d.Array(func() error {
			var s string
			if len(out) < cap(out) {
				s = out[:len(out)+1][len(out)]
			}
			err := d.StringField(&s)
			out = append(out, s)
			return err
		})
		*v = out
		return err
	}
	return d.Mismatch("[]string")
}

// HeadersField reads an object of string arrays or null (nil). A repeated key replaces
// the earlier value; an existing map is added to, as encoding/json does.
func (d *Reader) HeadersField(v *map[string][]string) error {
	switch d.Next() {
	case 'n':
		*v = nil
		return d.Literal("null")
	case '{':
		if *v == nil {
			*v = map[string][]string{}
		}
		m := *v
		return d.Object(func(key []byte) error {
			var vals []string
			err := d.StringsField(&vals)
			m[d.keyString(key)] = vals
			return err
		})
	}
	return d.Mismatch("map[string][]string")
}

// Any reads any value as encoding/json does into an interface: objects as
// map[string]any, arrays as []any, numbers as float64.
func (d *Reader) Any() (any, error) {
	switch c := d.Next(); c {
	case '{':
		m := map[string]any{}
		err := d.Object(func(key []byte) error {
			v, err := d.Any()
			m[d.keyString(key)] = v
			return err
		})
		return m, err
	case '[':
		a := []any{}
		err := d.Array(func() error {
			v, err := d.Any()
			a = append(a, v)
			return err
		})
		return a, err
	case '"':
		return d.String()
	case 't':
		return true, d.Literal("true")
	case 'f':
		return false, d.Literal("false")
	case 'n':
		return nil, d.Literal("null")
	default:
		off := d.pos
		num, err := d.Number()
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

// MapField reads an object into *v (adding to an existing map) or null (nil).
func (d *Reader) MapField(v *map[string]any) error {
	switch d.Next() {
	case 'n':
		*v = nil
		return d.Literal("null")
	case '{':
		if *v == nil {
			*v = map[string]any{}
		}
		m := *v
		return d.Object(func(key []byte) error {
			val, err := d.Any()
			m[d.keyString(key)] = val
			return err
		})
	}
	return d.Mismatch("map[string]any")
}

// FieldName returns the entry of names that key names: an exact match, else one equal to
// it under encoding/json's case folding. It returns "" for an unknown key.
func FieldName(key []byte, names ...string) string {
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

// DecodeObject reads b as one object (or null, which decodes nothing), handing each key
// to field with the reader at its value, which field must consume.
func DecodeObject(b []byte, field func(*Reader, []byte) error) error {
	return decodeObject(&Reader{data: b}, field)
}

// DecodeObjectShared is DecodeObject whose strings and raw values point into b instead of
// copying it, which saves a wasm guest an allocation for each. b must never change
// afterwards: pass a copy of your own.
func DecodeObjectShared(b []byte, field func(*Reader, []byte) error) error {
	return decodeObject(&Reader{data: b, shared: true}, field)
}

func decodeObject(d *Reader, field func(*Reader, []byte) error) error {
	if isNull, err := d.Null(); err != nil {
		return err
	} else if !isNull {
		if err := d.ObjectInto("object", field); err != nil {
			return err
		}
	}
	return d.End()
}

// ObjectInto reads an object through field, or reports a value of another type.
func (d *Reader) ObjectInto(typ string, field func(*Reader, []byte) error) error {
	if d.Next() != '{' {
		return d.Mismatch(typ)
	}
	return d.Object(func(key []byte) error { return field(d, key) })
}

// RawsField reads an array of values, each kept as a copy of its bytes (a null element as
// "null"), or null (nil).
func (d *Reader) RawsField(v *[]json.RawMessage) error {
	switch d.Next() {
	case 'n':
		*v = nil
		return d.Literal("null")
	case '[':
		out := (*v)[:0]
		if out == nil {
			out = []json.RawMessage{}
		}
		err := d.Array(func() error {
			raw, err := d.Skip()
			if d.shared {
				out = append(out, raw[:len(raw):len(raw)])
			} else {
				out = append(out, append(json.RawMessage(nil), raw...))
			}
			return err
		})
		*v = out
		return err
	}
	return d.Mismatch("[]json.RawMessage")
}
