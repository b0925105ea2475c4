package content

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/aquascene/aquahub/core"
)

// Request asks for one piece of content. API bodies and rule-step inputs name its fields
// template, topic, audience, keywords, instructions, brand_voice, partnership, ecommerce and
// request_id (RequestFromMap); the seed SDK's names (content_type, target_audience,
// seo_keywords, custom_instructions, partnership_data, e_commerce_data) are accepted as
// aliases.
type Request struct {
	// Template is the template id (alias content_type).
	Template string
	// Topic is what to write about.
	Topic string
	// Audience is who it is for, e.g. beginners (alias target_audience).
	Audience string
	// Keywords are the SEO keywords (alias seo_keywords); a comma-separated string works too.
	Keywords []string
	// Instructions are extra instructions for the writer (alias custom_instructions).
	Instructions string
	// BrandVoice overrides the tenant's brand voice for this request.
	BrandVoice string
	// Partnership is partner content data (alias partnership_data).
	Partnership *Partnership
	// ECommerce is the shop product the content is for (alias e_commerce_data).
	ECommerce *ECommerce
	// RequestID is the caller's id, echoed in events.
	RequestID string
}

// Partnership is the seed's partnership_data: a partner product the content features.
// PartnerID names a registered partner (Deps.Partners): its name, content guidelines and
// affiliate link fill the fields left empty when the content is generated, and listings
// filter by it.
type Partnership struct {
	Partner       string
	PartnerID     string
	ProductID     string
	ProductName   string
	ProductURL    string
	Category      string
	Description   string
	PriceRange    string
	KeyBenefits   []string
	AffiliateLink string
	// Voice, ProductIntegration and CallToAction are the partner's content guidelines.
	Voice              string
	ProductIntegration string
	CallToAction       string
}

var requestAliases = map[string]string{
	"content_type": "template", "contentType": "template", "template_id": "template",
	"target_audience": "audience", "targetAudience": "audience",
	"seo_keywords": "keywords", "seoKeywords": "keywords",
	"custom_instructions": "instructions", "customInstructions": "instructions",
	"partnership_data": "partnership", "partner": "partnership",
	"e_commerce_data": "ecommerce", "eCommerceData": "ecommerce", "e_commerce": "ecommerce",
	"requestId": "request_id",
}

var partnershipAliases = map[string]string{
	"name": "product_name", "product": "product_name", "affiliate_url": "affiliate_link",
	"productId": "product_id", "affiliateLink": "affiliate_link", "partnerId": "partner_id",
	"url": "product_url", "productUrl": "product_url", "brand_voice": "voice",
}

// RequestFromMap decodes a request from a JSON object or a rule step's rendered input.
// Unknown keys are errors naming the path under prefix; keys in ignore are skipped (the
// API's own fields such as async).
func RequestFromMap(m map[string]any, prefix string, ignore ...string) (Request, error) {
	var r Request
	p := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	skip := map[string]bool{}
	for _, k := range ignore {
		skip[k] = true
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	seen := map[string]string{}
	for _, key := range keys {
		if skip[key] {
			continue
		}
		v := m[key]
		name := key
		if a, ok := requestAliases[key]; ok {
			name = a
		}
		if prev, dup := seen[name]; dup {
			return r, core.Invalid(p(key), "duplicates %q", prev)
		}
		seen[name] = key
		var err error
		switch name {
		case "template":
			r.Template, err = str(v)
		case "topic":
			r.Topic, err = str(v)
		case "audience":
			r.Audience, err = str(v)
		case "instructions":
			r.Instructions, err = str(v)
		case "brand_voice":
			r.BrandVoice, err = str(v)
		case "request_id":
			r.RequestID, err = str(v)
		case "keywords":
			r.Keywords, err = strList(v)
		case "partnership":
			if v == nil {
				continue
			}
			pm, ok := v.(map[string]any)
			if !ok {
				return r, core.Invalid(p(key), "must be an object")
			}
			r.Partnership, err = partnershipFromMap(pm, p(key))
			if err != nil {
				return r, err
			}
		case "ecommerce":
			if v == nil {
				continue
			}
			em, ok := v.(map[string]any)
			if !ok {
				return r, core.Invalid(p(key), "must be an object")
			}
			if r.ECommerce, err = ecommerceFromMap(em, p(key)); err != nil {
				return r, err
			}
		default:
			return r, core.Invalid(p(key), "unknown field")
		}
		if err != nil {
			return r, core.Invalid(p(key), "%v", err)
		}
	}
	return r, r.Validate(prefix)
}

func partnershipFromMap(m map[string]any, path string) (*Partnership, error) {
	var pt Partnership
	for key, v := range m {
		name := key
		if a, ok := partnershipAliases[key]; ok {
			name = a
		}
		var err error
		switch name {
		case "partner":
			pt.Partner, err = str(v)
		case "partner_id":
			pt.PartnerID, err = str(v)
		case "product_url":
			pt.ProductURL, err = str(v)
		case "voice":
			pt.Voice, err = str(v)
		case "product_integration":
			pt.ProductIntegration, err = str(v)
		case "call_to_action":
			pt.CallToAction, err = str(v)
		case "product_id":
			pt.ProductID, err = str(v)
		case "product_name":
			pt.ProductName, err = str(v)
		case "category":
			pt.Category, err = str(v)
		case "description":
			pt.Description, err = str(v)
		case "price_range":
			pt.PriceRange, err = str(v)
		case "affiliate_link":
			pt.AffiliateLink, err = str(v)
		case "key_benefits":
			pt.KeyBenefits, err = strList(v)
		default:
			return nil, core.Invalid(path+"."+key, "unknown field")
		}
		if err != nil {
			return nil, core.Invalid(path+"."+key, "%v", err)
		}
	}
	return &pt, nil
}

func str(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return strings.TrimSpace(x), nil
	case float64, int, int64, bool, json.Number:
		return fmt.Sprint(x), nil
	default:
		return "", fmt.Errorf("must be a string")
	}
}

func strList(v any) ([]string, error) {
	var out []string
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		for _, s := range strings.Split(x, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	case []string:
		for _, s := range x {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	case []any:
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("item %d must be a string", i)
			}
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	default:
		return nil, fmt.Errorf("must be a list of strings or a comma-separated string")
	}
	return out, nil
}

// Limits on request fields, so that one request cannot make a prompt unbounded.
const (
	maxTopicLen        = 300
	maxInstructionsLen = 4000
	maxKeywords        = 20
)

// Validate checks the request; errors name the field under prefix.
func (r *Request) Validate(prefix string) error {
	p := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	if r.Template == "" {
		return core.Invalid(p("template"), "required")
	}
	if r.Topic == "" {
		return core.Invalid(p("topic"), "required")
	}
	if len(r.Topic) > maxTopicLen {
		return core.Invalid(p("topic"), "longer than %d characters", maxTopicLen)
	}
	if len(r.Instructions) > maxInstructionsLen {
		return core.Invalid(p("instructions"), "longer than %d characters", maxInstructionsLen)
	}
	if len(r.Keywords) > maxKeywords {
		return core.Invalid(p("keywords"), "at most %d keywords (got %d)", maxKeywords, len(r.Keywords))
	}
	for i, k := range r.Keywords {
		if len(Words(k)) == 0 || len(k) > 80 {
			return core.Invalid(fmt.Sprintf("%s[%d]", p("keywords"), i), "must hold 1-80 characters with a word (got %q)", k)
		}
	}
	if e := r.ECommerce; e != nil {
		if err := e.validate(p("ecommerce")); err != nil {
			return err
		}
	}
	if pt := r.Partnership; pt != nil {
		if pt.Partner == "" && pt.PartnerID == "" {
			return core.Invalid(p("partnership.partner"), "required (or partner_id, naming a registered partner)")
		}
		if pt.AffiliateLink != "" {
			u, err := url.Parse(pt.AffiliateLink)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.ContainsAny(pt.AffiliateLink, " \n\t()") {
				return core.Invalid(p("partnership.affiliate_link"), "must be an http(s) URL without spaces or parentheses (got %q)", pt.AffiliateLink)
			}
		}
	}
	return nil
}

// audienceOr returns the request's audience, defaulting to the template's expertise level.
func (r *Request) audienceOr(t *Template) string {
	if r.Audience != "" {
		return r.Audience
	}
	return t.Brand.ExpertiseLevel
}
