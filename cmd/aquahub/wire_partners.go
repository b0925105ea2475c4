package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/analytics"
	"github.com/aquascene/aquahub/internal/content"
	"github.com/aquascene/aquahub/internal/partners"
	"github.com/aquascene/aquahub/plugins"
)

// partnersModule builds the partner registry. The content engine, content analytics and the
// partner connector's instances meet it through the adapters below, which find the other
// modules on the hub when they are called (after every module is built).
func partnersModule(h *hub) (core.Module, error) {
	deps := partners.Deps{Logger: h.log.With("feature", "partners"), Content: contentPieces{h}, Metrics: contentMetrics{h}}
	if h.db != nil {
		deps.Store = h.db.Partners()
	}
	return partners.New(deps), nil
}

// moduleOf returns the hub's module of type T and whether there is one.
func moduleOf[T core.Module](h *hub) (T, bool) {
	for _, m := range h.modules {
		if t, ok := m.(T); ok {
			return t, true
		}
	}
	var zero T
	return zero, false
}

// partnerConnector is the connector whose instances are registered partners.
const partnerConnector = "partner"

// partnerInstances resolves `connector: partner/<id>`: the partner connector with the
// registered partner's settings, the secrets it names taken from the tenant's partner
// connector secrets, and the tenant's egress grant for that connector.
func partnerInstances(h *hub) func(ctx context.Context, tenant, connector, instance string) (plugins.Instance, error) {
	return func(ctx context.Context, tenant, connector, instance string) (plugins.Instance, error) {
		if connector != partnerConnector {
			return plugins.Instance{}, fmt.Errorf("only the %s connector has instances (its registered partners)", partnerConnector)
		}
		pm, ok := moduleOf[*partners.Module](h)
		if !ok {
			return plugins.Instance{}, errors.New("this hub has no partner registry")
		}
		s, err := pm.ConnectorSettings(ctx, tenant, instance)
		if err != nil {
			return plugins.Instance{}, err
		}
		// The tenant registry, as for every other connector's grant: tenants created or
		// changed through the API count, not only the configuration file's.
		var base plugins.TenantConfig
		if t, ok := h.identity.Tenant(tenant); ok {
			g := t.Connectors[partnerConnector]
			base = plugins.TenantConfig{Secrets: g.Secrets, Egress: g.Egress, SecretOrigins: g.SecretOrigins}
		}
		// The partner names the tenant's secrets; the connector knows them by its own names
		// (api_key, notification_secret), and so must the origins the operator bound each to.
		secrets := make(map[string]string, len(s.Secrets))
		var origins map[string][]string
		for _, name := range sortedKeys(s.Secrets) {
			v, ok := base.Secrets[s.Secrets[name]]
			if !ok {
				return plugins.Instance{}, fmt.Errorf("partner %q names secret %q, which tenants[%s].connectors.%s.secrets does not hold", instance, s.Secrets[name], tenant, partnerConnector)
			}
			secrets[name] = v
			if bound, ok := base.SecretOrigins[s.Secrets[name]]; ok {
				if origins == nil {
					origins = map[string][]string{}
				}
				origins[name] = bound
			}
		}
		return plugins.Instance{
			Grant:   plugins.TenantConfig{Config: s.Config, Secrets: secrets, Egress: base.Egress, SecretOrigins: origins},
			Version: s.Version, Output: s.Output,
		}, nil
	}
}

// partnerGuides gives the content engine the registered partners.
type partnerGuides struct{ h *hub }

func (g partnerGuides) PartnerGuide(ctx context.Context, tenant, id string, l content.PartnerLink) (content.PartnerGuide, error) {
	pm, ok := moduleOf[*partners.Module](g.h)
	if !ok {
		return content.PartnerGuide{}, fmt.Errorf("partner %q: %w", id, core.ErrNotFound)
	}
	guide, err := pm.Guide(ctx, tenant, id, partners.Link{ProductID: l.ProductID, ProductURL: l.ProductURL, ContentID: l.ContentID})
	if err != nil {
		return content.PartnerGuide{}, err
	}
	return content.PartnerGuide{Name: guide.Name, Voice: guide.Guidelines.Voice, ProductIntegration: guide.Guidelines.ProductIntegration,
		CallToAction: guide.Guidelines.CallToAction, AffiliateLink: guide.AffiliateLink}, nil
}

// contentPieces gives the partner registry the content engine's records.
type contentPieces struct{ h *hub }

func (c contentPieces) service() (*content.Service, error) {
	cm, ok := moduleOf[*content.Module](c.h)
	if !ok || cm.Service() == nil {
		return nil, errors.New("this hub has no content engine")
	}
	return cm.Service(), nil
}

func piece(it content.Content) partners.ContentPiece {
	p := partners.ContentPiece{ID: it.ID, QualityScore: it.QualityScore(), CostUSD: it.Usage.CostUSD, CreatedAt: it.CreatedAt}
	if pt := it.Request.Partnership; pt != nil {
		p.PartnerID, p.ProductID = pt.PartnerID, pt.ProductID
	}
	return p
}

func (c contentPieces) PartnerContent(ctx context.Context, tenant, partnerID string, since time.Time) ([]partners.ContentPiece, error) {
	svc, err := c.service()
	if err != nil {
		return nil, err
	}
	var out []partners.ContentPiece
	f := content.Filter{Partner: partnerID, Status: content.StatusCompleted, Limit: 500}
	for {
		items, err := svc.List(ctx, tenant, f)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			// Newest first: the first piece older than since ends the listing.
			if it.CreatedAt.Before(since) {
				return out, nil
			}
			if it.Request.Partnership != nil && it.Request.Partnership.PartnerID == partnerID {
				out = append(out, piece(it))
			}
		}
		if len(items) < f.Limit {
			return out, nil
		}
		f.After = items[len(items)-1].ID
	}
}

func (c contentPieces) ContentPiece(ctx context.Context, tenant, id string) (partners.ContentPiece, error) {
	svc, err := c.service()
	if err != nil {
		return partners.ContentPiece{}, err
	}
	it, err := svc.Content(ctx, tenant, id)
	if err != nil {
		return partners.ContentPiece{}, err
	}
	return piece(it), nil
}

// contentMetrics gives the partner registry content analytics' page views and clicks.
type contentMetrics struct{ h *hub }

func (c contentMetrics) ContentMetrics(ctx context.Context, tenant string, ids []string, from, to time.Time) (map[string]partners.ContentMetrics, error) {
	am, ok := moduleOf[*analytics.Module](c.h)
	if !ok {
		return nil, nil
	}
	totals, err := am.ContentTotals(ctx, tenant, ids, analytics.Period{From: analytics.Day(from), To: analytics.Day(to)})
	if err != nil {
		return nil, err
	}
	out := make(map[string]partners.ContentMetrics, len(totals))
	for id, t := range totals {
		out[id] = partners.ContentMetrics{PageViews: t.PageViews, Clicks: t.Clicks}
	}
	return out, nil
}
