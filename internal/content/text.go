package content

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// TextStats are the counts readability and density are computed from.
type TextStats struct {
	Words     int `json:"words"`
	Sentences int `json:"sentences"`
	Syllables int `json:"syllables"`
}

// FleschReadingEase is 206.835 − 1.015·(words/sentences) − 84.6·(syllables/words), the
// Flesch reading ease formula. Higher is easier: 60–70 is plain English.
func (s TextStats) FleschReadingEase() float64 {
	if s.Words == 0 || s.Sentences == 0 {
		return 0
	}
	return 206.835 - 1.015*float64(s.Words)/float64(s.Sentences) - 84.6*float64(s.Syllables)/float64(s.Words)
}

// Words splits text into words: runs of letters and digits, joined across an inner
// apostrophe or hyphen ("don't", "low-tech" are one word each).
func Words(text string) []string {
	words := make([]string, 0, len(text)/6)
	start := -1
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
			i += size
			continue
		}
		if start >= 0 && (r == '\'' || r == '’' || r == '-') && i+size < len(text) {
			if next, _ := utf8.DecodeRuneInString(text[i+size:]); isWordRune(next) {
				i += size
				continue
			}
		}
		if start >= 0 {
			words = append(words, text[start:i])
			start = -1
		}
		i += size
	}
	if start >= 0 {
		words = append(words, text[start:])
	}
	return words
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// Sentences counts sentences in prose: text ending in . ! or ? followed by a space or the
// end, and every line (a list item, a heading-less fragment) that holds words without a
// final terminator.
func Sentences(prose string) int {
	n := 0
	for _, line := range strings.Split(prose, "\n") {
		hasWord := false
		for i := 0; i < len(line); {
			r, size := utf8.DecodeRuneInString(line[i:])
			i += size
			switch {
			case isWordRune(r):
				hasWord = true
			case r == '.' || r == '!' || r == '?':
				// Skip the run of terminators and closing quotes; a sentence ends when a
				// space or the end of the line follows ("2.5" does not end one).
				j := i
				for j < len(line) && strings.IndexByte(".!?\"')]", line[j]) >= 0 {
					j++
				}
				if (j == len(line) || line[j] == ' ' || line[j] == '\t') && hasWord {
					n++
					hasWord = false
				}
				i = j
			}
		}
		if hasWord {
			n++
		}
	}
	return n
}

// Syllables estimates the syllables of one English word: vowel groups, less a silent final
// "e" and the "-es"/"-ed" endings that add none, at least one. Numbers count one per word.
func Syllables(word string) int {
	w := strings.ToLower(word)
	letters := make([]rune, 0, len(w))
	for _, r := range w {
		if r >= 'a' && r <= 'z' {
			letters = append(letters, r)
		}
	}
	if len(letters) == 0 {
		return 1
	}
	if len(letters) <= 3 {
		return 1
	}
	s := string(letters)
	switch {
	case strings.HasSuffix(s, "es") && !strings.HasSuffix(s, "ies") && !isSibilantEnding(s[:len(s)-2]):
		s = s[:len(s)-2]
	case strings.HasSuffix(s, "ed") && !strings.HasSuffix(s, "ted") && !strings.HasSuffix(s, "ded"):
		s = s[:len(s)-2]
	case strings.HasSuffix(s, "e") && !strings.HasSuffix(s, "le") && !strings.HasSuffix(s, "ee"):
		s = s[:len(s)-1]
	}
	count := 0
	prevVowel := false
	for _, r := range s {
		v := strings.ContainsRune("aeiouy", r)
		if v && !prevVowel {
			count++
		}
		prevVowel = v
	}
	// "ia", "iu" and "io" are usually two syllables (a-qua-ri-um, pe-ri-od), except in the
	// -tion/-sion/-cious endings.
	for i := 0; i+1 < len(s); i++ {
		if s[i] == 'i' && (s[i+1] == 'a' || s[i+1] == 'u' || s[i+1] == 'o') {
			if s[i+1] == 'o' && i > 0 && strings.ContainsRune("tscx", rune(s[i-1])) {
				continue
			}
			if s[i+1] == 'a' && i > 0 && strings.ContainsRune("tc", rune(s[i-1])) && strings.HasPrefix(s[i+2:], "l") {
				continue // -tial, -cial
			}
			count++
		}
	}
	if count == 0 {
		return 1
	}
	return count
}

func isSibilantEnding(stem string) bool {
	for _, suf := range []string{"s", "x", "z", "ch", "sh", "c", "g"} {
		if strings.HasSuffix(stem, suf) {
			return true
		}
	}
	return false
}

// Analyze counts words, sentences and syllables of prose (plain text, no Markdown).
func Analyze(prose string) TextStats {
	ws := Words(prose)
	st := TextStats{Words: len(ws), Sentences: Sentences(prose)}
	for _, w := range ws {
		st.Syllables += Syllables(w)
	}
	return st
}

// KeywordDensity returns the combined keyword density of words in percent: the share of
// words that belong to an occurrence of one of the keywords (a keyword phrase of n words
// counts n), and the occurrences per keyword. Matching is case-insensitive on whole words.
func KeywordDensity(words []string, keywords []string) (float64, map[string]int) {
	counts := map[string]int{}
	if len(words) == 0 {
		return 0, counts
	}
	lower := make([]string, len(words))
	for i, w := range words {
		lower[i] = strings.ToLower(strings.ReplaceAll(w, "’", "'"))
	}
	covered := 0
	used := make([]bool, len(words))
	for _, kw := range keywords {
		kws := Words(strings.ToLower(kw))
		if len(kws) == 0 {
			continue
		}
		counts[kw] = 0
		for i := 0; i+len(kws) <= len(lower); i++ {
			match := true
			for j, k := range kws {
				if lower[i+j] != k || used[i+j] {
					match = false
					break
				}
			}
			if match {
				counts[kw]++
				for j := range kws {
					used[i+j] = true
				}
				covered += len(kws)
				i += len(kws) - 1
			}
		}
	}
	return 100 * float64(covered) / float64(len(words)), counts
}

var (
	mdHeading  = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*\s*$`)
	mdListItem = regexp.MustCompile(`^\s*(?:[-*+]|\d+[.)])\s+`)
	mdLink     = regexp.MustCompile(`\[([^\]]*)\]\(([^)\s]*)\)`)
	mdEmphasis = regexp.MustCompile("[*_`]+")
	mdHashtag  = regexp.MustCompile(`(?:^|\s)#[\p{L}\p{N}_]+`)
)

// Heading is one Markdown heading.
type Heading struct {
	Level int    `json:"level"`
	Text  string `json:"text"`
}

// SplitMarkdown separates Markdown into its headings and its prose: the text with the
// heading lines removed and list markers, emphasis and link targets stripped. Hashtags are
// removed from the prose.
func SplitMarkdown(md string) (prose string, headings []Heading) {
	var b strings.Builder
	inFence := false
	for _, line := range strings.Split(strings.ReplaceAll(md, "\r\n", "\n"), "\n") {
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		if m := mdHeading.FindStringSubmatch(trim); m != nil {
			headings = append(headings, Heading{Level: len(m[1]), Text: stripInline(m[2])})
			b.WriteByte('\n')
			continue
		}
		if trim == "" {
			b.WriteByte('\n')
			continue
		}
		if c := trim[0]; c == '-' || c == '*' || c == '+' || (c >= '0' && c <= '9') {
			trim = mdListItem.ReplaceAllString(trim, "")
		}
		trim = strings.TrimPrefix(trim, "> ")
		if strings.IndexByte(trim, '#') >= 0 {
			trim = mdHashtag.ReplaceAllString(trim, " ")
		}
		b.WriteString(stripInline(trim))
		b.WriteByte('\n')
	}
	return b.String(), headings
}

func stripInline(s string) string {
	if strings.IndexByte(s, '[') >= 0 {
		s = mdLink.ReplaceAllString(s, "$1")
	}
	if strings.ContainsAny(s, "*_`") {
		s = mdEmphasis.ReplaceAllString(s, "")
	}
	return s
}
