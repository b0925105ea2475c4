package bolt

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/analytics"
	bbolt "go.etcd.io/bbolt"
)

// The content analytics buckets. Observation keys end with the day as YYYYMMDD, so one
// cursor reads a piece's observations by source and day.
var (
	bucketAnalyticsTargets      = []byte("analytics.targets")      // tenant\0content → targetRecord
	bucketAnalyticsObservations = []byte("analytics.observations") // tenant\0content\0source\0YYYYMMDD → observationRecord
)

// Analytics is the content analytics store (analytics.Store) on the hub's file.
type Analytics struct {
	db handle
}

// Analytics returns the content analytics store.
func (d *DB) Analytics() *Analytics { return &Analytics{db: d.db} }

// targetRecord is where a content piece lives.
type targetRecord struct {
	ContentID         string    `json:"content_id"`
	ExternalID        string    `json:"external_id,omitempty"`
	PagePath          string    `json:"page_path,omitempty"`
	InstagramMediaIDs []string  `json:"instagram_media_ids,omitempty"`
	TrackedAt         time.Time `json:"tracked_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

func toTargetRecord(t analytics.Target) targetRecord {
	return targetRecord{ContentID: t.ContentID, ExternalID: t.ExternalID, PagePath: t.PagePath,
		InstagramMediaIDs: t.InstagramMediaIDs, TrackedAt: t.TrackedAt, UpdatedAt: t.UpdatedAt}
}

func (r targetRecord) target() analytics.Target {
	return analytics.Target{ContentID: r.ContentID, ExternalID: r.ExternalID, PagePath: r.PagePath,
		InstagramMediaIDs: r.InstagramMediaIDs, TrackedAt: r.TrackedAt, UpdatedAt: r.UpdatedAt}
}

// observationRecord is one source's metrics of one piece on one day; the key holds the
// piece, the source and the day.
type observationRecord struct {
	Cumulative bool               `json:"cumulative,omitempty"`
	Metrics    map[string]float64 `json:"metrics"`
	RecordedAt time.Time          `json:"recorded_at"`
}

const dayKeyLayout = "20060102"

// UpdateTarget implements analytics.Store.
func (s *Analytics) UpdateTarget(ctx context.Context, tenant, contentID string, fn func(t *analytics.Target, exists bool) error) (analytics.Target, error) {
	if err := ctx.Err(); err != nil {
		return analytics.Target{}, err
	}
	var out analytics.Target
	err := s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketAnalyticsTargets)
		var r targetRecord
		ok, err := getRecord(b, key(tenant, contentID), &r)
		if err != nil {
			return err
		}
		t := r.target()
		if err := fn(&t, ok); err != nil {
			return err
		}
		t.ContentID = contentID
		out = t
		return putRecord(b, key(tenant, contentID), toTargetRecord(t))
	})
	return out, err
}

// Target implements analytics.Store.
func (s *Analytics) Target(ctx context.Context, tenant, contentID string) (analytics.Target, error) {
	if err := ctx.Err(); err != nil {
		return analytics.Target{}, err
	}
	var r targetRecord
	var ok bool
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		ok, err = getRecord(tx.Bucket(bucketAnalyticsTargets), key(tenant, contentID), &r)
		return err
	})
	if err != nil {
		return analytics.Target{}, err
	}
	if !ok {
		return analytics.Target{}, fmt.Errorf("analytics target %q: %w", contentID, core.ErrNotFound)
	}
	return r.target(), nil
}

// Targets implements analytics.Store.
func (s *Analytics) Targets(ctx context.Context, tenant string) ([]analytics.Target, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []analytics.Target
	err := s.db.View(func(tx *bbolt.Tx) error {
		return scan(tx.Bucket(bucketAnalyticsTargets), prefix(tenant), func(k, v []byte) (bool, error) {
			var r targetRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return false, fmt.Errorf("decoding analytics target %q: %w", k, err)
			}
			out = append(out, r.target())
			return true, nil
		})
	})
	return out, err
}

// Record implements analytics.Store.
func (s *Analytics) Record(ctx context.Context, tenant string, obs []analytics.Observation) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketAnalyticsObservations)
		for _, o := range obs {
			k := key(tenant, o.ContentID, o.Source, o.Day.UTC().Format(dayKeyLayout))
			var r observationRecord
			if _, err := getRecord(b, k, &r); err != nil {
				return err
			}
			if r.Metrics == nil {
				r.Metrics = map[string]float64{}
			}
			for name, v := range o.Metrics {
				r.Metrics[name] = v
			}
			r.Cumulative, r.RecordedAt = o.Cumulative, o.RecordedAt
			if err := putRecord(b, k, r); err != nil {
				return err
			}
		}
		return nil
	})
}

// Observations implements analytics.Store.
func (s *Analytics) Observations(ctx context.Context, tenant string, contentIDs []string, to time.Time) ([]analytics.Observation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	prefixes := [][]byte{prefix(tenant)}
	if len(contentIDs) > 0 {
		ids := slices.Clone(contentIDs)
		slices.Sort(ids)
		ids = slices.Compact(ids)
		prefixes = prefixes[:0]
		for _, id := range ids {
			prefixes = append(prefixes, prefix(tenant, id))
		}
	}
	last := to.UTC().Format(dayKeyLayout)
	var out []analytics.Observation
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketAnalyticsObservations)
		for _, p := range prefixes {
			err := scan(b, p, func(k, v []byte) (bool, error) {
				_, rest, _ := splitKey(k)
				content, rest, ok1 := splitKey([]byte(rest))
				source, day, ok2 := splitKey([]byte(rest))
				if !ok1 || !ok2 || day > last {
					return true, nil
				}
				d, err := time.Parse(dayKeyLayout, day)
				if err != nil {
					return false, fmt.Errorf("analytics observation %q: %w", k, err)
				}
				var r observationRecord
				if err := json.Unmarshal(v, &r); err != nil {
					return false, fmt.Errorf("decoding analytics observation %q: %w", k, err)
				}
				out = append(out, analytics.Observation{ContentID: content, Source: source, Day: d, Cumulative: r.Cumulative,
					Metrics: r.Metrics, RecordedAt: r.RecordedAt})
				return true, nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

var _ analytics.Store = (*Analytics)(nil)
