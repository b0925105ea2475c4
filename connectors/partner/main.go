// Command partner is aquahub's generic partner catalog connector, a WASI reactor module
// built with sdk/plugin: catalog.list, catalog.get and content.notify against any partner's
// product API, configured per partner (paths, auth, paging, a declarative field mapping onto
// one product shape). Green Aqua's catalog is the first (simulator in ./sim). See README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/aquascene/aquahub/sdk/plugin"
)

// ListIn is the input of catalog.list.
type ListIn struct {
	Category string            `json:"category,omitempty" desc:"only this category (sent as the config's category_param)"`
	Params   map[string]string `json:"params,omitempty" desc:"extra query parameters for the partner's list endpoint"`
	Limit    int               `json:"limit,omitempty" desc:"stop after this many products (default 1,000)" jsonschema:"minimum=1,maximum=10000"`
	PageSize int               `json:"page_size,omitempty" desc:"products per request (default: config paging.page_size)" jsonschema:"minimum=1,maximum=1000"`
}

// ListOut is the output of catalog.list.
type ListOut struct {
	Products []Product `json:"products"`
	Count    int       `json:"count"`
	Pages    int       `json:"pages" desc:"requests made"`
	// Truncated is set when Limit stopped the listing before the partner's last page.
	Truncated bool `json:"truncated,omitempty"`
}

// GetIn is the input of catalog.get.
type GetIn struct {
	ID string `json:"id" desc:"the partner's product id" jsonschema:"minLength=1"`
}

// Connector is the partner connector; plugintest runs it natively in tests.
var Connector = &plugin.Connector{
	ID: "partner", Version: "1.0.0",
	Description: "A partner's product catalog (list with paging, get) mapped onto one product shape, and signed content notifications to the partner.",
	Config: []plugin.ConfigSpec{
		{Name: "base_url", Description: "the partner API's origin and base path, e.g. https://api.greenaqua.example/api/v2", Required: true},
		{Name: "partner", Description: "the partner's display name, copied into every product (e.g. Green Aqua)"},
		{Name: "auth", Description: "how api_key is sent: bearer (Authorization: Bearer), header (auth_header) or none", Default: "bearer"},
		{Name: "auth_header", Description: "the header carrying api_key when auth is header: X-Api-Key, Api-Key, X-Api-Token or X-Auth-Token", Default: "X-Api-Key"},
		{Name: "list_path", Description: "the list endpoint, relative to base_url", Default: "/products"},
		{Name: "get_path", Description: "one product, relative to base_url; {id} is replaced by the escaped id", Default: "/products/{id}"},
		{Name: "items_path", Description: "dotted path to the product array in a list answer; empty: the answer itself, or its data, items, products or results array"},
		{Name: "item_path", Description: "dotted path to the product in a get answer; empty: its data object, or the answer itself"},
		{Name: "category_param", Description: "the list parameter catalog.list's category is sent as", Default: "category"},
		{Name: "paging", Description: "object: style (page, cursor, next_url, link or none), page_param, size_param, page_size, first_page, cursor_param, next_cursor_path, next_url_path, total_pages_path", Default: map[string]any{"style": "page", "page_param": "page", "size_param": "per_page", "page_size": 50, "first_page": 1}},
		{Name: "mapping", Description: "object of product field to dotted path in the partner's item (id, name, category, description, price_range, key_benefits, url, in_stock, seo_keywords, affiliate_url); unnamed fields use their own name"},
		{Name: "include_raw", Description: "add each product's item as the partner sent it under raw, and allow products whose id path finds nothing (for a hub that maps them itself)", Default: false},
		{Name: "notify_url", Description: "where content.notify posts: absolute, or a path relative to base_url", Default: "/notifications"},
		{Name: "notification_alg", Description: "how content notifications are signed: hmac-sha256 (X-Signature-256 with notification_secret), ES256 (P-256 notification_key) or RS256 (RSA notification_key)", Default: algHMAC},
	},
	Secrets: []plugin.SecretSpec{
		{Name: "api_key", Description: "the partner API key (see auth)", Places: apiKeyPlaces()},
		{Name: "notification_secret", Description: "shared secret content notifications are signed with as X-Signature-256: sha256=<hex HMAC-SHA256 of the body>",
			Places: []plugin.SecretPlace{{HMAC: hmacHeader}}},
		{Name: "notification_key", Description: "private key (PEM) content notifications are signed with for ES256 or RS256; the partner verifies with its public half", Use: plugin.SecretUseSign},
	},
	Egress: []string{"*"},
	Actions: []plugin.Handler{
		plugin.Action[ListIn, ListOut]{Name: "catalog.list", Description: "List the partner's products, following its paging, mapped onto the product shape.", Handle: list},
		plugin.Action[GetIn, Product]{Name: "catalog.get", Description: "Get one product by the partner's id.", Handle: get},
		plugin.Action[NotifyIn, NotifyOut]{Name: "content.notify", Description: "Post a signed content notification to the partner.", Handle: notify},
	},
}

func init() { plugin.Main(Connector) }

func main() {}

// apiKeyHeaders are the headers auth header may send api_key in. The manifest declares
// them, and Authorization for bearer, as the key's only places, so the host refuses to put
// the key anywhere else whatever the configuration says.
var apiKeyHeaders = []string{"X-Api-Key", "Api-Key", "X-Api-Token", "X-Auth-Token"}

func apiKeyPlaces() []plugin.SecretPlace {
	places := []plugin.SecretPlace{{Header: "Authorization"}}
	for _, h := range apiKeyHeaders {
		places = append(places, plugin.SecretPlace{Header: h})
	}
	return places
}

// partnerAPI is one partner's API as configured.
type partnerAPI struct {
	base    string
	http    *http.Client
	auth    string
	header  string
	mapping mapping
	partner string
}

func newAPI(ctx context.Context) (*partnerAPI, error) {
	base := strings.TrimRight(plugin.ConfigString(ctx, "base_url", ""), "/")
	if base == "" {
		return nil, plugin.Permanent(errors.New("config base_url: required (the partner API's origin and base path)"))
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, plugin.Permanent(fmt.Errorf("config base_url: want an http or https URL (got %q)", base))
	}
	a := &partnerAPI{base: base, http: plugin.HTTPClient(), auth: plugin.ConfigString(ctx, "auth", "bearer"),
		header: plugin.ConfigString(ctx, "auth_header", "X-Api-Key"), partner: plugin.ConfigString(ctx, "partner", "")}
	switch a.auth {
	case "bearer", "header":
		if a.auth == "header" && !slices.ContainsFunc(apiKeyHeaders, func(h string) bool { return strings.EqualFold(h, a.header) }) {
			return nil, plugin.Permanent(fmt.Errorf("config auth_header: want one of %s (got %q)", strings.Join(apiKeyHeaders, ", "), a.header))
		}
		if !plugin.HasSecret(ctx, "api_key") {
			return nil, plugin.Auth(fmt.Errorf("auth %s needs the api_key secret, which is not set", a.auth))
		}
	case "none":
	default:
		return nil, plugin.Permanent(fmt.Errorf("config auth: want bearer, header or none (got %q)", a.auth))
	}
	m, err := parseMapping(plugin.Config(ctx, "mapping"))
	if err != nil {
		return nil, plugin.Permanent(err)
	}
	m.raw, _ = plugin.Config(ctx, "include_raw").(bool)
	a.mapping = m
	return a, nil
}

// resolve turns a configured path or URL into an absolute URL under the partner's API.
func (a *partnerAPI) resolve(p string) string {
	if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
		return p
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return a.base + p
}

// get sends one GET and decodes the JSON answer.
func (a *partnerAPI) get(ctx context.Context, u string) (any, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, plugin.Permanent(fmt.Errorf("partner: building request: %w", err))
	}
	req.Header.Set("Accept", "application/json")
	a.authorize(req)
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, plugin.Transient(fmt.Errorf("partner: reading response: %w", err))
	}
	if err := plugin.CheckResponse(resp, raw); err != nil {
		return nil, nil, err
	}
	var body any
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, nil, plugin.Permanent(fmt.Errorf("partner: %s answered something other than JSON: %w", req.URL.Redacted(), err))
	}
	return body, resp.Header, nil
}

func (a *partnerAPI) authorize(req *http.Request) {
	switch a.auth {
	case "bearer":
		req.Header.Set("Authorization", "Bearer "+plugin.Secret("api_key"))
	case "header":
		req.Header.Set(a.header, plugin.Secret("api_key"))
	}
}

func get(ctx context.Context, in GetIn) (Product, error) {
	a, err := newAPI(ctx)
	if err != nil {
		return Product{}, err
	}
	path := plugin.ConfigString(ctx, "get_path", "/products/{id}")
	if !strings.Contains(path, "{id}") {
		return Product{}, plugin.Permanent(fmt.Errorf("config get_path: must contain {id} (got %q)", path))
	}
	body, _, err := a.get(ctx, a.resolve(strings.ReplaceAll(path, "{id}", url.PathEscape(in.ID))))
	if err != nil {
		return Product{}, err
	}
	item := body
	if p := plugin.ConfigString(ctx, "item_path", ""); p != "" {
		item = lookup(body, p)
	} else if obj, ok := body.(map[string]any); ok {
		if d, ok := obj["data"].(map[string]any); ok {
			item = d
		}
	}
	if item == nil {
		return Product{}, plugin.Permanent(fmt.Errorf("config item_path: no product at %q in the answer", plugin.ConfigString(ctx, "item_path", "")))
	}
	p, err := a.mapping.apply(item, a.partner)
	if err != nil {
		return Product{}, plugin.Permanent(err)
	}
	return p, nil
}

// items finds the product array of a list answer.
func items(body any, path string) ([]any, error) {
	if path != "" {
		arr, ok := lookup(body, path).([]any)
		if !ok {
			return nil, fmt.Errorf("config items_path: no array at %q in the list answer", path)
		}
		return arr, nil
	}
	if arr, ok := body.([]any); ok {
		return arr, nil
	}
	if obj, ok := body.(map[string]any); ok {
		for _, k := range []string{"data", "items", "products", "results"} {
			if arr, ok := obj[k].([]any); ok {
				return arr, nil
			}
		}
	}
	return nil, errors.New("config items_path: the list answer is not an array and has no data, items, products or results array; set items_path")
}
