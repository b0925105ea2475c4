package inbound

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/aquascene/aquahub/core"
)

// sendgridEventTypes maps SendGrid's event names to the past-tense event type suffixes; a
// name not listed (processed, dropped, delivered, deferred, spamreport, unsubscribe,
// group_unsubscribe, group_resubscribe, and any SendGrid adds later) is used as it is.
var sendgridEventTypes = map[string]string{"open": "opened", "click": "clicked", "bounce": "bounced"}

var sendgridEventName = regexp.MustCompile(`^[a-z][a-z_]{0,39}$`)

// MaxSendGridBatch bounds the events of one Event Webhook request (SendGrid batches up to a
// few thousand; more is refused rather than published half).
const MaxSendGridBatch = 10000

// SendGridEventType returns the hub event type of a SendGrid event name: email.<event>, with
// open, click and bounce as opened, clicked and bounced.
func SendGridEventType(event string) string {
	if t, ok := sendgridEventTypes[event]; ok {
		return "email." + t
	}
	return "email." + event
}

// receiveSendGrid verifies an Event Webhook batch and publishes one event per item: type
// email.<event>, id sg_event_id, subject the address, data the item. Configured mapping
// expressions run once per item with body bound to the item.
func (r *Receiver) receiveSendGrid(ctx context.Context, s *Source, header http.Header, body []byte, now time.Time) (Result, error) {
	ver, err := s.verifier.Verify(Request{Header: header, Body: body, Now: now})
	if err != nil {
		return Result{}, err
	}
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		return Result{}, core.Invalid("body", "an Event Webhook request is a JSON array of events: %v", err)
	}
	if len(items) > MaxSendGridBatch {
		return Result{}, core.Invalid("body", "%d events in one request, at most %d", len(items), MaxSendGridBatch)
	}
	verified := map[string]any{"id": ""}
	if !ver.Timestamp.IsZero() {
		verified["timestamp"] = ver.Timestamp.Unix()
	}
	hdrs := headerMap(header)
	events := make([]core.Event, 0, len(items))
	for i, raw := range items {
		var item map[string]any
		if err := json.Unmarshal(raw, &item); err != nil || item == nil {
			return Result{}, core.Invalid(fmt.Sprintf("body[%d]", i), "an event must be a JSON object")
		}
		name, _ := item["event"].(string)
		if !sendgridEventName.MatchString(name) {
			return Result{}, core.Invalid(fmt.Sprintf("body[%d].event", i), "must be a SendGrid event name (got %q)", name)
		}
		id, _ := item["sg_event_id"].(string)
		if id == "" {
			id = hashID(raw)
		}
		email, _ := item["email"].(string)
		t := now
		if ts, ok := item["timestamp"].(float64); ok && ts > 0 {
			t = time.Unix(int64(ts), 0)
		}
		env := exprEnv{Body: item, Headers: hdrs, Tenant: s.Tenant, Source: s.Name, Verified: verified, Raw: string(raw)}
		ev, err := s.mapEvent(env, SendGridEventType(name), id, email, t)
		if err != nil {
			return Result{}, fmt.Errorf("body[%d]: %w", i, err)
		}
		events = append(events, ev)
	}
	res := Result{Accepted: core.Accepted{Source: "aquahub/hooks/" + s.Name}}
	if len(events) == 0 {
		return res, nil
	}
	acc, err := r.pub.Publish(ctx, s.Tenant, events...)
	if err != nil {
		return res, err
	}
	res.Events = acc
	res.Accepted = acc[len(acc)-1]
	res.Duplicate = true
	for _, a := range acc {
		res.Duplicate = res.Duplicate && a.Duplicate
	}
	return res, nil
}
