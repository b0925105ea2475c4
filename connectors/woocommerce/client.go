package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/plugin"
)

const (
	// apiPath is the REST API root under the store's URL.
	apiPath = "/wp-json/wc/v3"
	// maxPerPage is WooCommerce's largest page.
	maxPerPage = 100
	// maxBatch is WooCommerce's limit of create, update and delete items per batch request.
	maxBatch = 100
	// defaultRateLimitWait is the wait after a 429 without Retry-After: WooCommerce has no
	// limiter of its own, and the proxies in front of stores seldom say.
	defaultRateLimitWait = 30 * time.Second
)

// client speaks the WooCommerce REST API v3 through the host's HTTP transport.
type client struct {
	base string
	http *http.Client
	key  string
	// queryAuth sends the key and secret as query parameters instead of Basic auth.
	queryAuth bool
}

func newClient(ctx context.Context) (*client, error) {
	base := strings.TrimRight(plugin.ConfigString(ctx, "base_url", ""), "/")
	if base == "" {
		return nil, plugin.Permanent(errors.New("woocommerce: config base_url is not set (the store's URL, such as https://shop.example.com)"))
	}
	key := plugin.ConfigString(ctx, "consumer_key", "")
	if key == "" || strings.ContainsAny(key, ":{} ") {
		return nil, plugin.Permanent(fmt.Errorf("woocommerce: config consumer_key must be the REST API key's consumer key (ck_…), got %q", key))
	}
	c := &client{base: base + apiPath, http: plugin.HTTPClient(), key: key}
	switch auth := plugin.ConfigString(ctx, "auth", "basic"); auth {
	case "basic":
	case "query":
		c.queryAuth = true
	default:
		return nil, plugin.Permanent(fmt.Errorf("woocommerce: config auth must be basic or query, got %q", auth))
	}
	return c, nil
}

// wcError is WooCommerce's (WordPress's) error body.
type wcError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Data    struct {
		Status int               `json:"status"`
		Params map[string]string `json:"params"`
	} `json:"data"`
}

func (e *wcError) Error() string {
	msg := e.Message
	if e.Code != "" {
		msg = e.Code + ": " + msg
	}
	if len(e.Data.Params) > 0 {
		var ps []string
		for _, k := range sortedKeys(e.Data.Params) {
			ps = append(ps, e.Data.Params[k])
		}
		msg += " (" + strings.Join(ps, " ") + ")"
	}
	if e.Status != 0 {
		return fmt.Sprintf("woocommerce: %d %s", e.Status, msg)
	}
	return "woocommerce: " + msg
}

// field is the request parameter a 400 names: the first of data.params, or the SKU of a
// duplicate-SKU error.
func (e *wcError) field() string {
	if ks := sortedKeys(e.Data.Params); len(ks) > 0 {
		p := ks[0]
		if i := strings.IndexByte(p, '['); i > 0 {
			p = p[:i]
		}
		return p
	}
	switch e.Code {
	case "product_invalid_sku", "woocommerce_rest_product_not_created":
		return "sku"
	case "woocommerce_rest_product_invalid_id", "woocommerce_rest_shop_order_invalid_id":
		return "id"
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func parseError(status int, body []byte) *wcError {
	e := &wcError{Status: status}
	if json.Unmarshal(body, e) != nil || e.Code == "" {
		// Gateways and caches in front of a store answer with HTML.
		e.Code, e.Message = "", http.StatusText(status)
		if s := strings.TrimSpace(string(body)); s != "" && len(s) < 200 && !strings.HasPrefix(s, "<") {
			e.Message = s
		}
	}
	return e
}

// fieldMapper names the action input field of a request parameter.
type fieldMapper func(param string) string

// typed maps a WooCommerce error onto the hub's error classes.
func typed(e *wcError, header http.Header, fields fieldMapper) error {
	retry := retryAfter(header)
	switch {
	case e.Status == http.StatusTooManyRequests:
		if retry == 0 {
			retry = defaultRateLimitWait
		}
		return plugin.RateLimited(retry, e)
	case e.Status == http.StatusUnauthorized, e.Status == http.StatusForbidden:
		return plugin.Auth(e)
	case e.Code == "rest_no_route":
		return plugin.Permanent(fmt.Errorf("%w: is base_url the store's root and the WooCommerce REST API enabled?", e))
	case e.Status == http.StatusNotFound:
		return plugin.NotFound(e)
	case e.Status == http.StatusBadRequest:
		f := e.field()
		if fields != nil {
			f = fields(f)
		}
		return plugin.InvalidInput(f, e)
	case e.Status == http.StatusRequestTimeout, e.Status >= 500:
		if retry > 0 {
			return &plugin.Error{Kind: abi.KindTransient, RetryAfter: retry, Err: e}
		}
		return plugin.Transient(e)
	}
	return plugin.Permanent(e)
}

func retryAfter(h http.Header) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}

// response is a 2xx answer.
type response struct {
	header http.Header
	body   []byte
}

// do sends one request to path under the API root; a non-2xx answer is a typed error.
func (c *client) do(ctx context.Context, method, path string, query url.Values, in any, fields fieldMapper) (response, error) {
	u := c.base + path
	q := query.Encode()
	if c.queryAuth {
		// The host replaces the reference in the query, escaped, after the egress check.
		auth := url.Values{"consumer_key": {c.key}}.Encode() + "&consumer_secret=" + plugin.Secret("consumer_secret")
		q = strings.TrimPrefix(q+"&"+auth, "&")
	}
	if q != "" {
		u += "?" + q
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return response{}, plugin.InvalidInput("", fmt.Errorf("encoding request: %w", err))
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return response{}, plugin.Permanent(fmt.Errorf("woocommerce: building request: %w", err))
	}
	if !c.queryAuth {
		req.Header.Set("Authorization", plugin.BasicAuth(c.key, "consumer_secret"))
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return response{}, err // the transport types egress denials and network failures
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, plugin.Transient(fmt.Errorf("woocommerce: reading response: %w", err))
	}
	if resp.StatusCode/100 != 2 {
		return response{}, typed(parseError(resp.StatusCode, raw), resp.Header, fields)
	}
	return response{header: resp.Header, body: raw}, nil
}

// decode unmarshals a 2xx body. A store that answers 200 with something other than JSON
// (a WordPress page, a maintenance screen) is misconfigured or not WooCommerce: permanent.
func decode(r response, out any) error {
	if err := json.Unmarshal(r.body, out); err != nil {
		return plugin.Permanent(fmt.Errorf("woocommerce: the answer is not the REST API's JSON (is base_url the store's root?): %w", err))
	}
	return nil
}

// page is one page of a listing.
type page struct {
	items      []map[string]any
	total      int
	totalPages int
}

func (c *client) listPage(ctx context.Context, path string, q url.Values, fields fieldMapper) (page, error) {
	resp, err := c.do(ctx, http.MethodGet, path, q, nil, fields)
	if err != nil {
		return page{}, err
	}
	var p page
	if err := decode(resp, &p.items); err != nil {
		return page{}, err
	}
	p.total, _ = strconv.Atoi(resp.header.Get("X-WP-Total"))
	p.totalPages, _ = strconv.Atoi(resp.header.Get("X-WP-TotalPages"))
	return p, nil
}

// listing is the shared input of the list actions.
type listing struct {
	perPage, page, maxItems int
	onePage                 bool
	keep                    func(map[string]any) bool
}

// listResult is the shared output of the list actions.
type listResult struct {
	items      []map[string]any
	total      int
	totalPages int
	pagesRead  int
	truncated  bool
	nextPage   int
}

// maxPages bounds an all-pages listing.
const maxPages = 200

// list reads pages from l.page on, following X-WP-TotalPages, until the last page,
// max_items kept items, or one page when onePage.
func (c *client) list(ctx context.Context, path string, q url.Values, l listing, fields fieldMapper) (listResult, error) {
	out := listResult{items: []map[string]any{}}
	q.Set("per_page", strconv.Itoa(l.perPage))
	for n := l.page; ; n++ {
		if out.pagesRead >= maxPages {
			return listResult{}, plugin.Permanent(fmt.Errorf("woocommerce: listing stopped after %d pages; narrow it with filters or max_items", maxPages))
		}
		q.Set("page", strconv.Itoa(n))
		p, err := c.listPage(ctx, path, q, fields)
		if err != nil {
			return listResult{}, fmt.Errorf("page %d: %w", n, err)
		}
		out.pagesRead++
		out.total, out.totalPages = p.total, p.totalPages
		for _, it := range p.items {
			if l.keep != nil && !l.keep(it) {
				continue
			}
			if len(out.items) == l.maxItems {
				out.truncated = true
				break
			}
			out.items = append(out.items, it)
		}
		last := n >= p.totalPages || len(p.items) == 0 || (p.totalPages == 0 && len(p.items) < l.perPage)
		if !last && len(out.items) == l.maxItems {
			out.truncated = true
		}
		if !last && l.onePage {
			out.nextPage = n + 1
		}
		if last || l.onePage || out.truncated {
			return out, nil
		}
	}
}
