package content

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// Finding kinds.
const (
	FindingPII            = "pii"
	FindingProhibited     = "prohibited_phrase"
	FindingAffiliateLink  = "affiliate_link_missing"
	FindingPlatformLimit  = "platform_limit"
	FindingSafetyTips     = "safety_tips_missing"
	FindingQualityMinimum = "quality_below_minimum"
)

// Severities. An error finding fails the generation; a warning is kept with the content.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Finding is one validation result.
type Finding struct {
	// Kind is one of the Finding* constants.
	Kind string
	// Type narrows the kind: email, phone, ssn or card for PII.
	Type     string
	Severity string
	Message  string
	// Match is the offending text, redacted for PII.
	Match string
	// Offset is the byte offset in the checked text, -1 when not applicable.
	Offset int
}

// ValidationInput is what Validate checks besides the text.
type ValidationInput struct {
	Template *Template
	// Prohibited are the tenant's prohibited phrases (case-insensitive, whole words).
	Prohibited []string
	// AffiliateLink, when set, must appear verbatim.
	AffiliateLink string
}

var (
	piiEmail = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`)
	// Phone numbers need separators: ten bare digits are more often an order number or SKU.
	piiPhoneNANP = regexp.MustCompile(`(?:\+1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}`)
	piiPhoneIntl = regexp.MustCompile(`\+\d{1,3}(?:[\s.-]?\(?\d{1,4}\)?){2,5}`)
	piiSSN       = regexp.MustCompile(`\d{3}-\d{2}-\d{4}`)
	piiCard      = regexp.MustCompile(`\d(?:[ -]?\d){12,18}`)
)

// Validate checks a draft for personal data (emails, phone numbers, US social security
// numbers, payment card numbers that pass the Luhn check), the tenant's prohibited phrases,
// the affiliate link, the template's platform limits and, when asked for, safety tips.
func Validate(d *Draft, in ValidationInput) []Finding {
	full := d.Title + "\n" + d.MetaDescription + "\n" + d.BodyMarkdown + "\n" + strings.Join(d.Hashtags, " ")
	var out []Finding
	out = append(out, FindPII(full)...)
	lower := strings.ToLower(full)
	for _, p := range in.Prohibited {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if off := indexWholeWord(lower, strings.ToLower(p)); off >= 0 {
			out = append(out, Finding{
				Kind: FindingProhibited, Severity: SeverityError, Match: p, Offset: off,
				Message: fmt.Sprintf("contains the prohibited phrase %q", p),
			})
		}
	}
	if in.AffiliateLink != "" && !strings.Contains(d.BodyMarkdown, in.AffiliateLink) {
		out = append(out, Finding{
			Kind: FindingAffiliateLink, Severity: SeverityError, Match: in.AffiliateLink, Offset: -1,
			Message: "the partner's affiliate link does not appear in the body",
		})
	}
	if t := in.Template; t != nil {
		if t.Limits.MaxChars > 0 {
			n := len([]rune(FullCaption(d)))
			if t.Format != FormatCaption {
				n = len([]rune(d.BodyMarkdown))
			}
			if n > t.Limits.MaxChars {
				out = append(out, Finding{
					Kind: FindingPlatformLimit, Type: "max_chars", Severity: SeverityError, Offset: -1,
					Message: fmt.Sprintf("%d characters, over the limit of %d", n, t.Limits.MaxChars),
				})
			}
		}
		if t.Limits.MaxHashtags > 0 && len(d.Hashtags) > t.Limits.MaxHashtags {
			out = append(out, Finding{
				Kind: FindingPlatformLimit, Type: "max_hashtags", Severity: SeverityError, Offset: -1,
				Message: fmt.Sprintf("%d hashtags, over the limit of %d", len(d.Hashtags), t.Limits.MaxHashtags),
			})
		}
		if t.Brand.IncludeSafetyTips && !strings.Contains(lower, "safe") {
			out = append(out, Finding{
				Kind: FindingSafetyTips, Severity: SeverityWarning, Offset: -1,
				Message: "the template asks for safety tips but the text never mentions safety",
			})
		}
	}
	return out
}

// FindPII returns a finding for every email address, phone number, social security number
// and Luhn-valid card number in text. Matches are redacted.
func FindPII(text string) []Finding {
	var out []Finding
	taken := make([]bool, len(text))
	add := func(typ string, start, end int, redacted string) {
		for i := start; i < end; i++ {
			if taken[i] {
				return
			}
		}
		for i := start; i < end; i++ {
			taken[i] = true
		}
		out = append(out, Finding{
			Kind: FindingPII, Type: typ, Severity: SeverityError, Match: redacted, Offset: start,
			Message: fmt.Sprintf("personal information detected (%s)", typ),
		})
	}
	emails := [][]int(nil)
	if strings.IndexByte(text, '@') >= 0 {
		emails = piiEmail.FindAllStringIndex(text, -1)
	}
	for _, m := range emails {
		if boundary(text, m[0], m[1]) {
			add("email", m[0], m[1], redactEmail(text[m[0]:m[1]]))
		}
	}
	for _, m := range piiCard.FindAllStringIndex(text, -1) {
		if !digitBoundary(text, m[0], m[1]) {
			continue
		}
		digits := onlyDigits(text[m[0]:m[1]])
		if len(digits) >= 13 && len(digits) <= 19 && Luhn(digits) && consistentGroups(text[m[0]:m[1]]) {
			add("card", m[0], m[1], "**** "+digits[len(digits)-4:])
		}
	}
	for _, m := range piiSSN.FindAllStringIndex(text, -1) {
		if digitBoundary(text, m[0], m[1]) && validSSN(text[m[0]:m[1]]) {
			add("ssn", m[0], m[1], "***-**-"+text[m[1]-4:m[1]])
		}
	}
	for _, re := range []*regexp.Regexp{piiPhoneNANP, piiPhoneIntl} {
		if re == piiPhoneIntl && strings.IndexByte(text, '+') < 0 {
			continue
		}
		for _, m := range re.FindAllStringIndex(text, -1) {
			digits := onlyDigits(text[m[0]:m[1]])
			if digitBoundary(text, m[0], m[1]) && len(digits) >= 10 && len(digits) <= 15 {
				add("phone", m[0], m[1], "***"+digits[len(digits)-2:])
			}
		}
	}
	return out
}

// Luhn reports whether a string of digits passes the Luhn checksum.
func Luhn(digits string) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return len(digits) > 0 && sum%10 == 0
}

// validSSN rejects numbers the Social Security Administration never issues: area 000, 666
// or 9xx, group 00, serial 0000.
func validSSN(s string) bool {
	area, group, serial := s[0:3], s[4:6], s[7:11]
	return area != "000" && area != "666" && area[0] != '9' && group != "00" && serial != "0000"
}

// consistentGroups accepts a card number written with one kind of separator (or none).
func consistentGroups(s string) bool {
	return !(strings.Contains(s, " ") && strings.Contains(s, "-"))
}

func onlyDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// digitBoundary reports whether text[start:end] stands alone: not part of a longer number,
// and not part of an identifier such as a content id, a UUID or a SKU, whose digits glue to
// letters (directly or across a dash) and may pass the Luhn check by chance. A dot next to
// a letter ends a sentence, so only a digit across a dot continues the number.
func digitBoundary(text string, start, end int) bool {
	isNum := func(b byte) bool { return b >= '0' && b <= '9' }
	isAlnum := func(b byte) bool { return isNum(b) || b|0x20 >= 'a' && b|0x20 <= 'z' }
	joined := func(sep, next byte) bool { return sep == '-' && isAlnum(next) || sep == '.' && isNum(next) }
	if start > 0 && (isAlnum(text[start-1]) || (start > 1 && joined(text[start-1], text[start-2]))) {
		return false
	}
	if end < len(text) && (isAlnum(text[end]) || (end+1 < len(text) && joined(text[end], text[end+1]))) {
		return false
	}
	return true
}

func boundary(text string, start, end int) bool {
	isWord := func(r byte) bool { return r < 128 && (unicode.IsLetter(rune(r)) || unicode.IsDigit(rune(r))) }
	return (start == 0 || !isWord(text[start-1])) && (end == len(text) || !isWord(text[end]))
}

func redactEmail(e string) string {
	local, domain, _ := strings.Cut(e, "@")
	if local == "" {
		return "***@" + domain
	}
	return local[:1] + "***@" + domain
}

// indexWholeWord finds needle in hay where it is not part of a longer word.
func indexWholeWord(hay, needle string) int {
	from := 0
	for {
		i := strings.Index(hay[from:], needle)
		if i < 0 {
			return -1
		}
		i += from
		if boundary(hay, i, i+len(needle)) {
			return i
		}
		from = i + 1
	}
}

// FullCaption is the caption as posted: the body, a blank line, then the hashtags.
func FullCaption(d *Draft) string {
	if len(d.Hashtags) == 0 {
		return d.BodyMarkdown
	}
	tags := make([]string, len(d.Hashtags))
	for i, h := range d.Hashtags {
		tags[i] = "#" + strings.TrimPrefix(h, "#")
	}
	return strings.TrimRight(d.BodyMarkdown, "\n") + "\n\n" + strings.Join(tags, " ")
}

// HasErrors reports whether any finding fails the generation.
func HasErrors(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == SeverityError {
			return true
		}
	}
	return false
}
