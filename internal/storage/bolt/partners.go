package bolt

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/partners"
	bbolt "go.etcd.io/bbolt"
)

// The partner registry's buckets.
var (
	bucketPartners            = []byte("partners.partners")     // tenant\0partner → partnerRecord
	bucketPartnerAttributions = []byte("partners.attributions") // tenant\0partner\0order id → attributionRecord
)

// Partners is the partner registry's store (partners.Store) on the hub's file.
type Partners struct {
	db handle
}

// Partners returns the partner registry's store.
func (d *DB) Partners() *Partners { return &Partners{db: d.db} }

type partnerRecord struct {
	ID           string                `json:"id"`
	Name         string                `json:"name"`
	Catalog      *partnerCatalogRecord `json:"catalog,omitempty"`
	Guidelines   partnerGuidelinesRec  `json:"guidelines"`
	LinkTemplate string                `json:"link_template,omitempty"`
	Tracking     map[string]string     `json:"tracking,omitempty"`
	Revenue      partnerRevenueRecord  `json:"revenue_sharing"`
	Notification *partnerNotifyRecord  `json:"notification,omitempty"`
	CreatedAt    time.Time             `json:"created_at"`
	UpdatedAt    time.Time             `json:"updated_at"`
}

type partnerCatalogRecord struct {
	BaseURL       string            `json:"base_url"`
	AuthStyle     string            `json:"auth_style"`
	AuthHeader    string            `json:"auth_header,omitempty"`
	AuthSecret    string            `json:"auth_secret,omitempty"`
	ListPath      string            `json:"list_path,omitempty"`
	GetPath       string            `json:"get_path,omitempty"`
	ItemsPath     string            `json:"items_path,omitempty"`
	ItemPath      string            `json:"item_path,omitempty"`
	CategoryParam string            `json:"category_param,omitempty"`
	Paging        map[string]any    `json:"paging,omitempty"`
	Mapping       map[string]string `json:"mapping,omitempty"`
}

type partnerGuidelinesRec struct {
	Voice              string `json:"voice,omitempty"`
	ProductIntegration string `json:"product_integration,omitempty"`
	CallToAction       string `json:"call_to_action,omitempty"`
}

type partnerRevenueRecord struct {
	CommissionPercent        float64 `json:"commission_percent"`
	Currency                 string  `json:"currency"`
	USDExchangeRate          float64 `json:"usd_exchange_rate,omitempty"`
	ProductionCostPerContent float64 `json:"production_cost_per_content,omitempty"`
}

type partnerNotifyRecord struct {
	URL       string `json:"url"`
	Secret    string `json:"secret"`
	Algorithm string `json:"algorithm"`
}

func toPartnerRecord(p partners.Partner) partnerRecord {
	r := partnerRecord{
		ID: p.ID, Name: p.Name, LinkTemplate: p.Affiliate.LinkTemplate, Tracking: p.Affiliate.Tracking,
		Guidelines: partnerGuidelinesRec{Voice: p.Guidelines.Voice, ProductIntegration: p.Guidelines.ProductIntegration, CallToAction: p.Guidelines.CallToAction},
		Revenue: partnerRevenueRecord{CommissionPercent: p.RevenueSharing.CommissionPercent, Currency: p.RevenueSharing.Currency,
			USDExchangeRate: p.RevenueSharing.USDExchangeRate, ProductionCostPerContent: p.RevenueSharing.ProductionCostPerContent},
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
	if c := p.Catalog; c != nil {
		r.Catalog = &partnerCatalogRecord{BaseURL: c.BaseURL, AuthStyle: c.Auth.Style, AuthHeader: c.Auth.Header, AuthSecret: c.Auth.Secret,
			ListPath: c.ListPath, GetPath: c.GetPath, ItemsPath: c.ItemsPath, ItemPath: c.ItemPath, CategoryParam: c.CategoryParam,
			Paging: c.Paging, Mapping: c.Mapping}
	}
	if n := p.Notification; n != nil {
		r.Notification = &partnerNotifyRecord{URL: n.URL, Secret: n.Secret, Algorithm: n.Algorithm}
	}
	return r
}

func (r partnerRecord) partner() partners.Partner {
	p := partners.Partner{
		ID: r.ID, Name: r.Name, Affiliate: partners.Affiliate{LinkTemplate: r.LinkTemplate, Tracking: r.Tracking},
		Guidelines: partners.Guidelines{Voice: r.Guidelines.Voice, ProductIntegration: r.Guidelines.ProductIntegration, CallToAction: r.Guidelines.CallToAction},
		RevenueSharing: partners.RevenueSharing{CommissionPercent: r.Revenue.CommissionPercent, Currency: r.Revenue.Currency,
			USDExchangeRate: r.Revenue.USDExchangeRate, ProductionCostPerContent: r.Revenue.ProductionCostPerContent},
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if c := r.Catalog; c != nil {
		p.Catalog = &partners.Catalog{BaseURL: c.BaseURL, Auth: partners.Auth{Style: c.AuthStyle, Header: c.AuthHeader, Secret: c.AuthSecret},
			ListPath: c.ListPath, GetPath: c.GetPath, ItemsPath: c.ItemsPath, ItemPath: c.ItemPath, CategoryParam: c.CategoryParam,
			Paging: c.Paging, Mapping: c.Mapping}
	}
	if n := r.Notification; n != nil {
		p.Notification = &partners.Notification{URL: n.URL, Secret: n.Secret, Algorithm: n.Algorithm}
	}
	return p
}

type attributionRecord struct {
	ContentID  string    `json:"content_id"`
	Amount     float64   `json:"amount"`
	Currency   string    `json:"currency"`
	OrderedAt  time.Time `json:"ordered_at,omitzero"`
	RecordedAt time.Time `json:"recorded_at"`
}

// PutPartner implements partners.Store.
func (s *Partners) PutPartner(ctx context.Context, tenant string, p partners.Partner) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bbolt.Tx) error {
		return putRecord(tx.Bucket(bucketPartners), key(tenant, p.ID), toPartnerRecord(p))
	})
}

// Partner implements partners.Store.
func (s *Partners) Partner(ctx context.Context, tenant, id string) (partners.Partner, error) {
	if err := ctx.Err(); err != nil {
		return partners.Partner{}, err
	}
	var r partnerRecord
	var ok bool
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		ok, err = getRecord(tx.Bucket(bucketPartners), key(tenant, id), &r)
		return err
	})
	if err != nil {
		return partners.Partner{}, err
	}
	if !ok {
		return partners.Partner{}, fmt.Errorf("partner %q: %w", id, core.ErrNotFound)
	}
	return r.partner(), nil
}

// Partners implements partners.Store.
func (s *Partners) Partners(ctx context.Context, tenant string) ([]partners.Partner, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []partners.Partner
	err := s.db.View(func(tx *bbolt.Tx) error {
		return scan(tx.Bucket(bucketPartners), prefix(tenant), func(k, v []byte) (bool, error) {
			var r partnerRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return false, fmt.Errorf("decoding partner %q: %w", k, err)
			}
			out = append(out, r.partner())
			return true, nil
		})
	})
	return out, err
}

// DeletePartner implements partners.Store.
func (s *Partners) DeletePartner(ctx context.Context, tenant, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketPartners)
		if b.Get(key(tenant, id)) == nil {
			return fmt.Errorf("partner %q: %w", id, core.ErrNotFound)
		}
		if err := b.Delete(key(tenant, id)); err != nil {
			return err
		}
		return deletePrefix(tx.Bucket(bucketPartnerAttributions), prefix(tenant, id))
	})
}

// AddAttribution implements partners.Store; concurrent calls share commits, and the
// existence check runs inside the commit, so one order is stored once.
func (s *Partners) AddAttribution(ctx context.Context, tenant string, a partners.Attribution) (partners.Attribution, bool, error) {
	if err := ctx.Err(); err != nil {
		return partners.Attribution{}, false, err
	}
	var out partners.Attribution
	var added bool
	err := s.db.Batch(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketPartnerAttributions)
		k := key(tenant, a.PartnerID, a.OrderID)
		var r attributionRecord
		ok, err := getRecord(b, k, &r)
		if err != nil {
			return err
		}
		if ok {
			out, added = r.attribution(a.PartnerID, a.OrderID), false
			return nil
		}
		out, added = a, true
		return putRecord(b, k, attributionRecord{ContentID: a.ContentID, Amount: a.Amount, Currency: a.Currency, OrderedAt: a.OrderedAt, RecordedAt: a.RecordedAt})
	})
	return out, added, err
}

func (r attributionRecord) attribution(partnerID, orderID string) partners.Attribution {
	return partners.Attribution{PartnerID: partnerID, OrderID: orderID, ContentID: r.ContentID, Amount: r.Amount,
		Currency: r.Currency, OrderedAt: r.OrderedAt, RecordedAt: r.RecordedAt}
}

// Attributions implements partners.Store.
func (s *Partners) Attributions(ctx context.Context, tenant, partnerID string) ([]partners.Attribution, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []partners.Attribution
	p := prefix(tenant, partnerID)
	err := s.db.View(func(tx *bbolt.Tx) error {
		return scan(tx.Bucket(bucketPartnerAttributions), p, func(k, v []byte) (bool, error) {
			var r attributionRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return false, fmt.Errorf("decoding attribution %q: %w", k, err)
			}
			out = append(out, r.attribution(partnerID, string(k[len(p):])))
			return true, nil
		})
	})
	return out, err
}

var _ partners.Store = (*Partners)(nil)
