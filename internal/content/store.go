package content

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aquascene/aquahub/core"
	bbolt "go.etcd.io/bbolt"
)

// Buckets owned by the content engine. Every key starts with the tenant id and "\x00".
var (
	bucketItems     = []byte("content.items")     // tenant\x00content id → Content
	bucketTemplates = []byte("content.templates") // tenant\x00template id → Template
	bucketBatches   = []byte("content.batches")   // tenant\x00batch id → Batch
	bucketIdem      = []byte("content.idem")      // tenant\x00idempotency key → content id
	bucketUsage     = []byte("content.usage")     // tenant → TenantUsage
	bucketPending   = []byte("content.pending")   // tenant\x00id → "content" or "batch": work to resume
)

const (
	pendingContent = "content"
	pendingBatch   = "batch"
)

func tkey(tenant, id string) []byte { return []byte(tenant + "\x00" + id) }

func splitKey(k []byte) (tenant, id string) {
	t, i, _ := strings.Cut(string(k), "\x00")
	return t, i
}

// TenantUsage is what a tenant's generations used and cost.
type TenantUsage struct {
	Generations      int     `json:"generations"`
	Failures         int     `json:"failures"`
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	TotalTokens      int     `json:"total_tokens"`
	CostUSD          float64 `json:"cost_usd"`
}

// store is the bbolt persistence of the content engine.
type store struct{ db *bbolt.DB }

func newStore(db *bbolt.DB) (*store, error) {
	err := db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketItems, bucketTemplates, bucketBatches, bucketIdem, bucketUsage, bucketPending} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("content: creating buckets: %w", err)
	}
	return &store{db: db}, nil
}

func getJSON(b *bbolt.Bucket, key []byte, v any) (bool, error) {
	raw := b.Get(key)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("decoding %s: %w", b, err)
	}
	return true, nil
}

func putJSON(b *bbolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}

// createContent stores new content records, their idempotency keys and optionally a pending
// entry for each, in one transaction.
func (s *store) createContent(tenant string, cs []*Content, pending bool) error {
	return s.db.Batch(func(tx *bbolt.Tx) error {
		items := tx.Bucket(bucketItems)
		for _, c := range cs {
			if err := putJSON(items, tkey(tenant, c.ID), c); err != nil {
				return err
			}
			if c.IdempotencyKey != "" {
				if err := tx.Bucket(bucketIdem).Put(tkey(tenant, c.IdempotencyKey), []byte(c.ID)); err != nil {
					return err
				}
			}
			if pending {
				if err := tx.Bucket(bucketPending).Put(tkey(tenant, c.ID), []byte(pendingContent)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// saveContent overwrites a record; done also drops its pending entry and adds its usage.
// also, when set, runs in the same transaction (a batch records the item's outcome).
func (s *store) saveContent(tenant string, c *Content, done bool, also func(tx *bbolt.Tx) error) error {
	return s.db.Batch(func(tx *bbolt.Tx) error {
		if err := putJSON(tx.Bucket(bucketItems), tkey(tenant, c.ID), c); err != nil {
			return err
		}
		if also != nil {
			if err := also(tx); err != nil {
				return err
			}
		}
		if !done {
			return nil
		}
		if err := tx.Bucket(bucketPending).Delete(tkey(tenant, c.ID)); err != nil {
			return err
		}
		ub := tx.Bucket(bucketUsage)
		var u TenantUsage
		if _, err := getJSON(ub, []byte(tenant), &u); err != nil {
			return err
		}
		u.Generations++
		if c.Status == StatusFailed {
			u.Failures++
		}
		u.PromptTokens += c.Usage.PromptTokens
		u.CompletionTokens += c.Usage.CompletionTokens
		u.TotalTokens += c.Usage.TotalTokens
		u.CostUSD += c.Usage.CostUSD
		return putJSON(ub, []byte(tenant), &u)
	})
}

func (s *store) content(tenant, id string) (Content, error) {
	var c Content
	err := s.db.View(func(tx *bbolt.Tx) error {
		ok, err := getJSON(tx.Bucket(bucketItems), tkey(tenant, id), &c)
		if err == nil && !ok {
			err = fmt.Errorf("content %q: %w", id, core.ErrNotFound)
		}
		return err
	})
	return c, err
}

func (s *store) contentByKey(tenant, key string) (Content, bool, error) {
	var c Content
	found := false
	err := s.db.View(func(tx *bbolt.Tx) error {
		id := tx.Bucket(bucketIdem).Get(tkey(tenant, key))
		if id == nil {
			return nil
		}
		ok, err := getJSON(tx.Bucket(bucketItems), tkey(tenant, string(id)), &c)
		found = ok
		return err
	})
	return c, found, err
}

// Filter selects content in listings. Empty fields do not filter.
type Filter struct {
	Status   string
	Template string
	BatchID  string
	// After continues a listing after this content id (exclusive), newest first.
	After string
	// Limit defaults to 50.
	Limit int
}

// listContent returns a tenant's content newest first. Ids are UUIDv7-based, so key order
// is creation order.
func (s *store) listContent(tenant string, f Filter) ([]Content, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	prefix := []byte(tenant + "\x00")
	var out []Content
	err := s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketItems).Cursor()
		var k, v []byte
		if f.After != "" {
			k, _ = c.Seek(tkey(tenant, f.After))
			if k != nil {
				k, v = c.Prev()
			} else {
				k, v = c.Last()
			}
		} else {
			// Seek past the tenant's last key, then step back.
			k, _ = c.Seek(append(append([]byte(nil), tenant...), 0x01))
			if k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < f.Limit; k, v = c.Prev() {
			var ct Content
			if err := json.Unmarshal(v, &ct); err != nil {
				return fmt.Errorf("decoding content %q: %w", k, err)
			}
			if (f.Status != "" && ct.Status != f.Status) || (f.Template != "" && ct.Template != f.Template) ||
				(f.BatchID != "" && ct.BatchID != f.BatchID) {
				continue
			}
			out = append(out, ct)
		}
		return nil
	})
	return out, err
}

func (s *store) usage(tenant string) (TenantUsage, error) {
	var u TenantUsage
	err := s.db.View(func(tx *bbolt.Tx) error {
		_, err := getJSON(tx.Bucket(bucketUsage), []byte(tenant), &u)
		return err
	})
	return u, err
}

// pending lists the work left unfinished by a previous process.
func (s *store) pending() (map[string][][2]string, error) {
	out := map[string][][2]string{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketPending).ForEach(func(k, v []byte) error {
			t, id := splitKey(k)
			out[string(v)] = append(out[string(v)], [2]string{t, id})
			return nil
		})
	})
	return out, err
}

func (s *store) dropPending(tenant, id string) error {
	return s.db.Batch(func(tx *bbolt.Tx) error { return tx.Bucket(bucketPending).Delete(tkey(tenant, id)) })
}

// Templates.

func (s *store) template(tenant, id string) (Template, bool, error) {
	var t Template
	var ok bool
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		ok, err = getJSON(tx.Bucket(bucketTemplates), tkey(tenant, id), &t)
		return err
	})
	return t, ok, err
}

func (s *store) templates(tenant string) ([]Template, error) {
	var out []Template
	prefix := []byte(tenant + "\x00")
	err := s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketTemplates).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var t Template
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("decoding template %q: %w", k, err)
			}
			out = append(out, t)
		}
		return nil
	})
	return out, err
}

func (s *store) putTemplate(tenant string, t *Template) (created bool, err error) {
	err = s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketTemplates)
		created = b.Get(tkey(tenant, t.ID)) == nil
		return putJSON(b, tkey(tenant, t.ID), t)
	})
	return created, err
}

func (s *store) deleteTemplate(tenant, id string) (bool, error) {
	var found bool
	err := s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketTemplates)
		found = b.Get(tkey(tenant, id)) != nil
		return b.Delete(tkey(tenant, id))
	})
	return found, err
}

// Batches.

func (s *store) createBatch(tenant string, b *Batch, items []*Content) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		ib := tx.Bucket(bucketItems)
		for _, c := range items {
			if err := putJSON(ib, tkey(tenant, c.ID), c); err != nil {
				return err
			}
		}
		if err := putJSON(tx.Bucket(bucketBatches), tkey(tenant, b.ID), b); err != nil {
			return err
		}
		return tx.Bucket(bucketPending).Put(tkey(tenant, b.ID), []byte(pendingBatch))
	})
}

func (s *store) batch(tenant, id string) (Batch, error) {
	var b Batch
	err := s.db.View(func(tx *bbolt.Tx) error {
		ok, err := getJSON(tx.Bucket(bucketBatches), tkey(tenant, id), &b)
		if err == nil && !ok {
			err = fmt.Errorf("batch %q: %w", id, core.ErrNotFound)
		}
		return err
	})
	return b, err
}

// updateBatch applies fn to the stored batch in one write transaction; a finished batch
// also loses its pending entry.
func (s *store) updateBatch(tenant, id string, fn func(b *Batch)) (Batch, error) {
	var out Batch
	err := s.db.Batch(func(tx *bbolt.Tx) error {
		var err error
		out, err = updateBatchTx(tx, tenant, id, fn)
		return err
	})
	return out, err
}

func updateBatchTx(tx *bbolt.Tx, tenant, id string, fn func(b *Batch)) (Batch, error) {
	bb := tx.Bucket(bucketBatches)
	var b Batch
	ok, err := getJSON(bb, tkey(tenant, id), &b)
	if err != nil {
		return b, err
	}
	if !ok {
		return b, fmt.Errorf("batch %q: %w", id, core.ErrNotFound)
	}
	fn(&b)
	b.recount()
	if err := putJSON(bb, tkey(tenant, id), &b); err != nil {
		return b, err
	}
	if b.Status != BatchRunning {
		return b, tx.Bucket(bucketPending).Delete(tkey(tenant, id))
	}
	return b, nil
}
