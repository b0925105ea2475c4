package content

import (
	"fmt"
	"math"
	"strings"
)

// Quality is a draft's score from 0 to 10 and how it was reached.
type Quality struct {
	// Score is the weighted mean of the applicable components, rounded to one decimal.
	Score float64 `json:"score"`
	// Breakdown lists every component, applicable or not.
	Breakdown []Component `json:"breakdown"`
	// Readability is the Flesch reading ease of the prose.
	Readability float64 `json:"flesch_reading_ease"`
	// KeywordDensity is the combined keyword density in percent.
	KeywordDensity float64 `json:"keyword_density"`
	// KeywordCounts are the occurrences per keyword.
	KeywordCounts map[string]int `json:"keyword_counts,omitempty"`
	// Stats are the raw counts.
	Stats TextStats `json:"stats"`
}

// Component is one scored aspect of a draft.
type Component struct {
	// Name is readability, word_count, keyword_density, headings, meta_description,
	// section_coverage or hashtags.
	Name string `json:"name"`
	// Score is 0–10.
	Score float64 `json:"score"`
	// Weight is the component's share of the total; 0 means not applicable.
	Weight float64 `json:"weight"`
	// Value is what was measured, Target what the template asks for.
	Value  string `json:"value"`
	Target string `json:"target"`
}

// Component weights. They sum to 1; components that do not apply to a template drop out and
// the rest are renormalised.
const (
	weightReadability = 0.25
	weightWordCount   = 0.20
	weightDensity     = 0.20
	weightHeadings    = 0.10
	weightMeta        = 0.10
	weightCoverage    = 0.15
)

// Meta description bounds in characters: search engines cut at about 160; under 50 says
// too little.
const (
	MetaDescriptionMin = 50
	MetaDescriptionMax = 160
)

// ReadabilityTarget is the Flesch reading ease a template's expertise level asks for.
func ReadabilityTarget(level string) float64 {
	switch strings.ToLower(level) {
	case "beginner", "beginners":
		return 60
	case "advanced", "expert":
		return 30
	default:
		return 50
	}
}

// Draft is what a provider wrote, before scoring and validation.
type Draft struct {
	Title           string   `json:"title"`
	MetaDescription string   `json:"meta_description"`
	BodyMarkdown    string   `json:"body_markdown"`
	Hashtags        []string `json:"hashtags,omitempty"`
}

// Score rates a draft against its template and the request's keywords.
func Score(t *Template, d *Draft, keywords []string) Quality {
	prose, headings := SplitMarkdown(d.BodyMarkdown)
	stats := Analyze(prose)
	words := Words(prose)
	q := Quality{Stats: stats, Readability: round1(stats.FleschReadingEase())}

	// Readability: full marks at the level's target, falling to 0 forty points below.
	target := ReadabilityTarget(t.Brand.ExpertiseLevel)
	q.Breakdown = append(q.Breakdown, Component{
		Name: "readability", Weight: weightReadability,
		Score:  clamp10(10 * (q.Readability - (target - 40)) / 40),
		Value:  fmt.Sprintf("%.1f", q.Readability),
		Target: fmt.Sprintf(">= %.0f (%s)", target, t.Brand.ExpertiseLevel),
	})

	// Word count: full marks inside the range, 0 at half the minimum or 1.5× the maximum.
	wc := float64(stats.Words)
	r := t.Brand.WordCount
	var wcScore float64
	switch {
	case r.Contains(wc):
		wcScore = 10
	case wc < r.Min:
		wcScore = clamp10(10 * (1 - (r.Min-wc)/(0.5*r.Min)))
	default:
		wcScore = clamp10(10 * (1 - (wc-r.Max)/(0.5*r.Max)))
	}
	q.Breakdown = append(q.Breakdown, Component{
		Name: "word_count", Weight: weightWordCount, Score: round1(wcScore),
		Value: fmt.Sprint(stats.Words), Target: r.String(),
	})

	// Keyword density: proportional below the range, falling to 0 at twice its maximum.
	density, counts := KeywordDensity(words, keywords)
	q.KeywordDensity, q.KeywordCounts = round2(density), counts
	kd := t.SEO.KeywordDensity
	c := Component{Name: "keyword_density", Value: fmt.Sprintf("%.2f%%", density), Target: kd.String() + "%"}
	if len(keywords) > 0 && !kd.IsZero() {
		c.Weight = weightDensity
		switch {
		case kd.Contains(density):
			c.Score = 10
		case density < kd.Min:
			c.Score = round1(clamp10(10 * density / kd.Min))
		default:
			c.Score = round1(clamp10(10 * (1 - (density-kd.Max)/math.Max(kd.Max, 0.1))))
		}
	} else {
		c.Target = "n/a (no keywords)"
	}
	q.Breakdown = append(q.Breakdown, c)

	// Headings: one per section.
	c = Component{Name: "headings", Value: fmt.Sprint(len(headings)), Target: "n/a"}
	if t.SEO.HeadingsRequired {
		c.Weight = weightHeadings
		c.Target = fmt.Sprintf(">= %d", len(t.Structure))
		c.Score = round1(clamp10(10 * float64(len(headings)) / float64(len(t.Structure))))
	}
	q.Breakdown = append(q.Breakdown, c)

	// Meta description.
	c = Component{Name: "meta_description", Value: fmt.Sprintf("%d chars", len([]rune(d.MetaDescription))), Target: "n/a"}
	if t.SEO.MetaDescription {
		c.Weight = weightMeta
		c.Target = fmt.Sprintf("%d-%d chars", MetaDescriptionMin, MetaDescriptionMax)
		n := len([]rune(strings.TrimSpace(d.MetaDescription)))
		switch {
		case n == 0:
			c.Score = 0
		case n >= MetaDescriptionMin && n <= MetaDescriptionMax:
			c.Score = 10
		default:
			c.Score = 5
		}
	}
	q.Breakdown = append(q.Breakdown, c)

	// Coverage: articles need a heading per section; captions need their hashtags.
	if t.Format == FormatCaption {
		c = Component{Name: "hashtags", Value: fmt.Sprint(len(d.Hashtags)), Target: "n/a"}
		if t.Limits.MinHashtags > 0 {
			c.Weight = weightCoverage
			c.Target = fmt.Sprintf("%d-%d", t.Limits.MinHashtags, t.Limits.MaxHashtags)
			c.Score = round1(clamp10(10 * float64(len(d.Hashtags)) / float64(t.Limits.MinHashtags)))
			if t.Limits.MaxHashtags > 0 && len(d.Hashtags) > t.Limits.MaxHashtags {
				c.Score = 0
			}
		}
	} else {
		covered := 0
		for _, s := range t.Structure {
			if sectionCovered(s, headings) {
				covered++
			}
		}
		c = Component{
			Name: "section_coverage", Weight: weightCoverage,
			Score: round1(10 * float64(covered) / float64(len(t.Structure))),
			Value: fmt.Sprintf("%d/%d", covered, len(t.Structure)), Target: fmt.Sprint(len(t.Structure)),
		}
	}
	q.Breakdown = append(q.Breakdown, c)

	var sum, weights float64
	for _, c := range q.Breakdown {
		sum += c.Weight * c.Score
		weights += c.Weight
	}
	if weights > 0 {
		q.Score = round1(sum / weights)
	}
	return q
}

// sectionCovered reports whether a heading names the section: its title or its id (with
// underscores as spaces) appears in a heading, ignoring case.
func sectionCovered(s Section, headings []Heading) bool {
	title := normalizeHeading(s.Title)
	id := normalizeHeading(strings.ReplaceAll(s.ID, "_", " "))
	for _, h := range headings {
		n := normalizeHeading(h.Text)
		if strings.Contains(n, title) || strings.Contains(n, id) {
			return true
		}
	}
	return false
}

func normalizeHeading(s string) string {
	return strings.Join(Words(strings.ToLower(s)), " ")
}

func clamp10(v float64) float64 {
	return round1(math.Max(0, math.Min(10, v)))
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
func round2(v float64) float64 { return math.Round(v*100) / 100 }
