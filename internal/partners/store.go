package partners

import "context"

// Store keeps partners and their revenue attributions. Every key is scoped by tenant:
// another tenant's partner is not found (an error wrapping core.ErrNotFound). The storage
// package implements it; storetest is its contract.
type Store interface {
	// PutPartner creates or replaces a partner.
	PutPartner(ctx context.Context, tenant string, p Partner) error
	// Partner returns one partner.
	Partner(ctx context.Context, tenant, id string) (Partner, error)
	// Partners returns the tenant's partners ordered by id.
	Partners(ctx context.Context, tenant string) ([]Partner, error)
	// DeletePartner removes a partner and its attributions; a missing partner is an error
	// wrapping core.ErrNotFound.
	DeletePartner(ctx context.Context, tenant, id string) error
	// AddAttribution stores a unless a.PartnerID already has one for a.OrderID, and returns
	// the stored attribution and whether it is a. Concurrent calls for one order store one.
	AddAttribution(ctx context.Context, tenant string, a Attribution) (Attribution, bool, error)
	// Attributions returns a partner's attributions ordered by order id.
	Attributions(ctx context.Context, tenant, partnerID string) ([]Attribution, error)
}
