package partners

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aquascene/aquahub/core"
)

// Partner is a registered partner.
type Partner struct {
	ID, Name       string
	Catalog        *Catalog
	Guidelines     Guidelines
	Affiliate      Affiliate
	RevenueSharing RevenueSharing
	Notification   *Notification
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Catalog is a partner's product API (api.PartnerCatalog documents the fields).
type Catalog struct {
	BaseURL                                               string
	Auth                                                  Auth
	ListPath, GetPath, ItemsPath, ItemPath, CategoryParam string
	Paging                                                map[string]any
	// Mapping maps product fields to expr expressions over item and partner.
	Mapping map[string]string
}

// Auth is how the catalog API is authenticated: Style bearer, header or none; Secret names
// the key among the tenant's partner connector secrets.
type Auth struct{ Style, Header, Secret string }

// Guidelines are a partner's content guidelines.
type Guidelines struct{ Voice, ProductIntegration, CallToAction string }

// Affiliate builds affiliate links (api.PartnerAffiliate documents it).
type Affiliate struct {
	LinkTemplate string
	Tracking     map[string]string
}

// RevenueSharing are a partnership's commercial terms (api.RevenueSharing documents them).
type RevenueSharing struct {
	CommissionPercent        float64
	Currency                 string
	USDExchangeRate          float64
	ProductionCostPerContent float64
}

// Notification is where the partner is told about content: URL (absolute or relative to
// the catalog's base), Secret naming the shared secret (hmac-sha256) or signing key (ES256,
// RS256), Algorithm one of NotificationAlgorithms.
type Notification struct{ URL, Secret, Algorithm string }

// AlgHMAC is the notification algorithm of HMAC-signed notifications (X-Signature-256).
const AlgHMAC = "hmac-sha256"

// NotificationAlgorithms are what the partner connector signs notifications with.
var NotificationAlgorithms = []string{AlgHMAC, "ES256", "RS256"}

// KeyHeaders are the headers the partner connector may send an API key in with style
// header: the places its manifest declares for the key, outside which the host refuses to
// send it.
var KeyHeaders = []string{"X-Api-Key", "Api-Key", "X-Api-Token", "X-Auth-Token"}

// Attribution is one order attributed to a content piece featuring a partner.
type Attribution struct {
	PartnerID, OrderID, ContentID string
	Amount                        float64
	Currency                      string
	OrderedAt, RecordedAt         time.Time
}

// ProductFields are the product fields a catalog mapping may name, as the partner
// connector outputs them.
var ProductFields = []string{"id", "name", "category", "description", "price_range", "key_benefits", "url", "in_stock", "seo_keywords", "affiliate_url"}

var (
	idPattern       = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
	secretPattern   = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	placeholder     = regexp.MustCompile(`\{([a-z_]+)\}`)
)

// placeholders are what link templates and tracking values may use.
var placeholders = map[string]bool{"product_id": true, "product_url": true, "content_id": true, "partner_id": true}

// pagingStyles are the partner connector's paging styles.
var pagingStyles = map[string]bool{"page": true, "cursor": true, "next_url": true, "link": true, "none": true}

// CheckID refuses a partner id a connector instance, a key or a URL could not carry.
func CheckID(id string) error {
	if !idPattern.MatchString(id) {
		return core.Invalid("id", "must be 1-64 lowercase letters, digits, _ or -, starting with a letter or digit (got %q)", id)
	}
	return nil
}

// Validate checks a partner; errors name the field as the API spells it.
func (p *Partner) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) { errs = append(errs, core.Invalid(field, format, args...)) }
	if err := CheckID(p.ID); err != nil {
		errs = append(errs, err)
	}
	if strings.TrimSpace(p.Name) == "" {
		bad("name", "required")
	} else if len(p.Name) > 200 {
		bad("name", "at most 200 characters")
	}
	if c := p.Catalog; c != nil {
		if !httpURL(c.BaseURL) {
			bad("catalog.base_url", "must be an http(s) URL (got %q)", c.BaseURL)
		}
		switch c.Auth.Style {
		case "bearer", "header":
			if !secretPattern.MatchString(c.Auth.Secret) {
				bad("catalog.auth.secret", "must name a secret: 1-64 letters, digits, _ . or - (got %q)", c.Auth.Secret)
			}
			if c.Auth.Style == "header" && !slices.ContainsFunc(KeyHeaders, func(h string) bool { return strings.EqualFold(h, c.Auth.Header) }) {
				bad("catalog.auth.header", "must be one of %s, where the partner connector may send a key (got %q)", strings.Join(KeyHeaders, ", "), c.Auth.Header)
			}
		case "none":
		default:
			bad("catalog.auth.style", "must be bearer, header or none (got %q)", c.Auth.Style)
		}
		if c.GetPath != "" && !strings.Contains(c.GetPath, "{id}") {
			bad("catalog.get_path", "must contain {id} (got %q)", c.GetPath)
		}
		if s, ok := c.Paging["style"]; ok && !pagingStyles[fmt.Sprint(s)] {
			bad("catalog.paging.style", "must be page, cursor, next_url, link or none (got %v)", s)
		}
		for _, f := range slices.Sorted(maps.Keys(c.Mapping)) {
			if !slices.Contains(ProductFields, f) {
				bad("catalog.mapping."+f, "not a product field (want one of %s)", strings.Join(ProductFields, ", "))
				continue
			}
			if _, err := compileMapping(c.Mapping[f]); err != nil {
				bad("catalog.mapping."+f, "%v", err)
			}
		}
	}
	if err := p.Affiliate.check(); err != nil {
		errs = append(errs, err)
	}
	rs := p.RevenueSharing
	switch {
	case rs.CommissionPercent < 0 || rs.CommissionPercent > 100 || math.IsNaN(rs.CommissionPercent):
		bad("revenue_sharing.commission_percent", "must be from 0 to 100 (got %v)", rs.CommissionPercent)
	}
	if !currencyPattern.MatchString(rs.Currency) {
		bad("revenue_sharing.currency", "must be an ISO 4217 code such as EUR (got %q)", rs.Currency)
	}
	switch {
	case rs.Currency == "USD" && rs.USDExchangeRate != 0 && rs.USDExchangeRate != 1:
		bad("revenue_sharing.usd_exchange_rate", "must be 1 or left out when the currency is USD (got %v)", rs.USDExchangeRate)
	case rs.Currency != "USD" && !(rs.USDExchangeRate > 0):
		bad("revenue_sharing.usd_exchange_rate", "required and positive for %s: how many %s one US dollar buys, to convert generation cost", rs.Currency, rs.Currency)
	}
	if rs.ProductionCostPerContent < 0 || math.IsNaN(rs.ProductionCostPerContent) {
		bad("revenue_sharing.production_cost_per_content", "must not be negative (got %v)", rs.ProductionCostPerContent)
	}
	if n := p.Notification; n != nil {
		switch {
		case n.URL == "":
			bad("notification.url", "required")
		case strings.HasPrefix(n.URL, "/"):
			if p.Catalog == nil {
				bad("notification.url", "a relative URL needs catalog.base_url; give an absolute one")
			}
		case !httpURL(n.URL):
			bad("notification.url", "must be an http(s) URL or a path relative to catalog.base_url (got %q)", n.URL)
		}
		if !secretPattern.MatchString(n.Secret) {
			bad("notification.secret", "must name the shared secret or signing key: 1-64 letters, digits, _ . or - (got %q)", n.Secret)
		}
		if !slices.Contains(NotificationAlgorithms, n.Algorithm) {
			bad("notification.algorithm", "must be %s (got %q)", strings.Join(NotificationAlgorithms, ", "), n.Algorithm)
		}
	}
	return errors.Join(errs...)
}

// withDefaults fills the settings a partner may leave out.
func (p Partner) withDefaults() Partner {
	if c := p.Catalog; c != nil {
		cp := *c
		if cp.Auth.Style == "" {
			cp.Auth.Style = "bearer"
		}
		if cp.Auth.Style == "header" && cp.Auth.Header == "" {
			cp.Auth.Header = "X-Api-Key"
		}
		p.Catalog = &cp
	}
	if n := p.Notification; n != nil && n.Algorithm == "" {
		cp := *n
		cp.Algorithm = AlgHMAC
		p.Notification = &cp
	}
	return p
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// check validates the link template and tracking parameters.
func (a Affiliate) check() error {
	if a.LinkTemplate == "" {
		if len(a.Tracking) > 0 {
			return core.Invalid("affiliate.link_template", "required with tracking parameters")
		}
		return nil
	}
	for _, m := range placeholder.FindAllStringSubmatch(a.LinkTemplate, -1) {
		if !placeholders[m[1]] {
			return core.Invalid("affiliate.link_template", "unknown placeholder {%s} (want {product_id}, {product_url}, {content_id} or {partner_id})", m[1])
		}
	}
	sample := a.render(Link{ProductID: "p-1", ProductURL: "https://shop.example/p-1", ContentID: "gen-1"}, "partner")
	if !httpURL(sample) {
		return core.Invalid("affiliate.link_template", "must give an http(s) URL once filled in (got %q)", sample)
	}
	for _, k := range slices.Sorted(maps.Keys(a.Tracking)) {
		if strings.TrimSpace(k) == "" {
			return core.Invalid("affiliate.tracking", "empty parameter name")
		}
		for _, m := range placeholder.FindAllStringSubmatch(a.Tracking[k], -1) {
			if !placeholders[m[1]] {
				return core.Invalid("affiliate.tracking."+k, "unknown placeholder {%s}", m[1])
			}
		}
	}
	return nil
}

// Link is what an affiliate link is built for.
type Link struct{ ProductID, ProductURL, ContentID string }

// render builds the affiliate link; "" when the template needs a value link lacks.
func (a Affiliate) render(l Link, partnerID string) string {
	if a.LinkTemplate == "" {
		return ""
	}
	values := map[string]string{"product_id": l.ProductID, "product_url": l.ProductURL, "content_id": l.ContentID, "partner_id": partnerID}
	missing := false
	out := placeholder.ReplaceAllStringFunc(a.LinkTemplate, func(m string) string {
		name := m[1 : len(m)-1]
		v := values[name]
		if v == "" {
			missing = true
		}
		if name == "product_url" {
			return v
		}
		return url.PathEscape(v)
	})
	if missing {
		return ""
	}
	if len(a.Tracking) == 0 {
		return out
	}
	u, err := url.Parse(out)
	if err != nil {
		return ""
	}
	q := u.Query()
	for _, k := range slices.Sorted(maps.Keys(a.Tracking)) {
		v := placeholder.ReplaceAllStringFunc(a.Tracking[k], func(m string) string { return values[m[1:len(m)-1]] })
		if strings.TrimSpace(v) == "" {
			continue
		}
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// AffiliateLink is the partner's affiliate link for l.
func (p *Partner) AffiliateLink(l Link) string { return p.Affiliate.render(l, p.ID) }
