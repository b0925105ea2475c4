package content

import (
	"bytes"
	"html"
	"reflect"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// markdown renders the writers' Markdown: CommonMark with the GitHub extensions (tables,
// strikethrough, task lists, bare links), because models write tables, nested lists and links
// with titles that a newsletter must show.
//
// Two choices keep a model's answer from injecting markup into an email. Raw HTML is not
// parsed at all, so a <script> or an <img onerror> in the answer stays text and is escaped
// like any other text (goldmark's own safe mode would drop it with a comment instead). And
// only http, https and mailto links stay links: any other destination, and every image,
// becomes its text, so javascript: links and tracking pixels do not reach a subscriber.
var markdown = goldmark.New(
	goldmark.WithParser(parser.NewParser(
		parser.WithBlockParsers(without(parser.DefaultBlockParsers(), parser.NewHTMLBlockParser())...),
		parser.WithInlineParsers(without(parser.DefaultInlineParsers(), parser.NewRawHTMLParser())...),
		parser.WithParagraphTransformers(parser.DefaultParagraphTransformers()...),
		parser.WithASTTransformers(util.Prioritized(safeLinks{}, 0)),
	)),
	goldmark.WithExtensions(extension.GFM),
)

// without drops the parser of drop's type from a list of goldmark's prioritized parsers.
func without(list []util.PrioritizedValue, drop any) []util.PrioritizedValue {
	out := make([]util.PrioritizedValue, 0, len(list))
	for _, v := range list {
		if reflect.TypeOf(v.Value) != reflect.TypeOf(drop) {
			out = append(out, v)
		}
	}
	return out
}

// MarkdownToHTML renders a draft's Markdown as HTML for email. All text is escaped, raw HTML
// included, and only http, https and mailto links become anchors (see markdown).
func MarkdownToHTML(md string) string {
	var b bytes.Buffer
	if err := markdown.Convert([]byte(md), &b); err != nil {
		// Rendering into memory fails only on a renderer bug; escaped text is still safe.
		return "<pre>" + strings.ReplaceAll(html.EscapeString(md), "\n", "<br>\n") + "</pre>\n"
	}
	return b.String()
}

// safeLinks turns links with any destination but http, https or mailto into their text, and
// images into links (an image's alt text, linked when its source is safe).
type safeLinks struct{}

// Transform implements goldmark's parser.ASTTransformer.
func (safeLinks) Transform(doc *ast.Document, reader text.Reader, _ parser.Context) {
	source := reader.Source()
	var links []ast.Node
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		switch n.(type) {
		case *ast.Link, *ast.Image, *ast.AutoLink:
			if entering {
				links = append(links, n)
			}
		}
		return ast.WalkContinue, nil
	})
	for _, n := range links {
		parent := n.Parent()
		if parent == nil {
			continue
		}
		switch l := n.(type) {
		case *ast.Image:
			link := ast.NewLink()
			link.Destination, link.Title = l.Destination, l.Title
			moveChildren(l, link)
			parent.ReplaceChild(parent, l, link)
			if !safeHref(string(l.Destination)) {
				unwrap(link)
			}
		case *ast.Link:
			if !safeHref(string(l.Destination)) {
				unwrap(l)
			}
		case *ast.AutoLink:
			href := string(l.URL(source))
			if l.AutoLinkType == ast.AutoLinkEmail {
				href = "mailto:" + href
			}
			if !safeHref(href) {
				parent.ReplaceChild(parent, l, ast.NewString(bytes.Clone(l.Label(source))))
			}
		}
	}
}

// moveChildren appends from's children to to.
func moveChildren(from, to ast.Node) {
	for c := from.FirstChild(); c != nil; {
		next := c.NextSibling()
		to.AppendChild(to, c)
		c = next
	}
}

// unwrap replaces n by its children.
func unwrap(n ast.Node) {
	parent := n.Parent()
	for c := n.FirstChild(); c != nil; {
		next := c.NextSibling()
		parent.InsertBefore(parent, n, c)
		c = next
	}
	parent.RemoveChild(parent, n)
}

func safeHref(h string) bool {
	l := strings.ToLower(strings.TrimSpace(h))
	return strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "mailto:")
}
