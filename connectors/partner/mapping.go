package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/aquascene/aquahub/sdk/catalog"
)

// Product is one partner product in the hub's shape, whatever the partner's API calls its
// fields.
type Product struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Category     string   `json:"category,omitempty"`
	Description  string   `json:"description,omitempty"`
	PriceRange   string   `json:"price_range,omitempty"`
	KeyBenefits  []string `json:"key_benefits"`
	URL          string   `json:"url,omitempty"`
	InStock      bool     `json:"in_stock"`
	SEOKeywords  []string `json:"seo_keywords,omitempty"`
	AffiliateURL string   `json:"affiliate_url,omitempty"`
	Partner      string   `json:"partner,omitempty"`
	// Raw is the partner's item as received, with config include_raw: the hub's partner
	// mapping evaluates expressions over it and removes it.
	Raw any `json:"raw,omitempty"`
}

// fields are the product fields a mapping may name, with the partner path used when the
// mapping names none.
var fields = []string{"id", "name", "category", "description", "price_range", "key_benefits", "url", "in_stock", "seo_keywords", "affiliate_url"}

// mapping maps each product field to a dotted path into a partner item: "a.b" reads nested
// objects, "a.0.b" indexes arrays, "a.*.b" collects from every element of an array. With
// raw set, each product carries its item and may lack an id, which the hub then maps.
type mapping struct {
	paths map[string]string
	raw   bool
}

// parseMapping reads the mapping config, defaulting every field to its own name.
func parseMapping(raw any) (mapping, error) {
	m := mapping{paths: map[string]string{}}
	for _, f := range fields {
		m.paths[f] = f
	}
	if raw == nil {
		return m, nil
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return m, fmt.Errorf("config mapping: want an object of product field to dotted path (got %T)", raw)
	}
	for k, v := range obj {
		if _, known := m.paths[k]; !known {
			sorted := append([]string(nil), fields...)
			sort.Strings(sorted)
			return m, fmt.Errorf("config mapping.%s: not a product field (want one of %s)", k, strings.Join(sorted, ", "))
		}
		p, ok := v.(string)
		if !ok || strings.TrimSpace(p) == "" {
			return m, fmt.Errorf("config mapping.%s: want a dotted path such as \"details.title\" (got %v)", k, v)
		}
		m.paths[k] = strings.TrimSpace(p)
	}
	return m, nil
}

// lookup resolves a dotted path in v. A "*" segment maps the rest of the path over an
// array and returns the matches as an array.
func lookup(v any, path string) any {
	if path == "" || path == "." {
		return v
	}
	return walk(v, strings.Split(path, "."))
}

func walk(v any, segs []string) any {
	for i, s := range segs {
		switch t := v.(type) {
		case map[string]any:
			v = t[s]
		case []any:
			if s == "*" {
				var out []any
				for _, e := range t {
					if r := walk(e, segs[i+1:]); r != nil {
						if arr, ok := r.([]any); ok && containsWildcard(segs[i+1:]) {
							out = append(out, arr...)
						} else {
							out = append(out, r)
						}
					}
				}
				return out
			}
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 || n >= len(t) {
				return nil
			}
			v = t[n]
		default:
			return nil
		}
	}
	return v
}

func containsWildcard(segs []string) bool {
	for _, s := range segs {
		if s == "*" {
			return true
		}
	}
	return false
}

// apply maps one partner item onto a Product.
func (m mapping) apply(item any, partner string) (Product, error) {
	path := m.paths
	p := Product{
		ID:           catalog.String(lookup(item, path["id"])),
		Name:         catalog.String(lookup(item, path["name"])),
		Category:     catalog.String(lookup(item, path["category"])),
		Description:  catalog.String(lookup(item, path["description"])),
		PriceRange:   catalog.String(lookup(item, path["price_range"])),
		KeyBenefits:  catalog.Strings(lookup(item, path["key_benefits"])),
		URL:          catalog.String(lookup(item, path["url"])),
		InStock:      catalog.Bool(lookup(item, path["in_stock"])),
		SEOKeywords:  catalog.Strings(lookup(item, path["seo_keywords"])),
		AffiliateURL: catalog.String(lookup(item, path["affiliate_url"])),
		Partner:      partner,
	}
	if p.KeyBenefits == nil {
		p.KeyBenefits = []string{}
	}
	if m.raw {
		p.Raw = item
		return p, nil
	}
	if p.ID == "" {
		return p, fmt.Errorf("config mapping.id: path %q finds no id in the partner's item", path["id"])
	}
	return p, nil
}
