package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aquascene/aquahub/core"
	bbolt "go.etcd.io/bbolt"
)

// DeliveryFilter selects messages in a listing.
type DeliveryFilter struct {
	// State keeps only messages in that state when set.
	State DeliveryState
	// Before continues a listing: only messages created before this message id.
	Before string
	// Limit caps the result (default 50, at most 500).
	Limit int
}

// Deliveries lists an endpoint's messages with their attempt logs, newest first.
func (s *Service) Deliveries(ctx context.Context, tenant, endpointID string, f DeliveryFilter) ([]Delivery, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 500)
	out := []Delivery{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		if _, err := getEndpoint(tx, tenant, endpointID); err != nil {
			return err
		}
		p := prefix(tenant, endpointID)
		c := tx.Bucket(bucketDeliveries).Cursor()
		start := append(append([]byte(nil), p...), 0xff)
		if f.Before != "" {
			start = key(tenant, endpointID, f.Before)
		}
		var k, v []byte
		if k, _ = c.Seek(start); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, p) && len(out) < f.Limit; k, v = c.Prev() {
			var r deliveryRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decoding delivery %q: %w", k, err)
			}
			if f.State != "" && r.State != f.State {
				continue
			}
			out = append(out, r.Delivery)
		}
		return nil
	})
	return out, err
}

// Delivery returns one message with its attempt log.
func (s *Service) Delivery(ctx context.Context, tenant, endpointID, id string) (Delivery, error) {
	var d Delivery
	err := s.db.View(func(tx *bbolt.Tx) error {
		r, err := getDelivery(tx, tenant, endpointID, id)
		if err == nil {
			d = r.Delivery
		}
		return err
	})
	return d, err
}

// Replay sends a dead or delivered message again, now, with the same webhook-id, and a
// fresh retry schedule. The endpoint must be enabled.
func (s *Service) Replay(ctx context.Context, tenant, endpointID, id string) (Delivery, error) {
	var d Delivery
	err := s.db.Update(func(tx *bbolt.Tx) error {
		ep, err := getEndpoint(tx, tenant, endpointID)
		if err != nil {
			return err
		}
		if !ep.Enabled {
			return fmt.Errorf("endpoint %s is disabled (%s): enable it before replaying: %w", ep.ID, ep.DisabledReason, core.ErrConflict)
		}
		r, err := getDelivery(tx, tenant, endpointID, id)
		if err != nil {
			return err
		}
		if r.State != StateDead && r.State != StateSucceeded {
			return fmt.Errorf("delivery %s is %s, not dead or succeeded: %w", id, r.State, core.ErrConflict)
		}
		if err := requeue(tx, r, "replay", s.clock.Now().UTC()); err != nil {
			return err
		}
		d = r.Delivery
		return nil
	})
	if err == nil {
		s.Notify()
	}
	return d, err
}

// Recover queues again every dead message of the endpoint created at or after since, and
// returns how many it queued. The endpoint must be enabled.
func (s *Service) Recover(ctx context.Context, tenant, endpointID string, since time.Time) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bbolt.Tx) error {
		n = 0
		ep, err := getEndpoint(tx, tenant, endpointID)
		if err != nil {
			return err
		}
		if !ep.Enabled {
			return fmt.Errorf("endpoint %s is disabled (%s): enable it before recovering: %w", ep.ID, ep.DisabledReason, core.ErrConflict)
		}
		now := s.clock.Now().UTC()
		p := prefix(tenant, endpointID)
		var dead []*deliveryRecord
		c := tx.Bucket(bucketDeliveries).Cursor()
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			var r deliveryRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decoding delivery %q: %w", k, err)
			}
			if r.State == StateDead && !r.CreatedAt.Before(since) {
				dead = append(dead, &r)
			}
		}
		for _, r := range dead {
			if err := requeue(tx, r, "recover", now); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err == nil && n > 0 {
		s.Notify()
	}
	return n, err
}

// requeue makes r pending again, due now, with a fresh schedule.
func requeue(tx *bbolt.Tx, r *deliveryRecord, trigger string, now time.Time) error {
	r.State, r.Round, r.Trigger, r.NextAt, r.UpdatedAt, r.LastError = StatePending, 0, trigger, now, now, ""
	if err := schedule(tx, r, now); err != nil {
		return err
	}
	return putDelivery(tx, r)
}

// Send queues ev for one endpoint outside fan-out (a rule's webhook step). The same
// idempotencyKey always yields the same message, so a retried step queues nothing new.
func (s *Service) Send(ctx context.Context, tenant, endpointID string, ev core.Event, idempotencyKey string) (Delivery, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return Delivery{}, fmt.Errorf("encoding event: %w", err)
	}
	var d Delivery
	err = s.db.Update(func(tx *bbolt.Tx) error {
		ep, err := getEndpoint(tx, tenant, endpointID)
		if err != nil {
			return err
		}
		keys := tx.Bucket(bucketStepKeys)
		if idempotencyKey != "" {
			if id := keys.Get(key(tenant, idempotencyKey)); id != nil {
				r, err := getDelivery(tx, tenant, endpointID, string(id))
				if err != nil {
					return err
				}
				d = r.Delivery
				return nil
			}
		}
		if !ep.Enabled {
			return fmt.Errorf("endpoint %s is disabled (%s): %w", ep.ID, ep.DisabledReason, core.ErrConflict)
		}
		r, err := enqueue(tx, ep, &ev, body, s.clock.Now().UTC())
		if err != nil {
			return err
		}
		if idempotencyKey != "" {
			if err := keys.Put(key(tenant, idempotencyKey), []byte(r.ID)); err != nil {
				return err
			}
		}
		d = r.Delivery
		return nil
	})
	if err == nil {
		s.Notify()
	}
	return d, err
}
