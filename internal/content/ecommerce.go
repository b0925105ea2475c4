package content

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/aquascene/aquahub/core"
)

// ECommerce is the seed's e_commerce_data: the shop product a review or product description
// is written for. The writer mentions the price and availability and links the product page
// once, where it says where to get the product.
type ECommerce struct {
	// ProductID is the shop's id of the product (WooCommerce's product id).
	ProductID string
	// ProductURL is the product page (WooCommerce's permalink), an http(s) URL.
	ProductURL string
	// Price is the price as the shop shows it ("219.00").
	Price string
	// Availability is the stock status: WooCommerce's instock, outofstock or onbackorder,
	// or the shop's own words.
	Availability string
}

var ecommerceAliases = map[string]string{
	"productId": "product_id", "id": "product_id", "productUrl": "product_url", "url": "product_url", "permalink": "product_url",
	"stock_status": "availability",
}

// Limits on e_commerce_data's short fields.
const (
	maxProductIDLen    = 64
	maxPriceLen        = 40
	maxAvailabilityLen = 40
)

func ecommerceFromMap(m map[string]any, path string) (*ECommerce, error) {
	var e ECommerce
	for key, v := range m {
		name := key
		if a, ok := ecommerceAliases[key]; ok {
			name = a
		}
		var err error
		switch name {
		case "product_id":
			e.ProductID, err = str(v)
		case "product_url":
			e.ProductURL, err = str(v)
		case "price":
			e.Price, err = str(v)
		case "availability":
			e.Availability, err = str(v)
		default:
			return nil, core.Invalid(path+"."+key, "unknown field")
		}
		if err != nil {
			return nil, core.Invalid(path+"."+key, "%v", err)
		}
	}
	return &e, nil
}

// validate checks the fields; errors name them under path.
func (e *ECommerce) validate(path string) error {
	short := func(field, v string, limit int) error {
		if len(v) > limit || strings.ContainsAny(v, "\r\n") {
			return core.Invalid(path+"."+field, "must be one line of at most %d characters (got %q)", limit, v)
		}
		return nil
	}
	if err := short("product_id", e.ProductID, maxProductIDLen); err != nil {
		return err
	}
	if err := short("price", e.Price, maxPriceLen); err != nil {
		return err
	}
	if err := short("availability", e.Availability, maxAvailabilityLen); err != nil {
		return err
	}
	if e.ProductURL != "" {
		u, err := url.Parse(e.ProductURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.ContainsAny(e.ProductURL, " \n\t()") {
			return core.Invalid(path+".product_url", "must be an http(s) URL without spaces or parentheses (got %q)", e.ProductURL)
		}
	}
	return nil
}

// stockWords are WooCommerce's stock statuses as a reader says them.
var stockWords = map[string]string{"instock": "in stock", "outofstock": "out of stock", "onbackorder": "available on backorder"}

// AvailabilityText returns the availability as words: WooCommerce's stock statuses spelled
// out, anything else as given.
func (e *ECommerce) AvailabilityText() string {
	if w, ok := stockWords[strings.ToLower(strings.ReplaceAll(e.Availability, "_", ""))]; ok {
		return w
	}
	return e.Availability
}

// promptLines tells a model what the shop says about the product.
func (e *ECommerce) promptLines(u *strings.Builder) {
	u.WriteString("\nShop product:")
	if e.ProductID != "" {
		fmt.Fprintf(u, " id %s.", e.ProductID)
	}
	if e.Price != "" {
		fmt.Fprintf(u, " Price %s.", e.Price)
	}
	if a := e.AvailabilityText(); a != "" {
		fmt.Fprintf(u, " Availability: %s.", a)
	}
	u.WriteString("\nState the price and availability exactly as given, only where the text says where to get the product; do not invent discounts or other prices.\n")
	if e.ProductURL != "" {
		fmt.Fprintf(u, "Link the product page exactly once, as a Markdown link: %s\n", e.ProductURL)
	}
}

// sentence is the builtin writer's line on price, availability and the product page, or ""
// when the request says none of them.
func (e *ECommerce) sentence() string {
	var facts []string
	if e.Price != "" {
		facts = append(facts, "it sells for "+e.Price)
	}
	if a := e.AvailabilityText(); a != "" {
		facts = append(facts, "it is "+a)
	}
	s := ""
	if len(facts) > 0 {
		s = "In our shop " + strings.Join(facts, " and ") + "."
	}
	if e.ProductURL != "" {
		s = strings.TrimSpace(s + " See the [product page](" + e.ProductURL + ").")
	}
	return s
}
