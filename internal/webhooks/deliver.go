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
	// ticket is the breaker's leave to send; pooled is true when the request holds one of
	// the shared workers.
	ticket core.CircuitTicket
	pooled bool
}

// claim leases the messages due at now that the endpoints' lanes have room for and hands
// them to the lanes. Endpoints are read in the order of their earliest due message, those
// with no room passed over unread; a deleted endpoint's messages are dropped and a disabled
// one's die. It returns how many messages it claimed.
func (m *Module) claim(ctx context.Context, now time.Time) (int, error) {
	m.disp.claiming.Lock()
	defer m.disp.claiming.Unlock()
	skip := func(tenant, endpointID string) bool { return m.full(tenant, endpointID, now) }
	// A read first: most passes find nothing to claim, and a write transaction would cost a
	// commit each time.
	var any bool
	if err := m.store.View(ctx, func(tx Tx) error {
		due, err := tx.DueEndpoints(now, 1, skip)
		any = len(due) > 0
		return err
	}); err != nil || !any {
		return 0, err
	}
	var out []*claimed
	err := m.store.Update(ctx, func(tx Tx) error {
		out = out[:0]
		due, err := tx.DueEndpoints(now, claimEndpoints, skip)
		if err != nil {
			return err
		}
		for _, de := range due {
			ep, err := tx.Endpoint(de.Tenant, de.EndpointID)
			if errors.Is(err, core.ErrNotFound) {
				// The endpoint was deleted: its messages go with it.
				if err := m.dropDue(tx, de, now, nil); err != nil {
					return err
				}
				continue
			} else if err != nil {
				return err
			}
			if !ep.Enabled {
				if err := m.dropDue(tx, de, now, &ep); err != nil {
					return err
				}
				continue
			}
			room := m.room(&ep, now)
			if room == 0 {
				continue
			}
			var ds []Delivery
			if ep.Ordered {
				ds, err = m.orderedNext(tx, &ep, now)
			} else {
				ds, err = tx.DueDeliveries(ep.Tenant, ep.ID, now, room)
			}
			if err != nil {
				return err
			}
			for _, d := range ds {
				d.State, d.LeaseUntil, d.UpdatedAt = StateSending, now.Add(m.lease), now
				d.DueAt = d.LeaseUntil
				if err := tx.PutDelivery(d); err != nil {
					return err
				}
				out = append(out, &claimed{d: d, ep: ep})
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	m.enqueue(out)
	return len(out), nil
}

// dropDue removes the due messages of a deleted endpoint (ep nil), or kills those of a
// disabled one, a batch at a time.
func (m *Module) dropDue(tx Tx, de DueEndpoint, now time.Time, ep *Endpoint) error {
	ds, err := tx.DueDeliveries(de.Tenant, de.EndpointID, now, 256)
	if err != nil {
		return err
	}
	for _, d := range ds {
		if ep == nil {
			if err := tx.DeleteDelivery(d.Tenant, d.EndpointID, d.ID); err != nil {
				return err
			}
			continue
		}
		d.State, d.LastError, d.NextAt, d.UpdatedAt, d.DueAt = StateDead, "endpoint disabled", time.Time{}, now, time.Time{}
		if err := tx.PutDelivery(d); err != nil {
			return err
		}
	}
	if ep != nil && ep.OrderedHead != "" {
		ep.OrderedHead = ""
		return tx.PutEndpoint(*ep)
	}
	return nil
}

// orderedNext is the one message an ordered endpoint may be sent now: the message holding
// the line (ep.OrderedHead) once it is due, else, when that one is finished, the earliest
// due message, which then holds the line.
func (m *Module) orderedNext(tx Tx, ep *Endpoint, now time.Time) ([]Delivery, error) {
	if ep.OrderedHead != "" {
		d, err := tx.Delivery(ep.Tenant, ep.ID, ep.OrderedHead)
		switch {
		case errors.Is(err, core.ErrNotFound):
		case err != nil:
			return nil, err
		case d.State == StatePending || d.State == StateSending:
			if d.DueAt.IsZero() || d.DueAt.After(now) {
				return nil, nil
			}
			return []Delivery{d}, nil
		}
	}
	ds, err := tx.DueDeliveries(ep.Tenant, ep.ID, now, 1)
	if err != nil {
		return nil, err
	}
	head := ""
	if len(ds) > 0 {
		head = ds[0].ID
	}
	if head != ep.OrderedHead {
		ep.OrderedHead = head
		if err := tx.PutEndpoint(*ep); err != nil {
			return nil, err
		}
	}
	return ds, nil
}

// outcome is what one request produced, beyond the logged Attempt.
type outcome struct {
	ok         bool
	gone       bool
	retryAfter time.Duration
	// circuit is what the endpoint's breaker makes of the attempt.
	circuit core.Outcome
}

// result names the attempt's outcome for the metrics.
func (o outcome) result() string {
	switch {
	case o.ok:
		return "succeeded"
	case o.circuit == core.OutcomeTimeout:
		return "timeout"
	}
	return "failed"
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
		return att, outcome{circuit: core.OutcomeIgnored}
	}
	// The endpoint's own timeout bounds its request, so a receiver that hangs holds its own
	// slot only as long as it is allowed to.
	reqCtx, cancel := context.WithTimeout(ctx, m.timeout(&c.ep))
	defer cancel()
	req, err := BuildRequest(reqCtx, c.ep.URL, c.d.ID, now, c.d.Body, c.ep.signingSecrets(now), c.ep.Headers)
	if err != nil {
		att.Error = err.Error()
		return att, outcome{circuit: core.OutcomeIgnored}
	}
	start := time.Now()
	resp, err := m.client.Do(req)
	if err != nil {
		att.LatencyMS = msSince(start)
		att.Error = describeError(err)
		out := outcome{circuit: core.OutcomeFailure}
		var te interface{ Timeout() bool }
		switch {
		case ctx.Err() != nil:
			out.circuit = core.OutcomeIgnored
		case errors.Is(err, context.DeadlineExceeded), errors.As(err, &te) && te.Timeout():
			out.circuit = core.OutcomeTimeout
		}
		return att, out
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxSnippet))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	resp.Body.Close()
	att.LatencyMS = msSince(start)
	att.Status = resp.StatusCode
	att.Response = strings.ToValidUTF8(string(snippet), "\uFFFD")
	out := outcome{ok: resp.StatusCode >= 200 && resp.StatusCode < 300, gone: resp.StatusCode == http.StatusGone}
	if resp.StatusCode >= 500 {
		out.circuit = core.OutcomeFailure // an answer below 500 is the receiver up and deciding
	}
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
		if ep.OrderedHead == d.ID && (d.State == StateSucceeded || d.State == StateDead) {
			ep.OrderedHead, changed = "", true
		}
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
