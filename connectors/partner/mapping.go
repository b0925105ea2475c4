package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
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

func asString(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(t)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case json.Number:
		return t.String()
	case bool:
		return strconv.FormatBool(t)
	case []any:
		parts := asStrings(t)
		return strings.Join(parts, ", ")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// asStrings turns an array (or a string of lines) into its non-empty strings.
func asStrings(v any) []string {
	var out []string
	switch t := v.(type) {
	case nil:
	case []any:
		for _, e := range t {
			if s := asString(e); s != "" {
				out = append(out, s)
			}
		}
	case string:
		for _, line := range strings.Split(t, "\n") {
			if s := strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(line), "-•*")); s != "" {
				out = append(out, s)
			}
		}
	default:
		if s := asString(t); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// asBool reads stock flags as partners write them: booleans, quantities, or words such as
// "in_stock", "available" and "yes".
func asBool(v any) bool {
	switch t := v.(type) {
	case bool:
		return t
	case float64:
		return t > 0
	case json.Number:
		f, _ := t.Float64()
		return f > 0
	case string:
		switch strings.ToLower(strings.TrimSpace(t)) {
		case "true", "yes", "1", "in_stock", "instock", "in stock", "available", "available_now":
			return true
		}
	}
	return false
}

// apply maps one partner item onto a Product.
func (m mapping) apply(item any, partner string) (Product, error) {
	path := m.paths
	p := Product{
		ID:           asString(lookup(item, path["id"])),
		Name:         asString(lookup(item, path["name"])),
		Category:     asString(lookup(item, path["category"])),
		Description:  asString(lookup(item, path["description"])),
		PriceRange:   asString(lookup(item, path["price_range"])),
		KeyBenefits:  asStrings(lookup(item, path["key_benefits"])),
		URL:          asString(lookup(item, path["url"])),
		InStock:      asBool(lookup(item, path["in_stock"])),
		SEOKeywords:  asStrings(lookup(item, path["seo_keywords"])),
		AffiliateURL: asString(lookup(item, path["affiliate_url"])),
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
