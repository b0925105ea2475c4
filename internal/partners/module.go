package partners

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/aquascene/aquahub/core"
)

// ContentPiece is a generated piece of content as the ROI counts it.
type ContentPiece struct {
	ID, PartnerID, ProductID string
	QualityScore             float64
	// CostUSD is what generating it cost.
	CostUSD   float64
	CreatedAt time.Time
}

// ContentSource reads the content engine's records.
type ContentSource interface {
	// PartnerContent returns the completed content featuring partnerID created at or after
	// since.
	PartnerContent(ctx context.Context, tenant, partnerID string, since time.Time) ([]ContentPiece, error)
	// ContentPiece returns one piece; an unknown one is an error wrapping core.ErrNotFound.
	ContentPiece(ctx context.Context, tenant, id string) (ContentPiece, error)
}

// ContentMetrics are a piece's page views and outbound clicks over a period.
type ContentMetrics struct{ PageViews, Clicks float64 }

// MetricsSource reads content analytics.
type MetricsSource interface {
	// ContentMetrics returns the metrics of each piece from from through to (pieces without
	// any may be absent).
	ContentMetrics(ctx context.Context, tenant string, ids []string, from, to time.Time) (map[string]ContentMetrics, error)
}

// Deps are what the partners module needs from the hub.
type Deps struct {
	// Store keeps partners and attributions. Nil makes a module that can only check rule
	// steps: no routes, no partners.
	Store Store
	// Content and Metrics feed the ROI and the attribution checks; nil Content refuses
	// attributions and ROI, nil Metrics counts no page views or clicks.
	Content ContentSource
	Metrics MetricsSource
	// Logger defaults to slog.Default(); Now to time.Now.
	Logger *slog.Logger
	Now    func() time.Time
}

// Module is the partner registry as a hub feature: the /api/v1/partners routes, the
// attribute_revenue step kind, and what the wiring reads for the partner connector's
// instances and the content engine's partnerships.
type Module struct {
	st      Store
	content ContentSource
	metrics MetricsSource
	log     *slog.Logger
	now     func() time.Time
}

// New builds the module.
func New(deps Deps) *Module {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Module{st: deps.Store, content: deps.Content, metrics: deps.Metrics, log: deps.Logger, now: deps.Now}
}

// Name implements core.Module.
func (m *Module) Name() string { return "partners" }

// StepKinds implements core.StepKindProvider: attribute_revenue.
func (m *Module) StepKinds() []core.StepKind { return []core.StepKind{AttributeKind{m: m}} }

var errNoStore = errors.New("partners: this hub has no storage (checking rules only)")

// Put registers or replaces a partner, keeping its creation time; created reports a new
// one.
func (m *Module) Put(ctx context.Context, tenant string, p Partner) (Partner, bool, error) {
	if m.st == nil {
		return Partner{}, false, errNoStore
	}
	p = p.withDefaults()
	if err := p.Validate(); err != nil {
		return Partner{}, false, err
	}
	now := m.now().UTC()
	old, err := m.st.Partner(ctx, tenant, p.ID)
	created := errors.Is(err, core.ErrNotFound)
	switch {
	case created:
		p.CreatedAt = now
	case err != nil:
		return Partner{}, false, err
	default:
		p.CreatedAt = old.CreatedAt
	}
	p.UpdatedAt = now
	if !created && !p.UpdatedAt.After(old.UpdatedAt) {
		// Settings are cached per update time; two updates in one clock tick must differ.
		p.UpdatedAt = old.UpdatedAt.Add(time.Nanosecond)
	}
	if err := m.st.PutPartner(ctx, tenant, p); err != nil {
		return Partner{}, false, err
	}
	return p, created, nil
}

// Create registers a new partner; an existing id is a conflict.
func (m *Module) Create(ctx context.Context, tenant string, p Partner) (Partner, error) {
	if m.st == nil {
		return Partner{}, errNoStore
	}
	if err := CheckID(p.ID); err != nil {
		return Partner{}, err
	}
	if _, err := m.st.Partner(ctx, tenant, p.ID); err == nil {
		return Partner{}, fmt.Errorf("partner %q is registered already (PUT /api/v1/partners/%s replaces it): %w", p.ID, p.ID, core.ErrConflict)
	}
	out, _, err := m.Put(ctx, tenant, p)
	return out, err
}

// Get returns a partner.
func (m *Module) Get(ctx context.Context, tenant, id string) (Partner, error) {
	if m.st == nil {
		return Partner{}, errNoStore
	}
	return m.st.Partner(ctx, tenant, id)
}

// List returns the tenant's partners by id.
func (m *Module) List(ctx context.Context, tenant string) ([]Partner, error) {
	if m.st == nil {
		return nil, errNoStore
	}
	return m.st.Partners(ctx, tenant)
}

// Delete removes a partner and its attributions.
func (m *Module) Delete(ctx context.Context, tenant, id string) error {
	if m.st == nil {
		return errNoStore
	}
	return m.st.DeletePartner(ctx, tenant, id)
}

// ConnectorSettings returns what the partner connector runs with as instance
// partner/<id>.
func (m *Module) ConnectorSettings(ctx context.Context, tenant, id string) (ConnectorSettings, error) {
	p, err := m.Get(ctx, tenant, id)
	if err != nil {
		return ConnectorSettings{}, err
	}
	return p.settings()
}

// Guide is a partner as the content engine writes with it.
type Guide struct {
	Name          string
	Guidelines    Guidelines
	AffiliateLink string
}

// Guide returns partner id's guidelines and its affiliate link for l.
func (m *Module) Guide(ctx context.Context, tenant, id string, l Link) (Guide, error) {
	p, err := m.Get(ctx, tenant, id)
	if err != nil {
		return Guide{}, err
	}
	return Guide{Name: p.Name, Guidelines: p.Guidelines, AffiliateLink: p.AffiliateLink(l)}, nil
}

// Attribute records an order attributed to a content piece, once per partner and order
// id. The partner is the content's unless partnerID names it; the currency must be the
// partner's. recorded is false for an order seen before, whose first attribution is
// returned.
func (m *Module) Attribute(ctx context.Context, tenant, partnerID string, a Attribution) (Attribution, bool, error) {
	if m.st == nil {
		return Attribution{}, false, errNoStore
	}
	if m.content == nil {
		return Attribution{}, false, errors.New("partners: this hub cannot read content to attribute revenue")
	}
	piece, err := m.content.ContentPiece(ctx, tenant, a.ContentID)
	if errors.Is(err, core.ErrNotFound) {
		return Attribution{}, false, core.Invalid("content_id", "no content %q", a.ContentID)
	}
	if err != nil {
		return Attribution{}, false, err
	}
	switch {
	case partnerID == "" && piece.PartnerID == "":
		return Attribution{}, false, core.Invalid("partner_id", "required: content %q features no registered partner", a.ContentID)
	case partnerID == "":
		partnerID = piece.PartnerID
	case piece.PartnerID != "" && piece.PartnerID != partnerID:
		return Attribution{}, false, core.Invalid("partner_id", "content %q features partner %q, not %q", a.ContentID, piece.PartnerID, partnerID)
	}
	p, err := m.Get(ctx, tenant, partnerID)
	if errors.Is(err, core.ErrNotFound) {
		return Attribution{}, false, core.Invalid("partner_id", "no partner %q is registered", partnerID)
	}
	if err != nil {
		return Attribution{}, false, err
	}
	if a.Currency != p.RevenueSharing.Currency {
		return Attribution{}, false, core.Invalid("currency", "partner %q reports revenue in %s (got %s)", p.ID, p.RevenueSharing.Currency, a.Currency)
	}
	a.PartnerID, a.RecordedAt = p.ID, m.now().UTC()
	return m.st.AddAttribution(ctx, tenant, a)
}

// Attributions returns a partner's attributions, newest order first.
func (m *Module) Attributions(ctx context.Context, tenant, partnerID string) ([]Attribution, error) {
	if _, err := m.Get(ctx, tenant, partnerID); err != nil {
		return nil, err
	}
	list, err := m.st.Attributions(ctx, tenant, partnerID)
	if err != nil {
		return nil, err
	}
	sortAttributions(list)
	return list, nil
}

// ROI is a partnership's return over a period (api.PartnershipROI defines the fields).
type ROI struct {
	Partner           Partner
	PeriodDays        int
	From, To          time.Time
	ContentPieces     int
	AverageQuality    float64
	PageViews, Clicks float64
	AttributedRevenue float64
	Orders            int
	Earnings          float64
	GenerationCostUSD float64
	GenerationCost    float64
	ProductionCost    float64
	TotalCost         float64
	ROIPercent        *float64
}

// ROI computes partner id's ROI over the content created in the last days days.
func (m *Module) ROI(ctx context.Context, tenant, id string, days int) (ROI, error) {
	p, err := m.Get(ctx, tenant, id)
	if err != nil {
		return ROI{}, err
	}
	if m.content == nil {
		return ROI{}, errors.New("partners: this hub cannot read content for the ROI")
	}
	to := m.now().UTC()
	from := to.AddDate(0, 0, -days)
	r := ROI{Partner: p, PeriodDays: days, From: from, To: to}
	pieces, err := m.content.PartnerContent(ctx, tenant, p.ID, from)
	if err != nil {
		return ROI{}, fmt.Errorf("reading the partner's content: %w", err)
	}
	ids := make([]string, 0, len(pieces))
	inPeriod := map[string]bool{}
	var quality float64
	for _, c := range pieces {
		ids = append(ids, c.ID)
		inPeriod[c.ID] = true
		quality += c.QualityScore
		r.GenerationCostUSD += c.CostUSD
	}
	r.ContentPieces = len(pieces)
	if len(pieces) > 0 {
		r.AverageQuality = round(quality/float64(len(pieces)), 2)
	}
	if m.metrics != nil && len(ids) > 0 {
		metrics, err := m.metrics.ContentMetrics(ctx, tenant, ids, from, to)
		if err != nil {
			return ROI{}, fmt.Errorf("reading the content's analytics: %w", err)
		}
		for _, cm := range metrics {
			r.PageViews += cm.PageViews
			r.Clicks += cm.Clicks
		}
	}
	atts, err := m.st.Attributions(ctx, tenant, p.ID)
	if err != nil {
		return ROI{}, err
	}
	for _, a := range atts {
		if inPeriod[a.ContentID] {
			r.AttributedRevenue += a.Amount
			r.Orders++
		}
	}
	rs := p.RevenueSharing
	rate := rs.USDExchangeRate
	if rs.Currency == "USD" || rate == 0 {
		rate = 1
	}
	r.AttributedRevenue = round(r.AttributedRevenue, 2)
	r.Earnings = round(r.AttributedRevenue*rs.CommissionPercent/100, 2)
	r.GenerationCostUSD = round(r.GenerationCostUSD, 6)
	r.GenerationCost = round(r.GenerationCostUSD*rate, 2)
	r.ProductionCost = round(rs.ProductionCostPerContent*float64(r.ContentPieces), 2)
	r.TotalCost = round(r.GenerationCost+r.ProductionCost, 2)
	if r.TotalCost > 0 {
		v := round((r.Earnings-r.TotalCost)/r.TotalCost*100, 2)
		r.ROIPercent = &v
	}
	return r, nil
}

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

var (
	_ core.Module           = (*Module)(nil)
	_ core.StepKindProvider = (*Module)(nil)
)
