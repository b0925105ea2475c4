package webhooks

import (
	"bytes"
	"context"
	"encoding/binary"
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
	bbolt "go.etcd.io/bbolt"
)

// fanOutBatch is how many events one FanOut pass reads.
const fanOutBatch = 256

// FanOut reads the events after the durable cursor and creates one message for every
// enabled endpoint of the event's tenant whose patterns match its type. The messages and the
// new cursor are written in one transaction, so a crash neither loses nor doubles a message.
// It returns the number of messages created.
func (s *Service) FanOut(ctx context.Context) (int, error) {
	if s.events == nil {
		return 0, nil
	}
	s.fanMu.Lock()
	defer s.fanMu.Unlock()
	var after uint64
	if err := s.db.View(func(tx *bbolt.Tx) error { after = readCursor(tx); return nil }); err != nil {
		return 0, err
	}
	evs, err := s.events.EventsAfter(ctx, after, fanOutBatch)
	if err != nil {
		return 0, fmt.Errorf("reading events after %d: %w", after, err)
	}
	if len(evs) == 0 {
		return 0, nil
	}
	now := s.clock.Now().UTC()
	created := 0
	err = s.db.Update(func(tx *bbolt.Tx) error {
		created = 0
		if cur := readCursor(tx); cur != after {
			return fmt.Errorf("fan-out cursor moved from %d to %d during a pass", after, cur)
		}
		byTenant := map[string][]*endpointRecord{}
		last := after
		for i := range evs {
			ev := &evs[i]
			if ev.Seq <= last {
				return fmt.Errorf("event sequence not increasing: %d after %d", ev.Seq, last)
			}
			last = ev.Seq
			eps, ok := byTenant[ev.Tenant]
			if !ok {
				if eps, err = tenantEndpoints(tx, ev.Tenant); err != nil {
					return err
				}
				byTenant[ev.Tenant] = eps
			}
			var body []byte
			for _, ep := range eps {
				if !ep.Enabled || !matchesAny(ep.Events, ev.Type) {
					continue
				}
				if body == nil {
					if body, err = json.Marshal(ev); err != nil {
						return fmt.Errorf("encoding event %d: %w", ev.Seq, err)
					}
				}
				if _, err := enqueue(tx, ep, ev, body, now); err != nil {
					return err
				}
				created++
			}
		}
		return tx.Bucket(bucketMeta).Put(keyCursor, be64(last))
	})
	if err != nil {
		return 0, fmt.Errorf("fan-out: %w", err)
	}
	return created, nil
}

// claimed is a message reserved for one attempt, with its endpoint as it was at claim time.
type claimed struct {
	rec deliveryRecord
	ep  endpointRecord
}

// claim reserves up to max messages due at or before now.
func (s *Service) claim(now time.Time, limitN int) ([]claimed, error) {
	var out []claimed
	err := s.db.Update(func(tx *bbolt.Tx) error {
		out = out[:0]
		var keys [][]byte
		c := tx.Bucket(bucketDue).Cursor()
		limit := uint64(max(now.UnixNano(), 0))
		for k, _ := c.First(); k != nil && len(keys) < limitN; k, _ = c.Next() {
			if len(k) < 8 || binary.BigEndian.Uint64(k[:8]) > limit {
				break
			}
			keys = append(keys, append([]byte(nil), k...))
		}
		for _, k := range keys {
			parts := strings.SplitN(string(k[8:]), "\x00", 3)
			if len(parts) != 3 {
				if err := tx.Bucket(bucketDue).Delete(k); err != nil {
					return err
				}
				continue
			}
			tenant, epID, msg := parts[0], parts[1], parts[2]
			rec, err := getDelivery(tx, tenant, epID, msg)
			if errors.Is(err, core.ErrNotFound) {
				if err := tx.Bucket(bucketDue).Delete(k); err != nil {
					return err
				}
				continue
			} else if err != nil {
				return err
			}
			ep, err := getEndpoint(tx, tenant, epID)
			if errors.Is(err, core.ErrNotFound) {
				// The endpoint was deleted: its messages go with it.
				if err := unschedule(tx, rec); err != nil {
					return err
				}
				if err := tx.Bucket(bucketDeliveries).Delete(key(tenant, epID, msg)); err != nil {
					return err
				}
				continue
			} else if err != nil {
				return err
			}
			if !ep.Enabled {
				rec.State, rec.LastError, rec.NextAt, rec.UpdatedAt = StateDead, "endpoint disabled", time.Time{}, now
				if err := unschedule(tx, rec); err != nil {
					return err
				}
				if err := putDelivery(tx, rec); err != nil {
					return err
				}
				continue
			}
			rec.State, rec.LeaseUntil, rec.UpdatedAt = StateSending, now.Add(s.lease), now
			if err := schedule(tx, rec, rec.LeaseUntil); err != nil {
				return err
			}
			if err := putDelivery(tx, rec); err != nil {
				return err
			}
			out = append(out, claimed{rec: *rec, ep: *ep})
		}
		return nil
	})
	return out, err
}

// DeliverDue makes one attempt for every message due now (up to a few times Workers), with
// at most Workers requests in flight, and records the outcomes. It returns the number of
// attempts made.
func (s *Service) DeliverDue(ctx context.Context) (int, error) {
	batch, err := s.claim(s.clock.Now().UTC(), s.workers*4)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	sem := make(chan struct{}, s.workers)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for i := range batch {
		sem <- struct{}{}
		wg.Add(1)
		go func(c *claimed) {
			defer func() { <-sem; wg.Done() }()
			att, res := s.attempt(ctx, c)
			if ctx.Err() != nil {
				// Shutting down: leave the message leased; it is sent again, with the same
				// webhook-id, when the lease runs out.
				return
			}
			if err := s.record(ctx, c, att, res); err != nil {
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

// Headers of outbound requests.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
	HeaderSHA256    = "X-Signature-256"
)

// BuildRequest returns the signed request for one attempt of a message: body is sent as is,
// signed with each of secrets (current first) at the time ts.
func BuildRequest(ctx context.Context, url, msgID string, ts time.Time, body []byte, secrets []Secret, extra map[string]string) (*http.Request, error) {
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
	req.Header.Set(HeaderID, msgID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(unix, 10))
	req.Header.Set(HeaderSignature, SignatureHeader(keys, msgID, unix, body))
	req.Header.Set(HeaderSHA256, SignSHA256Hex(string(secrets[0]), body))
	return req, nil
}

// attempt sends one request for c.
func (s *Service) attempt(ctx context.Context, c *claimed) (Attempt, outcome) {
	now := s.clock.Now().UTC()
	trigger := c.rec.Trigger
	if trigger == "" {
		trigger = "schedule"
	}
	att := Attempt{N: c.rec.Attempts + 1, At: now, URL: c.ep.URL, Trigger: trigger}
	if _, err := s.policy.CheckURL(c.ep.URL); err != nil {
		att.Error = err.Error()
		return att, outcome{}
	}
	req, err := BuildRequest(ctx, c.ep.URL, c.rec.ID, now, c.rec.Body, c.ep.signingSecrets(now), c.ep.Headers)
	if err != nil {
		att.Error = err.Error()
		return att, outcome{}
	}
	start := time.Now()
	resp, err := s.client.Do(req)
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
	tenant string
	ep     Endpoint
	since  time.Time
}

// record writes the outcome of one attempt and picks the message's next state.
func (s *Service) record(ctx context.Context, c *claimed, att Attempt, out outcome) error {
	var gone *disabled
	err := s.db.Batch(func(tx *bbolt.Tx) error {
		gone = nil
		rec, err := getDelivery(tx, c.rec.Tenant, c.rec.EndpointID, c.rec.ID)
		if errors.Is(err, core.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if rec.State != StateSending || !rec.LeaseUntil.Equal(c.rec.LeaseUntil) {
			return nil // the lease ran out and another pass owns the message now
		}
		now := s.clock.Now().UTC()
		rec.Attempts++
		rec.Round++
		rec.Log = append(rec.Log, att)
		if len(rec.Log) > maxLogged {
			rec.Log = rec.Log[len(rec.Log)-maxLogged:]
		}
		rec.LeaseUntil, rec.UpdatedAt, rec.Trigger = time.Time{}, now, ""
		switch {
		case out.ok:
			rec.State, rec.LastError, rec.NextAt = StateSucceeded, "", time.Time{}
			err = unschedule(tx, rec)
		case out.gone || rec.Round >= len(s.schedule):
			rec.State, rec.LastError, rec.NextAt = StateDead, att.Error, time.Time{}
			err = unschedule(tx, rec)
		default:
			delay := max(s.schedule[rec.Round], out.retryAfter)
			rec.State, rec.LastError, rec.NextAt = StatePending, att.Error, now.Add(delay)
			err = schedule(tx, rec, rec.NextAt)
		}
		if err != nil {
			return err
		}
		if err := putDelivery(tx, rec); err != nil {
			return err
		}
		ep, err := getEndpoint(tx, rec.Tenant, rec.EndpointID)
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
			} else if now.Sub(ep.FailingSince) >= s.disable {
				reason = fmt.Sprintf("failing continuously since %s", ep.FailingSince.Format(time.RFC3339))
			}
			if reason != "" && ep.Enabled {
				ep.Enabled, ep.DisabledReason, changed = false, reason, true
				gone = &disabled{tenant: rec.Tenant, ep: ep.Endpoint, since: ep.FailingSince}
			}
		}
		if !changed {
			return nil
		}
		ep.UpdatedAt = now
		return putEndpoint(tx, ep)
	})
	if err != nil {
		return fmt.Errorf("recording attempt of %s: %w", c.rec.ID, err)
	}
	if gone != nil {
		s.announceDisabled(ctx, gone)
	}
	return nil
}

// announceDisabled publishes webhook.endpoint.disabled. Its id is derived from the endpoint
// and the moment it was disabled, so a repeated publish is deduplicated by the pipeline.
func (s *Service) announceDisabled(ctx context.Context, d *disabled) {
	s.log.Warn("webhook endpoint disabled", "tenant", d.tenant, "endpoint", d.ep.ID, "reason", d.ep.DisabledReason)
	if s.publisher == nil {
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
	if _, err := s.publisher.Publish(context.WithoutCancel(ctx), d.tenant, ev); err != nil {
		s.log.Error("publishing webhook.endpoint.disabled", "tenant", d.tenant, "endpoint", d.ep.ID, "err", err)
	}
}
