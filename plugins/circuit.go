package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/abi/egress"
)

// The events the connector host publishes when a breaker opens or closes, on behalf of the
// tenant whose connector it guards.
const (
	// EventCircuitOpened: a tenant's connector failed repeatedly against one origin; its
	// calls are deferred until a probe succeeds.
	EventCircuitOpened = "connector.circuit.opened"
	// EventCircuitClosed: a probe succeeded; calls go again.
	EventCircuitClosed = "connector.circuit.closed"
	// EventSourceName is the CloudEvents source of the host's events.
	EventSourceName = "aquahub/connectors"
)

// breakers are the host's circuit breakers, one per tenant, connector and origin: one
// tenant's broken credentials or one vendor's outage open only that tenant's breaker for
// that origin. The egress client of each (tenant, connector) asks them before every request
// (sdk/abi/egress.Circuit).
type breakers struct {
	set     *core.Circuits
	log     *slog.Logger
	pub     core.Publisher
	metrics *hostMetrics
}

func newBreakers(cfg core.BreakerConfig, deps Deps, m *hostMetrics) *breakers {
	b := &breakers{log: deps.Logger, pub: deps.Publisher, metrics: m}
	b.set = core.NewCircuits(cfg, b.changed)
	return b
}

// circuitKey is a breaker's key: tenant, connector and origin.
func circuitKey(tenant, connector, origin string) string {
	return tenant + "\x00" + connector + "\x00" + origin
}

// scope is the egress.Circuit of one tenant's connector.
func (b *breakers) scope(tenant, connector string) egress.Circuit {
	if b.set.Config().Disabled {
		return nil
	}
	return breakerScope{b: b, tenant: tenant, connector: connector}
}

type breakerScope struct {
	b                 *breakers
	tenant, connector string
}

// Allow implements egress.Circuit.
func (s breakerScope) Allow(_ context.Context, origin string) (func(egress.CircuitOutcome), error) {
	now := time.Now()
	t, err := s.b.set.Allow(circuitKey(s.tenant, s.connector, origin), now)
	if err != nil {
		s.b.metrics.circuitRejected.WithLabelValues(s.connector).Inc()
		var open *core.CircuitOpenError
		retry := time.Second
		if errors.As(err, &open) {
			retry = max(open.RetryAt.Sub(now), time.Millisecond)
		}
		return nil, &egress.CircuitOpenError{Origin: origin, RetryAfter: retry}
	}
	return func(o egress.CircuitOutcome) { s.b.set.Done(t, time.Now(), outcome(o)) }, nil
}

func outcome(o egress.CircuitOutcome) core.Outcome {
	switch o {
	case egress.CircuitSuccess:
		return core.OutcomeSuccess
	case egress.CircuitTimeout:
		return core.OutcomeTimeout
	case egress.CircuitIgnored:
		return core.OutcomeIgnored
	}
	return core.OutcomeFailure
}

// changed counts a breaker's change and announces an outage's start and end: opening from
// closed, and closing. A failed probe that opens it again changes the metrics only, so an
// outage is one pair of events however long it lasts.
func (b *breakers) changed(ch core.CircuitChange) {
	tenant, rest, _ := strings.Cut(ch.Key, "\x00")
	connector, origin, _ := strings.Cut(rest, "\x00")
	b.metrics.circuitChanges.WithLabelValues(connector, string(ch.To)).Inc()
	switch {
	case ch.From == core.CircuitClosed && ch.To == core.CircuitOpen:
		b.metrics.circuitsOpen.WithLabelValues(connector).Inc()
		b.log.Warn("connector circuit opened; its calls are deferred", "tenant", tenant, "connector", connector, "origin", origin,
			"reason", ch.Reason, "until", ch.Until)
		b.publish(tenant, EventCircuitOpened, ch, map[string]any{
			"connector": connector, "origin": origin, "reason": ch.Reason, "failures": ch.Failures, "requests": ch.Requests,
			"opened_at": ch.At.UTC().Format(time.RFC3339Nano), "probe_at": ch.Until.UTC().Format(time.RFC3339Nano),
		})
	case ch.To == core.CircuitClosed:
		b.metrics.circuitsOpen.WithLabelValues(connector).Dec()
		b.log.Info("connector circuit closed", "tenant", tenant, "connector", connector, "origin", origin, "open_for", ch.At.Sub(ch.OpenedAt))
		b.publish(tenant, EventCircuitClosed, ch, map[string]any{
			"connector": connector, "origin": origin,
			"opened_at": ch.OpenedAt.UTC().Format(time.RFC3339Nano), "closed_at": ch.At.UTC().Format(time.RFC3339Nano),
			"open_seconds": ch.At.Sub(ch.OpenedAt).Seconds(),
		})
	}
}

// publish puts one circuit event into the pipeline. Its id derives from the breaker and the
// moment, so publishing it twice stores it once.
func (b *breakers) publish(tenant, typ string, ch core.CircuitChange, data map[string]any) {
	if b.pub == nil {
		return
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return
	}
	sum := sha256.Sum256([]byte(ch.Key))
	at := ch.At.UTC()
	ev := core.Event{
		ID:     fmt.Sprintf("%s-%s-%d", typ, hex.EncodeToString(sum[:8]), at.UnixNano()),
		Source: EventSourceName, Type: typ, SpecVersion: core.SpecVersion, Subject: data["connector"].(string),
		Time: &at, DataContentType: "application/json", Data: raw,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := b.pub.Publish(ctx, tenant, ev); err != nil {
		b.log.Error("publishing "+typ, "tenant", tenant, "err", err)
	}
}
