package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aquascene/aquahub/core"
)

// Deliveries lists an endpoint's messages with their attempt logs, newest first.
func (m *Module) Deliveries(ctx context.Context, tenant, endpointID string, f DeliveryFilter) ([]Delivery, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 500)
	out := []Delivery{}
	err := m.view(ctx, func(tx Tx) error {
		if _, err := tx.Endpoint(tenant, endpointID); err != nil {
			return err
		}
		return tx.Deliveries(tenant, endpointID, f.Before, func(d Delivery) bool {
			if f.State == "" || d.State == f.State {
				out = append(out, d)
			}
			return len(out) < f.Limit
		})
	})
	return out, err
}

// Delivery returns one message with its attempt log.
func (m *Module) Delivery(ctx context.Context, tenant, endpointID, id string) (Delivery, error) {
	var d Delivery
	err := m.view(ctx, func(tx Tx) error {
		var err error
		d, err = tx.Delivery(tenant, endpointID, id)
		return err
	})
	return d, err
}

// Replay sends a dead or delivered message again, now, with the same webhook-id, and a
// fresh retry schedule. The endpoint must be enabled.
func (m *Module) Replay(ctx context.Context, tenant, endpointID, id string) (Delivery, error) {
	var d Delivery
	err := m.update(ctx, func(tx Tx) error {
		ep, err := tx.Endpoint(tenant, endpointID)
		if err != nil {
			return err
		}
		if !ep.Enabled {
			return fmt.Errorf("endpoint %s is disabled (%s): enable it before replaying: %w", ep.ID, ep.DisabledReason, core.ErrConflict)
		}
		if d, err = tx.Delivery(tenant, endpointID, id); err != nil {
			return err
		}
		if d.State != StateDead && d.State != StateSucceeded {
			return fmt.Errorf("delivery %s is %s, not dead or succeeded: %w", id, d.State, core.ErrConflict)
		}
		requeue(&d, "replay", m.clock.Now().UTC())
		return tx.PutDelivery(d)
	})
	if err == nil {
		m.Notify()
	}
	return d, err
}

// Recover queues again every dead message of the endpoint created at or after since, and
// returns how many it queued. The endpoint must be enabled.
func (m *Module) Recover(ctx context.Context, tenant, endpointID string, since time.Time) (int, error) {
	n := 0
	err := m.update(ctx, func(tx Tx) error {
		n = 0
		ep, err := tx.Endpoint(tenant, endpointID)
		if err != nil {
			return err
		}
		if !ep.Enabled {
			return fmt.Errorf("endpoint %s is disabled (%s): enable it before recovering: %w", ep.ID, ep.DisabledReason, core.ErrConflict)
		}
		var dead []Delivery
		err = tx.Deliveries(tenant, endpointID, "", func(d Delivery) bool {
			if d.State == StateDead && !d.CreatedAt.Before(since) {
				dead = append(dead, d)
			}
			return true
		})
		if err != nil {
			return err
		}
		now := m.clock.Now().UTC()
		for i := range dead {
			requeue(&dead[i], "recover", now)
			if err := tx.PutDelivery(dead[i]); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err == nil && n > 0 {
		m.Notify()
	}
	return n, err
}

// requeue makes d pending again, due now, with a fresh schedule.
func requeue(d *Delivery, trigger string, now time.Time) {
	d.State, d.Round, d.Trigger, d.NextAt, d.UpdatedAt, d.LastError, d.DueAt = StatePending, 0, trigger, now, now, "", now
}

// Send queues ev for one endpoint outside fan-out (a rule's webhook step). The same
// idempotencyKey always yields the same message, so a retried step queues nothing new.
func (m *Module) Send(ctx context.Context, tenant, endpointID string, ev core.Event, idempotencyKey string) (Delivery, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return Delivery{}, fmt.Errorf("encoding event: %w", err)
	}
	var d Delivery
	err = m.update(ctx, func(tx Tx) error {
		ep, err := tx.Endpoint(tenant, endpointID)
		if err != nil {
			return err
		}
		if idempotencyKey != "" {
			id, ok, err := tx.StepMessage(tenant, idempotencyKey)
			if err != nil {
				return err
			}
			if ok {
				d, err = tx.Delivery(tenant, endpointID, id)
				return err
			}
		}
		if !ep.Enabled {
			return fmt.Errorf("endpoint %s is disabled (%s): %w", ep.ID, ep.DisabledReason, core.ErrConflict)
		}
		if d, err = enqueue(tx, &ep, &ev, body, idempotencyKey, m.clock.Now().UTC()); err != nil {
			return err
		}
		if idempotencyKey != "" {
			return tx.PutStepMessage(tenant, idempotencyKey, d.ID)
		}
		return nil
	})
	if err == nil {
		m.Notify()
	}
	return d, err
}
