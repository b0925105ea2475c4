package scrub

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// Redacted is what a Scrubber puts where it found a value.
const Redacted = "[redacted]"

// MinValueBytes is the shortest value a Scrubber looks for; shorter values are ignored (the
// host refuses to send them, see abi.MinSecretBytes).
const MinValueBytes = 8

// minWindow is the shortest piece of a form a Scrubber redacts on its own.
const minWindow = 6

// maxPiecesPerHash bounds the pieces kept per hash, so that a periodic value ("abab…")
// costs no more to look for than any other.
const maxPiecesPerHash = 8

// Scrubber finds secret values in text and redacts them. It is safe for concurrent use.
//
// It looks for each value in these forms: as is, reversed, hex, and base64 (standard and
// URL alphabets, at each of the three alignments a value can have inside a longer base64
// text, which covers base64("user:" + value) of HTTP Basic auth). Before matching, the text
// is brought to a canonical form: %XX, \uXXXX, \xXX, JSON's \" \\ \/ and HTML character
// references are decoded, and ASCII letters are lower-cased, so that URL-escaped,
// JSON-escaped, HTML-escaped and case-changed copies match too. Any piece of a form at
// least half its length (and at least 6 bytes) is redacted, so a value split in two (across
// two headers, say) loses at least its longer half.
type Scrubber struct {
	forms [][]byte
	// need is, per form, the shortest match redacted: half the form, at least minWindow.
	need []int
	// window is the length of the pieces indexed: the least of need.
	window int
	// pieces holds every piece of length window of every form, by hash, with a bit per
	// hash's top 16 bits so that most positions of a text cost no map lookup.
	pieces map[uint64][]piece
	bits   [1 << 10]uint64
}

type piece struct {
	form, off int
}

// none is the scrubber of no values, shared: a scrubber is never changed after New, and the
// host builds one for every request its guests send, most of them with nothing to find.
var none = &Scrubber{}

// New returns a scrubber of values. Values shorter than MinValueBytes are ignored.
func New(values ...string) *Scrubber {
	if !slices.ContainsFunc(values, func(v string) bool { return len(v) >= MinValueBytes }) {
		return none
	}
	s := &Scrubber{pieces: map[uint64][]piece{}}
	seen := map[string]bool{}
	for _, v := range values {
		if len(v) < MinValueBytes {
			continue
		}
		for _, f := range forms([]byte(v)) {
			n := normalizeAll(f)
			if len(n) < minWindow || seen[string(n)] {
				continue
			}
			seen[string(n)] = true
			s.forms = append(s.forms, n)
			need := max(minWindow, (len(n)+1)/2)
			s.need = append(s.need, need)
			if s.window == 0 || need < s.window {
				s.window = need
			}
		}
	}
	for i, f := range s.forms {
		rollHashes(f, s.window, func(off int, h uint64) bool {
			// Pieces sharing a hash share their bytes (64-bit collisions aside): only a
			// periodic value has many, and a few of them find every match.
			if len(s.pieces[h]) >= maxPiecesPerHash {
				return true
			}
			s.pieces[h] = append(s.pieces[h], piece{form: i, off: off})
			top := h >> 48
			s.bits[top>>6] |= 1 << (top & 63)
			return true
		})
	}
	return s
}

// rollHashes calls fn with the hash of every window of length l of b, in order, until fn
// returns false.
func rollHashes(b []byte, l int, fn func(off int, h uint64) bool) {
	if len(b) < l {
		return
	}
	var pow uint64 = 1
	for range l - 1 {
		pow *= hashBase
	}
	h := hash(b[:l])
	for p := 0; ; p++ {
		if !fn(p, h) || p+l >= len(b) {
			return
		}
		h = (h-uint64(b[p])*pow)*hashBase + uint64(b[p+l])
	}
}

// Empty reports whether the scrubber has nothing to look for.
func (s *Scrubber) Empty() bool { return s == nil || len(s.forms) == 0 }

func (s *Scrubber) mayHave(h uint64) bool {
	top := h >> 48
	return s.bits[top>>6]&(1<<(top&63)) != 0
}

// forms returns the encodings of v the scrubber looks for, before normalisation.
func forms(v []byte) [][]byte {
	out := [][]byte{v, reversed(v), []byte(hex.EncodeToString(v))}
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for k := 0; k < 3; k++ {
			out = append(out, base64Core(enc, v, k))
		}
	}
	return out
}

// base64Core returns the base64 characters that depend on v alone when v starts k bytes
// into a longer text: the characters of the encoding of k zero bytes followed by v that
// hold no bit of the bytes around v.
func base64Core(enc *base64.Encoding, v []byte, k int) []byte {
	buf := make([]byte, k+len(v))
	copy(buf[k:], v)
	e := []byte(enc.EncodeToString(buf))
	first := (8*k + 5) / 6
	last := 8 * (k + len(v)) / 6
	if last > len(e) {
		last = len(e)
	}
	if first >= last {
		return nil
	}
	return e[first:last]
}

func reversed(v []byte) []byte {
	out := make([]byte, len(v))
	for i, c := range v {
		out[len(v)-1-i] = c
	}
	return out
}

const hashBase = 1099511628211

func hash(b []byte) uint64 {
	var h uint64
	for _, c := range b {
		h = h*hashBase + uint64(c)
	}
	return h
}

// String returns s with every value found replaced by Redacted.
func (s *Scrubber) String(str string) string {
	if s.Empty() || str == "" {
		return str
	}
	spans := s.find([]byte(str))
	if spans == nil {
		return str
	}
	return string(redact([]byte(str), spans))
}

// Bytes returns b with every value found replaced by Redacted. It returns b itself when
// nothing is found.
func (s *Scrubber) Bytes(b []byte) []byte {
	if s.Empty() || len(b) == 0 {
		return b
	}
	spans := s.find(b)
	if spans == nil {
		return b
	}
	return redact(b, spans)
}

// Found reports whether b holds a value in any form.
func (s *Scrubber) Found(b []byte) bool {
	return !s.Empty() && len(b) > 0 && s.find(b) != nil
}

// Value returns v (a decoded JSON value: maps, slices, strings, numbers...) with every
// string and map key scrubbed. Unchanged parts are shared with v.
func (s *Scrubber) Value(v any) any {
	if s.Empty() {
		return v
	}
	out, _ := s.value(v)
	return out
}

func (s *Scrubber) value(v any) (any, bool) {
	switch t := v.(type) {
	case string:
		r := s.String(t)
		return r, r != t
	case map[string]any:
		var out map[string]any
		for k, x := range t {
			nk := s.String(k)
			nx, changed := s.value(x)
			if (changed || nk != k) && out == nil {
				out = make(map[string]any, len(t))
				for k2, x2 := range t {
					out[k2] = x2
				}
			}
			if out != nil {
				if nk != k {
					delete(out, k)
				}
				out[nk] = nx
			}
		}
		if out == nil {
			return v, false
		}
		return out, true
	case []any:
		var out []any
		for i, x := range t {
			nx, changed := s.value(x)
			if changed && out == nil {
				out = append([]any(nil), t...)
			}
			if out != nil {
				out[i] = nx
			}
		}
		if out == nil {
			return v, false
		}
		return out, true
	}
	return v, false
}

// span is a range of the original text to redact.
type span struct{ start, end int }

// find returns the ranges of b that hold a piece of a form, merged and sorted, or nil.
func (s *Scrubber) find(b []byte) []span {
	n := normalize(b)
	l := s.window
	if len(n.text) < l {
		return nil
	}
	var found []span
	// covered is the end of the last span found: a window inside it adds nothing, and
	// skipping it keeps repetitive text linear.
	covered := 0
	rollHashes(n.text, l, func(p int, h uint64) bool {
		if p+l > covered && s.mayHave(h) {
			for _, c := range s.pieces[h] {
				if sp, ok := s.extend(n.text, p, l, c); ok {
					found = append(found, sp)
					covered = max(covered, sp.end)
				}
			}
		}
		return true
	})
	if found == nil {
		return nil
	}
	orig := make([]span, len(found))
	for i, f := range found {
		orig[i] = span{n.origStart(f.start), n.origEnd(f.end - 1)}
	}
	return merge(orig)
}

// extend checks that the window of length l at p in text is the piece c, widens it as far
// as text and the form agree, and keeps it if it is long enough for its form.
func (s *Scrubber) extend(text []byte, p, l int, c piece) (span, bool) {
	f := s.forms[c.form]
	if !bytes.Equal(text[p:p+l], f[c.off:c.off+l]) {
		return span{}, false
	}
	start, off := p, c.off
	for start > 0 && off > 0 && text[start-1] == f[off-1] {
		start--
		off--
	}
	end, fend := p+l, c.off+l
	for end < len(text) && fend < len(f) && text[end] == f[fend] {
		end++
		fend++
	}
	return span{start, end}, end-start >= s.need[c.form]
}

func merge(spans []span) []span {
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	out := spans[:1]
	for _, sp := range spans[1:] {
		last := &out[len(out)-1]
		if sp.start <= last.end {
			last.end = max(last.end, sp.end)
			continue
		}
		out = append(out, sp)
	}
	return out
}

func redact(b []byte, spans []span) []byte {
	var out bytes.Buffer
	out.Grow(len(b))
	prev := 0
	for _, sp := range spans {
		out.Write(b[prev:sp.start])
		out.WriteString(Redacted)
		prev = sp.end
	}
	out.Write(b[prev:])
	return out.Bytes()
}

// normalized is text in canonical form with the way back to the original's offsets.
type normalized struct {
	text []byte
	// segs are the escapes decoded, in order; text between them has the same length in
	// both forms.
	segs []segment
}

// segment is one decoded escape: text[norm:norm+normLen] came from original[orig:orig+origLen].
type segment struct {
	norm, normLen, orig, origLen int
}

// origStart returns the offset in the original of the start of the text byte at i.
func (n *normalized) origStart(i int) int {
	j := sort.Search(len(n.segs), func(k int) bool { return n.segs[k].norm > i }) - 1
	if j < 0 {
		return i
	}
	sg := n.segs[j]
	if i < sg.norm+sg.normLen {
		return sg.orig
	}
	return sg.orig + sg.origLen + (i - sg.norm - sg.normLen)
}

// origEnd returns the offset in the original just after the text byte at i.
func (n *normalized) origEnd(i int) int {
	j := sort.Search(len(n.segs), func(k int) bool { return n.segs[k].norm > i }) - 1
	if j < 0 {
		return i + 1
	}
	sg := n.segs[j]
	if i < sg.norm+sg.normLen {
		return sg.orig + sg.origLen
	}
	return sg.orig + sg.origLen + (i - sg.norm - sg.normLen) + 1
}

func normalizeAll(b []byte) []byte { return normalize(b).text }

// normalize decodes escapes and lower-cases ASCII letters.
func normalize(b []byte) normalized {
	var n normalized
	if !bytes.ContainsAny(b, `%\&`) {
		n.text = lower(b)
		return n
	}
	out := make([]byte, 0, len(b))
	n.segs = make([]segment, 0, bytes.Count(b, []byte{'%'})+bytes.Count(b, []byte{'\\'})+bytes.Count(b, []byte{'&'}))
	for i := 0; i < len(b); {
		dec, k, used := decodeAt(b, i)
		if used == 0 {
			out = append(out, lowerByte(b[i]))
			i++
			continue
		}
		n.segs = append(n.segs, segment{norm: len(out), normLen: k, orig: i, origLen: used})
		for _, c := range dec[:k] {
			out = append(out, lowerByte(c))
		}
		i += used
	}
	n.text = out
	return n
}

// decoded holds the bytes of one decoded escape.
type decoded = [utf8.UTFMax]byte

func one(c byte) (decoded, int) { return decoded{c}, 1 }

func runeBytes(r rune) (decoded, int) {
	var d decoded
	return d, utf8.EncodeRune(d[:], r)
}

// decodeAt decodes the escape starting at b[i]: its bytes, how many, and the length of the
// escape, which is 0 when there is none.
func decodeAt(b []byte, i int) (decoded, int, int) {
	switch b[i] {
	case '%':
		if c, ok := hexByte(b, i+1); ok {
			d, k := one(c)
			return d, k, 3
		}
	case '\\':
		if i+1 >= len(b) {
			break
		}
		switch b[i+1] {
		case '"', '\\', '/':
			d, k := one(b[i+1])
			return d, k, 2
		case 'x':
			if c, ok := hexByte(b, i+2); ok {
				d, k := one(c)
				return d, k, 4
			}
		case 'u':
			hi, ok1 := hexByte(b, i+2)
			lo, ok2 := hexByte(b, i+4)
			if !ok1 || !ok2 {
				break
			}
			r := rune(hi)<<8 | rune(lo)
			if r >= 0xd800 && r < 0xdc00 && i+11 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
				hi2, ok3 := hexByte(b, i+8)
				lo2, ok4 := hexByte(b, i+10)
				r2 := rune(hi2)<<8 | rune(lo2)
				if ok3 && ok4 && r2 >= 0xdc00 && r2 < 0xe000 {
					d, k := runeBytes(0x10000 + (r-0xd800)<<10 + (r2 - 0xdc00))
					return d, k, 12
				}
			}
			if r >= 0xd800 && r < 0xe000 {
				break
			}
			d, k := runeBytes(r)
			return d, k, 6
		}
	case '&':
		return decodeEntity(b, i)
	}
	return decoded{}, 0, 0
}

var entities = map[string]byte{"amp": '&', "lt": '<', "gt": '>', "quot": '"', "apos": '\''}

// decodeEntity decodes an HTML character reference (&#39; &#x27; &amp; ...) at b[i].
func decodeEntity(b []byte, i int) (decoded, int, int) {
	end := bytes.IndexByte(b[i:min(len(b), i+12)], ';')
	if end < 2 {
		return decoded{}, 0, 0
	}
	body := string(b[i+1 : i+end])
	if c, ok := entities[strings.ToLower(body)]; ok {
		d, k := one(c)
		return d, k, end + 1
	}
	if body[0] != '#' {
		return decoded{}, 0, 0
	}
	var r rune
	digits := body[1:]
	base := rune(10)
	if len(digits) > 0 && (digits[0] == 'x' || digits[0] == 'X') {
		digits, base = digits[1:], 16
	}
	if digits == "" || len(digits) > 7 {
		return decoded{}, 0, 0
	}
	for _, c := range digits {
		d := hexValue(byte(c))
		if d < 0 || rune(d) >= base {
			return decoded{}, 0, 0
		}
		r = r*base + rune(d)
	}
	if !utf8.ValidRune(r) {
		return decoded{}, 0, 0
	}
	d, k := runeBytes(r)
	return d, k, end + 1
}

func hexByte(b []byte, i int) (byte, bool) {
	if i+1 >= len(b) {
		return 0, false
	}
	h, l := hexValue(b[i]), hexValue(b[i+1])
	if h < 0 || l < 0 {
		return 0, false
	}
	return byte(h<<4 | l), true
}

func hexValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func lower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = lowerByte(c)
	}
	return out
}

func lowerByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
