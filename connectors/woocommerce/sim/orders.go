package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit"
)

// Address is an order's billing or shipping address.
type Address struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Company   string `json:"company"`
	Address1  string `json:"address_1"`
	Address2  string `json:"address_2"`
	City      string `json:"city"`
	State     string `json:"state"`
	Postcode  string `json:"postcode"`
	Country   string `json:"country"`
	Email     string `json:"email,omitempty"`
	Phone     string `json:"phone,omitempty"`
}

// LineItem is one product line of an order.
type LineItem struct {
	ID        int     `json:"id"`
	Name      string  `json:"name"`
	ProductID int     `json:"product_id"`
	Quantity  int     `json:"quantity"`
	Subtotal  string  `json:"subtotal"`
	Total     string  `json:"total"`
	SKU       string  `json:"sku"`
	Price     float64 `json:"price"`
}

type order struct {
	ID                 int        `json:"id"`
	ParentID           int        `json:"parent_id"`
	Number             string     `json:"number"`
	OrderKey           string     `json:"order_key"`
	CreatedVia         string     `json:"created_via"`
	Status             string     `json:"status"`
	Currency           string     `json:"currency"`
	DateCreated        time.Time  `json:"-"`
	DateModified       time.Time  `json:"-"`
	Total              string     `json:"total"`
	TotalTax           string     `json:"total_tax"`
	ShippingTotal      string     `json:"shipping_total"`
	CustomerID         int        `json:"customer_id"`
	CustomerNote       string     `json:"customer_note"`
	Billing            Address    `json:"billing"`
	Shipping           Address    `json:"shipping"`
	PaymentMethod      string     `json:"payment_method"`
	PaymentMethodTitle string     `json:"payment_method_title"`
	LineItems          []LineItem `json:"line_items"`
	MetaData           []Meta     `json:"meta_data"`
}

var orderStatuses = []string{"pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "checkout-draft", "trash"}

func (o *order) render(base string) map[string]any {
	b, _ := json.Marshal(o)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	m["date_created"], m["date_created_gmt"] = wpTime(o.DateCreated), wpTime(o.DateCreated)
	m["date_modified"], m["date_modified_gmt"] = wpTime(o.DateModified), wpTime(o.DateModified)
	m["prices_include_tax"] = false
	m["_links"] = map[string]any{
		"self":       []map[string]string{{"href": base + APIPath + "/orders/" + itoa(o.ID)}},
		"collection": []map[string]string{{"href": base + APIPath + "/orders"}},
	}
	return m
}

// Orders returns every order as the API shows it, by id.
func (s *Server) Orders(base string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	for _, o := range s.sortedOrders() {
		out = append(out, o.render(base))
	}
	return out
}

func (s *Server) sortedOrders() []*order {
	out := make([]*order, 0, len(s.orders))
	for _, o := range s.orders {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func money(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

// newOrder validates an order body and stores it; the caller holds s.mu.
func (s *Server) newOrder(body map[string]json.RawMessage) (*order, map[string]any) {
	now := s.now().UTC()
	o := &order{ID: s.nextID, Status: "pending", Currency: "EUR", DateCreated: now, DateModified: now, CreatedVia: "rest-api",
		TotalTax: "0.00", ShippingTotal: "0.00", LineItems: []LineItem{}, MetaData: []Meta{}}
	if e := s.applyOrder(o, body); e != nil {
		return nil, e.item()
	}
	var items []struct {
		ProductID json.RawMessage `json:"product_id"`
		Quantity  json.RawMessage `json:"quantity"`
	}
	if raw, ok := body["line_items"]; ok && json.Unmarshal(raw, &items) != nil {
		e := &fieldErrors{}
		notType(e, "line_items", "array")
		return nil, e.item()
	}
	total := 0.0
	for i, it := range items {
		id, _ := asInt(it.ProductID)
		qty, ok := asInt(it.Quantity)
		if !ok {
			qty = 1
		}
		p, exists := s.products[id]
		if !exists || p.Status == "trash" {
			return nil, map[string]any{"code": "woocommerce_rest_invalid_product_id", "message": "Product ID provided is invalid.", "data": map[string]any{"status": 400}}
		}
		if qty < 1 {
			return nil, map[string]any{"code": "woocommerce_rest_invalid_product_quantity", "message": fmt.Sprintf("Product quantity of line_items[%d] must be a positive integer.", i), "data": map[string]any{"status": 400}}
		}
		price, _ := strconv.ParseFloat(p.price(), 64)
		s.nextMeta++
		o.LineItems = append(o.LineItems, LineItem{ID: s.nextMeta, Name: p.Name, ProductID: p.ID, Quantity: qty,
			Subtotal: money(price * float64(qty)), Total: money(price * float64(qty)), SKU: p.SKU, Price: price})
		total += price * float64(qty)
		p.TotalSales += qty
	}
	if paid, ok := asBool(body["set_paid"]); ok && paid {
		o.Status = "processing"
	}
	o.Total = money(total)
	o.Number = itoa(o.ID)
	o.OrderKey = fmt.Sprintf("wc_order_%x", o.ID*2654435761%(1<<32))
	s.nextID++
	s.orders[o.ID] = o
	return o, nil
}

// applyOrder writes the editable fields of an order body (status, customer, addresses,
// payment method, note, meta_data).
func (s *Server) applyOrder(o *order, body map[string]json.RawMessage) *fieldErrors {
	e := &fieldErrors{}
	q := *o
	if raw, ok := body["status"]; ok {
		v, ok := asString(raw)
		switch {
		case !ok:
			notType(e, "status", "string")
		case !slices.Contains(orderStatuses, v):
			notEnum(e, "status", orderStatuses)
		default:
			q.Status = v
		}
	}
	if raw, ok := body["customer_id"]; ok {
		if v, ok := asInt(raw); ok {
			q.CustomerID = v
		} else {
			notType(e, "customer_id", "integer")
		}
	}
	for name, dst := range map[string]*string{"customer_note": &q.CustomerNote, "payment_method": &q.PaymentMethod, "payment_method_title": &q.PaymentMethodTitle} {
		if raw, ok := body[name]; ok {
			if v, ok := asString(raw); ok {
				*dst = v
			} else {
				notType(e, name, "string")
			}
		}
	}
	for name, dst := range map[string]*Address{"billing": &q.Billing, "shipping": &q.Shipping} {
		if raw, ok := body[name]; ok {
			if json.Unmarshal(raw, dst) != nil {
				notType(e, name, "object")
			} else if name == "billing" && dst.Email != "" && !strings.Contains(dst.Email, "@") {
				e.add("billing", "rest_invalid_email", "billing[email] is not a valid email address.")
			}
		}
	}
	if raw, ok := body["meta_data"]; ok {
		var items []Meta
		if json.Unmarshal(raw, &items) != nil {
			notType(e, "meta_data", "array")
		}
		for _, it := range items {
			if i := slices.IndexFunc(q.MetaData, func(m Meta) bool { return m.Key == it.Key }); i >= 0 {
				q.MetaData[i].Value = it.Value
			} else if it.Key != "" {
				s.nextMeta++
				q.MetaData = append(q.MetaData, Meta{ID: s.nextMeta, Key: it.Key, Value: it.Value})
			}
		}
	}
	if e.any() {
		return e
	}
	*o = q
	return nil
}

func (s *Server) serveOrders(rt *route) {
	segs, r, w := rt.segs, rt.r, rt.w
	switch {
	case len(segs) == 1 && r.Method == http.MethodGet:
		if rt.can("list") {
			s.listOrders(rt)
		}
	case len(segs) == 1 && r.Method == http.MethodPost:
		if !rt.can("create") {
			return
		}
		s.change(rt, http.StatusCreated, "order.created", func(body map[string]json.RawMessage) (map[string]any, int, map[string]any) {
			o, item := s.newOrder(body)
			if o == nil {
				return nil, http.StatusBadRequest, item
			}
			return o.render(rt.base), 0, nil
		})
	case len(segs) == 2:
		rt.withID(s.serveOrder)
	default:
		noRoute(w)
	}
}

func (s *Server) serveOrder(rt *route, id int) {
	r, w := rt.r, rt.w
	verb := map[string]string{http.MethodGet: "view", http.MethodPut: "edit", http.MethodPatch: "edit", http.MethodPost: "edit"}[r.Method]
	if verb == "" {
		noRoute(w)
		return
	}
	if !rt.can(verb) {
		return
	}
	var body map[string]json.RawMessage
	if verb == "edit" {
		var ok bool
		if body, ok = decodeJSON(w, r); !ok {
			return
		}
	}
	s.mu.Lock()
	o, ok := s.orders[id]
	if !ok {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
		return
	}
	if verb == "edit" {
		if e := s.applyOrder(o, body); e != nil {
			s.mu.Unlock()
			writeItemError(w, http.StatusBadRequest, e.item())
			return
		}
		o.DateModified = s.now().UTC()
	}
	out := o.render(rt.base)
	s.mu.Unlock()
	if verb == "edit" {
		s.fire("order.updated", out, rt.base)
	}
	simkit.WriteJSON(w, http.StatusOK, fields(out, r.URL.Query()))
}

func (s *Server) listOrders(rt *route) {
	q := rt.r.URL.Query()
	lp := readListParams(q)
	lp.enum("orderby", []string{"date", "id", "include", "title", "slug", "modified"})
	var statuses []string
	for _, v := range q["status"] {
		for _, st := range strings.Split(v, ",") {
			if st = strings.TrimSpace(st); st != "" {
				if st != "any" && !slices.Contains(orderStatuses, st) {
					notEnum(&lp.e, "status[0]", append([]string{"any"}, orderStatuses...))
				}
				statuses = append(statuses, st)
			}
		}
	}
	after, before, modAfter := lp.date("after"), lp.date("before"), lp.date("modified_after")
	include, exclude := lp.ints("include"), lp.ints("exclude")
	customer, prod := lp.ints("customer"), lp.ints("product")
	if lp.e.any() {
		invalidParams(rt.w, lp.e.params, lp.e.codes)
		return
	}
	search := strings.ToLower(q.Get("search"))
	s.mu.Lock()
	var hits []*order
	for _, o := range s.sortedOrders() {
		inStatus := len(statuses) == 0 || slices.Contains(statuses, o.Status) || slices.Contains(statuses, "any") && o.Status != "trash"
		if len(statuses) == 0 {
			inStatus = o.Status != "trash"
		}
		switch {
		case !inStatus,
			len(include) > 0 && !slices.Contains(include, o.ID), slices.Contains(exclude, o.ID),
			len(customer) > 0 && !slices.Contains(customer, o.CustomerID),
			len(prod) > 0 && !slices.ContainsFunc(o.LineItems, func(li LineItem) bool { return slices.Contains(prod, li.ProductID) }),
			search != "" && !strings.Contains(strings.ToLower(o.Billing.Email+" "+o.Billing.FirstName+" "+o.Billing.LastName), search),
			after != nil && !o.DateCreated.After(*after), before != nil && !o.DateCreated.Before(*before),
			modAfter != nil && !o.DateModified.After(*modAfter):
			continue
		}
		hits = append(hits, o)
	}
	asc := q.Get("order") == "asc"
	sort.SliceStable(hits, func(i, j int) bool {
		a, b := hits[i], hits[j]
		c := a.DateCreated.Compare(b.DateCreated)
		switch q.Get("orderby") {
		case "id":
			c = a.ID - b.ID
		case "modified":
			c = a.DateModified.Compare(b.DateModified)
		}
		if c == 0 {
			c = a.ID - b.ID
		}
		if asc {
			return c < 0
		}
		return c > 0
	})
	out, pages := renderPage(rt, lp, hits)
	s.mu.Unlock()
	setPaging(rt.w, rt.r, rt.base, len(hits), lp.page, pages)
	simkit.WriteJSON(rt.w, http.StatusOK, out)
}
