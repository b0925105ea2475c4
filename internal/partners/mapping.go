package partners

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/catalog"
)

// mappingEnv is what a mapping expression sees: the partner's product as its API sent it,
// and the partner.
var mappingEnv = map[string]any{"item": map[string]any{}, "partner": map[string]any{}}

// compileMapping compiles one field's mapping expression.
func compileMapping(src string) (*vm.Program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, fmt.Errorf("empty expression")
	}
	if prog, ok := compiled.get(src); ok {
		return prog, nil
	}
	prog, err := expr.Compile(src, expr.Env(mappingEnv))
	if err != nil {
		return nil, fmt.Errorf("expression %q: %v", src, err)
	}
	compiled.put(src, prog)
	return prog, nil
}

// compiled keeps compiled mapping expressions by source: every call of a partner connector
// maps its products, and compiling a partner's dozen expressions each time cost more than
// the mapping. A program depends on its source alone, so an edited partner simply finds
// new sources.
var compiled = programCache{max: 4096}

// programCache is a bounded map of compiled programs; when full it starts over, which only
// costs compiling again.
type programCache struct {
	mu    sync.Mutex
	max   int
	progs map[string]*vm.Program
}

func (c *programCache) get(src string) (*vm.Program, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.progs[src]
	return p, ok
}

func (c *programCache) put(src string, p *vm.Program) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.progs == nil || len(c.progs) >= c.max {
		c.progs = map[string]*vm.Program{}
	}
	c.progs[src] = p
}

// ConnectorSettings are what the partner connector runs with as instance partner/<id>.
type ConnectorSettings struct {
	// Config is the connector's configuration.
	Config map[string]any
	// Secrets maps the connector's secret names (api_key, notification_key) to the names
	// the partner gave them among the tenant's partner connector secrets.
	Secrets map[string]string
	// Version changes whenever the partner does.
	Version string
	// Output rewrites a successful action output: products get the partner's expr mapping,
	// its id and its affiliate link.
	Output func(action string, out map[string]any) (map[string]any, error)
}

// settings derives the connector settings of p; the mapping expressions compile (Validate
// checked them).
func (p Partner) settings() (ConnectorSettings, error) {
	cfg := map[string]any{"partner": p.Name, "include_raw": true}
	secrets := map[string]string{}
	if c := p.Catalog; c != nil {
		cfg["base_url"] = c.BaseURL
		cfg["auth"] = c.Auth.Style
		if c.Auth.Header != "" {
			cfg["auth_header"] = c.Auth.Header
		}
		if c.Auth.Style != "none" {
			secrets["api_key"] = c.Auth.Secret
		}
		for k, v := range map[string]string{"list_path": c.ListPath, "get_path": c.GetPath, "items_path": c.ItemsPath,
			"item_path": c.ItemPath, "category_param": c.CategoryParam} {
			if v != "" {
				cfg[k] = v
			}
		}
		if len(c.Paging) > 0 {
			cfg["paging"] = c.Paging
		}
	} else {
		cfg["auth"] = "none"
	}
	if n := p.Notification; n != nil {
		cfg["notify_url"] = n.URL
		cfg["notification_alg"] = n.Algorithm
		if n.Algorithm == AlgHMAC {
			secrets["notification_secret"] = n.Secret
		} else {
			secrets["notification_key"] = n.Secret
		}
		if p.Catalog == nil {
			// A partner without a catalog API is notified at an absolute URL; the connector
			// still wants a base.
			cfg["base_url"] = n.URL
		}
	}
	m, err := p.mapper()
	if err != nil {
		return ConnectorSettings{}, err
	}
	return ConnectorSettings{Config: cfg, Secrets: secrets, Version: p.UpdatedAt.UTC().Format("20060102T150405.000000000"), Output: m.output}, nil
}

// mapper evaluates a partner's catalog mapping over the connector's products.
type mapper struct {
	p        Partner
	programs map[string]*vm.Program
}

func (p Partner) mapper() (*mapper, error) {
	m := &mapper{p: p, programs: map[string]*vm.Program{}}
	if p.Catalog == nil {
		return m, nil
	}
	for f, src := range p.Catalog.Mapping {
		prog, err := compileMapping(src)
		if err != nil {
			return nil, core.Invalid("catalog.mapping."+f, "%v", err)
		}
		m.programs[f] = prog
	}
	return m, nil
}

// output rewrites catalog.list's products and catalog.get's product.
func (m *mapper) output(action string, out map[string]any) (map[string]any, error) {
	switch action {
	case "catalog.list":
		list, _ := out["products"].([]any)
		for i, it := range list {
			prod, ok := it.(map[string]any)
			if !ok {
				continue
			}
			if err := m.product(prod); err != nil {
				return nil, fmt.Errorf("products[%d]: %w", i, err)
			}
		}
		return out, nil
	case "catalog.get":
		if err := m.product(out); err != nil {
			return nil, err
		}
		return out, nil
	}
	return out, nil
}

// product applies the mapping to one product in place and removes the partner's item.
func (m *mapper) product(prod map[string]any) error {
	item := prod["raw"]
	delete(prod, "raw")
	env := map[string]any{"item": item, "partner": map[string]any{"id": m.p.ID, "name": m.p.Name}}
	// The id first: a product without one is reported as that, whatever else fails.
	fields := slices.Sorted(maps.Keys(m.programs))
	if _, ok := m.programs["id"]; ok {
		fields = append([]string{"id"}, slices.DeleteFunc(fields, func(f string) bool { return f == "id" })...)
	} else {
		fields = append([]string{""}, fields...)
	}
	for _, f := range fields {
		if f != "" {
			v, err := expr.Run(m.programs[f], env)
			if err != nil {
				return core.Permanent(fmt.Errorf("partner %q: catalog.mapping.%s: %v", m.p.ID, f, err))
			}
			prod[f] = coerce(f, v)
		}
		if f == "id" || f == "" {
			if s, _ := prod["id"].(string); s == "" {
				return core.Permanent(fmt.Errorf("partner %q: catalog.mapping.id finds no id in the partner's product (set catalog.mapping.id)", m.p.ID))
			}
		}
	}
	prod["partner"], prod["partner_id"] = m.p.Name, m.p.ID
	if s, _ := prod["affiliate_url"].(string); s == "" {
		id, _ := prod["id"].(string)
		u, _ := prod["url"].(string)
		if link := m.p.AffiliateLink(Link{ProductID: id, ProductURL: u}); link != "" {
			prod["affiliate_url"] = link
		}
	}
	return nil
}

// coerce converts a mapped value to its product field's type, as the connector does for
// paths: lists of strings, a stock flag, strings.
func coerce(field string, v any) any {
	switch field {
	case "key_benefits", "seo_keywords":
		out := []any{}
		for _, s := range catalog.Strings(v) {
			out = append(out, s)
		}
		return out
	case "in_stock":
		return catalog.Bool(v)
	}
	return catalog.String(v)
}
