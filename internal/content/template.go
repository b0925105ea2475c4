package content

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/aquascene/aquahub/core"
	"gopkg.in/yaml.v3"
)

// Template formats. An article is Markdown with headings, one per section; a caption is
// social-media text with hashtags and no headings.
const (
	FormatArticle = "article"
	FormatCaption = "caption"
)

// Instagram's documented caption limits, used as the defaults of caption templates.
const (
	InstagramMaxCaptionChars = 2200
	InstagramMaxHashtags     = 30
)

// Template describes one kind of content: what to write (Structure), how (Brand) and how it
// is judged (SEO, Limits). It is the seed's Newsletter_Article_Template in YAML form.
type Template struct {
	// ID names the template in requests (`template: newsletter_article`).
	ID string `yaml:"id" json:"id"`
	// Name is the human title.
	Name string `yaml:"name" json:"name"`
	// Description says what the template is for.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Format is "article" (Markdown with a heading per section) or "caption".
	Format string `yaml:"format" json:"format"`
	// Structure is the ordered list of sections the content must cover.
	Structure []Section `yaml:"structure" json:"structure"`
	// Brand holds the brand guidelines.
	Brand BrandGuidelines `yaml:"brand_guidelines" json:"brand_guidelines"`
	// SEO holds the optimisation settings.
	SEO SEOSettings `yaml:"seo_settings" json:"seo_settings"`
	// OptimizationSettings is accepted as another name for seo_settings (the key the seed's
	// load_template_from_airtable returns); Validate moves it into SEO.
	OptimizationSettings *SEOSettings `yaml:"optimization_settings,omitempty" json:"optimization_settings,omitempty"`
	// Limits are hard platform limits (captions); a violation fails the generation.
	Limits Limits `yaml:"limits,omitempty" json:"limits,omitzero"`
	// Source is "builtin" for the embedded templates and "stored" for a tenant's own; it is
	// set by the catalog, never read from input.
	Source string `yaml:"-" json:"source,omitempty"`
}

// Section is one part of the template's structure.
type Section struct {
	// ID is the seed's section name, e.g. Engaging_Introduction.
	ID string `yaml:"id" json:"id"`
	// Title is the heading the section gets in an article.
	Title string `yaml:"title" json:"title"`
	// Guidance tells the writer what belongs in the section.
	Guidance string `yaml:"guidance,omitempty" json:"guidance,omitempty"`
}

// UnmarshalYAML accepts a bare section id ("Engaging_Introduction") as well as a mapping.
func (s *Section) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = Section{ID: n.Value}
		return nil
	}
	type plain Section
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*s = Section(p)
	return nil
}

// UnmarshalJSON accepts a bare section id, as Airtable's Structure field holds them.
func (s *Section) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var id string
		if err := json.Unmarshal(b, &id); err != nil {
			return err
		}
		*s = Section{ID: id}
		return nil
	}
	type plain Section
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return err
	}
	*s = Section(p)
	return nil
}

// BrandGuidelines are the seed's brand_guidelines.
type BrandGuidelines struct {
	// Tone, e.g. "Friendly and educational".
	Tone string `yaml:"tone" json:"tone"`
	// ExpertiseLevel is beginner, intermediate or advanced; it sets the readability target.
	ExpertiseLevel string `yaml:"expertise_level" json:"expertise_level"`
	// WordCount is the accepted range of words in the body ("1200-1500" or {min, max}).
	WordCount Range `yaml:"word_count_range" json:"word_count_range"`
	// IncludeSafetyTips asks for livestock and equipment safety advice.
	IncludeSafetyTips bool `yaml:"include_safety_tips" json:"include_safety_tips"`
}

// SEOSettings are the seed's seo_settings.
type SEOSettings struct {
	// KeywordDensity is the accepted combined keyword density in percent ("2-3%").
	KeywordDensity Range `yaml:"keyword_density" json:"keyword_density"`
	// HeadingsRequired asks for a heading per section.
	HeadingsRequired bool `yaml:"headings_required" json:"headings_required"`
	// MetaDescription asks for a meta description (50–160 characters).
	MetaDescription bool `yaml:"meta_description" json:"meta_description"`
}

// Limits are hard limits of the target platform. Zero means no limit.
type Limits struct {
	// MaxChars caps the full text (caption plus hashtags).
	MaxChars int `yaml:"max_chars,omitempty" json:"max_chars,omitempty"`
	// MaxHashtags caps the number of hashtags.
	MaxHashtags int `yaml:"max_hashtags,omitempty" json:"max_hashtags,omitempty"`
	// MinHashtags is how many hashtags the writer is asked for.
	MinHashtags int `yaml:"min_hashtags,omitempty" json:"min_hashtags,omitempty"`
}

// Range is an inclusive numeric range. It decodes from "1200-1500", "2-3%", a single number,
// or {min: 1200, max: 1500}, so Airtable's Content_Templates strings load unchanged.
type Range struct {
	Min float64 `yaml:"min" json:"min"`
	Max float64 `yaml:"max" json:"max"`
}

// IsZero reports whether the range is unset.
func (r Range) IsZero() bool { return r.Min == 0 && r.Max == 0 }

// Contains reports whether v lies in the range.
func (r Range) Contains(v float64) bool { return v >= r.Min && v <= r.Max }

// Mid is the middle of the range.
func (r Range) Mid() float64 { return (r.Min + r.Max) / 2 }

func (r Range) String() string {
	return strconv.FormatFloat(r.Min, 'f', -1, 64) + "-" + strconv.FormatFloat(r.Max, 'f', -1, 64)
}

// ParseRange parses "1200-1500", "2-3%", "2.5%" or "1200".
func ParseRange(s string) (Range, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(t, "%")
	t = strings.ReplaceAll(t, "%", "")
	lo, hi, found := strings.Cut(t, "-")
	if !found {
		lo, hi, found = strings.Cut(t, "–")
	}
	minV, err := strconv.ParseFloat(strings.TrimSpace(lo), 64)
	if err != nil {
		return Range{}, fmt.Errorf("not a range like \"1200-1500\" or \"2-3%%\" (got %q)", s)
	}
	maxV := minV
	if found {
		maxV, err = strconv.ParseFloat(strings.TrimSpace(hi), 64)
		if err != nil {
			return Range{}, fmt.Errorf("not a range like \"1200-1500\" or \"2-3%%\" (got %q)", s)
		}
	}
	return Range{Min: minV, Max: maxV}, nil
}

// UnmarshalYAML accepts a string, a number or a mapping.
func (r *Range) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		v, err := ParseRange(n.Value)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		*r = v
		return nil
	}
	type plain Range
	var p plain
	dec := n.Decode
	if err := dec(&p); err != nil {
		return err
	}
	*r = Range(p)
	return nil
}

// UnmarshalJSON accepts a string, a number or an object.
func (r *Range) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := ParseRange(s)
		if err != nil {
			return err
		}
		*r = v
		return nil
	}
	if len(b) > 0 && b[0] != '{' {
		v, err := ParseRange(string(b))
		if err != nil {
			return err
		}
		*r = v
		return nil
	}
	type plain Range
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return err
	}
	*r = Range(p)
	return nil
}

var templateID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Validate checks the template and fills defaults. Errors name the field.
func (t *Template) Validate() error {
	if !templateID.MatchString(t.ID) {
		return core.Invalid("id", "must be 1-64 lowercase letters, digits, _ or - (got %q)", t.ID)
	}
	if t.Name == "" {
		t.Name = t.ID
	}
	switch t.Format {
	case "":
		t.Format = FormatArticle
	case FormatArticle, FormatCaption:
	default:
		return core.Invalid("format", "must be %q or %q (got %q)", FormatArticle, FormatCaption, t.Format)
	}
	if o := t.OptimizationSettings; o != nil {
		if t.SEO != (SEOSettings{}) {
			return core.Invalid("optimization_settings", "give seo_settings or optimization_settings, not both")
		}
		t.SEO, t.OptimizationSettings = *o, nil
	}
	if len(t.Structure) == 0 {
		return core.Invalid("structure", "needs at least one section")
	}
	if len(t.Structure) > 30 {
		return core.Invalid("structure", "at most 30 sections (got %d)", len(t.Structure))
	}
	seen := map[string]bool{}
	for i := range t.Structure {
		s := &t.Structure[i]
		if s.ID == "" {
			return core.Invalid(fmt.Sprintf("structure[%d].id", i), "required")
		}
		if seen[s.ID] {
			return core.Invalid(fmt.Sprintf("structure[%d].id", i), "duplicate section %q", s.ID)
		}
		seen[s.ID] = true
		if s.Title == "" {
			s.Title = strings.ReplaceAll(s.ID, "_", " ")
		}
	}
	switch strings.ToLower(t.Brand.ExpertiseLevel) {
	case "":
		t.Brand.ExpertiseLevel = "intermediate"
	case "beginner", "beginners", "intermediate", "advanced", "expert":
		t.Brand.ExpertiseLevel = strings.ToLower(t.Brand.ExpertiseLevel)
	default:
		return core.Invalid("brand_guidelines.expertise_level", "must be beginner, intermediate or advanced (got %q)", t.Brand.ExpertiseLevel)
	}
	wc := t.Brand.WordCount
	if wc.IsZero() {
		return core.Invalid("brand_guidelines.word_count_range", "required, e.g. \"1200-1500\"")
	}
	if wc.Min < 1 || wc.Max < wc.Min || wc.Max > 20000 {
		return core.Invalid("brand_guidelines.word_count_range", "must satisfy 1 <= min <= max <= 20000 (got %s)", wc)
	}
	kd := t.SEO.KeywordDensity
	if kd.Min < 0 || kd.Max < kd.Min || kd.Max > 20 {
		return core.Invalid("seo_settings.keyword_density", "must satisfy 0 <= min <= max <= 20 percent (got %s)", kd)
	}
	if t.Limits.MaxChars < 0 || t.Limits.MaxHashtags < 0 || t.Limits.MinHashtags < 0 {
		return core.Invalid("limits", "limits may not be negative")
	}
	if t.Format == FormatCaption {
		if t.Limits.MaxChars == 0 || t.Limits.MaxChars > InstagramMaxCaptionChars {
			t.Limits.MaxChars = InstagramMaxCaptionChars
		}
		if t.Limits.MaxHashtags == 0 || t.Limits.MaxHashtags > InstagramMaxHashtags {
			t.Limits.MaxHashtags = InstagramMaxHashtags
		}
		if t.SEO.HeadingsRequired {
			return core.Invalid("seo_settings.headings_required", "a caption has no headings")
		}
	}
	if t.Limits.MinHashtags > t.Limits.MaxHashtags && t.Limits.MaxHashtags > 0 {
		return core.Invalid("limits.min_hashtags", "is above limits.max_hashtags")
	}
	return nil
}

// ParseTemplateYAML decodes one template strictly (unknown fields are errors) and validates
// it.
func ParseTemplateYAML(b []byte) (Template, error) {
	var t Template
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil {
		return Template{}, core.Invalid("", "%v", err)
	}
	if err := t.Validate(); err != nil {
		return Template{}, err
	}
	return t, nil
}

// ParseTemplateJSON decodes one template from an API body strictly and validates it.
func ParseTemplateJSON(b []byte) (Template, error) {
	var t Template
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return Template{}, core.Invalid("", "malformed template: %v", err)
	}
	t.Source = ""
	if err := t.Validate(); err != nil {
		return Template{}, err
	}
	return t, nil
}

//go:embed templates/*.yaml
var embedded embed.FS

var (
	builtinOnce   sync.Once
	builtinParsed []Template
)

// BuiltinTemplates returns the templates shipped in the binary, sorted by id. Each call
// returns fresh copies.
func BuiltinTemplates() []Template {
	builtinOnce.Do(func() {
		entries, err := fs.ReadDir(embedded, "templates")
		if err != nil {
			panic(err) // the embed directive guarantees the directory
		}
		for _, e := range entries {
			b, err := embedded.ReadFile(path.Join("templates", e.Name()))
			if err != nil {
				panic(err)
			}
			t, err := ParseTemplateYAML(b)
			if err != nil {
				panic(fmt.Sprintf("embedded template %s: %v", e.Name(), err)) // caught by tests
			}
			t.Source = "builtin"
			builtinParsed = append(builtinParsed, t)
		}
		sort.Slice(builtinParsed, func(i, j int) bool { return builtinParsed[i].ID < builtinParsed[j].ID })
	})
	out := make([]Template, len(builtinParsed))
	for i, t := range builtinParsed {
		t.Structure = append([]Section(nil), t.Structure...)
		out[i] = t
	}
	return out
}

// BuiltinTemplate returns the embedded template with that id.
func BuiltinTemplate(id string) (Template, bool) {
	for _, t := range BuiltinTemplates() {
		if t.ID == id {
			return t, true
		}
	}
	return Template{}, false
}
