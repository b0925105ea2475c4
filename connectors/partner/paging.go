package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/aquascene/aquahub/sdk/catalog"
	"github.com/aquascene/aquahub/sdk/plugin"
)

const (
	defaultLimit = 1000
	// maxPages bounds one listing, whatever the partner's paging says.
	maxPages = 500
)

// paging is how a partner's list endpoint pages.
type paging struct {
	// Style is page (page numbers), cursor (a cursor from the answer sent back as a
	// parameter), next_url (a URL in the answer), link (an RFC 8288 Link header with
	// rel="next") or none.
	Style          string
	PageParam      string
	SizeParam      string
	PageSize       int
	FirstPage      int
	CursorParam    string
	NextCursorPath string
	NextURLPath    string
	// TotalPagesPath, for page style, says where the answer holds the page count; without
	// it paging stops at the first short page.
	TotalPagesPath string
}

func configInt(v any) (int, bool) {
	switch t := v.(type) {
	case float64:
		return int(t), t == float64(int(t))
	case int:
		return t, true
	case json.Number:
		n, err := strconv.Atoi(t.String())
		return n, err == nil
	case string:
		n, err := strconv.Atoi(t)
		return n, err == nil
	}
	return 0, false
}

func parsePaging(raw any) (paging, error) {
	p := paging{Style: "page", PageParam: "page", SizeParam: "per_page", PageSize: 50, FirstPage: 1, CursorParam: "cursor"}
	if raw == nil {
		return p, nil
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return p, fmt.Errorf("config paging: want an object (got %T)", raw)
	}
	strs := map[string]*string{"style": &p.Style, "page_param": &p.PageParam, "size_param": &p.SizeParam, "cursor_param": &p.CursorParam,
		"next_cursor_path": &p.NextCursorPath, "next_url_path": &p.NextURLPath, "total_pages_path": &p.TotalPagesPath}
	ints := map[string]*int{"page_size": &p.PageSize, "first_page": &p.FirstPage}
	for k, v := range obj {
		if dst, ok := strs[k]; ok {
			s, ok := v.(string)
			if !ok {
				return p, fmt.Errorf("config paging.%s: want a string (got %v)", k, v)
			}
			*dst = s
			continue
		}
		if dst, ok := ints[k]; ok {
			n, ok := configInt(v)
			if !ok || n < 0 || n > 10000 {
				return p, fmt.Errorf("config paging.%s: want an integer from 0 to 10000 (got %v)", k, v)
			}
			*dst = n
			continue
		}
		return p, fmt.Errorf("config paging.%s: unknown setting", k)
	}
	switch p.Style {
	case "page":
		if p.PageParam == "" {
			return p, errors.New("config paging.page_param: required for page style")
		}
	case "cursor":
		if p.NextCursorPath == "" {
			return p, errors.New("config paging.next_cursor_path: required for cursor style (the dotted path of the next cursor in the answer)")
		}
	case "next_url":
		if p.NextURLPath == "" {
			return p, errors.New("config paging.next_url_path: required for next_url style (the dotted path of the next page's URL in the answer)")
		}
	case "link", "none":
	default:
		return p, fmt.Errorf("config paging.style: want page, cursor, next_url, link or none (got %q)", p.Style)
	}
	if p.PageSize == 0 {
		p.PageSize = 50
	}
	return p, nil
}

// nextLink returns the rel="next" target of an RFC 8288 Link header.
func nextLink(h string) string {
	for _, part := range strings.Split(h, ",") {
		lt, gt := strings.Index(part, "<"), strings.Index(part, ">")
		if lt < 0 || gt < lt {
			continue
		}
		for _, param := range strings.Split(part[gt+1:], ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(param), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
				continue
			}
			for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(v), `"`)) {
				if strings.EqualFold(rel, "next") {
					return strings.TrimSpace(part[lt+1 : gt])
				}
			}
		}
	}
	return ""
}

func list(ctx context.Context, in ListIn) (ListOut, error) {
	a, err := newAPI(ctx)
	if err != nil {
		return ListOut{}, err
	}
	pg, err := parsePaging(plugin.Config(ctx, "paging"))
	if err != nil {
		return ListOut{}, plugin.Permanent(err)
	}
	if in.PageSize > 0 {
		pg.PageSize = in.PageSize
	}
	limit := in.Limit
	if limit == 0 {
		limit = defaultLimit
	}
	u, err := url.Parse(a.resolve(plugin.ConfigString(ctx, "list_path", "/products")))
	if err != nil {
		return ListOut{}, plugin.Permanent(fmt.Errorf("config list_path: %w", err))
	}
	q := u.Query()
	for k, v := range in.Params {
		q.Set(k, v)
	}
	if in.Category != "" {
		q.Set(plugin.ConfigString(ctx, "category_param", "category"), in.Category)
	}
	if pg.Style != "none" && pg.SizeParam != "" {
		q.Set(pg.SizeParam, strconv.Itoa(pg.PageSize))
	}
	page := pg.FirstPage
	if pg.Style == "page" {
		q.Set(pg.PageParam, strconv.Itoa(page))
	}
	u.RawQuery = q.Encode()
	itemsPath := plugin.ConfigString(ctx, "items_path", "")
	out := ListOut{Products: []Product{}}
	seen := map[string]bool{}
	for {
		if out.Pages >= maxPages {
			return ListOut{}, plugin.Permanent(fmt.Errorf("partner: more than %d pages; narrow the listing or check the paging config", maxPages))
		}
		body, header, err := a.get(ctx, u.String())
		if err != nil {
			return ListOut{}, fmt.Errorf("page %d: %w", out.Pages+1, err)
		}
		out.Pages++
		seen[u.String()] = true
		arr, err := items(body, itemsPath)
		if err != nil {
			return ListOut{}, plugin.Permanent(err)
		}
		for i, it := range arr {
			if len(out.Products) == limit {
				out.Truncated = true
				break
			}
			p, err := a.mapping.apply(it, a.partner)
			if err != nil {
				return ListOut{}, plugin.Permanent(fmt.Errorf("page %d item %d: %w", out.Pages, i, err))
			}
			out.Products = append(out.Products, p)
		}
		next, err := nextPage(pg, u, body, header, len(arr), &page)
		if err != nil {
			return ListOut{}, plugin.Permanent(err)
		}
		if next == nil {
			break
		}
		if len(out.Products) == limit {
			out.Truncated = true
			break
		}
		if next.Scheme+"://"+next.Host != u.Scheme+"://"+u.Host {
			return ListOut{}, plugin.Permanent(fmt.Errorf("partner: the next page %s is not on the partner's origin %s", next.Redacted(), u.Scheme+"://"+u.Host))
		}
		if seen[next.String()] {
			return ListOut{}, plugin.Permanent(fmt.Errorf("partner: the next page repeats %s; check the paging config", next.Redacted()))
		}
		u = next
	}
	out.Count = len(out.Products)
	return out, nil
}

// nextPage returns the URL of the page after cur, or nil on the last page.
func nextPage(pg paging, cur *url.URL, body any, header http.Header, n int, page *int) (*url.URL, error) {
	resolve := func(raw string) (*url.URL, error) {
		ref, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("partner: next page %q is not a URL: %w", raw, err)
		}
		return cur.ResolveReference(ref), nil
	}
	switch pg.Style {
	case "page":
		if n == 0 {
			return nil, nil
		}
		if pg.TotalPagesPath != "" {
			total, ok := configInt(lookup(body, pg.TotalPagesPath))
			if !ok {
				return nil, fmt.Errorf("config paging.total_pages_path: no page count at %q", pg.TotalPagesPath)
			}
			if *page-pg.FirstPage+1 >= total {
				return nil, nil
			}
		} else if pg.SizeParam != "" && n < pg.PageSize {
			return nil, nil
		}
		*page++
		next := *cur
		q := next.Query()
		q.Set(pg.PageParam, strconv.Itoa(*page))
		next.RawQuery = q.Encode()
		return &next, nil
	case "cursor":
		c := catalog.String(lookup(body, pg.NextCursorPath))
		if c == "" || n == 0 {
			return nil, nil
		}
		next := *cur
		q := next.Query()
		q.Set(pg.CursorParam, c)
		next.RawQuery = q.Encode()
		return &next, nil
	case "next_url":
		if s := catalog.String(lookup(body, pg.NextURLPath)); s != "" {
			return resolve(s)
		}
	case "link":
		if s := nextLink(header.Get("Link")); s != "" {
			return resolve(s)
		}
	}
	return nil, nil
}
