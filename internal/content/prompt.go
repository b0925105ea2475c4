package content

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aquascene/aquahub/core"
)

// Prompt is the pair of chat messages sent to a language model.
type Prompt struct {
	System string
	User   string
}

// DefaultBrandVoice is used when a tenant configures none.
const DefaultBrandVoice = "You write for an aquascaping brand: knowledgeable, warm and practical. " +
	"You never invent facts, prices or studies, and you put the wellbeing of fish, shrimp and plants first."

// BuildPrompt builds the system prompt from the brand voice, the tenant's brand guidelines
// (as the seed's "Brand guidelines:" block) and the template, and the user prompt from the
// request. The model is asked to answer with one JSON object whose fields are those of
// Draft, which ParseAnswer reads.
func BuildPrompt(t *Template, r *Request, brandVoice string, brand core.BrandGuidelines) Prompt {
	if r.BrandVoice != "" {
		brandVoice = r.BrandVoice
	}
	if strings.TrimSpace(brandVoice) == "" {
		brandVoice = DefaultBrandVoice
	}
	var s strings.Builder
	s.WriteString(strings.TrimSpace(brandVoice))
	if !brand.IsZero() {
		s.WriteString("\n\nBrand guidelines:")
		if brand.Voice != "" {
			fmt.Fprintf(&s, "\n- Voice: %s", strings.TrimSpace(brand.Voice))
		}
		if brand.TargetAudience != "" {
			fmt.Fprintf(&s, "\n- Target audience: %s", strings.TrimSpace(brand.TargetAudience))
		}
		if len(brand.KeyMessages) > 0 {
			fmt.Fprintf(&s, "\n- Key messages: %s", strings.Join(brand.KeyMessages, ", "))
		}
	}
	fmt.Fprintf(&s, "\n\nYou are writing a %s (%s).", t.Name, t.Format)
	if t.Description != "" {
		fmt.Fprintf(&s, " %s", t.Description)
	}
	fmt.Fprintf(&s, "\nTone: %s. Expertise level: %s.", orDefault(t.Brand.Tone, "friendly"), t.Brand.ExpertiseLevel)
	fmt.Fprintf(&s, "\nLength: %s words in the body.", t.Brand.WordCount)
	if t.Brand.IncludeSafetyTips {
		s.WriteString("\nInclude safety tips (livestock, electrics, chemicals) and use the word \"safety\" or \"safe\".")
	}
	s.WriteString("\n\nStructure, in this order:")
	for i, sec := range t.Structure {
		if t.Format == FormatArticle {
			fmt.Fprintf(&s, "\n%d. A level-2 Markdown heading starting with %q", i+1, sec.Title)
		} else {
			fmt.Fprintf(&s, "\n%d. %s", i+1, sec.Title)
		}
		if sec.Guidance != "" {
			fmt.Fprintf(&s, ": %s", sec.Guidance)
		}
	}
	s.WriteString("\n\nSEO:")
	if !t.SEO.KeywordDensity.IsZero() {
		fmt.Fprintf(&s, "\n- Keywords together make up %s%% of the words.", t.SEO.KeywordDensity)
	}
	if t.SEO.HeadingsRequired {
		s.WriteString("\n- Every section has its heading.")
	}
	if t.SEO.MetaDescription {
		fmt.Fprintf(&s, "\n- A meta description of %d-%d characters.", MetaDescriptionMin, MetaDescriptionMax)
	}
	if t.Format == FormatCaption {
		fmt.Fprintf(&s, "\n- Between %d and %d hashtags, without the # sign, in the hashtags field; caption plus hashtags at most %d characters.",
			max(t.Limits.MinHashtags, 1), t.Limits.MaxHashtags, t.Limits.MaxChars)
	}
	s.WriteString("\n\nNever include personal data (emails, phone numbers, ID or card numbers).")
	s.WriteString("\nAnswer with one JSON object and nothing else: " +
		`{"title": string, "meta_description": string, "body_markdown": string, "hashtags": [string]}.`)

	var u strings.Builder
	fmt.Fprintf(&u, "Topic: %s\n", r.Topic)
	fmt.Fprintf(&u, "Audience: %s\n", r.audienceOr(t))
	if len(r.Keywords) > 0 {
		fmt.Fprintf(&u, "SEO keywords: %s\n", strings.Join(r.Keywords, ", "))
	}
	if pt := r.Partnership; pt != nil {
		fmt.Fprintf(&u, "\nPartnership: feature content in partnership with %s.\n", pt.Partner)
		if pt.ProductName != "" {
			fmt.Fprintf(&u, "Product: %s", pt.ProductName)
			if pt.ProductID != "" {
				fmt.Fprintf(&u, " (id %s)", pt.ProductID)
			}
			u.WriteString("\n")
		}
		if pt.Category != "" {
			fmt.Fprintf(&u, "Category: %s\n", pt.Category)
		}
		if pt.Description != "" {
			fmt.Fprintf(&u, "Product details: %s\n", pt.Description)
		}
		if pt.PriceRange != "" {
			fmt.Fprintf(&u, "Price range: %s\n", pt.PriceRange)
		}
		if len(pt.KeyBenefits) > 0 {
			fmt.Fprintf(&u, "Key benefits: %s\n", strings.Join(pt.KeyBenefits, ", "))
		}
		if pt.ProductURL != "" {
			fmt.Fprintf(&u, "Product page: %s\n", pt.ProductURL)
		}
		if pt.AffiliateLink != "" {
			fmt.Fprintf(&u, "The body MUST contain this affiliate link exactly once, as a Markdown link: %s\n", pt.AffiliateLink)
		}
		if pt.Voice != "" {
			fmt.Fprintf(&u, "Voice for %s content: %s\n", pt.Partner, strings.TrimSpace(pt.Voice))
		}
		if pt.ProductIntegration != "" {
			fmt.Fprintf(&u, "Product integration: %s\n", strings.TrimSpace(pt.ProductIntegration))
		} else {
			u.WriteString("Integrate the product naturally.\n")
		}
		if pt.CallToAction != "" {
			fmt.Fprintf(&u, "Call to action: %s\n", strings.TrimSpace(pt.CallToAction))
		} else {
			fmt.Fprintf(&u, "End with a call to action mentioning the %s partnership.\n", pt.Partner)
		}
	}
	if e := r.ECommerce; e != nil {
		e.promptLines(&u)
	}
	if r.Instructions != "" {
		fmt.Fprintf(&u, "\nAdditional instructions:\n%s\n", strings.TrimSpace(r.Instructions))
	}
	return Prompt{System: s.String(), User: u.String()}
}

// ParseAnswer reads a model's answer: one JSON object with the Draft fields, possibly inside
// a ```json fence or with prose around it. A missing body is an error.
func ParseAnswer(answer string) (Draft, error) {
	s := strings.TrimSpace(answer)
	if i := strings.Index(s, "```"); i >= 0 {
		rest := s[i+3:]
		rest = strings.TrimPrefix(rest, "json")
		if j := strings.Index(rest, "```"); j >= 0 {
			s = strings.TrimSpace(rest[:j])
		}
	}
	if i, j := strings.IndexByte(s, '{'), strings.LastIndexByte(s, '}'); i >= 0 && j > i {
		s = s[i : j+1]
	} else {
		return Draft{}, fmt.Errorf("answer is not a JSON object")
	}
	var raw struct {
		Title           string          `json:"title"`
		MetaDescription string          `json:"meta_description"`
		Body            string          `json:"body_markdown"`
		Hashtags        json.RawMessage `json:"hashtags"`
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	if err := dec.Decode(&raw); err != nil {
		return Draft{}, fmt.Errorf("answer is not valid JSON: %v", err)
	}
	if strings.TrimSpace(raw.Body) == "" {
		return Draft{}, fmt.Errorf("answer has no body_markdown")
	}
	d := Draft{Title: strings.TrimSpace(raw.Title), MetaDescription: strings.TrimSpace(raw.MetaDescription), BodyMarkdown: raw.Body}
	if len(raw.Hashtags) > 0 && string(raw.Hashtags) != "null" {
		var v any
		_ = json.Unmarshal(raw.Hashtags, &v)
		tags, err := strList(v)
		if err != nil {
			return Draft{}, fmt.Errorf("hashtags: %v", err)
		}
		d.Hashtags = normalizeHashtags(tags)
	}
	if d.Title == "" {
		_, hs := SplitMarkdown(d.BodyMarkdown)
		for _, h := range hs {
			if h.Level == 1 {
				d.Title = h.Text
				break
			}
		}
	}
	return d, nil
}

// normalizeHashtags strips '#', spaces and duplicates.
func normalizeHashtags(tags []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range tags {
		t = strings.TrimLeft(strings.TrimSpace(t), "#")
		t = strings.Join(strings.Fields(t), "")
		if t == "" || seen[strings.ToLower(t)] {
			continue
		}
		seen[strings.ToLower(t)] = true
		out = append(out, t)
	}
	return out
}

// MalformedAnswerError is a model answer ParseAnswer could not read.
type MalformedAnswerError struct{ Err error }

func (e *MalformedAnswerError) Error() string { return "malformed model answer: " + e.Err.Error() }
func (e *MalformedAnswerError) Unwrap() error { return e.Err }

func malformed(err error) error { return core.Transient(&MalformedAnswerError{Err: err}) }

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
