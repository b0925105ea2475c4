package scrub

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

const secret = "sk_live_Q7fX2pLm9RtZ4wKe"

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

func jsonEscapeAll(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		fmt.Fprintf(&b, `\u%04x`, c)
	}
	return b.String()
}

func TestScrubberFindsEveryEncoding(t *testing.T) {
	s := New(secret)
	tests := []struct {
		name, text string
	}{
		{"plain", "token=" + secret + "&x=1"},
		{"query escaped", "https://api.test/?k=" + url.QueryEscape(secret+"/+ ")},
		{"lower-case percent escapes", strings.ToLower(url.QueryEscape("a/" + secret + "/"))},
		{"every byte percent-escaped", func() string {
			var b strings.Builder
			for _, c := range []byte(secret) {
				fmt.Fprintf(&b, "%%%02X", c)
			}
			return b.String()
		}()},
		{"base64", base64.StdEncoding.EncodeToString([]byte(secret))},
		{"base64 url", base64.RawURLEncoding.EncodeToString([]byte("x" + secret))},
		{"basic auth", "Basic " + base64.StdEncoding.EncodeToString([]byte("aquahub:"+secret))},
		{"basic auth, other user lengths", base64.StdEncoding.EncodeToString([]byte("ab:" + secret + "!"))},
		{"hex", hex.EncodeToString([]byte(secret))},
		{"upper hex", strings.ToUpper(hex.EncodeToString([]byte(secret)))},
		{"reversed", "olleh " + reverse(secret)},
		{"upper case", strings.ToUpper(secret)},
		{"swapped case", strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' {
				return r - 32
			}
			if r >= 'A' && r <= 'Z' {
				return r + 32
			}
			return r
		}, secret)},
		{"json \\u00xx", `{"v":"` + jsonEscapeAll(secret) + `"}`},
		{"json mixed escapes", `{"v":"` + secret[:5] + jsonEscapeAll(secret[5:12]) + secret[12:] + `"}`},
		{"html entities", "&#115;&#x6b;" + secret[2:]},
		{"first half only", "a:" + secret[:len(secret)/2] + ":b"},
		{"longer second half", "a:" + secret[len(secret)/2-1:] + ":b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !s.Found([]byte(tt.text)) {
				t.Fatalf("%q: not found", tt.text)
			}
			got := s.String(tt.text)
			if !strings.Contains(got, Redacted) {
				t.Fatalf("String(%q) = %q, want a redaction", tt.text, got)
			}
			// What is left must not hold half the value in any form.
			if s.Found([]byte(got)) {
				t.Fatalf("String(%q) = %q still holds the value", tt.text, got)
			}
		})
	}
}

func TestScrubberSplitInTwo(t *testing.T) {
	s := New(secret)
	for cut := 1; cut < len(secret); cut++ {
		a, b := s.String(secret[:cut]), s.String(secret[cut:])
		if a+b == secret || (a == secret[:cut] && b == secret[cut:]) {
			t.Fatalf("cut at %d: both halves survive (%q, %q)", cut, a, b)
		}
	}
}

func TestScrubberLeavesOtherTextAlone(t *testing.T) {
	s := New(secret, "short")
	tests := []string{
		"",
		"an ordinary response body with sk_live_ in it",
		secret[:5] + " and " + secret[10:14],
		`{"id":"cus_123","email":"a@example.com"}`,
		"%zz %4 \\u12 \\x &#; &#xZZ; &bogus; \\",
		"short", // shorter than MinValueBytes: not a secret the host sends
	}
	for _, text := range tests {
		if got := s.String(text); got != text {
			t.Fatalf("String(%q) = %q, want it unchanged", text, got)
		}
	}
}

func TestScrubberKeepsSurroundingBytes(t *testing.T) {
	s := New(secret)
	got := s.String("before %" + fmt.Sprintf("%X", secret[0]) + secret[1:] + " after")
	if got != "before "+Redacted+" after" {
		t.Fatalf("got %q", got)
	}
}

func TestScrubberValue(t *testing.T) {
	s := New(secret)
	in := map[string]any{
		"ok":    "fine",
		secret:  "header name",
		"list":  []any{1.0, "x" + secret, map[string]any{"deep": strings.ToUpper(secret)}},
		"count": 3.0,
	}
	out := s.Value(in).(map[string]any)
	if _, ok := out[secret]; ok {
		t.Fatal("the key holding the value survived")
	}
	if out[Redacted] != "header name" || out["ok"] != "fine" || out["count"] != 3.0 {
		t.Fatalf("got %v", out)
	}
	list := out["list"].([]any)
	if list[1] != "x"+Redacted || list[2].(map[string]any)["deep"] != Redacted {
		t.Fatalf("got %v", list)
	}
	if _, ok := in[secret]; !ok {
		t.Fatal("the input was changed")
	}
}

func FuzzScrubber(f *testing.F) {
	f.Add("abc%41\\u0042&#67;", secret)
	f.Add(base64.StdEncoding.EncodeToString([]byte(secret)), secret)
	f.Fuzz(func(t *testing.T, text, value string) {
		s := New(value)
		out := s.String(text)
		if len(value) >= MinValueBytes && strings.Contains(strings.ToLower(out), strings.ToLower(value)) {
			t.Fatalf("String(%q) = %q holds %q", text, out, value)
		}
	})
}

// BenchmarkScrubber measures a 1 MiB response body, with and without escapes to decode.
func BenchmarkScrubber(b *testing.B) {
	s := New(secret, "another-secret-value-0123456789")
	for _, bb := range []struct{ name, unit string }{
		{"plain", `{"id":"rec123","name":"Moss wall","tags":["a","b"]},`},
		{"escaped", `{"u":"https:\/\/x.test\/a%20b?c=%41","n":"caf\u00e9 &amp; bar"},`},
	} {
		text := strings.Repeat(bb.unit, (1<<20)/len(bb.unit))
		b.Run(bb.name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for range b.N {
				s.String(text)
			}
		})
	}
}
