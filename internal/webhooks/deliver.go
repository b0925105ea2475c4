package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/signature"
)

// fanOutBatch is how many events one FanOut pass reads.
const fanOutBatch = 256

// FanOut reads the events after the durable cursor and creates one message for every
// enabled endpoint of the event's tenant whose patterns match its type. The messages and the
// new cursor are written in one transaction, so a crash neither loses nor doubles a message.
// It returns the number of messages created.
func (m *Module) FanOut(ctx context.Context) (int, error) {
	if m.events == nil || m.store == nil {
		return 0, nil
	}
	m.fanMu.Lock()
	defer m.fanMu.Unlock()
	var after uint64
	if err := m.store.View(ctx, func(tx Tx) error {
		var err error
		after, err = tx.FanOutCursor()
		return err
	}); err != nil {
		return 0, err
	}
	evs, err := m.events.EventsAfter(ctx, after, fanOutBatch)
	if err != nil {
		return 0, fmt.Errorf("reading events after %d: %w", after, err)
	}
	if len(evs) == 0 {
		return 0, nil
	}
	now := m.clock.Now().UTC()
	created := 0
	err = m.store.Update(ctx, func(tx Tx) error {
		created = 0
		cur, err := tx.FanOutCursor()
		if err != nil {
			return err
		}
		if cur != after {
			return fmt.Errorf("fan-out cursor moved from %d to %d during a pass", after, cur)
		}
		byTenant := map[string][]Endpoint{}
		last := after
		for i := range evs {
			ev := &evs[i]
			if ev.Seq <= last {
				return fmt.Errorf("event sequence not increasing: %d after %d", ev.Seq, last)
			}
			last = ev.Seq
			eps, ok := byTenant[ev.Tenant]
			if !ok {
				if eps, err = tx.Endpoints(ev.Tenant); err != nil {
					return err
				}
				byTenant[ev.Tenant] = eps
			}
			var body []byte
			for j := range eps {
				ep := &eps[j]
				if !ep.Enabled || !matchesAny(ep.Events, ev.Type) {
					continue
				}
				if body == nil {
					if body, err = json.Marshal(ev); err != nil {
						return fmt.Errorf("encoding event %d: %w", ev.Seq, err)
					}
				}
				if _, err := enqueue(tx, ep, ev, body, "", now); err != nil {
					return err
				}
				created++
			}
		}
		return tx.SetFanOutCursor(last)
	})
	if err != nil {
		return 0, fmt.Errorf("fan-out: %w", err)
	}
	return created, nil
}

// enqueue creates a pending message for ep, due at now; stepKey is the idempotency key of
// the rule step that queues it, if one does.
func enqueue(tx Tx, ep *Endpoint, ev *core.Event, body []byte, stepKey string, now time.Time) (Delivery, error) {
	seq, err := tx.NextDeliverySeq()
	if err != nil {
		return Delivery{}, err
	}
	d := Delivery{
		Tenant: ep.Tenant, ID: newID("msg_", seq), EndpointID: ep.ID, EventType: ev.Type, EventID: ev.ID, EventSeq: ev.Seq,
		State: StatePending, NextAt: now, CreatedAt: now, UpdatedAt: now, Log: []Attempt{}, Body: body, DueAt: now, StepKey: stepKey,
	}
	return d, tx.PutDelivery(d)
}

// claimed is a message reserved for one attempt, with its endpoint as it was at claim time.
type claimed struct {
	d  Delivery
	ep Endpoint
}

// claim reserves up to limit messages due at or before now.
func (m *Module) claim(ctx context.Context, now time.Time, limit int) ([]claimed, error) {
	var out []claimed
	err := m.store.Update(ctx, func(tx Tx) error {
		out = out[:0]
		due, err := tx.Due(now, limit)
		if err != nil {
			return err
		}
		for _, d := range due {
			ep, err := tx.Endpoint(d.Tenant, d.EndpointID)
			if errors.Is(err, core.ErrNotFound) {
				// The endpoint was deleted: its messages go with it.
				if err := tx.DeleteDelivery(d.Tenant, d.EndpointID, d.ID); err != nil {
					return err
				}
				continue
			} else if err != nil {
				return err
			}
			if !ep.Enabled {
				d.State, d.LastError, d.NextAt, d.UpdatedAt, d.DueAt = StateDead, "endpoint disabled", time.Time{}, now, time.Time{}
				if err := tx.PutDelivery(d); err != nil {
					return err
				}
				continue
			}
			d.State, d.LeaseUntil, d.UpdatedAt = StateSending, now.Add(m.lease), now
			d.DueAt = d.LeaseUntil
			if err := tx.PutDelivery(d); err != nil {
				return err
			}
			out = append(out, claimed{d: d, ep: ep})
		}
		return nil
	})
	return out, err
}

// DeliverDue makes one attempt for every message due now (up to a few times Workers), with
// at most Workers requests in flight, and records the outcomes. It returns the number of
// attempts made.
func (m *Module) DeliverDue(ctx context.Context) (int, error) {
	if m.store == nil {
		return 0, nil
	}
	batch, err := m.claim(ctx, m.clock.Now().UTC(), m.cfg.Workers*4)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	sem := make(chan struct{}, m.cfg.Workers)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for i := range batch {
		sem <- struct{}{}
		wg.Add(1)
		go func(c *claimed) {
			defer func() { <-sem; wg.Done() }()
			att, res := m.attempt(ctx, c)
			if ctx.Err() != nil {
				// Shutting down: leave the message leased; it is sent again, with the same
				// webhook-id, when the lease runs out.
				return
			}
			if err := m.record(ctx, c, att, res); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}(&batch[i])
	}
	wg.Wait()
	return len(batch), firstErr
}

// outcome is what one request produced, beyond the logged Attempt.
type outcome struct {
	ok         bool
	gone       bool
	retryAfter time.Duration
}

// BuildRequest returns the signed request for one attempt of a message: body is sent as is,
// signed with each of secrets (current first) at the time ts.
func BuildRequest(ctx context.Context, url, msgID string, ts time.Time, body []byte, secrets []signature.Secret, extra map[string]string) (*http.Request, error) {
	keys := make([][]byte, 0, len(secrets))
	for _, sec := range secrets {
		k, err := sec.Key()
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no signing secret")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range extra {
		req.Header.Set(k, v)
	}
	unix := ts.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "aquahub-webhooks/1")
	req.Header.Set(signature.WebhookIDHeader, msgID)
	req.Header.Set(signature.WebhookTimestampHeader, strconv.FormatInt(unix, 10))
	req.Header.Set(signature.WebhookSignatureHeader, signature.SignStandard(keys, msgID, unix, body))
	req.Header.Set(signature.Signature256Header, signature.SignSHA256Hex(string(secrets[0]), body))
	return req, nil
}

// attempt sends one request for c.
func (m *Module) attempt(ctx context.Context, c *claimed) (Attempt, outcome) {
	now := m.clock.Now().UTC()
	trigger := c.d.Trigger
	if trigger == "" {
		trigger = "schedule"
	}
	att := Attempt{N: c.d.Attempts + 1, At: now, URL: c.ep.URL, Trigger: trigger}
	if _, err := m.policy.CheckURL(c.ep.URL); err != nil {
		att.Error = err.Error()
		return att, outcome{}
	}
	req, err := BuildRequest(ctx, c.ep.URL, c.d.ID, now, c.d.Body, c.ep.signingSecrets(now), c.ep.Headers)
	if err != nil {
		att.Error = err.Error()
		return att, outcome{}
	}
	start := time.Now()
	resp, err := m.client.Do(req)
	if err != nil {
		att.LatencyMS = msSince(start)
		att.Error = describeError(err)
		return att, outcome{}
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxSnippet))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	resp.Body.Close()
	att.LatencyMS = msSince(start)
	att.Status = resp.StatusCode
	att.Response = strings.ToValidUTF8(string(snippet), "\uFFFD")
	out := outcome{ok: resp.StatusCode >= 200 && resp.StatusCode < 300, gone: resp.StatusCode == http.StatusGone}
	switch {
	case out.ok:
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		att.Error = fmt.Sprintf("redirect to %q not followed", resp.Header.Get("Location"))
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		out.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
		att.Error = fmt.Sprintf("HTTP %d", resp.StatusCode)
	default:
		att.Error = fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	return att, out
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

func describeError(err error) string {
	var ue interface{ Timeout() bool }
	if errors.As(err, &ue) && ue.Timeout() {
		return "timeout: " + err.Error()
	}
	return err.Error()
}

// maxRetryAfter caps how long a receiver's Retry-After may postpone a message.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads delay-seconds or an HTTP date; zero when absent or malformed.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		d = time.Duration(min(n, int64(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// disabled is an endpoint the hub just disabled, to announce after the commit.
type disabled struct {
	ep    Endpoint
	since time.Time
}

// record writes the outcome of one attempt and picks the message's next state. Outcomes of
// concurrent attempts share commits (Store.Batch), so its transaction function may run twice
// and sets gone afresh each time.
func (m *Module) record(ctx context.Context, c *claimed, att Attempt, out outcome) error {
	var gone *disabled
	err := m.store.Batch(ctx, func(tx Tx) error {
		gone = nil
		d, err := tx.Delivery(c.d.Tenant, c.d.EndpointID, c.d.ID)
		if errors.Is(err, core.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if d.State != StateSending || !d.LeaseUntil.Equal(c.d.LeaseUntil) {
			return nil // the lease ran out and another pass owns the message now
		}
		now := m.clock.Now().UTC()
		d.Attempts++
		d.Round++
		d.Log = append(d.Log, att)
		if len(d.Log) > maxLogged {
			d.Log = d.Log[len(d.Log)-maxLogged:]
		}
		d.LeaseUntil, d.UpdatedAt, d.Trigger = time.Time{}, now, ""
		switch {
		case out.ok:
			d.State, d.LastError, d.NextAt, d.DueAt = StateSucceeded, "", time.Time{}, time.Time{}
		case out.gone || d.Round >= len(m.cfg.Schedule):
			d.State, d.LastError, d.NextAt, d.DueAt = StateDead, att.Error, time.Time{}, time.Time{}
		default:
			delay := max(m.cfg.Schedule[d.Round], out.retryAfter)
			d.State, d.LastError, d.NextAt = StatePending, att.Error, now.Add(delay)
			d.DueAt = d.NextAt
		}
		if err := tx.PutDelivery(d); err != nil {
			return err
		}
		ep, err := tx.Endpoint(d.Tenant, d.EndpointID)
		if errors.Is(err, core.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		changed := false
		switch {
		case out.ok:
			if !ep.FailingSince.IsZero() {
				ep.FailingSince, changed = time.Time{}, true
			}
		default:
			if ep.FailingSince.IsZero() {
				ep.FailingSince, changed = att.At, true
			}
			reason := ""
			if out.gone {
				reason = "the receiver answered 410 Gone"
			} else if now.Sub(ep.FailingSince) >= m.cfg.DisableAfter {
				reason = fmt.Sprintf("failing continuously since %s", ep.FailingSince.Format(time.RFC3339))
			}
			if reason != "" && ep.Enabled {
				ep.Enabled, ep.DisabledReason, changed = false, reason, true
				gone = &disabled{ep: ep, since: ep.FailingSince}
			}
		}
		if !changed {
			return nil
		}
		ep.UpdatedAt = now
		if gone != nil {
			gone.ep.UpdatedAt = now
		}
		return tx.PutEndpoint(ep)
	})
	if err != nil {
		return fmt.Errorf("recording attempt of %s: %w", c.d.ID, err)
	}
	if gone != nil {
		m.announceDisabled(ctx, gone)
	}
	return nil
}

// announceDisabled publishes webhook.endpoint.disabled. Its id is derived from the endpoint
// and the moment it was disabled, so a repeated publish is deduplicated by the pipeline.
func (m *Module) announceDisabled(ctx context.Context, d *disabled) {
	m.log.Warn("webhook endpoint disabled", "tenant", d.ep.Tenant, "endpoint", d.ep.ID, "reason", d.ep.DisabledReason)
	if m.publisher == nil {
		return
	}
	data, _ := json.Marshal(map[string]any{
		"endpoint_id": d.ep.ID, "url": d.ep.URL, "reason": d.ep.DisabledReason,
		"failing_since": d.since.Format(time.RFC3339), "disabled_at": d.ep.UpdatedAt.Format(time.RFC3339),
	})
	at := d.ep.UpdatedAt
	ev := core.Event{
		ID:     fmt.Sprintf("whdisabled-%s-%d", d.ep.ID, at.UnixNano()),
		Source: EventSourceName, Type: EventEndpointDisabled, SpecVersion: core.SpecVersion,
		Subject: d.ep.ID, Time: &at, DataContentType: "application/json", Data: data,
	}
	if _, err := m.publisher.Publish(context.WithoutCancel(ctx), d.ep.Tenant, ev); err != nil {
		m.log.Error("publishing webhook.endpoint.disabled", "tenant", d.ep.Tenant, "endpoint", d.ep.ID, "err", err)
	}
}
