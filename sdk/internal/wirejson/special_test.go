package wirejson

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// TestSpecial8 holds the eight-byte tests to a byte-by-byte one: every byte value at every
// position among ordinary bytes, and random words.
func TestSpecial8(t *testing.T) {
	slow := func(b []byte) bool {
		for _, c := range b {
			if c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
				return true
			}
		}
		return false
	}
	slowHTML := func(b []byte) bool {
		for _, c := range b {
			if c == '<' || c == '>' || c == '&' {
				return true
			}
		}
		return false
	}
	check := func(b []byte) {
		t.Helper()
		w := binary.LittleEndian.Uint64(b)
		if got, want := special8(w), slow(b); got != want {
			t.Fatalf("special8(%q) = %v, want %v", b, got, want)
		}
		if got, want := html8(w), slowHTML(b); got != want {
			t.Fatalf("html8(%q) = %v, want %v", b, got, want)
		}
		if load8(string(b), 0) != w {
			t.Fatalf("load8(%q) = %x, want %x", b, load8(string(b), 0), w)
		}
	}
	for pos := range 8 {
		for c := range 256 {
			b := []byte("abcdefgh")
			b[pos] = byte(c)
			check(b)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 8)
	for range 200000 {
		binary.LittleEndian.PutUint64(b, r.Uint64())
		check(b)
		for i := range b { // mostly ordinary bytes, as strings are
			if r.IntN(4) > 0 {
				b[i] = byte(0x20 + r.IntN(0x60))
			}
		}
		check(b)
	}
}
