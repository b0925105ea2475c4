package content

import (
	"context"
	"fmt"
	"testing"
)

func BenchmarkBuiltinGenerate(b *testing.B) {
	g := &Generator{Provider: BuiltinProvider{}, Templates: BuiltinTemplateSource{}}
	for i := 0; i < b.N; i++ {
		_, err := g.Generate(context.Background(), "t", Request{Template: "newsletter_article", Topic: fmt.Sprint("Topic ", i), Keywords: []string{"aquascaping", "planted tank"}})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScore(b *testing.B) {
	g := &Generator{Provider: BuiltinProvider{}, Templates: BuiltinTemplateSource{}}
	c, _ := g.Generate(context.Background(), "t", Request{Template: "newsletter_article", Topic: "Topic", Keywords: []string{"aquascaping", "planted tank"}})
	tpl, _ := BuiltinTemplate("newsletter_article")
	d := Draft{BodyMarkdown: c.BodyMarkdown, MetaDescription: c.MetaDescription}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Score(&tpl, &d, []string{"aquascaping", "planted tank"})
	}
}
