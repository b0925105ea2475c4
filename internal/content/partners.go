package content

import (
	"context"
	"errors"
	"fmt"

	"github.com/aquascene/aquahub/core"
)

// Partners finds registered partners for the content engine: a request whose partnership
// names a partner_id gets that partner's name, content guidelines and affiliate link.
type Partners interface {
	// PartnerGuide returns what partnerID's content is written with, its affiliate link
	// built for link (empty contentID while the request is only being checked). An unknown
	// partner is an error wrapping core.ErrNotFound.
	PartnerGuide(ctx context.Context, tenant, partnerID string, link PartnerLink) (PartnerGuide, error)
}

// PartnerLink is what a partner's affiliate link template is filled from.
type PartnerLink struct {
	ProductID, ProductURL, ContentID string
}

// PartnerGuide is a registered partner as the content engine uses it.
type PartnerGuide struct {
	// Name is the partner's display name (Green Aqua).
	Name string
	// Voice, ProductIntegration and CallToAction are the partner's content guidelines.
	Voice, ProductIntegration, CallToAction string
	// AffiliateLink is the partner's link for the product with its tracking parameters, ""
	// when the partner has no link template.
	AffiliateLink string
}

// checkPartner refuses a request naming a partner that is not registered.
// Field errors are named under prefix (requests[2] in a batch).
func (s *Service) checkPartner(ctx context.Context, tenant, prefix string, r *Request) error {
	pt := r.Partnership
	if pt == nil || pt.PartnerID == "" {
		return nil
	}
	field := "partnership.partner_id"
	if prefix != "" {
		field = prefix + "." + field
	}
	if s.partners == nil {
		return core.Invalid(field, "this hub has no partner registry")
	}
	_, err := s.partners.PartnerGuide(ctx, tenant, pt.PartnerID, PartnerLink{ProductID: pt.ProductID, ProductURL: pt.ProductURL})
	if errors.Is(err, core.ErrNotFound) {
		return core.Invalid(field, "no partner %q is registered", pt.PartnerID)
	}
	return err
}

// withPartner returns r with the fields its partnership leaves empty filled from the
// registered partner, the affiliate link carrying contentID.
func (s *Service) withPartner(ctx context.Context, tenant, contentID string, r Request) (Request, error) {
	pt := r.Partnership
	if pt == nil || pt.PartnerID == "" || s.partners == nil {
		return r, nil
	}
	g, err := s.partners.PartnerGuide(ctx, tenant, pt.PartnerID, PartnerLink{ProductID: pt.ProductID, ProductURL: pt.ProductURL, ContentID: contentID})
	if err != nil {
		return r, fmt.Errorf("partner %q: %w", pt.PartnerID, err)
	}
	cp := *pt
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	fill(&cp.Partner, g.Name)
	fill(&cp.Voice, g.Voice)
	fill(&cp.ProductIntegration, g.ProductIntegration)
	fill(&cp.CallToAction, g.CallToAction)
	fill(&cp.AffiliateLink, g.AffiliateLink)
	r.Partnership = &cp
	return r, nil
}

// partnerFailure is the failed content of a request whose partner could not be read when
// its generation began: not registered any more (not retryable), or the registry failed.
func partnerFailure(c *Content, err error) (Content, error) {
	typ, retry := ErrTypeProvider, true
	if errors.Is(err, core.ErrNotFound) {
		typ, retry = ErrTypeInvalidRequest, false
	}
	out := Content{Request: c.Request, Template: c.Template, RequestID: c.RequestID, Provider: c.Provider, Findings: []Finding{},
		Status: StatusFailed, ErrorType: typ, ErrorMessage: err.Error(), RetryPossible: retry}
	return out, &GenerationError{Type: typ, Retryable: retry, Err: err}
}
