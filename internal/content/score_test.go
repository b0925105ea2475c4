package content

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFleschGolden(t *testing.T) {
	tests := []struct {
		name                        string
		text                        string
		words, sentences, syllables int
		flesch                      float64
	}{
		// 6 words, 1 sentence, 6 syllables: 206.835 - 1.015*6 - 84.6*1 = 116.145.
		{"one-syllable sentence", "The cat sat on the mat.", 6, 1, 6, 116.145},
		// a-qua-sca-ping(4) is(1) a(1) beau-ti-ful(3) hob-by(2); plants(1) need(1) light(1):
		// 206.835 - 1.015*8/2 - 84.6*14/8 = 54.725.
		{"two sentences", "Aquascaping is a beautiful hobby. Plants need light.", 8, 2, 14, 54.725},
		// list items without a full stop are sentences too.
		{"list lines", "Rinse the stones\nTest the water", 6, 2, 7, 206.835 - 1.015*3 - 84.6*7.0/6},
		{"empty", "", 0, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Analyze(tc.text)
			if s.Words != tc.words || s.Sentences != tc.sentences || s.Syllables != tc.syllables {
				t.Fatalf("stats = %+v, want %d words %d sentences %d syllables", s, tc.words, tc.sentences, tc.syllables)
			}
			if got := s.FleschReadingEase(); math.Abs(got-tc.flesch) > 1e-9 {
				t.Errorf("Flesch = %v, want %v", got, tc.flesch)
			}
		})
	}
}

func TestSyllables(t *testing.T) {
	tests := []struct {
		word string
		want int
	}{
		{"cat", 1}, {"water", 2}, {"aquarium", 4}, {"planted", 2}, {"stones", 1}, {"tired", 1},
		{"little", 2}, {"boxes", 2}, {"CO2", 1}, {"station", 2}, {"period", 3}, {"special", 2}, {"radio", 3}, {"2025", 1},
	}
	for _, tc := range tests {
		t.Run(tc.word, func(t *testing.T) {
			if got := Syllables(tc.word); got != tc.want {
				t.Errorf("Syllables(%q) = %d, want %d", tc.word, got, tc.want)
			}
		})
	}
}

func TestKeywordDensityGolden(t *testing.T) {
	// testdata/density_100.txt has exactly 100 words: "planted aquarium" twice and
	// "aquascaping" three times, so (2*2 + 3*1) / 100 = 7%.
	b, err := os.ReadFile(filepath.Join("testdata", "density_100.txt"))
	if err != nil {
		t.Fatal(err)
	}
	words := Words(string(b))
	if len(words) != 100 {
		t.Fatalf("golden text has %d words, want 100", len(words))
	}
	d, counts := KeywordDensity(words, []string{"planted aquarium", "Aquascaping"})
	if math.Abs(d-7) > 1e-9 {
		t.Errorf("density = %v, want 7", d)
	}
	if counts["planted aquarium"] != 2 || counts["Aquascaping"] != 3 {
		t.Errorf("counts = %v", counts)
	}
}

func TestKeywordDensityCases(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		keywords []string
		want     float64
	}{
		{"no keywords", "plants grow", nil, 0},
		{"case-insensitive whole words", "Aquascaping and aquascapingly AQUASCAPING", []string{"aquascaping"}, 200.0 / 4},
		{"overlapping keywords count once", "planted aquarium care", []string{"planted aquarium", "aquarium"}, 200.0 / 3},
		{"phrase split by punctuation still matches", "planted, aquarium", []string{"planted aquarium"}, 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := KeywordDensity(Words(tc.text), tc.keywords)
			if math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("density = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestScoreBreakdown(t *testing.T) {
	tpl, _ := BuiltinTemplate("newsletter_article")
	tests := []struct {
		name  string
		draft Draft
		want  map[string]float64
		total float64
	}{
		{
			name:  "empty body scores zero on everything but readability weightless parts",
			draft: Draft{BodyMarkdown: "Hi."},
			want:  map[string]float64{"word_count": 0, "headings": 0, "meta_description": 0, "section_coverage": 0},
		},
		{
			name: "headings and meta description",
			draft: Draft{
				MetaDescription: strings.Repeat("m", 100),
				BodyMarkdown:    "## Introduction\n\nText.\n\n## The Essentials\n\nText.\n\n## Practical Tips\n\n## Product Recommendations\n\n## Next Steps\n",
			},
			want: map[string]float64{"headings": 10, "meta_description": 10, "section_coverage": 10},
		},
		{
			name:  "meta description too long gets half",
			draft: Draft{MetaDescription: strings.Repeat("m", 200), BodyMarkdown: "## Call To Action\n\nGo."},
			want:  map[string]float64{"meta_description": 5, "section_coverage": 2, "headings": 2},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := Score(&tpl, &tc.draft, []string{"aquascaping"})
			got := map[string]float64{}
			for _, c := range q.Breakdown {
				got[c.Name] = c.Score
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v (breakdown %+v)", k, got[k], v, q.Breakdown)
				}
			}
			if q.Score < 0 || q.Score > 10 {
				t.Errorf("score %v out of range", q.Score)
			}
		})
	}
}

func TestScoreWordCountAndDensityCurves(t *testing.T) {
	tpl := Template{ID: "t", Format: FormatArticle, Structure: []Section{{ID: "A", Title: "A"}},
		Brand: BrandGuidelines{WordCount: Range{100, 200}}, SEO: SEOSettings{KeywordDensity: Range{2, 3}}}
	if err := tpl.Validate(); err != nil {
		t.Fatal(err)
	}
	body := func(words, kw int) string {
		return strings.Repeat("koi ", kw) + strings.Repeat("fish ", words-kw)
	}
	tests := []struct {
		name              string
		words, kw         int
		wantWC, wantDense float64
	}{
		{"inside both ranges", 150, 4, 10, 10},
		{"75 words is halfway to zero", 75, 2, 5, 10},
		{"below density gets proportional marks", 150, 1, 10, 3.3},
		{"double the max density gets zero", 100, 6, 10, 0},
		{"300 words is half again over", 300, 7, 0, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := Score(&tpl, &Draft{BodyMarkdown: body(tc.words, tc.kw)}, []string{"koi"})
			if q.Breakdown[1].Score != tc.wantWC || q.Breakdown[2].Score != tc.wantDense {
				t.Errorf("word_count %v keyword_density %v, want %v %v", q.Breakdown[1].Score, q.Breakdown[2].Score, tc.wantWC, tc.wantDense)
			}
		})
	}
}

func TestSplitMarkdown(t *testing.T) {
	prose, hs := SplitMarkdown("# Title\n\n## Intro\n\nSome **bold** [link](https://x.io) text.\n\n- item one\n1. item two\n\n```\ncode here\n```\n#aquascape #plants\n")
	if len(hs) != 2 || hs[0].Level != 1 || hs[1].Text != "Intro" {
		t.Errorf("headings %+v", hs)
	}
	if got := strings.Join(Words(prose), " "); got != "Some bold link text item one item two" {
		t.Errorf("prose words %q", got)
	}
}
