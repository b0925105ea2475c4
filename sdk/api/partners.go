package api

import "time"

// PartnerInput registers (POST /api/v1/partners, with ID) or replaces (PUT
// /api/v1/partners/{id}) a partner.
type PartnerInput struct {
	// ID is 1-64 lowercase letters, digits, _ or -, starting with a letter or digit; rules
	// name the partner's connector instance by it (connector: partner/<id>). PUT takes it
	// from the path.
	ID string `json:"id,omitempty"`
	// Name is the partner's display name (Green Aqua).
	Name string `json:"name"`
	// Catalog is the partner's product API, read by the partner connector.
	Catalog *PartnerCatalog `json:"catalog,omitempty"`
	// Guidelines are written into the prompts of content featuring the partner.
	Guidelines PartnerGuidelines `json:"content_guidelines,omitzero"`
	// Affiliate builds the links content carries to the partner's products.
	Affiliate PartnerAffiliate `json:"affiliate,omitzero"`
	// RevenueSharing are the terms the partnership ROI is computed from.
	RevenueSharing RevenueSharing `json:"revenue_sharing"`
	// Notification is where the partner is told about content featuring it.
	Notification *PartnerNotification `json:"notification,omitempty"`
}

// Partner is a registered partner.
type Partner struct {
	PartnerInput
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PartnerCatalog is a partner's product API. Secrets are named, never given: their values
// are the tenant's partner connector secrets in the hub's configuration
// (tenants[].connectors.partner.secrets), and the hub's egress grant for that connector
// must include the API's origin.
type PartnerCatalog struct {
	// BaseURL is the API's origin and base path (https://api.greenaqua.example/api/v2).
	BaseURL string      `json:"base_url" jsonschema:"format=uri"`
	Auth    PartnerAuth `json:"auth"`
	// ListPath and GetPath are the list and one-product endpoints relative to BaseURL
	// (default /products and /products/{id}).
	ListPath string `json:"list_path,omitempty"`
	GetPath  string `json:"get_path,omitempty"`
	// ItemsPath and ItemPath are dotted paths to the product array of a list answer and
	// the product of a get answer (default: the answer's data, items, products or results).
	ItemsPath string `json:"items_path,omitempty"`
	ItemPath  string `json:"item_path,omitempty"`
	// CategoryParam is the list parameter a category filter is sent as (default category).
	CategoryParam string `json:"category_param,omitempty"`
	// Paging is the partner connector's paging object: style (page, cursor, next_url, link,
	// none) and its parameters (see connectors/partner/README.md).
	Paging map[string]any `json:"paging,omitempty"`
	// Mapping maps each product field (id, name, category, description, price_range,
	// key_benefits, url, in_stock, seo_keywords, affiliate_url) to an expr expression over
	// `item`, the partner's product as its API sends it, and `partner` (id and name):
	// "item.sku", "item.price.amount + ' ' + item.price.currency",
	// "map(item.highlights, .text)". Fields not mapped read the item's field of their own name.
	Mapping map[string]string `json:"mapping,omitempty"`
}

// PartnerAuth says how the catalog API is authenticated.
type PartnerAuth struct {
	// Style is bearer (Authorization: Bearer, the default), header (the key in Header) or
	// none.
	Style string `json:"style,omitempty" jsonschema:"enum=bearer,enum=header,enum=none"`
	// Header carries the key with style header: X-Api-Key (the default), Api-Key,
	// X-Api-Token or X-Auth-Token, the headers the partner connector declares for it.
	Header string `json:"header,omitempty"`
	// Secret names the API key among the tenant's partner connector secrets.
	Secret string `json:"secret,omitempty"`
}

// PartnerGuidelines are a partner's content guidelines (the seed's content_guidelines).
type PartnerGuidelines struct {
	// Voice is how content featuring the partner sounds ("educational and trustworthy").
	Voice string `json:"voice,omitempty"`
	// ProductIntegration says how its products appear in the text.
	ProductIntegration string `json:"product_integration,omitempty"`
	// CallToAction is the closing call to action.
	CallToAction string `json:"call_to_action,omitempty"`
}

// PartnerAffiliate builds affiliate links: LinkTemplate with {product_id}, {product_url},
// {content_id} and {partner_id} filled in, then Tracking added as query parameters (their
// values may use the same placeholders; a parameter whose value comes out empty is left
// out). Content featuring the partner carries the link with its own content id, which is
// how the partner attributes orders to it.
type PartnerAffiliate struct {
	// LinkTemplate is an http(s) URL template, such as https://greenaqua.hu/en/p/{product_id}
	// or {product_url}.
	LinkTemplate string `json:"link_template,omitempty"`
	// Tracking are query parameters added to every link (utm_source: aquascene,
	// utm_content: "{content_id}").
	Tracking map[string]string `json:"tracking,omitempty"`
}

// RevenueSharing are a partnership's commercial terms.
type RevenueSharing struct {
	// CommissionPercent is the share of attributed revenue paid to the tenant, 0-100.
	CommissionPercent float64 `json:"commission_percent"`
	// Currency (ISO 4217) is what attributed revenue is reported and paid in; attributions
	// in another currency are refused.
	Currency string `json:"currency"`
	// USDExchangeRate is how many units of Currency one US dollar buys, to bring the
	// generation cost (recorded in USD) into Currency; required unless Currency is USD.
	USDExchangeRate float64 `json:"usd_exchange_rate,omitempty"`
	// ProductionCostPerContent is what producing one piece costs beyond generation
	// (editing, images), in Currency; 0 counts generation cost only.
	ProductionCostPerContent float64 `json:"production_cost_per_content,omitempty"`
}

// PartnerNotification is where content.notify posts for the partner, signed with a key
// the host holds.
type PartnerNotification struct {
	// URL is absolute, or a path relative to the catalog's base URL.
	URL string `json:"url"`
	// Secret names, among the tenant's partner connector secrets, the shared secret
	// (hmac-sha256) or the signing key, a PEM private key whose public half the partner
	// verifies with (ES256, RS256).
	Secret string `json:"secret"`
	// Algorithm is hmac-sha256 (the default: X-Signature-256, "sha256=" and the hex
	// HMAC-SHA256 of the body, as the hub's webhooks carry), ES256 (P-256 key) or RS256: a
	// JWT in Aquahub-Signature.
	Algorithm string `json:"algorithm,omitempty" jsonschema:"enum=hmac-sha256,enum=ES256,enum=RS256"`
}

// PartnerList lists a tenant's partners by id.
type PartnerList struct {
	Partners []Partner `json:"partners"`
}

// PartnerDeleted answers DELETE /api/v1/partners/{id}.
type PartnerDeleted struct {
	Status string `json:"status" jsonschema:"enum=deleted"`
}

// RevenueAttribution is one order attributed to a content piece featuring a partner
// (from a partner.revenue.attributed event); a partner's order id is counted once.
type RevenueAttribution struct {
	PartnerID  string    `json:"partner_id"`
	OrderID    string    `json:"order_id"`
	ContentID  string    `json:"content_id"`
	Amount     float64   `json:"amount"`
	Currency   string    `json:"currency"`
	OrderedAt  time.Time `json:"ordered_at,omitzero"`
	RecordedAt time.Time `json:"recorded_at"`
}

// RevenueAttributionList is GET /api/v1/partners/{id}/revenue, newest first.
type RevenueAttributionList struct {
	Attributions []RevenueAttribution `json:"attributions"`
}

// PartnershipROI is GET /api/v1/partners/{id}/roi: the seed's get_partnership_roi over the
// partner's content created in the last period_days days. Earnings are
// attributed_revenue × commission_percent / 100; total_cost is the content's generation
// cost (converted with usd_exchange_rate) plus production_cost_per_content per piece;
// roi_percentage is (earnings − total_cost) / total_cost × 100, null when total_cost is 0.
type PartnershipROI struct {
	PartnerID  string `json:"partner_id"`
	Partner    string `json:"partner"`
	PeriodDays int    `json:"period_days"`
	// From and To bound the period (RFC 3339).
	From time.Time `json:"from"`
	To   time.Time `json:"to"`

	ContentPiecesGenerated int     `json:"content_pieces_generated"`
	AverageQualityScore    float64 `json:"average_quality_score"`
	TotalPageViews         float64 `json:"total_page_views"`
	TotalClicks            float64 `json:"total_clicks"`
	AttributedRevenue      float64 `json:"attributed_revenue"`
	Orders                 int     `json:"orders"`
	Currency               string  `json:"currency"`

	CommissionPercent float64 `json:"commission_percent"`
	Earnings          float64 `json:"earnings"`
	GenerationCostUSD float64 `json:"generation_cost_usd"`
	GenerationCost    float64 `json:"generation_cost"`
	ProductionCost    float64 `json:"production_cost"`
	TotalCost         float64 `json:"total_cost"`
	// ROIPercentage is null when the content cost nothing (the builtin writer and no
	// production cost): a return on nothing is not a number.
	ROIPercentage *float64 `json:"roi_percentage" jsonschema:"nullable"`
}
