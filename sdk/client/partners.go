package client

import (
	"context"
	"net/url"
	"strconv"

	"github.com/aquascene/aquahub/sdk/api"
)

// The partner registry, /api/v1/partners, and content analytics, /api/v1/analytics.

// Partners lists the tenant's partners by id (admin_access).
func (c *Client) Partners(ctx context.Context) ([]api.Partner, error) {
	var out api.PartnerList
	_, err := c.Do(ctx, "GET", "/api/v1/partners", nil, "", nil, &out)
	return out.Partners, err
}

// Partner returns one partner.
func (c *Client) Partner(ctx context.Context, id string) (api.Partner, error) {
	var out api.Partner
	_, err := c.Do(ctx, "GET", "/api/v1/partners/"+url.PathEscape(id), nil, "", nil, &out)
	return out, err
}

// PutPartner registers or replaces partner id.
func (c *Client) PutPartner(ctx context.Context, id string, in api.PartnerInput) (api.Partner, error) {
	var out api.Partner
	_, err := c.Do(ctx, "PUT", "/api/v1/partners/"+url.PathEscape(id), in, "", nil, &out)
	return out, err
}

// DeletePartner removes a partner and its revenue attributions.
func (c *Client) DeletePartner(ctx context.Context, id string) error {
	_, err := c.Do(ctx, "DELETE", "/api/v1/partners/"+url.PathEscape(id), nil, "", nil, nil)
	return err
}

// PartnerRevenue lists the orders attributed to a partner's content, newest first.
func (c *Client) PartnerRevenue(ctx context.Context, id string) ([]api.RevenueAttribution, error) {
	var out api.RevenueAttributionList
	_, err := c.Do(ctx, "GET", "/api/v1/partners/"+url.PathEscape(id)+"/revenue", nil, "", nil, &out)
	return out.Attributions, err
}

// PartnershipROI returns a partner's ROI over its content of the last periodDays days (0:
// the server's default, 30).
func (c *Client) PartnershipROI(ctx context.Context, id string, periodDays int) (api.PartnershipROI, error) {
	path := "/api/v1/partners/" + url.PathEscape(id) + "/roi"
	if periodDays > 0 {
		path += "?period_days=" + strconv.Itoa(periodDays)
	}
	var out api.PartnershipROI
	_, err := c.Do(ctx, "GET", path, nil, "", nil, &out)
	return out, err
}

// ContentRanking ranks content by sort (views, clicks or engagement; "" for views) over the
// last periodDays days, at most limit pieces (0: the server's defaults).
func (c *Client) ContentRanking(ctx context.Context, sort string, periodDays, limit int) (api.ContentRanking, error) {
	q := url.Values{}
	if sort != "" {
		q.Set("sort", sort)
	}
	if periodDays > 0 {
		q.Set("period_days", strconv.Itoa(periodDays))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/api/v1/analytics/content"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out api.ContentRanking
	_, err := c.Do(ctx, "GET", path, nil, "", nil, &out)
	return out, err
}

// ContentAnalytics returns one piece's totals over the last periodDays days and the
// observations behind them.
func (c *Client) ContentAnalytics(ctx context.Context, id string, periodDays int) (api.ContentAnalytics, error) {
	path := "/api/v1/analytics/content/" + url.PathEscape(id)
	if periodDays > 0 {
		path += "?period_days=" + strconv.Itoa(periodDays)
	}
	var out api.ContentAnalytics
	_, err := c.Do(ctx, "GET", path, nil, "", nil, &out)
	return out, err
}
