package plugins

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxLoggedField caps each string the host logs or reports on a guest's behalf (a URL it
// asked for, a message, its stderr): a guest controls their length, and the hub's log is
// shared.
const maxLoggedField = 1 << 10

// clip shortens s to at most n bytes (on a rune boundary), saying how long it was.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(" + strconv.Itoa(len(s)) + " bytes)"
}

// Printable returns s with every control character, invalid byte and invisible formatting
// character (bidirectional overrides, zero-width characters) written as an escape (\n,
// \x1b, \u202e), so that text a connector wrote cannot move a terminal's cursor, recolour
// it, reorder what follows or forge a line of its own when the CLI prints it. Other text is
// kept as it is.
func Printable(s string) string {
	clean := true
	for _, r := range s {
		if !safeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i, w := 0, 0; i < len(s); i += w {
		r, size := utf8.DecodeRuneInString(s[i:])
		w = size
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x` + strconv.FormatUint(uint64(s[i]), 16))
		case safeRune(r):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		}
	}
	return b.String()
}

func safeRune(r rune) bool {
	return r != utf8.RuneError && !unicode.IsControl(r) && !unicode.Is(unicode.Cf, r)
}
