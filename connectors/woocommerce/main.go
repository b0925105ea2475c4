// Command woocommerce is aquahub's WooCommerce connector, a WASI reactor module built with
// sdk/plugin: products (list, get, update, batch) and orders (list) against a store's REST
// API v3 (or the simulator in ./sim). See README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aquascene/aquahub/sdk/plugin"
)

// TermRef names a category or tag by id.
type TermRef struct {
	ID int `json:"id" jsonschema:"minimum=1"`
}

// ImageRef is a product image: an existing media id or a URL to sideload.
type ImageRef struct {
	ID   int    `json:"id,omitempty"`
	Src  string `json:"src,omitempty" jsonschema:"format=uri"`
	Name string `json:"name,omitempty"`
	Alt  string `json:"alt,omitempty"`
}

// MetaEntry is one meta_data entry; WooCommerce merges entries by key.
type MetaEntry struct {
	Key   string `json:"key" jsonschema:"minLength=1"`
	Value any    `json:"value"`
}

// Dimensions are a product's size, as strings.
type Dimensions struct {
	Length string `json:"length,omitempty"`
	Width  string `json:"width,omitempty"`
	Height string `json:"height,omitempty"`
}

// ProductFields are the writable fields of a product, as WooCommerce names them. Only the
// fields given are sent, so an empty string clears a field (sale_price: "" ends a sale).
// Prices are decimal strings.
type ProductFields struct {
	Name              *string     `json:"name,omitempty"`
	Slug              *string     `json:"slug,omitempty"`
	Type              *string     `json:"type,omitempty" jsonschema:"enum=simple|grouped|external|variable"`
	Status            *string     `json:"status,omitempty" jsonschema:"enum=draft|pending|private|publish|future"`
	Featured          *bool       `json:"featured,omitempty"`
	CatalogVisibility *string     `json:"catalog_visibility,omitempty" jsonschema:"enum=visible|catalog|search|hidden"`
	Description       *string     `json:"description,omitempty" desc:"HTML"`
	ShortDescription  *string     `json:"short_description,omitempty" desc:"HTML"`
	SKU               *string     `json:"sku,omitempty"`
	RegularPrice      *string     `json:"regular_price,omitempty" desc:"decimal as a string, such as \"24.90\"" jsonschema:"pattern=^([0-9]+(\\.[0-9]+)?)?$"`
	SalePrice         *string     `json:"sale_price,omitempty" desc:"decimal as a string; empty ends the sale" jsonschema:"pattern=^([0-9]+(\\.[0-9]+)?)?$"`
	DateOnSaleFrom    *string     `json:"date_on_sale_from,omitempty"`
	DateOnSaleTo      *string     `json:"date_on_sale_to,omitempty"`
	Virtual           *bool       `json:"virtual,omitempty"`
	Downloadable      *bool       `json:"downloadable,omitempty"`
	TaxStatus         *string     `json:"tax_status,omitempty" jsonschema:"enum=taxable|shipping|none"`
	TaxClass          *string     `json:"tax_class,omitempty"`
	ManageStock       *bool       `json:"manage_stock,omitempty"`
	StockQuantity     *int        `json:"stock_quantity,omitempty"`
	StockStatus       *string     `json:"stock_status,omitempty" jsonschema:"enum=instock|outofstock|onbackorder"`
	Backorders        *string     `json:"backorders,omitempty" jsonschema:"enum=no|notify|yes"`
	SoldIndividually  *bool       `json:"sold_individually,omitempty"`
	Weight            *string     `json:"weight,omitempty"`
	Dimensions        *Dimensions `json:"dimensions,omitempty"`
	ShippingClass     *string     `json:"shipping_class,omitempty"`
	ReviewsAllowed    *bool       `json:"reviews_allowed,omitempty"`
	PurchaseNote      *string     `json:"purchase_note,omitempty"`
	MenuOrder         *int        `json:"menu_order,omitempty"`
	ParentID          *int        `json:"parent_id,omitempty"`
	Categories        []TermRef   `json:"categories,omitempty"`
	Tags              []TermRef   `json:"tags,omitempty"`
	Images            []ImageRef  `json:"images,omitempty"`
	MetaData          []MetaEntry `json:"meta_data,omitempty"`
}

// ProductsListIn is the input of products.list.
type ProductsListIn struct {
	Search        string   `json:"search,omitempty" desc:"in names and descriptions"`
	SKU           string   `json:"sku,omitempty" desc:"one SKU, or several separated by commas"`
	Status        string   `json:"status,omitempty" jsonschema:"enum=any|draft|pending|private|publish|future|trash"`
	Type          string   `json:"type,omitempty" jsonschema:"enum=simple|grouped|external|variable"`
	Category      int      `json:"category,omitempty" desc:"category id" jsonschema:"minimum=1"`
	Tag           int      `json:"tag,omitempty" desc:"tag id" jsonschema:"minimum=1"`
	Featured      *bool    `json:"featured,omitempty"`
	OnSale        *bool    `json:"on_sale,omitempty"`
	StockStatus   string   `json:"stock_status,omitempty" jsonschema:"enum=instock|outofstock|onbackorder"`
	MinPrice      string   `json:"min_price,omitempty" jsonschema:"pattern=^[0-9]+(\\.[0-9]+)?$"`
	MaxPrice      string   `json:"max_price,omitempty" jsonschema:"pattern=^[0-9]+(\\.[0-9]+)?$"`
	ModifiedAfter string   `json:"modified_after,omitempty" desc:"ISO 8601 date-time"`
	After         string   `json:"after,omitempty" desc:"created after, ISO 8601"`
	Before        string   `json:"before,omitempty" desc:"created before, ISO 8601"`
	Include       []int    `json:"include,omitempty"`
	Exclude       []int    `json:"exclude,omitempty"`
	OrderBy       string   `json:"orderby,omitempty" jsonschema:"enum=date|id|include|title|slug|price|popularity|rating|modified"`
	Order         string   `json:"order,omitempty" jsonschema:"enum=asc|desc"`
	Fields        []string `json:"fields,omitempty" desc:"only these product fields (_fields)"`
	// MaxDescriptionLength keeps the products whose description, as text without HTML, is
	// shorter than this many characters: the seed's "products with short descriptions".
	MaxDescriptionLength int  `json:"max_description_length,omitempty" desc:"keep products whose description (text, no HTML) is shorter than this" jsonschema:"minimum=1"`
	PerPage              int  `json:"per_page,omitempty" desc:"products per request (1-100, default 100)" jsonschema:"minimum=1,maximum=100"`
	Page                 int  `json:"page,omitempty" desc:"first page to read (default 1)" jsonschema:"minimum=1"`
	MaxItems             int  `json:"max_items,omitempty" desc:"stop after this many products (default 500)" jsonschema:"minimum=1,maximum=10000"`
	OnePage              bool `json:"one_page,omitempty" desc:"read one page; next_page continues"`
}

// ListOut is the output of the list actions.
type ListOut struct {
	Count      int `json:"count"`
	Total      int `json:"total" desc:"X-WP-Total: matches in the store (before max_description_length)"`
	TotalPages int `json:"total_pages"`
	PagesRead  int `json:"pages_read"`
	// Truncated says max_items stopped the listing before the last page.
	Truncated bool `json:"truncated,omitempty"`
	NextPage  int  `json:"next_page,omitempty" desc:"with one_page: the page to read next"`
}

// ProductsListOut is the output of products.list.
type ProductsListOut struct {
	Products []map[string]any `json:"products"`
	ListOut
}

// GetIn is the input of products.get.
type GetIn struct {
	ID     int      `json:"id" jsonschema:"minimum=1"`
	Fields []string `json:"fields,omitempty" desc:"only these product fields (_fields)"`
}

// UpdateIn is the input of products.update: the product id and the fields to change.
type UpdateIn struct {
	ID int `json:"id" jsonschema:"minimum=1"`
	ProductFields
}

// BatchIn is the input of products.batch.
type BatchIn struct {
	Create []ProductFields `json:"create,omitempty"`
	Update []UpdateIn      `json:"update,omitempty"`
	Delete []int           `json:"delete,omitempty" desc:"ids to delete permanently"`
	// FailOnError makes any rejected item fail the step (invalid_input) after the rest
	// were written; by default rejected items are reported.
	FailOnError bool `json:"fail_on_error,omitempty"`
}

// ItemError is why WooCommerce rejected one batch item.
type ItemError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// BatchItem is the outcome of one batch item, in input order.
type BatchItem struct {
	ID    int        `json:"id,omitempty"`
	SKU   string     `json:"sku,omitempty"`
	Error *ItemError `json:"error,omitempty"`
}

// BatchOut is the output of products.batch.
type BatchOut struct {
	Create   []BatchItem `json:"create"`
	Update   []BatchItem `json:"update"`
	Delete   []BatchItem `json:"delete"`
	Failed   int         `json:"failed"`
	Requests int         `json:"requests"`
}

// OrdersListIn is the input of orders.list.
type OrdersListIn struct {
	Status        []string `json:"status,omitempty" desc:"any, pending, processing, on-hold, completed, cancelled, refunded, failed, trash"`
	Customer      int      `json:"customer,omitempty" jsonschema:"minimum=1"`
	Product       int      `json:"product,omitempty" jsonschema:"minimum=1"`
	Search        string   `json:"search,omitempty"`
	After         string   `json:"after,omitempty" desc:"created after, ISO 8601"`
	Before        string   `json:"before,omitempty" desc:"created before, ISO 8601"`
	ModifiedAfter string   `json:"modified_after,omitempty"`
	Include       []int    `json:"include,omitempty"`
	Exclude       []int    `json:"exclude,omitempty"`
	OrderBy       string   `json:"orderby,omitempty" jsonschema:"enum=date|id|include|title|slug|modified"`
	Order         string   `json:"order,omitempty" jsonschema:"enum=asc|desc"`
	Fields        []string `json:"fields,omitempty" desc:"only these order fields (_fields)"`
	PerPage       int      `json:"per_page,omitempty" jsonschema:"minimum=1,maximum=100"`
	Page          int      `json:"page,omitempty" jsonschema:"minimum=1"`
	MaxItems      int      `json:"max_items,omitempty" desc:"stop after this many orders (default 500)" jsonschema:"minimum=1,maximum=10000"`
	OnePage       bool     `json:"one_page,omitempty"`
}

// OrdersListOut is the output of orders.list.
type OrdersListOut struct {
	Orders []map[string]any `json:"orders"`
	ListOut
}

// Connector is the WooCommerce connector; plugintest runs it natively in tests.
var Connector = &plugin.Connector{
	ID: "woocommerce", Version: "1.0.0",
	Description: "WooCommerce REST API v3: list, read, update and batch-write products; list orders.",
	Config: []plugin.ConfigSpec{
		{Name: "base_url", Description: "the store's URL (https://shop.example.com); the API is under /wp-json/wc/v3", Required: true},
		{Name: "consumer_key", Description: "the REST API key's consumer key (ck_…), its public half", Required: true},
		{Name: "auth", Description: "basic (HTTP Basic over HTTPS) or query (consumer_key and consumer_secret in the query, for servers that drop Authorization)", Default: "basic"},
	},
	Secrets: []plugin.SecretSpec{{Name: "consumer_secret", Description: "the REST API key's consumer secret (cs_…)", Required: true}},
	// Stores live on their owners' domains: the operator grants the store's origin.
	Egress: []string{"*"},
	Actions: []plugin.Handler{
		plugin.Action[ProductsListIn, ProductsListOut]{Name: "products.list", Description: "List products with WooCommerce's filters, every page (X-WP-TotalPages) or one.", Handle: listProducts},
		plugin.Action[GetIn, map[string]any]{Name: "products.get", Description: "Read one product.", Handle: getProduct},
		plugin.Action[UpdateIn, map[string]any]{Name: "products.update", Description: "Change a product's fields; returns the product.", Handle: updateProduct},
		plugin.Action[BatchIn, BatchOut]{Name: "products.batch", Description: "Create, update and delete products, 100 items per request, reporting each.", Handle: batch},
		plugin.Action[OrdersListIn, OrdersListOut]{Name: "orders.list", Description: "List orders, every page or one.", Handle: listOrders},
	},
}

func init() { plugin.Main(Connector) }

func main() {}

func ints(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// setIf sets a query parameter when the value is not empty.
func setIf(q url.Values, name, value string) {
	if value != "" {
		q.Set(name, value)
	}
}

func listing0(perPage, pageNo, maxItems int, onePage bool) listing {
	l := listing{perPage: perPage, page: pageNo, maxItems: maxItems, onePage: onePage}
	if l.perPage == 0 {
		l.perPage = maxPerPage
	}
	if l.page == 0 {
		l.page = 1
	}
	if l.maxItems == 0 {
		l.maxItems = 500
	}
	return l
}

// sameName maps request parameters onto input fields of the same name, and _fields onto
// fields.
func sameName(p string) string {
	if p == "_fields" {
		return "fields"
	}
	return p
}

var tags = regexp.MustCompile(`<[^>]*>`)

// textLength is the length in characters of an HTML description as text.
func textLength(h string) int {
	return utf8.RuneCountInString(strings.TrimSpace(html.UnescapeString(tags.ReplaceAllString(h, " "))))
}

func listProducts(ctx context.Context, in ProductsListIn) (ProductsListOut, error) {
	if in.Page > 1 && !in.OnePage {
		return ProductsListOut{}, plugin.InvalidInput("page", errors.New("page goes with one_page"))
	}
	q := url.Values{}
	setIf(q, "search", in.Search)
	setIf(q, "sku", in.SKU)
	setIf(q, "status", in.Status)
	setIf(q, "type", in.Type)
	setIf(q, "stock_status", in.StockStatus)
	setIf(q, "min_price", in.MinPrice)
	setIf(q, "max_price", in.MaxPrice)
	setIf(q, "modified_after", in.ModifiedAfter)
	setIf(q, "after", in.After)
	setIf(q, "before", in.Before)
	setIf(q, "orderby", in.OrderBy)
	setIf(q, "order", in.Order)
	setIf(q, "include", ints(in.Include))
	setIf(q, "exclude", ints(in.Exclude))
	if in.Category > 0 {
		q.Set("category", strconv.Itoa(in.Category))
	}
	if in.Tag > 0 {
		q.Set("tag", strconv.Itoa(in.Tag))
	}
	if in.Featured != nil {
		q.Set("featured", strconv.FormatBool(*in.Featured))
	}
	if in.OnSale != nil {
		q.Set("on_sale", strconv.FormatBool(*in.OnSale))
	}
	l := listing0(in.PerPage, in.Page, in.MaxItems, in.OnePage)
	if in.MaxDescriptionLength > 0 {
		if len(in.Fields) > 0 && !slices.Contains(in.Fields, "description") {
			in.Fields = append(in.Fields, "description")
		}
		l.keep = func(p map[string]any) bool {
			d, _ := p["description"].(string)
			return textLength(d) < in.MaxDescriptionLength
		}
	}
	setIf(q, "_fields", strings.Join(in.Fields, ","))
	c, err := newClient(ctx)
	if err != nil {
		return ProductsListOut{}, err
	}
	res, err := c.list(ctx, "/products", q, l, sameName)
	if err != nil {
		return ProductsListOut{}, err
	}
	return ProductsListOut{Products: res.items, ListOut: res.out()}, nil
}

func (r listResult) out() ListOut {
	return ListOut{Count: len(r.items), Total: r.total, TotalPages: r.totalPages, PagesRead: r.pagesRead,
		Truncated: r.truncated, NextPage: r.nextPage}
}

func getProduct(ctx context.Context, in GetIn) (map[string]any, error) {
	c, err := newClient(ctx)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	setIf(q, "_fields", strings.Join(in.Fields, ","))
	resp, err := c.do(ctx, http.MethodGet, "/products/"+strconv.Itoa(in.ID), q, nil, sameName)
	if err != nil {
		return nil, err
	}
	var p map[string]any
	return p, decode(resp, &p)
}

func updateProduct(ctx context.Context, in UpdateIn) (map[string]any, error) {
	body, err := json.Marshal(in.ProductFields)
	if err != nil {
		return nil, plugin.InvalidInput("", err)
	}
	if string(body) == "{}" {
		return nil, plugin.InvalidInput("", errors.New("no fields to change"))
	}
	c, err := newClient(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, http.MethodPut, "/products/"+strconv.Itoa(in.ID), nil, json.RawMessage(body), sameName)
	if err != nil {
		return nil, err
	}
	var p map[string]any
	return p, decode(resp, &p)
}

func listOrders(ctx context.Context, in OrdersListIn) (OrdersListOut, error) {
	if in.Page > 1 && !in.OnePage {
		return OrdersListOut{}, plugin.InvalidInput("page", errors.New("page goes with one_page"))
	}
	q := url.Values{}
	setIf(q, "status", strings.Join(in.Status, ","))
	setIf(q, "search", in.Search)
	setIf(q, "after", in.After)
	setIf(q, "before", in.Before)
	setIf(q, "modified_after", in.ModifiedAfter)
	setIf(q, "orderby", in.OrderBy)
	setIf(q, "order", in.Order)
	setIf(q, "include", ints(in.Include))
	setIf(q, "exclude", ints(in.Exclude))
	setIf(q, "_fields", strings.Join(in.Fields, ","))
	if in.Customer > 0 {
		q.Set("customer", strconv.Itoa(in.Customer))
	}
	if in.Product > 0 {
		q.Set("product", strconv.Itoa(in.Product))
	}
	c, err := newClient(ctx)
	if err != nil {
		return OrdersListOut{}, err
	}
	res, err := c.list(ctx, "/orders", q, listing0(in.PerPage, in.Page, in.MaxItems, in.OnePage), func(p string) string {
		if strings.HasPrefix(p, "status") {
			return "status"
		}
		return sameName(p)
	})
	if err != nil {
		return OrdersListOut{}, err
	}
	return OrdersListOut{Orders: res.items, ListOut: res.out()}, nil
}

// batchOp is one item of a batch: its operation, its index in that operation's input, and
// what is sent.
type batchOp struct {
	op    string // create, update or delete
	index int
	body  any
}

// batchProgress is what one batch request settled, kept in kv under the step's idempotency
// key so that a retry does not send accepted requests again.
type batchProgress struct {
	Items []BatchItem `json:"items"`
}

func batch(ctx context.Context, in BatchIn) (BatchOut, error) {
	var ops []batchOp
	for i, p := range in.Create {
		ops = append(ops, batchOp{"create", i, p})
	}
	for i, u := range in.Update {
		ops = append(ops, batchOp{"update", i, u})
	}
	for i, id := range in.Delete {
		if id < 1 {
			return BatchOut{}, plugin.InvalidInput(fmt.Sprintf("delete[%d]", i), errors.New("must be a product id"))
		}
		ops = append(ops, batchOp{"delete", i, id})
	}
	if len(ops) == 0 {
		return BatchOut{}, plugin.InvalidInput("create", errors.New("nothing to create, update or delete"))
	}
	c, err := newClient(ctx)
	if err != nil {
		return BatchOut{}, err
	}
	out := BatchOut{Create: make([]BatchItem, len(in.Create)), Update: make([]BatchItem, len(in.Update)), Delete: make([]BatchItem, len(in.Delete))}
	key := plugin.IdempotencyKey(ctx)
	for start, n := 0, 0; start < len(ops); start, n = start+maxBatch, n+1 {
		chunk := ops[start:min(start+maxBatch, len(ops))]
		kvKey := fmt.Sprintf("batch/%s/%d", key, n)
		var done batchProgress
		if key != "" {
			if b, ok, err := plugin.KVGet(ctx, kvKey); err != nil {
				return BatchOut{}, err
			} else if ok && json.Unmarshal(b, &done) == nil && len(done.Items) == len(chunk) {
				out.place(chunk, done.Items)
				continue
			}
		}
		out.Requests++
		items, err := batchChunk(ctx, c, chunk)
		if err != nil {
			return BatchOut{}, fmt.Errorf("batch items %d-%d: %w", start, start+len(chunk)-1, err)
		}
		if key != "" {
			b, _ := json.Marshal(batchProgress{Items: items})
			if err := plugin.KVSet(ctx, kvKey, b); err != nil {
				return BatchOut{}, err
			}
		}
		out.place(chunk, items)
	}
	if out.Failed > 0 && (in.FailOnError || out.Failed == len(ops)) {
		for _, op := range ops {
			it := out.item(op)
			if it.Error != nil {
				field := fmt.Sprintf("%s[%d]", op.op, op.index)
				if it.Error.Field != "" {
					field += "." + it.Error.Field
				}
				return BatchOut{}, plugin.InvalidInput(field, fmt.Errorf("woocommerce rejected %d of %d items; first: %s: %s", out.Failed, len(ops), it.Error.Code, it.Error.Message))
			}
		}
	}
	return out, nil
}

func (o *BatchOut) item(op batchOp) BatchItem {
	switch op.op {
	case "create":
		return o.Create[op.index]
	case "update":
		return o.Update[op.index]
	}
	return o.Delete[op.index]
}

func (o *BatchOut) place(chunk []batchOp, items []BatchItem) {
	for i, op := range chunk {
		it := items[i]
		if it.Error != nil {
			o.Failed++
		}
		switch op.op {
		case "create":
			o.Create[op.index] = it
		case "update":
			o.Update[op.index] = it
		default:
			o.Delete[op.index] = it
		}
	}
}

// batchChunk sends one batch request and returns one item per op, in order: WooCommerce
// answers each list in the order it was sent, each entry a product or {id, error}.
func batchChunk(ctx context.Context, c *client, chunk []batchOp) ([]BatchItem, error) {
	body := map[string][]any{}
	for _, op := range chunk {
		body[op.op] = append(body[op.op], op.body)
	}
	resp, err := c.do(ctx, http.MethodPost, "/products/batch", nil, body, nil)
	if err != nil {
		return nil, err
	}
	var ans map[string][]struct {
		ID    int    `json:"id"`
		SKU   string `json:"sku"`
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Data    struct {
				Params map[string]string `json:"params"`
			} `json:"data"`
		} `json:"error"`
	}
	if err := decode(resp, &ans); err != nil {
		return nil, err
	}
	next := map[string]int{}
	items := make([]BatchItem, len(chunk))
	for i, op := range chunk {
		list := ans[op.op]
		j := next[op.op]
		next[op.op]++
		if j >= len(list) {
			items[i] = BatchItem{Error: &ItemError{Code: "missing", Message: "woocommerce returned no result for this item"}}
			continue
		}
		r := list[j]
		items[i] = BatchItem{ID: r.ID, SKU: r.SKU}
		if op.op == "delete" && r.ID == 0 {
			items[i].ID = op.body.(int)
		}
		if r.Error != nil {
			e := &wcError{Code: r.Error.Code, Message: r.Error.Message}
			e.Data.Params = r.Error.Data.Params
			items[i].Error = &ItemError{Code: r.Error.Code, Message: r.Error.Message, Field: e.field()}
			items[i].SKU = ""
		}
	}
	return items, nil
}
