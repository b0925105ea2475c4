package partners

import "github.com/aquascene/aquahub/sdk/api"

// Conversions between the domain types and the API's (sdk/api).

// FromAPI converts a registration body; id is the partner's id (PUT's path, or the body's).
func FromAPI(id string, in api.PartnerInput) Partner {
	p := Partner{
		ID: id, Name: in.Name,
		Guidelines: Guidelines{Voice: in.Guidelines.Voice, ProductIntegration: in.Guidelines.ProductIntegration, CallToAction: in.Guidelines.CallToAction},
		Affiliate:  Affiliate{LinkTemplate: in.Affiliate.LinkTemplate, Tracking: in.Affiliate.Tracking},
		RevenueSharing: RevenueSharing{CommissionPercent: in.RevenueSharing.CommissionPercent, Currency: in.RevenueSharing.Currency,
			USDExchangeRate: in.RevenueSharing.USDExchangeRate, ProductionCostPerContent: in.RevenueSharing.ProductionCostPerContent},
	}
	if c := in.Catalog; c != nil {
		p.Catalog = &Catalog{
			BaseURL: c.BaseURL, Auth: Auth{Style: c.Auth.Style, Header: c.Auth.Header, Secret: c.Auth.Secret},
			ListPath: c.ListPath, GetPath: c.GetPath, ItemsPath: c.ItemsPath, ItemPath: c.ItemPath, CategoryParam: c.CategoryParam,
			Paging: c.Paging, Mapping: c.Mapping,
		}
	}
	if n := in.Notification; n != nil {
		p.Notification = &Notification{URL: n.URL, Secret: n.Secret, Algorithm: n.Algorithm}
	}
	return p
}

// ToAPI converts a partner for an answer.
func (p *Partner) ToAPI() api.Partner {
	out := api.Partner{
		PartnerInput: api.PartnerInput{
			ID: p.ID, Name: p.Name,
			Guidelines: api.PartnerGuidelines{Voice: p.Guidelines.Voice, ProductIntegration: p.Guidelines.ProductIntegration, CallToAction: p.Guidelines.CallToAction},
			Affiliate:  api.PartnerAffiliate{LinkTemplate: p.Affiliate.LinkTemplate, Tracking: p.Affiliate.Tracking},
			RevenueSharing: api.RevenueSharing{CommissionPercent: p.RevenueSharing.CommissionPercent, Currency: p.RevenueSharing.Currency,
				USDExchangeRate: p.RevenueSharing.USDExchangeRate, ProductionCostPerContent: p.RevenueSharing.ProductionCostPerContent},
		},
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
	if c := p.Catalog; c != nil {
		out.Catalog = &api.PartnerCatalog{
			BaseURL: c.BaseURL, Auth: api.PartnerAuth{Style: c.Auth.Style, Header: c.Auth.Header, Secret: c.Auth.Secret},
			ListPath: c.ListPath, GetPath: c.GetPath, ItemsPath: c.ItemsPath, ItemPath: c.ItemPath, CategoryParam: c.CategoryParam,
			Paging: c.Paging, Mapping: c.Mapping,
		}
	}
	if n := p.Notification; n != nil {
		out.Notification = &api.PartnerNotification{URL: n.URL, Secret: n.Secret, Algorithm: n.Algorithm}
	}
	return out
}

// attributionToAPI converts an attribution for an answer.
func attributionToAPI(a Attribution) api.RevenueAttribution {
	return api.RevenueAttribution{PartnerID: a.PartnerID, OrderID: a.OrderID, ContentID: a.ContentID, Amount: a.Amount,
		Currency: a.Currency, OrderedAt: a.OrderedAt, RecordedAt: a.RecordedAt}
}

// roiToAPI converts an ROI for an answer.
func roiToAPI(r ROI) api.PartnershipROI {
	return api.PartnershipROI{
		PartnerID: r.Partner.ID, Partner: r.Partner.Name, PeriodDays: r.PeriodDays, From: r.From, To: r.To,
		ContentPiecesGenerated: r.ContentPieces, AverageQualityScore: r.AverageQuality, TotalPageViews: r.PageViews,
		TotalClicks: r.Clicks, AttributedRevenue: r.AttributedRevenue, Orders: r.Orders, Currency: r.Partner.RevenueSharing.Currency,
		CommissionPercent: r.Partner.RevenueSharing.CommissionPercent, Earnings: r.Earnings, GenerationCostUSD: r.GenerationCostUSD,
		GenerationCost: r.GenerationCost, ProductionCost: r.ProductionCost, TotalCost: r.TotalCost, ROIPercentage: r.ROIPercent,
	}
}
