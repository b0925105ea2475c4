package content

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/core"
)

func TestBuiltinTemplates(t *testing.T) {
	ts := BuiltinTemplates()
	var ids []string
	for _, tpl := range ts {
		ids = append(ids, tpl.ID)
		if tpl.Source != "builtin" {
			t.Errorf("%s source %q", tpl.ID, tpl.Source)
		}
	}
	want := []string{"instagram_caption", "newsletter_article", "partner_product_guide", "product_review"}
	if !reflect.DeepEqual(ids, want) {
		t.Fatalf("ids = %v, want %v", ids, want)
	}
	nl, _ := BuiltinTemplate("newsletter_article")
	// The seed's Newsletter_Article_Template.
	var sections []string
	for _, s := range nl.Structure {
		sections = append(sections, s.ID)
	}
	if strings.Join(sections, ",") != "Engaging_Introduction,Main_Content_Sections,Practical_Tips,Product_Recommendations,Call_To_Action" ||
		nl.Brand.WordCount != (Range{1200, 1500}) || nl.SEO.KeywordDensity != (Range{2, 3}) ||
		!nl.SEO.HeadingsRequired || !nl.SEO.MetaDescription || !nl.Brand.IncludeSafetyTips || nl.Brand.Tone != "Friendly and educational" {
		t.Errorf("newsletter template differs from the seed: %+v", nl)
	}
	ig, _ := BuiltinTemplate("instagram_caption")
	if ig.Limits.MaxChars != 2200 || ig.Limits.MaxHashtags != 30 || ig.Format != FormatCaption {
		t.Errorf("instagram limits %+v", ig.Limits)
	}
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		in      string
		want    Range
		wantErr bool
	}{
		{"1200-1500", Range{1200, 1500}, false},
		{"2-3%", Range{2, 3}, false},
		{" 1.5 - 3 % ", Range{1.5, 3}, false},
		{"2.5%", Range{2.5, 2.5}, false},
		{"800–1100", Range{800, 1100}, false},
		{"lots", Range{}, true},
		{"1-x", Range{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseRange(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("ParseRange(%q) = %v, %v", tc.in, got, err)
			}
		})
	}
}

func TestParseTemplateErrors(t *testing.T) {
	valid := `id: tips
name: Tips
structure: [{id: Intro}]
brand_guidelines: {word_count_range: "100-200"}
seo_settings: {keyword_density: {min: 1, max: 2}}
`
	if tpl, err := ParseTemplateYAML([]byte(valid)); err != nil || tpl.Structure[0].Title != "Intro" || tpl.Format != FormatArticle {
		t.Fatalf("valid template: %+v %v", tpl, err)
	}
	if tpl, err := ParseTemplateYAML([]byte(strings.Replace(valid, "[{id: Intro}]", "[Intro, Next_Steps]", 1))); err != nil || tpl.Structure[1].Title != "Next Steps" {
		t.Fatalf("bare section names: %+v %v", tpl, err)
	}
	tests := []struct {
		name, yaml, path string
	}{
		{"unknown field", valid + "colour: blue\n", ""},
		{"bad id", strings.Replace(valid, "id: tips", "id: Tips!", 1), "id"},
		{"no sections", strings.Replace(valid, "structure: [{id: Intro}]", "structure: []", 1), "structure"},
		{"duplicate section", strings.Replace(valid, "[{id: Intro}]", "[{id: A}, {id: A}]", 1), "structure[1].id"},
		{"inverted word range", strings.Replace(valid, `"100-200"`, `"300-200"`, 1), "brand_guidelines.word_count_range"},
		{"missing word range", strings.Replace(valid, `{word_count_range: "100-200"}`, `{tone: calm}`, 1), "brand_guidelines.word_count_range"},
		{"bad density", strings.Replace(valid, "{min: 1, max: 2}", `"50-60%"`, 1), "seo_settings.keyword_density"},
		{"bad range string", strings.Replace(valid, `"100-200"`, `"many"`, 1), ""},
		{"bad format", valid + "format: poem\n", "format"},
		{"bad expertise", strings.Replace(valid, `{word_count_range: "100-200"}`, `{word_count_range: "100-200", expertise_level: guru}`, 1), "brand_guidelines.expertise_level"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTemplateYAML([]byte(tc.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, core.ErrInvalid) {
				t.Errorf("error %v does not match ErrInvalid", err)
			}
			var fe *core.FieldError
			if tc.path != "" && (!errors.As(err, &fe) || fe.Path != tc.path) {
				t.Errorf("error %v, want path %q", err, tc.path)
			}
		})
	}
	caption := strings.Replace(valid, "seo_settings: {keyword_density: {min: 1, max: 2}}", "seo_settings: {headings_required: true}", 1) + "format: caption\n"
	if _, err := ParseTemplateYAML([]byte(caption)); err == nil || !strings.Contains(err.Error(), "headings_required") {
		t.Errorf("caption with headings: %v", err)
	}
}

func TestParseTemplateJSONFromAirtableStrings(t *testing.T) {
	// The seed's Content_Templates record shape, with string ranges.
	body := `{"id":"weekly_tips","name":"Weekly Tips","structure":[{"id":"Engaging_Introduction"},{"id":"Practical_Tips"}],
	"brand_guidelines":{"tone":"Friendly","expertise_level":"Beginner","word_count_range":"300-500","include_safety_tips":true},
	"seo_settings":{"keyword_density":"2-3%","headings_required":true,"meta_description":true}}`
	tpl, err := ParseTemplateJSON([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if tpl.Brand.WordCount != (Range{300, 500}) || tpl.Brand.ExpertiseLevel != "beginner" || tpl.Structure[1].Title != "Practical Tips" {
		t.Errorf("%+v", tpl)
	}
	// Airtable's Structure holds bare section names; the seed's loader says optimization_settings.
	seed := `{"id":"seed_newsletter","structure":["Engaging_Introduction","Main_Content_Sections","Call_To_Action"],
	"brand_guidelines":{"tone":"Friendly and educational","word_count_range":"1200-1500"},
	"optimization_settings":{"keyword_density":"2-3%","headings_required":true,"meta_description":true}}`
	tpl, err = ParseTemplateJSON([]byte(seed))
	if err != nil {
		t.Fatal(err)
	}
	if len(tpl.Structure) != 3 || tpl.Structure[1].Title != "Main Content Sections" || tpl.SEO.KeywordDensity != (Range{2, 3}) || tpl.OptimizationSettings != nil {
		t.Errorf("%+v", tpl)
	}
	if _, err := ParseTemplateJSON([]byte(`{"id":"x","structure":[{"id":"A"}],"brand_guidelines":{"word_count_range":"1-2"},"extra":1}`)); err == nil {
		t.Error("unknown field accepted")
	}
}

func TestRequestFromMap(t *testing.T) {
	tests := []struct {
		name    string
		in      map[string]any
		want    Request
		errPath string
	}{
		{
			name: "seed SDK names",
			in: map[string]any{"content_type": "newsletter_article", "topic": "CO2", "target_audience": "beginners",
				"seo_keywords": []any{"co2", "planted tank"}, "custom_instructions": "Be brief.",
				"partnership_data": map[string]any{"partner": "Green Aqua", "product_id": "ga-1", "affiliate_url": "https://greenaqua.hu/p?ref=a"}},
			want: Request{Template: "newsletter_article", Topic: "CO2", Audience: "beginners", Keywords: []string{"co2", "planted tank"},
				Instructions: "Be brief.", Partnership: &Partnership{Partner: "Green Aqua", ProductID: "ga-1", AffiliateLink: "https://greenaqua.hu/p?ref=a"}},
		},
		{
			name: "comma-separated keywords",
			in:   map[string]any{"template": "instagram_caption", "topic": "Moss", "keywords": "moss, ,java moss"},
			want: Request{Template: "instagram_caption", Topic: "Moss", Keywords: []string{"moss", "java moss"}},
		},
		{name: "missing template", in: map[string]any{"topic": "x"}, errPath: "template"},
		{name: "missing topic", in: map[string]any{"template": "x"}, errPath: "topic"},
		{name: "unknown key", in: map[string]any{"template": "x", "topic": "y", "tone": "z"}, errPath: "tone"},
		{name: "alias twice", in: map[string]any{"template": "x", "content_type": "y", "topic": "z"}, errPath: "template"},
		{name: "keywords wrong type", in: map[string]any{"template": "x", "topic": "y", "keywords": 3.0}, errPath: "keywords"},
		{name: "partner without name", in: map[string]any{"template": "x", "topic": "y", "partnership": map[string]any{"product_id": "1"}}, errPath: "partnership.partner"},
		{name: "javascript affiliate link", in: map[string]any{"template": "x", "topic": "y", "partnership": map[string]any{"partner": "P", "affiliate_link": "javascript:alert(1)"}}, errPath: "partnership.affiliate_link"},
		{name: "unknown partnership key", in: map[string]any{"template": "x", "topic": "y", "partnership": map[string]any{"partner": "P", "coupon": "X"}}, errPath: "partnership.coupon"},
		{name: "topic too long", in: map[string]any{"template": "x", "topic": strings.Repeat("t", 301)}, errPath: "topic"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RequestFromMap(tc.in, "")
			if tc.errPath != "" {
				var fe *core.FieldError
				if !errors.As(err, &fe) || fe.Path != tc.errPath {
					t.Fatalf("err = %v, want path %q", err, tc.errPath)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestBuiltinWriterMeetsItsTemplates(t *testing.T) {
	reqs := []Request{
		{Template: "newsletter_article", Topic: "Beginner aquascaping guide", Audience: "beginners", Keywords: []string{"planted aquarium", "aquascaping"}},
		{Template: "instagram_caption", Topic: "Nature aquarium showcase", Keywords: []string{"nature aquarium"}},
		{Template: "product_review", Topic: "A nano LED light", Keywords: []string{"aquarium light"}},
		{Template: "partner_product_guide", Topic: "CO2 diffusers", Keywords: []string{"co2 diffuser"},
			Partnership: &Partnership{Partner: "Green Aqua", ProductName: "Green Aqua Diffuser", AffiliateLink: "https://greenaqua.hu/en/d?ref=aq"}},
		{Template: "newsletter_article", Topic: "Shrimp care"},
	}
	g := &Generator{Provider: BuiltinProvider{}, Templates: BuiltinTemplateSource{}, Policies: Policies{Default: Policy{MinQualityScore: 8}}}
	for _, r := range reqs {
		t.Run(r.Template+"/"+r.Topic, func(t *testing.T) {
			c1, err := g.Generate(context.Background(), "aquascene", r)
			if err != nil {
				t.Fatalf("%v (findings %+v)", err, c1.Findings)
			}
			c2, _ := g.Generate(context.Background(), "aquascene", r)
			if c1.BodyMarkdown != c2.BodyMarkdown {
				t.Error("builtin writer is not deterministic")
			}
			tpl, _ := BuiltinTemplate(r.Template)
			if !tpl.Brand.WordCount.Contains(float64(c1.WordCount)) {
				t.Errorf("word count %d outside %s", c1.WordCount, tpl.Brand.WordCount)
			}
			if len(r.Keywords) > 0 && !tpl.SEO.KeywordDensity.Contains(c1.Quality.KeywordDensity) {
				t.Errorf("density %v outside %s", c1.Quality.KeywordDensity, tpl.SEO.KeywordDensity)
			}
			if c1.Quality.Score < 9 {
				t.Errorf("score %v: %+v", c1.Quality.Score, c1.Quality.Breakdown)
			}
			if tpl.Format == FormatCaption && (len(c1.Hashtags) < tpl.Limits.MinHashtags || len([]rune(c1.Caption)) > 2200) {
				t.Errorf("caption hashtags %d length %d", len(c1.Hashtags), len([]rune(c1.Caption)))
			}
		})
	}
}

func TestGeneratorFailures(t *testing.T) {
	short := fixedProvider{Draft{Title: "Shrimp", BodyMarkdown: "Shrimp are fun. Keep them safe."}}
	tests := []struct {
		name     string
		provider Provider
		req      Request
		policy   Policy
		wantType string
	}{
		{"unknown template", BuiltinProvider{}, Request{Template: "sonnet", Topic: "x"}, Policy{}, ErrTypeInvalidRequest},
		{"minimum score", short, Request{Template: "newsletter_article", Topic: "Shrimp"}, Policy{MinQualityScore: 7}, ErrTypeQuality},
		{"prohibited phrase", BuiltinProvider{}, Request{Template: "newsletter_article", Topic: "Shrimp"}, Policy{Prohibited: []string{"happy scaping"}}, ErrTypeValidation},
		{"pii in the topic reaches the text", BuiltinProvider{}, Request{Template: "newsletter_article", Topic: "Ask jane@example.com"}, Policy{}, ErrTypeValidation},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := &Generator{Provider: tc.provider, Templates: BuiltinTemplateSource{}, Policies: Policies{Default: tc.policy}}
			c, err := g.Generate(context.Background(), "t", tc.req)
			var ge *GenerationError
			if !errors.As(err, &ge) || ge.Type != tc.wantType {
				t.Fatalf("err = %v, want %s", err, tc.wantType)
			}
			if ge.Retryable != (tc.provider.Name() != "builtin" && tc.wantType != ErrTypeInvalidRequest) {
				t.Errorf("retryable = %v", ge.Retryable)
			}
			if c.Status != StatusFailed || c.ErrorType != tc.wantType {
				t.Errorf("content %s %s", c.Status, c.ErrorType)
			}
		})
	}
}

func TestMarkdownToHTML(t *testing.T) {
	md := "# T & co\n\nHello **bold** and *it* `x<y`.\n\n- one\n- [two](https://a.io/?q=1&r=2)\n\n1. first\n\n[bad](javascript:alert(1)) <script>alert(1)</script>\n"
	got := MarkdownToHTML(md)
	want := "<h1>T &amp; co</h1>\n<p>Hello <strong>bold</strong> and <em>it</em> <code>x&lt;y</code>.</p>\n" +
		"<ul>\n<li>one</li>\n<li><a href=\"https://a.io/?q=1&amp;r=2\">two</a></li>\n</ul>\n<ol>\n<li>first</li>\n</ol>\n" +
		"<p>bad) &lt;script&gt;alert(1)&lt;/script&gt;</p>\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func FuzzParseAnswer(f *testing.F) {
	for _, s := range []string{`{"title":"t","body_markdown":"b","hashtags":["#a","b"]}`, "```json\n{\"body_markdown\":\"x\"}\n```", "no", `{"body_markdown":1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseAnswer(s)
		if err == nil && strings.TrimSpace(d.BodyMarkdown) == "" {
			t.Fatal("accepted an answer without a body")
		}
	})
}

func FuzzParseTemplateYAML(f *testing.F) {
	for _, tpl := range BuiltinTemplates() {
		b, _ := embedded.ReadFile("templates/" + tpl.ID + ".yaml")
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tpl, err := ParseTemplateYAML(b)
		if err == nil && (len(tpl.Structure) == 0 || tpl.Brand.WordCount.Max < tpl.Brand.WordCount.Min) {
			t.Fatalf("accepted an invalid template: %+v", tpl)
		}
	})
}

// fixedProvider always writes the same draft.
type fixedProvider struct{ d Draft }

func (fixedProvider) Name() string { return "fixed" }
func (p fixedProvider) Write(context.Context, WriteInput) (Written, error) {
	return Written{Draft: p.d, Model: "fixed", Attempts: 1}, nil
}
