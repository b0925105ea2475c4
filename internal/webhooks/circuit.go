package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aquascene/aquahub/core"
)

// circuitChanged counts a breaker's change and announces an outage's start and end:
// opening from closed, and closing. A failed probe that opens it again changes the metrics
// only, so an outage is one pair of events however long it lasts. It may be called with
// the dispatcher's lock held (a breaker turning half-open), and then publishes nothing.
func (m *Module) circuitChanged(ch core.CircuitChange) {
	m.metrics.changes.WithLabelValues(string(ch.To)).Inc()
	tenant, endpoint, _ := strings.Cut(ch.Key, "\x00")
	url, _ := m.urls.Load(ch.Key)
	urlStr, _ := url.(string)
	switch {
	case ch.From == core.CircuitClosed && ch.To == core.CircuitOpen:
		m.metrics.circuitsOpen.Inc()
		m.log.Warn("webhook endpoint circuit opened; its messages are deferred", "tenant", tenant, "endpoint", endpoint,
			"reason", ch.Reason, "until", ch.Until)
		m.publishCircuit(tenant, EventCircuitOpened, ch, map[string]any{
			"endpoint_id": endpoint, "url": urlStr, "reason": ch.Reason, "failures": ch.Failures, "requests": ch.Requests,
			"opened_at": ch.At.UTC().Format(time.RFC3339Nano), "probe_at": ch.Until.UTC().Format(time.RFC3339Nano),
		})
	case ch.To == core.CircuitClosed:
		m.metrics.circuitsOpen.Dec()
		m.log.Info("webhook endpoint circuit closed", "tenant", tenant, "endpoint", endpoint, "open_for", ch.At.Sub(ch.OpenedAt))
		m.publishCircuit(tenant, EventCircuitClosed, ch, map[string]any{
			"endpoint_id": endpoint, "url": urlStr,
			"opened_at": ch.OpenedAt.UTC().Format(time.RFC3339Nano), "closed_at": ch.At.UTC().Format(time.RFC3339Nano),
			"open_seconds": ch.At.Sub(ch.OpenedAt).Seconds(),
		})
	}
}

// publishCircuit puts one circuit event into the pipeline. Its id derives from the endpoint
// and the moment, so publishing it twice stores it once.
func (m *Module) publishCircuit(tenant, typ string, ch core.CircuitChange, data map[string]any) {
	if m.publisher == nil {
		return
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return
	}
	_, endpoint, _ := strings.Cut(ch.Key, "\x00")
	at := ch.At.UTC()
	ev := core.Event{
		ID:     fmt.Sprintf("%s-%s-%d", typ, endpoint, at.UnixNano()),
		Source: EventSourceName, Type: typ, SpecVersion: core.SpecVersion, Subject: endpoint,
		Time: &at, DataContentType: "application/json", Data: raw,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := m.publisher.Publish(ctx, tenant, ev); err != nil {
		m.log.Error("publishing "+typ, "tenant", tenant, "endpoint", endpoint, "err", err)
	}
}

// Circuit returns the state of an endpoint's breaker and, when open, when it lets a probe
// through.
func (m *Module) Circuit(tenant, endpointID string) (core.CircuitState, time.Time) {
	return m.circuits.State(laneKey(tenant, endpointID), m.clock.Now())
}
