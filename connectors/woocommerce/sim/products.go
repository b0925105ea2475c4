package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit"
)

// Term is a product category or tag.
type Term struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
	Slug string `json:"slug"`
}

// Image is a product image.
type Image struct {
	ID   int    `json:"id"`
	Src  string `json:"src"`
	Name string `json:"name"`
	Alt  string `json:"alt"`
}

// Meta is one meta_data entry.
type Meta struct {
	ID    int    `json:"id"`
	Key   string `json:"key"`
	Value any    `json:"value"`
}

// Dimensions are a product's size, as strings.
type Dimensions struct {
	Length string `json:"length"`
	Width  string `json:"width"`
	Height string `json:"height"`
}

// product is a stored product; its JSON is WooCommerce's product schema (without the
// fields render adds: permalink, price, on_sale, purchasable, _links).
type product struct {
	ID                int        `json:"id"`
	Name              string     `json:"name"`
	Slug              string     `json:"slug"`
	DateCreated       time.Time  `json:"-"`
	DateModified      time.Time  `json:"-"`
	Type              string     `json:"type"`
	Status            string     `json:"status"`
	Featured          bool       `json:"featured"`
	CatalogVisibility string     `json:"catalog_visibility"`
	Description       string     `json:"description"`
	ShortDescription  string     `json:"short_description"`
	SKU               string     `json:"sku"`
	RegularPrice      string     `json:"regular_price"`
	SalePrice         string     `json:"sale_price"`
	TotalSales        int        `json:"total_sales"`
	Virtual           bool       `json:"virtual"`
	Downloadable      bool       `json:"downloadable"`
	TaxStatus         string     `json:"tax_status"`
	TaxClass          string     `json:"tax_class"`
	ManageStock       bool       `json:"manage_stock"`
	StockQuantity     *int       `json:"stock_quantity"`
	StockStatus       string     `json:"stock_status"`
	Backorders        string     `json:"backorders"`
	SoldIndividually  bool       `json:"sold_individually"`
	Weight            string     `json:"weight"`
	Dimensions        Dimensions `json:"dimensions"`
	ShippingClass     string     `json:"shipping_class"`
	ReviewsAllowed    bool       `json:"reviews_allowed"`
	AverageRating     string     `json:"average_rating"`
	RatingCount       int        `json:"rating_count"`
	ParentID          int        `json:"parent_id"`
	PurchaseNote      string     `json:"purchase_note"`
	Categories        []Term     `json:"categories"`
	Tags              []Term     `json:"tags"`
	Images            []Image    `json:"images"`
	MenuOrder         int        `json:"menu_order"`
	MetaData          []Meta     `json:"meta_data"`
}

func newProduct(id int, now time.Time) *product {
	return &product{ID: id, DateCreated: now.UTC(), DateModified: now.UTC(), Type: "simple", Status: "publish",
		CatalogVisibility: "visible", TaxStatus: "taxable", StockStatus: "instock", Backorders: "no", ReviewsAllowed: true,
		AverageRating: "0.00", Categories: []Term{}, Tags: []Term{}, Images: []Image{}, MetaData: []Meta{}}
}

// price is what the product sells for now: the sale price when set, else the regular one.
func (p *product) price() string {
	if p.SalePrice != "" {
		return p.SalePrice
	}
	return p.RegularPrice
}

// render returns the product as the API shows it, with links under base.
func (p *product) render(base string) map[string]any {
	b, _ := json.Marshal(p)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	m["permalink"] = base + "/product/" + p.Slug + "/"
	m["date_created"], m["date_created_gmt"] = wpTime(p.DateCreated), wpTime(p.DateCreated)
	m["date_modified"], m["date_modified_gmt"] = wpTime(p.DateModified), wpTime(p.DateModified)
	m["price"] = p.price()
	m["price_html"] = priceHTML(p)
	m["on_sale"] = p.SalePrice != ""
	m["purchasable"] = p.price() != "" && p.Status == "publish"
	m["attributes"], m["default_attributes"], m["variations"], m["grouped_products"] = []any{}, []any{}, []any{}, []any{}
	m["related_ids"], m["upsell_ids"], m["cross_sell_ids"] = []any{}, []any{}, []any{}
	m["_links"] = map[string]any{
		"self":       []map[string]string{{"href": base + APIPath + "/products/" + itoa(p.ID)}},
		"collection": []map[string]string{{"href": base + APIPath + "/products"}},
	}
	return m
}

func priceHTML(p *product) string {
	amount := func(v string) string {
		return `<span class="woocommerce-Price-amount amount"><bdi><span class="woocommerce-Price-currencySymbol">&euro;</span>` + v + `</bdi></span>`
	}
	if p.price() == "" {
		return ""
	}
	if p.SalePrice != "" {
		return "<del>" + amount(p.RegularPrice) + "</del> <ins>" + amount(p.SalePrice) + "</ins>"
	}
	return amount(p.RegularPrice)
}

// Products returns every product as the API shows it, by id, trashed ones included.
func (s *Server) Products(base string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	for _, p := range s.sortedProducts() {
		out = append(out, p.render(base))
	}
	return out
}

// Product returns one product as the API shows it.
func (s *Server) Product(id int) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.products[id]
	if !ok {
		return nil, false
	}
	return p.render(s.siteURL), true
}

func (s *Server) sortedProducts() []*product {
	out := make([]*product, 0, len(s.products))
	for _, p := range s.products {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// fieldErrors collects WordPress's per-parameter validation failures.
type fieldErrors struct {
	params, codes map[string]string
}

func (e *fieldErrors) add(name, code, msg string) {
	if e.params == nil {
		e.params, e.codes = map[string]string{}, map[string]string{}
	}
	if _, dup := e.params[name]; !dup {
		e.params[name], e.codes[name] = msg, code
	}
}

func (e *fieldErrors) any() bool { return len(e.params) > 0 }

func (e *fieldErrors) item() map[string]any {
	names := make([]string, 0, len(e.params))
	for k := range e.params {
		names = append(names, k)
	}
	sort.Strings(names)
	return map[string]any{"code": "rest_invalid_param", "message": "Invalid parameter(s): " + strings.Join(names, ", "),
		"data": map[string]any{"status": 400, "params": e.params}}
}

func notType(e *fieldErrors, name, typ string) {
	e.add(name, "rest_invalid_type", fmt.Sprintf("%s is not of type %s.", name, typ))
}

func notEnum(e *fieldErrors, name string, allowed []string) {
	e.add(name, "rest_not_in_enum", fmt.Sprintf("%s is not one of %s.", name, strings.Join(allowed, ", ")))
}

// Value readers with WordPress's coercions: booleans also from "true"/"false"/"1"/"0",
// integers also from numeric strings.
func asString(raw json.RawMessage) (string, bool) {
	var s string
	return s, json.Unmarshal(raw, &s) == nil
}

func asBool(raw json.RawMessage) (bool, bool) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "true", "1":
			return true, true
		case "false", "0":
			return false, true
		}
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		switch n.String() {
		case "1":
			return true, true
		case "0":
			return false, true
		}
	}
	return false, false
}

func asInt(raw json.RawMessage) (int, bool) {
	var n json.Number
	if json.Unmarshal(raw, &n) != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, false
		}
		n = json.Number(s)
	}
	i, err := strconv.Atoi(n.String())
	return i, err == nil
}

var (
	productTypes      = []string{"simple", "grouped", "external", "variable"}
	productStatuses   = []string{"draft", "pending", "private", "publish", "future"}
	visibilities      = []string{"visible", "catalog", "search", "hidden"}
	taxStatuses       = []string{"taxable", "shipping", "none"}
	stockStatuses     = []string{"instock", "outofstock", "onbackorder"}
	backorderSettings = []string{"no", "notify", "yes"}
)

// apply writes the fields of body onto p, or reports the invalid ones and changes nothing.
// Unknown and read-only fields are ignored, as WordPress ignores them.
func (s *Server) apply(p *product, body map[string]json.RawMessage) *fieldErrors {
	e := &fieldErrors{}
	q := *p
	q.Categories, q.Tags = slices.Clone(p.Categories), slices.Clone(p.Tags)
	q.Images, q.MetaData = slices.Clone(p.Images), slices.Clone(p.MetaData)
	str := func(name string, dst *string, allowed []string) {
		raw, ok := body[name]
		if !ok {
			return
		}
		v, ok := asString(raw)
		if !ok {
			notType(e, name, "string")
			return
		}
		if allowed != nil && !slices.Contains(allowed, v) {
			notEnum(e, name, allowed)
			return
		}
		*dst = v
	}
	boolean := func(name string, dst *bool) {
		if raw, ok := body[name]; ok {
			if v, ok := asBool(raw); ok {
				*dst = v
			} else {
				notType(e, name, "boolean")
			}
		}
	}
	integer := func(name string, dst *int) {
		if raw, ok := body[name]; ok {
			if v, ok := asInt(raw); ok {
				*dst = v
			} else {
				notType(e, name, "integer")
			}
		}
	}
	str("name", &q.Name, nil)
	str("slug", &q.Slug, nil)
	str("type", &q.Type, productTypes)
	str("status", &q.Status, productStatuses)
	str("catalog_visibility", &q.CatalogVisibility, visibilities)
	str("description", &q.Description, nil)
	str("short_description", &q.ShortDescription, nil)
	str("sku", &q.SKU, nil)
	str("regular_price", &q.RegularPrice, nil)
	str("sale_price", &q.SalePrice, nil)
	str("tax_status", &q.TaxStatus, taxStatuses)
	str("tax_class", &q.TaxClass, nil)
	str("stock_status", &q.StockStatus, stockStatuses)
	str("backorders", &q.Backorders, backorderSettings)
	str("weight", &q.Weight, nil)
	str("shipping_class", &q.ShippingClass, nil)
	str("purchase_note", &q.PurchaseNote, nil)
	boolean("featured", &q.Featured)
	boolean("virtual", &q.Virtual)
	boolean("downloadable", &q.Downloadable)
	boolean("manage_stock", &q.ManageStock)
	boolean("sold_individually", &q.SoldIndividually)
	boolean("reviews_allowed", &q.ReviewsAllowed)
	integer("parent_id", &q.ParentID)
	integer("menu_order", &q.MenuOrder)
	if raw, ok := body["stock_quantity"]; ok {
		if string(raw) == "null" {
			q.StockQuantity = nil
		} else if v, ok := asInt(raw); ok {
			q.StockQuantity = &v
		} else {
			notType(e, "stock_quantity", "integer")
		}
	}
	for _, price := range []string{"regular_price", "sale_price"} {
		if v := map[string]string{"regular_price": q.RegularPrice, "sale_price": q.SalePrice}[price]; v != "" {
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				e.add(price, "rest_invalid_param", fmt.Sprintf("%s must be a decimal number as a string (got %q).", price, v))
			}
		}
	}
	if raw, ok := body["dimensions"]; ok {
		var d map[string]json.RawMessage
		if json.Unmarshal(raw, &d) != nil {
			notType(e, "dimensions", "object")
		}
		for k, dst := range map[string]*string{"length": &q.Dimensions.Length, "width": &q.Dimensions.Width, "height": &q.Dimensions.Height} {
			if v, ok := d[k]; ok {
				if str, ok := asString(v); ok {
					*dst = str
				} else {
					notType(e, "dimensions["+k+"]", "string")
				}
			}
		}
	}
	terms := func(name string, dst *[]Term, known []Term) {
		raw, ok := body[name]
		if !ok {
			return
		}
		var items []map[string]json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			notType(e, name, "array")
			return
		}
		out := []Term{}
		for i, it := range items {
			id, ok := asInt(it["id"])
			if !ok {
				notType(e, fmt.Sprintf("%s[%d][id]", name, i), "integer")
				continue
			}
			// WordPress drops term ids that do not exist.
			if j := slices.IndexFunc(known, func(t Term) bool { return t.ID == id }); j >= 0 {
				out = append(out, known[j])
			}
		}
		*dst = out
	}
	terms("categories", &q.Categories, s.categories)
	terms("tags", &q.Tags, s.tags)
	if raw, ok := body["images"]; ok {
		var items []Image
		if json.Unmarshal(raw, &items) != nil {
			notType(e, "images", "array")
		} else {
			for i := range items {
				if items[i].ID == 0 {
					s.nextMeta++
					items[i].ID = s.nextMeta
				}
			}
			q.Images = items
		}
	}
	if raw, ok := body["meta_data"]; ok {
		var items []struct {
			ID    int    `json:"id"`
			Key   string `json:"key"`
			Value any    `json:"value"`
		}
		if json.Unmarshal(raw, &items) != nil {
			notType(e, "meta_data", "array")
		}
		for _, it := range items {
			i := slices.IndexFunc(q.MetaData, func(m Meta) bool { return (it.ID != 0 && m.ID == it.ID) || (it.ID == 0 && m.Key == it.Key) })
			switch {
			case i >= 0 && it.Value == nil:
				q.MetaData = slices.Delete(q.MetaData, i, i+1)
			case i >= 0:
				q.MetaData[i].Value = it.Value
			case it.Key != "":
				s.nextMeta++
				q.MetaData = append(q.MetaData, Meta{ID: s.nextMeta, Key: it.Key, Value: it.Value})
			}
		}
	}
	if e.any() {
		return e
	}
	*p = q
	return nil
}

// skuTaken returns the product other than id that holds sku, if any; the caller holds s.mu.
func (s *Server) skuTaken(sku string, id int) *product {
	if sku == "" {
		return nil
	}
	for _, p := range s.products {
		if p.ID != id && p.SKU == sku && p.Status != "trash" {
			return p
		}
	}
	return nil
}

func skuError(other *product, sku string) map[string]any {
	return map[string]any{"code": "product_invalid_sku", "message": "Invalid or duplicated SKU.",
		"data": map[string]any{"status": 400, "resource_id": other.ID, "unique_sku": sku}}
}

func slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}

// createProduct validates and stores a new product; the caller holds s.mu. It returns the
// product or the error item WooCommerce answers with.
func (s *Server) createProduct(body map[string]json.RawMessage) (*product, int, map[string]any) {
	p := newProduct(s.nextID, s.now())
	if e := s.apply(p, body); e != nil {
		return nil, http.StatusBadRequest, e.item()
	}
	if other := s.skuTaken(p.SKU, 0); other != nil {
		return nil, http.StatusBadRequest, skuError(other, p.SKU)
	}
	if p.Name == "" {
		p.Name = "Product"
	}
	if p.Slug == "" {
		p.Slug = slugify(p.Name)
	}
	s.nextID++
	s.products[p.ID] = p
	return p, 0, nil
}

// updateProduct validates and applies body to product id; the caller holds s.mu.
func (s *Server) updateProduct(id int, body map[string]json.RawMessage, batch bool) (*product, int, map[string]any) {
	p, ok := s.products[id]
	if !ok || p.Status == "trash" && !batch {
		status := http.StatusNotFound
		if batch {
			status = http.StatusBadRequest
		}
		return nil, status, map[string]any{"code": "woocommerce_rest_product_invalid_id", "message": "Invalid ID.", "data": map[string]any{"status": status}}
	}
	q := *p
	if e := s.apply(&q, body); e != nil {
		return nil, http.StatusBadRequest, e.item()
	}
	if other := s.skuTaken(q.SKU, id); other != nil && q.SKU != p.SKU {
		return nil, http.StatusBadRequest, skuError(other, q.SKU)
	}
	q.DateModified = s.now().UTC()
	*p = q
	return p, 0, nil
}

func writeItemError(w http.ResponseWriter, status int, item map[string]any) {
	simkit.WriteJSON(w, status, item)
}

func (s *Server) serveProducts(rt *route) {
	segs, r, w := rt.segs, rt.r, rt.w
	switch {
	case len(segs) == 1 && r.Method == http.MethodGet:
		if rt.can("list") {
			s.listProducts(rt)
		}
	case len(segs) == 1 && r.Method == http.MethodPost:
		if !rt.can("create") {
			return
		}
		s.change(rt, http.StatusCreated, "product.created", func(body map[string]json.RawMessage) (map[string]any, int, map[string]any) {
			p, status, item := s.createProduct(body)
			if p == nil {
				return nil, status, item
			}
			return p.render(rt.base), 0, nil
		})
	case len(segs) == 2 && segs[1] == "batch" && (r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch):
		if rt.can("batch") {
			s.batchProducts(rt)
		}
	case len(segs) == 2 && segs[1] == "categories" && r.Method == http.MethodGet:
		if !rt.can("list") {
			return
		}
		s.mu.Lock()
		cats := slices.Clone(s.categories)
		s.mu.Unlock()
		out := []map[string]any{}
		for _, c := range cats {
			out = append(out, map[string]any{"id": c.ID, "name": c.Name, "slug": c.Slug, "parent": 0, "description": "", "display": "default", "image": nil, "menu_order": 0, "count": s.countIn(c.ID)})
		}
		setPaging(w, r, rt.base, len(out), 1, len(out))
		simkit.WriteJSON(w, http.StatusOK, out)
	case len(segs) == 2:
		rt.withID(s.serveProduct)
	default:
		noRoute(w)
	}
}

func (s *Server) countIn(category int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.products {
		if p.Status == "publish" && slices.ContainsFunc(p.Categories, func(t Term) bool { return t.ID == category }) {
			n++
		}
	}
	return n
}

func (s *Server) serveProduct(rt *route, id int) {
	r, w := rt.r, rt.w
	switch r.Method {
	case http.MethodGet:
		if !rt.can("view") {
			return
		}
		s.mu.Lock()
		p, ok := s.products[id]
		var out map[string]any
		if ok {
			out = p.render(rt.base)
		}
		s.mu.Unlock()
		if !ok {
			writeError(w, http.StatusNotFound, "woocommerce_rest_product_invalid_id", "Invalid ID.")
			return
		}
		simkit.WriteJSON(w, http.StatusOK, fields(out, r.URL.Query()))
	case http.MethodPut, http.MethodPatch, http.MethodPost:
		if !rt.can("edit") {
			return
		}
		s.change(rt, http.StatusOK, "product.updated", func(body map[string]json.RawMessage) (map[string]any, int, map[string]any) {
			p, status, item := s.updateProduct(id, body, false)
			if p == nil {
				return nil, status, item
			}
			return p.render(rt.base), 0, nil
		})
	case http.MethodDelete:
		if !rt.can("delete") {
			return
		}
		force := r.URL.Query().Get("force") == "true" || r.URL.Query().Get("force") == "1"
		s.mu.Lock()
		p, ok := s.products[id]
		var out map[string]any
		if ok {
			if force {
				delete(s.products, id)
			} else {
				p.Status, p.DateModified = "trash", s.now().UTC()
			}
			out = p.render(rt.base)
		}
		s.mu.Unlock()
		if !ok {
			writeError(w, http.StatusNotFound, "woocommerce_rest_product_invalid_id", "Invalid ID.")
			return
		}
		s.fire("product.deleted", map[string]any{"id": id}, rt.base)
		simkit.WriteJSON(w, http.StatusOK, out)
	default:
		noRoute(w)
	}
}

// listParams validates the query of a collection request against WooCommerce's schema.
type listParams struct {
	page, perPage, offset int
	e                     fieldErrors
	q                     url.Values
}

func readListParams(q url.Values) *listParams {
	lp := &listParams{page: 1, perPage: 10, q: q}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			notType(&lp.e, "per_page", "integer")
		case n < 1 || n > MaxPerPage:
			lp.e.add("per_page", "rest_out_of_bounds", fmt.Sprintf("per_page must be between 1 (inclusive) and %d (inclusive)", MaxPerPage))
		default:
			lp.perPage = n
		}
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			notType(&lp.e, "page", "integer")
		case n < 1:
			lp.e.add("page", "rest_out_of_bounds", "page must be greater than or equal to 1")
		default:
			lp.page = n
		}
	}
	if v := q.Get("offset"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 0 {
			notType(&lp.e, "offset", "integer")
		} else {
			lp.offset = n
		}
	}
	lp.enum("order", []string{"asc", "desc"})
	return lp
}

func (lp *listParams) enum(name string, allowed []string) {
	if v := lp.q.Get(name); v != "" && !slices.Contains(allowed, v) {
		notEnum(&lp.e, name, allowed)
	}
}

func (lp *listParams) boolean(name string) *bool {
	v := lp.q.Get(name)
	if v == "" {
		return nil
	}
	b, ok := asBool(json.RawMessage(strconv.Quote(v)))
	if !ok {
		notType(&lp.e, name, "boolean")
		return nil
	}
	return &b
}

func (lp *listParams) date(name string) *time.Time {
	v := lp.q.Get(name)
	if v == "" {
		return nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, v); err == nil {
			return &t
		}
	}
	lp.e.add(name, "rest_invalid_date", "Invalid date.")
	return nil
}

func (lp *listParams) ints(name string) []int {
	var out []int
	for _, v := range lp.q[name] {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			n, err := strconv.Atoi(part)
			if err != nil {
				notType(&lp.e, name+"[0]", "integer")
				return nil
			}
			out = append(out, n)
		}
	}
	return out
}

// window slices n items for the request, returning the range and the page count.
func (lp *listParams) window(n int) (start, end, pages int) {
	pages = (max(n-lp.offset, 0) + lp.perPage - 1) / lp.perPage
	start = min(lp.offset+(lp.page-1)*lp.perPage, n)
	return start, min(start+lp.perPage, n), pages
}

// renderer is a resource as the REST API answers it, its links under base.
type renderer interface {
	render(base string) map[string]any
}

// renderPage renders the page of hits lp asks for, each with only the fields the query
// keeps, and returns it with the number of pages; the caller holds s.mu.
func renderPage[T renderer](rt *route, lp *listParams, hits []T) ([]map[string]any, int) {
	start, end, pages := lp.window(len(hits))
	q := rt.r.URL.Query()
	out := []map[string]any{}
	for _, h := range hits[start:end] {
		out = append(out, fields(h.render(rt.base), q))
	}
	return out, pages
}

// setPaging writes X-WP-Total, X-WP-TotalPages and the Link header.
func setPaging(w http.ResponseWriter, r *http.Request, base string, total, page, pages int) {
	w.Header().Set("X-WP-Total", itoa(total))
	w.Header().Set("X-WP-TotalPages", itoa(pages))
	// WordPress builds the links from the request's whole query, credentials included.
	link := func(p int, rel string) string {
		q := r.URL.Query()
		q.Set("page", itoa(p))
		return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, base, r.URL.Path, q.Encode(), rel)
	}
	var links []string
	if page > 1 && pages > 0 {
		links = append(links, link(1, "first"), link(min(page-1, pages), "prev"))
	}
	if page < pages {
		links = append(links, link(page+1, "next"), link(pages, "last"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
}

// fields applies the _fields parameter: only the named top-level fields are returned.
func fields(m map[string]any, q url.Values) map[string]any {
	v := q.Get("_fields")
	if v == "" {
		return m
	}
	out := map[string]any{}
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if x, ok := m[f]; ok {
			out[f] = x
		}
	}
	return out
}

func (s *Server) listProducts(rt *route) {
	q := rt.r.URL.Query()
	lp := readListParams(q)
	lp.enum("status", append([]string{"any", "trash"}, productStatuses...))
	lp.enum("type", productTypes)
	lp.enum("stock_status", stockStatuses)
	lp.enum("orderby", []string{"date", "id", "include", "title", "slug", "price", "popularity", "rating", "modified", "menu_order"})
	featured, onSale := lp.boolean("featured"), lp.boolean("on_sale")
	after, before, modAfter, modBefore := lp.date("after"), lp.date("before"), lp.date("modified_after"), lp.date("modified_before")
	include, exclude := lp.ints("include"), lp.ints("exclude")
	category, tag := lp.ints("category"), lp.ints("tag")
	var minPrice, maxPrice *float64
	for name, dst := range map[string]**float64{"min_price": &minPrice, "max_price": &maxPrice} {
		if v := q.Get(name); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				notType(&lp.e, name, "number")
				continue
			}
			*dst = &f
		}
	}
	if lp.e.any() {
		invalidParams(rt.w, lp.e.params, lp.e.codes)
		return
	}
	status := q.Get("status")
	if status == "" {
		status = "any"
	}
	var skus []string
	if v := q.Get("sku"); v != "" {
		skus = strings.Split(v, ",")
	}
	search := strings.ToLower(q.Get("search"))
	s.mu.Lock()
	var hits []*product
	for _, p := range s.sortedProducts() {
		switch {
		case status == "any" && p.Status == "trash", status != "any" && p.Status != status,
			q.Get("type") != "" && p.Type != q.Get("type"),
			q.Get("stock_status") != "" && p.StockStatus != q.Get("stock_status"),
			featured != nil && p.Featured != *featured,
			onSale != nil && (p.SalePrice != "") != *onSale,
			len(include) > 0 && !slices.Contains(include, p.ID),
			slices.Contains(exclude, p.ID),
			len(skus) > 0 && !slices.Contains(skus, p.SKU),
			len(category) > 0 && !slices.ContainsFunc(p.Categories, func(t Term) bool { return slices.Contains(category, t.ID) }),
			len(tag) > 0 && !slices.ContainsFunc(p.Tags, func(t Term) bool { return slices.Contains(tag, t.ID) }),
			search != "" && !strings.Contains(strings.ToLower(p.Name+"\n"+p.ShortDescription+"\n"+p.Description), search),
			after != nil && !p.DateCreated.After(*after), before != nil && !p.DateCreated.Before(*before),
			modAfter != nil && !p.DateModified.After(*modAfter), modBefore != nil && !p.DateModified.Before(*modBefore),
			minPrice != nil && !priceAtLeast(p.price(), *minPrice, true), maxPrice != nil && !priceAtLeast(p.price(), *maxPrice, false):
			continue
		}
		hits = append(hits, p)
	}
	sortProducts(hits, q.Get("orderby"), q.Get("order"), include)
	out, pages := renderPage(rt, lp, hits)
	s.mu.Unlock()
	setPaging(rt.w, rt.r, rt.base, len(hits), lp.page, pages)
	simkit.WriteJSON(rt.w, http.StatusOK, out)
}

func priceAtLeast(price string, bound float64, atLeast bool) bool {
	f, err := strconv.ParseFloat(price, 64)
	if err != nil {
		return false
	}
	if atLeast {
		return f >= bound
	}
	return f <= bound
}

// sortProducts orders a listing: by date descending unless orderby and order say otherwise.
func sortProducts(ps []*product, orderby, order string, include []int) {
	if orderby == "" {
		orderby = "date"
	}
	asc := order == "asc"
	less := func(a, b *product) int {
		switch orderby {
		case "id":
			return a.ID - b.ID
		case "title":
			return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
		case "slug":
			return strings.Compare(a.Slug, b.Slug)
		case "price":
			x, _ := strconv.ParseFloat(a.price(), 64)
			y, _ := strconv.ParseFloat(b.price(), 64)
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		case "popularity":
			return a.TotalSales - b.TotalSales
		case "modified":
			return a.DateModified.Compare(b.DateModified)
		case "menu_order":
			return a.MenuOrder - b.MenuOrder
		case "include":
			return slices.Index(include, a.ID) - slices.Index(include, b.ID)
		}
		return a.DateCreated.Compare(b.DateCreated)
	}
	sort.SliceStable(ps, func(i, j int) bool {
		c := less(ps[i], ps[j])
		if c == 0 {
			c = ps[i].ID - ps[j].ID
		}
		if asc || orderby == "include" {
			return c < 0
		}
		return c > 0
	})
}

// batchProducts serves POST /products/batch: at most MaxBatch items in all; each fails or
// succeeds alone, its error in place of the product.
func (s *Server) batchProducts(rt *route) {
	var body struct {
		Create []map[string]json.RawMessage `json:"create"`
		Update []map[string]json.RawMessage `json:"update"`
		Delete []json.RawMessage            `json:"delete"`
	}
	dec := json.NewDecoder(rt.r.Body)
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		writeError(rt.w, http.StatusBadRequest, "rest_invalid_json", "Invalid JSON body passed.")
		return
	}
	if n := len(body.Create) + len(body.Update) + len(body.Delete); n > MaxBatch {
		writeError(rt.w, http.StatusRequestEntityTooLarge, "woocommerce_rest_request_entity_too_large",
			fmt.Sprintf("Unable to accept more than %d items for this request.", MaxBatch))
		return
	}
	out := map[string][]map[string]any{}
	type fired struct {
		topic string
		body  map[string]any
	}
	var events []fired
	s.mu.Lock()
	if body.Create != nil {
		out["create"] = []map[string]any{}
	}
	for _, item := range body.Create {
		p, _, errItem := s.createProduct(item)
		if p == nil {
			out["create"] = append(out["create"], map[string]any{"id": 0, "error": errItem})
			continue
		}
		m := p.render(rt.base)
		out["create"] = append(out["create"], m)
		events = append(events, fired{"product.created", m})
	}
	if body.Update != nil {
		out["update"] = []map[string]any{}
	}
	for _, item := range body.Update {
		id, _ := asInt(item["id"])
		p, _, errItem := s.updateProduct(id, item, true)
		if p == nil {
			out["update"] = append(out["update"], map[string]any{"id": id, "error": errItem})
			continue
		}
		m := p.render(rt.base)
		out["update"] = append(out["update"], m)
		events = append(events, fired{"product.updated", m})
	}
	if body.Delete != nil {
		out["delete"] = []map[string]any{}
	}
	for _, raw := range body.Delete {
		id, _ := asInt(raw)
		p, ok := s.products[id]
		if !ok {
			out["delete"] = append(out["delete"], map[string]any{"id": id, "error": map[string]any{"code": "woocommerce_rest_product_invalid_id",
				"message": "Invalid ID.", "data": map[string]any{"status": 400}}})
			continue
		}
		out["delete"] = append(out["delete"], p.render(rt.base))
		delete(s.products, id)
		events = append(events, fired{"product.deleted", map[string]any{"id": id}})
	}
	s.mu.Unlock()
	for _, ev := range events {
		s.fire(ev.topic, ev.body, rt.base)
	}
	simkit.WriteJSON(rt.w, http.StatusOK, out)
}
