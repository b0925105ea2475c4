package content

import (
	"html"
	"regexp"
	"strings"
)

var (
	mdBold   = regexp.MustCompile(`\*\*([^*]+)\*\*`)
	mdItalic = regexp.MustCompile(`\*([^*]+)\*`)
	mdCode   = regexp.MustCompile("`([^`]+)`")
	mdOList  = regexp.MustCompile(`^\d+[.)]\s+`)
	mdUList  = regexp.MustCompile(`^[-*+]\s+`)
)

// MarkdownToHTML renders the Markdown subset the writers produce: ATX headings, paragraphs,
// bullet and numbered lists, block quotes, fenced code, bold, italics, inline code and
// links. All text is HTML-escaped and only http, https and mailto links become anchors, so
// a model's answer cannot inject markup into an email.
func MarkdownToHTML(md string) string {
	var b strings.Builder
	var para []string
	list := ""
	inFence := false
	flushPara := func() {
		if len(para) > 0 {
			b.WriteString("<p>" + inline(strings.Join(para, " ")) + "</p>\n")
			para = nil
		}
	}
	closeList := func() {
		if list != "" {
			b.WriteString("</" + list + ">\n")
			list = ""
		}
	}
	for _, line := range strings.Split(strings.ReplaceAll(md, "\r\n", "\n"), "\n") {
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, "```") {
			flushPara()
			closeList()
			if inFence {
				b.WriteString("</code></pre>\n")
			} else {
				b.WriteString("<pre><code>")
			}
			inFence = !inFence
			continue
		}
		if inFence {
			b.WriteString(html.EscapeString(line) + "\n")
			continue
		}
		switch {
		case trim == "":
			flushPara()
			closeList()
		case mdHeading.MatchString(trim):
			flushPara()
			closeList()
			m := mdHeading.FindStringSubmatch(trim)
			lvl := string('0' + rune(len(m[1])))
			b.WriteString("<h" + lvl + ">" + inline(m[2]) + "</h" + lvl + ">\n")
		case mdUList.MatchString(trim) || mdOList.MatchString(trim):
			flushPara()
			kind := "ul"
			if mdOList.MatchString(trim) {
				kind = "ol"
			}
			if list != kind {
				closeList()
				b.WriteString("<" + kind + ">\n")
				list = kind
			}
			item := mdOList.ReplaceAllString(mdUList.ReplaceAllString(trim, ""), "")
			b.WriteString("<li>" + inline(item) + "</li>\n")
		case strings.HasPrefix(trim, ">"):
			flushPara()
			closeList()
			b.WriteString("<blockquote><p>" + inline(strings.TrimSpace(strings.TrimPrefix(trim, ">"))) + "</p></blockquote>\n")
		default:
			closeList()
			para = append(para, trim)
		}
	}
	if inFence {
		b.WriteString("</code></pre>\n")
	}
	flushPara()
	closeList()
	return b.String()
}

// inline renders emphasis, code and links inside escaped text.
func inline(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range mdLink.FindAllStringSubmatchIndex(s, -1) {
		b.WriteString(inlineText(s[last:m[0]]))
		text, href := s[m[2]:m[3]], s[m[4]:m[5]]
		if safeHref(href) {
			b.WriteString(`<a href="` + html.EscapeString(href) + `">` + inlineText(text) + "</a>")
		} else {
			b.WriteString(inlineText(text))
		}
		last = m[1]
	}
	b.WriteString(inlineText(s[last:]))
	return b.String()
}

func inlineText(s string) string {
	s = html.EscapeString(s)
	s = mdCode.ReplaceAllString(s, "<code>$1</code>")
	s = mdBold.ReplaceAllString(s, "<strong>$1</strong>")
	s = mdItalic.ReplaceAllString(s, "<em>$1</em>")
	return s
}

func safeHref(h string) bool {
	l := strings.ToLower(h)
	return strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "mailto:")
}
