package content

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"unicode"
)

// BuiltinModel is the model name the builtin writer reports.
const BuiltinModel = "builtin-template-filler"

// BuiltinProvider is an offline, deterministic template filler. It is not a language model
// and does not understand the topic: it walks the template's sections and assembles
// sentences from fixed phrase banks, substituting the topic, audience, keywords and
// partnership data, while steering the word count and keyword density into the template's
// ranges. The same request always yields the same text. Free-text instructions are not
// interpreted. It exists so that every flow (rules, API, CLI, tests, `aquahub dev`) works
// with no network and no key; use the openai provider for real writing.
type BuiltinProvider struct{}

// Name returns "builtin".
func (BuiltinProvider) Name() string { return "builtin" }

// Write fills the template. It uses no tokens and costs nothing.
func (BuiltinProvider) Write(ctx context.Context, in WriteInput) (Written, error) {
	if err := ctx.Err(); err != nil {
		return Written{}, err
	}
	return Written{Draft: fillTemplate(in.Template, in.Request), Model: BuiltinModel, Attempts: 1}, nil
}

var _ Provider = BuiltinProvider{}

// sectionRole maps a section onto a phrase bank by the words in its id and title.
func sectionRole(s Section) string {
	n := strings.ToLower(s.ID + " " + s.Title)
	switch {
	case strings.Contains(n, "intro") || strings.Contains(n, "overview") || strings.Contains(n, "hook"):
		return "intro"
	case strings.Contains(n, "call") || strings.Contains(n, "verdict") || strings.Contains(n, "where") || strings.Contains(n, "next"):
		return "cta"
	case strings.Contains(n, "product") || strings.Contains(n, "featured"):
		return "product"
	case strings.Contains(n, "tip") || strings.Contains(n, "setup") || strings.Contains(n, "practice"):
		return "tips"
	case strings.Contains(n, "pros") || strings.Contains(n, "cons"):
		return "proscons"
	case strings.Contains(n, "story"):
		return "story"
	default:
		return "body"
	}
}

// Phrase banks. {kw} marks a keyword slot, {topic} the topic, {aud} the audience.
var phraseBanks = map[string][]string{
	"intro": {
		"Every great tank starts with one simple question: where do you begin with {topic}?",
		"If you have ever stared at an empty glass box and felt unsure, this guide is for you.",
		"Many {aud} tell us that {kw} felt hard at first, then suddenly made sense.",
		"In this issue we walk through {topic} step by step, with no jargon and no guesswork.",
		"You will learn what matters most, what you can skip, and how to avoid the common traps.",
		"Good {kw} is less about money and more about patience and a clear plan.",
		"We have set up many tanks over the years, and the same lessons come up again and again.",
		"By the end, you will have a plan you can start on this weekend.",
	},
	"body": {
		"Start with the basics: light, substrate, water and time all work together.",
		"A stable tank is a forgiving tank, so change one thing at a time.",
		"Most problems with {kw} come from doing too much too fast.",
		"Plants need light to grow, but too much light without enough nutrients feeds algae.",
		"Aim for six to eight hours of light a day at first, then adjust slowly.",
		"Test your water once a week and write the results down.",
		"Small weekly water changes keep nitrate low and plants healthy.",
		"Fast growing stem plants help a new tank by taking up extra nutrients.",
		"Think about the layout before you add water, because moving stones later is messy.",
		"A simple rule of thirds gives the eye a natural place to rest.",
		"Good flow carries nutrients to every leaf and keeps debris from settling.",
		"When you plan {kw}, think in layers: foreground, midground and background.",
		"Carpet plants look lovely in front, while tall stems frame the back.",
		"Hardscape sets the mood of the tank, so choose stones and wood that match.",
		"Let the tank cycle for a few weeks before you add fish or shrimp.",
		"Patience pays off, since roots need time to settle into the soil.",
		"The right {kw} choices depend on your tank size and your time.",
		"Keep notes on what you change so you can see what works.",
		"Healthy plants pearl in the afternoon, which is a sign of good balance.",
		"Trim often and a little at a time rather than all at once.",
		"A good filter should turn over the tank volume several times an hour.",
		"Clear water is nice, but stable water is what your livestock needs.",
		"Many of the best tanks use only a few kinds of plants.",
		"Take photos each week; they show progress you might not notice.",
		"Shrimp and small fish do best in a tank that has had time to mature.",
		"Soft water suits most plants, but hard water can work with the right choices.",
		"If algae shows up, look at light and nutrients before you reach for a bottle.",
		"A lid slows evaporation and keeps jumping fish where they belong.",
		"Roots and rhizomes behave differently, so plant each kind the right way.",
		"A thin layer of fine gravel on top keeps soil from clouding the water.",
		"Wood can tint the water brown for a while, which does no harm.",
		"Moss and ferns grow on wood and stone, so they need no soil at all.",
		"Quiet corners with shade give shy fish a place to rest.",
		"The first month is the hardest, and it gets easier from there.",
	},
	"tips": {
		"Rinse new hardscape well before it goes into the tank.",
		"Use a timer for the light so the day length never changes.",
		"Dose fertiliser in small amounts and watch how the plants respond.",
		"Keep a spare bucket and hose only for the aquarium.",
		"Trim stem plants above a leaf node so they branch and grow bushy.",
		"Remove melting leaves early so they do not feed algae.",
		"Match new water to the tank temperature before you pour it in.",
		"For {kw}, start with hardy plants and add harder ones later.",
		"Clean the glass before water changes so the debris gets siphoned out.",
		"Add livestock slowly, a few at a time, over several weeks.",
	},
	"safety": {
		"Safety first: unplug heaters, filters and lights before your hands go in the water.",
		"For safety, use drip loops on every cable so water cannot run into the socket.",
		"Keep fertilisers and CO2 gear safely out of reach of children and pets.",
		"Never mix water treatments without reading the labels; some are not safe together.",
		"A safe tank is a calm tank: watch your fish after any change and stop if they gasp at the surface.",
	},
	"product": {
		"You do not need the most expensive gear to get great {kw} results.",
		"A good light, a reliable filter and a quality soil cover most needs.",
		"Look for a light with adjustable power so you can start low.",
		"A nutrient rich soil gives roots a strong start in the first months.",
		"An in-line diffuser keeps CO2 bubbles out of sight and works well.",
		"Choose tools with long handles so you can plant without disturbing the soil.",
		"Buy from shops that explain what they sell and stand behind it.",
	},
	"proscons": {
		"Pro: it is simple to set up and easy to live with day to day.",
		"Pro: it works well for {kw} in small and mid sized tanks.",
		"Pro: the build quality feels solid for the price.",
		"Con: it costs more than the basic options.",
		"Con: larger tanks may need a second unit.",
		"Con: the manual could explain the settings better.",
	},
	"story": {
		"This tank started as an empty box and a handful of stones.",
		"Six weeks later, the plants have filled in and the shrimp are busy.",
		"It is a reminder that {kw} rewards patience more than money.",
		"Every leaf here grew from a few small cuttings.",
	},
	"cta": {
		"Now it is your turn: pick one idea from this guide and try it this week.",
		"Share a photo of your tank with us, we love to see your progress.",
		"Have a question about {kw}? Reply to this email and we will answer in a future issue.",
		"Save this guide so you can come back to it when you need it.",
		"See you in the next issue, and happy scaping.",
	},
}

// generalKeywordSentences give the writer more keyword slots when a section's own bank runs
// short of them.
var generalKeywordSentences = []string{
	"Good {kw} takes a little planning and a lot of patience.",
	"The best part of {kw} is watching a tank grow week by week.",
	"With {kw}, small steady changes beat big sudden ones.",
	"Anyone can learn {kw} with the right steps.",
	"Simple habits make {kw} easier for {aud}.",
}

var captionHashtags = []string{
	"aquascaping", "aquascape", "plantedtank", "plantedaquarium", "natureaquarium", "aquarium",
	"aquariumplants", "fishtank", "aquariumhobby", "shrimptank", "iwagumi", "aquascaper",
	"freshwateraquarium", "aquaticplants", "tankgoals",
}

type filler struct {
	t        *Template
	r        *Request
	rng      *rand.Rand
	aud      string
	kwUse    []int
	words    int
	kwWords  float64
	target   float64 // keyword share of words, as a fraction
	used     map[string]int
	partner  *Partnership
	linkDone bool
}

func seedFor(t *Template, r *Request) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s", t.ID, r.Topic, r.Audience, strings.Join(r.Keywords, ","), r.Instructions)
	if r.Partnership != nil {
		fmt.Fprintf(h, "\x00%+v", *r.Partnership)
	}
	if r.ECommerce != nil {
		fmt.Fprintf(h, "\x00%+v", *r.ECommerce)
	}
	return h.Sum64()
}

func fillTemplate(t *Template, r *Request) Draft {
	seed := seedFor(t, r)
	f := &filler{
		t: t, r: r, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		aud: r.audienceOr(t), kwUse: make([]int, len(r.Keywords)), used: map[string]int{},
		target: t.SEO.KeywordDensity.Mid() / 100, partner: r.Partnership,
	}
	if !isPlural(f.aud) {
		f.aud += " aquascapers"
	}
	if t.Format == FormatCaption {
		return f.caption()
	}
	return f.article()
}

func isPlural(aud string) bool {
	a := strings.ToLower(strings.TrimSpace(aud))
	return strings.HasSuffix(a, "s") || strings.HasSuffix(a, "people") || strings.HasSuffix(a, "everyone")
}

func (f *filler) article() Draft {
	var b strings.Builder
	title := titleCase(f.r.Topic)
	fmt.Fprintf(&b, "# %s\n\n", title)
	totalTarget := int(f.t.Brand.WordCount.Mid())
	perSection := max(totalTarget/len(f.t.Structure), 20)
	for i, sec := range f.t.Structure {
		fmt.Fprintf(&b, "## %s\n\n", sec.Title)
		role := sectionRole(sec)
		budget := perSection
		if i == len(f.t.Structure)-1 {
			budget = max(totalTarget-f.words, 20)
		}
		var sentences []string
		start := f.words
		if role == "product" && f.partner != nil {
			sentences = append(sentences, f.partnerSentences()...)
		}
		if role == "tips" && f.t.Brand.IncludeSafetyTips {
			sentences = append(sentences, f.fill(f.pick("safety")))
		}
		for _, s := range sentences {
			f.count(s)
		}
		for f.words-start < budget {
			s := f.next(role)
			sentences = append(sentences, s)
		}
		if role == "cta" && f.partner != nil {
			sentences = append(sentences, f.partnerCTA())
		}
		if role == "cta" && f.r.ECommerce != nil {
			if s := f.r.ECommerce.sentence(); s != "" {
				f.count(s)
				sentences = append(sentences, s)
			}
		}
		if role == "tips" || role == "proscons" {
			for _, s := range sentences {
				fmt.Fprintf(&b, "- %s\n", s)
			}
			b.WriteString("\n")
			continue
		}
		for j := 0; j < len(sentences); j += 4 {
			b.WriteString(strings.Join(sentences[j:min(j+4, len(sentences))], " "))
			b.WriteString("\n\n")
		}
	}
	if f.partner != nil && !f.linkDone {
		fmt.Fprintf(&b, "%s\n", f.partnerCTA())
	}
	return Draft{Title: title, MetaDescription: f.meta(), BodyMarkdown: strings.TrimRight(b.String(), "\n") + "\n"}
}

func (f *filler) caption() Draft {
	var lines []string
	totalTarget := int(f.t.Brand.WordCount.Mid())
	perSection := max(totalTarget/len(f.t.Structure), 8)
	for _, sec := range f.t.Structure {
		role := sectionRole(sec)
		start := f.words
		var parts []string
		if role == "intro" {
			parts = append(parts, f.fill(titleCase(f.r.Topic)+" ✨"))
			f.count(parts[0])
		}
		for f.words-start < perSection {
			parts = append(parts, f.next(role))
		}
		lines = append(lines, strings.Join(parts, " "))
	}
	if f.partner != nil {
		lines = append(lines, f.partnerCTA())
	}
	body := strings.Join(lines, "\n\n") + "\n"
	// Hashtags: keywords first, then the bank, up to the template's ask and the limit.
	var tags []string
	for _, k := range f.r.Keywords {
		tags = append(tags, strings.Join(Words(strings.ToLower(k)), ""))
	}
	want := max(f.t.Limits.MinHashtags, 10)
	if f.t.Limits.MaxHashtags > 0 {
		want = min(want, f.t.Limits.MaxHashtags)
	}
	off := f.rng.IntN(len(captionHashtags))
	for i := 0; len(normalizeHashtags(tags)) < want && i < len(captionHashtags); i++ {
		tags = append(tags, captionHashtags[(off+i)%len(captionHashtags)])
	}
	tags = normalizeHashtags(tags)
	if len(tags) > want {
		tags = tags[:want]
	}
	return Draft{Title: titleCase(f.r.Topic), BodyMarkdown: body, Hashtags: tags}
}

// next picks the section's next sentence, steering keyword density towards the middle of
// the template's range.
func (f *filler) next(role string) string {
	bank := phraseBanks[role]
	if role == "intro" && f.t.Format == FormatCaption {
		bank = phraseBanks["story"]
	}
	wantKW := len(f.r.Keywords) > 0 && f.kwWords < f.target*float64(f.words+12)
	var candidates []string
	for _, s := range bank {
		if strings.Contains(s, "{kw}") == wantKW {
			candidates = append(candidates, s)
		}
	}
	if wantKW {
		candidates = append(candidates, generalKeywordSentences...)
	}
	if len(candidates) == 0 {
		candidates = phraseBanks["body"]
	}
	// Once a section's own bank is used up, borrow from the general bank too.
	if role != "body" && f.minUse(candidates) > 0 {
		for _, s := range phraseBanks["body"] {
			if strings.Contains(s, "{kw}") == wantKW {
				candidates = append(candidates, s)
			}
		}
	}
	// Prefer the least used candidate; break ties with the seeded generator.
	best, bestUse := "", -1
	off := f.rng.IntN(len(candidates))
	for i := range candidates {
		c := candidates[(off+i)%len(candidates)]
		if u := f.used[c]; bestUse < 0 || u < bestUse {
			best, bestUse = c, u
		}
	}
	f.used[best]++
	s := f.fill(best)
	f.count(s)
	return s
}

func (f *filler) minUse(cands []string) int {
	m := -1
	for _, c := range cands {
		if u := f.used[c]; m < 0 || u < m {
			m = u
		}
	}
	return m
}

func (f *filler) pick(role string) string {
	bank := phraseBanks[role]
	s := bank[f.rng.IntN(len(bank))]
	f.used[s]++
	return s
}

// fill substitutes the slots; {kw} takes the least used keyword.
func (f *filler) fill(s string) string {
	for strings.Contains(s, "{kw}") {
		kw := "aquascaping"
		if len(f.r.Keywords) > 0 {
			i := 0
			for j := range f.kwUse {
				if f.kwUse[j] < f.kwUse[i] {
					i = j
				}
			}
			f.kwUse[i]++
			kw = f.r.Keywords[i]
		}
		s = strings.Replace(s, "{kw}", kw, 1)
	}
	s = strings.ReplaceAll(s, "{topic}", strings.ToLower(f.r.Topic))
	s = strings.ReplaceAll(s, "{aud}", f.aud)
	return upperFirst(s)
}

func (f *filler) count(s string) {
	ws := Words(s)
	f.words += len(ws)
	if len(f.r.Keywords) > 0 {
		d, _ := KeywordDensity(ws, f.r.Keywords)
		f.kwWords += d / 100 * float64(len(ws))
	}
}

func (f *filler) partnerSentences() []string {
	p := f.partner
	product := orDefault(p.ProductName, "this product")
	out := []string{fmt.Sprintf("We have partnered with %s to feature %s.", p.Partner, product)}
	if p.Description != "" {
		out = append(out, fmt.Sprintf("%s: %s", product, strings.TrimRight(p.Description, ".")+"."))
	}
	if len(p.KeyBenefits) > 0 {
		out = append(out, fmt.Sprintf("Key benefits are %s.", strings.Join(p.KeyBenefits, ", ")))
	}
	if p.PriceRange != "" {
		out = append(out, fmt.Sprintf("Expect to pay around %s.", p.PriceRange))
	}
	for _, s := range out {
		f.count(s)
	}
	return out
}

func (f *filler) partnerCTA() string {
	p := f.partner
	product := orDefault(p.ProductName, "the products we use")
	f.linkDone = true
	if cta := strings.TrimRight(strings.TrimSpace(p.CallToAction), "."); cta != "" {
		if p.AffiliateLink != "" {
			return fmt.Sprintf("%s: [%s at %s](%s).", cta, product, p.Partner, p.AffiliateLink)
		}
		return cta + "."
	}
	if p.AffiliateLink != "" {
		return fmt.Sprintf("Get %s from our partner %s: [shop at %s](%s).", product, p.Partner, p.Partner, p.AffiliateLink)
	}
	return fmt.Sprintf("Find %s at our partner %s.", product, p.Partner)
}

// meta writes a meta description of 50-160 characters.
func (f *filler) meta() string {
	kws := f.r.Keywords
	var s string
	switch {
	case len(kws) >= 2:
		s = fmt.Sprintf("%s: practical tips on %s and %s for %s.", titleCase(f.r.Topic), kws[0], kws[1], f.aud)
	case len(kws) == 1:
		s = fmt.Sprintf("%s: practical, step by step tips on %s for %s.", titleCase(f.r.Topic), kws[0], f.aud)
	default:
		s = fmt.Sprintf("%s: a practical, step by step guide for %s.", titleCase(f.r.Topic), f.aud)
	}
	if len([]rune(s)) < MetaDescriptionMin {
		s += " Clear steps, safe habits and honest advice."
	}
	if r := []rune(s); len(r) > MetaDescriptionMax {
		cut := string(r[:MetaDescriptionMax-1])
		if i := strings.LastIndexByte(cut, ' '); i > 0 {
			cut = cut[:i]
		}
		s = strings.TrimRight(cut, ",;:") + "…"
	}
	return s
}

func titleCase(s string) string {
	small := map[string]bool{"a": true, "an": true, "and": true, "the": true, "of": true, "for": true, "to": true, "in": true, "on": true, "with": true, "or": true}
	ws := strings.Fields(s)
	for i, w := range ws {
		if i > 0 && small[strings.ToLower(w)] {
			ws[i] = strings.ToLower(w)
			continue
		}
		ws[i] = upperFirst(w)
	}
	return strings.Join(ws, " ")
}

func upperFirst(s string) string {
	for i, r := range s {
		return string(unicode.ToUpper(r)) + s[i+len(string(r)):]
	}
	return s
}
