package webhooks

import (
	"context"
	"fmt"
	"net/textproto"
	"strings"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/signature"
)

// reservedHeaders may not be set through Endpoint.Headers.
var reservedHeaders = map[string]bool{
	"Webhook-Id": true, "Webhook-Timestamp": true, "Webhook-Signature": true,
	"X-Signature-256": true, "Content-Type": true, "Content-Length": true, "Host": true,
	"Transfer-Encoding": true, "Connection": true,
}

// validate checks in and returns the normalised endpoint fields.
func (m *Module) validate(in EndpointInput) (EndpointInput, error) {
	if strings.TrimSpace(in.URL) == "" {
		return in, core.Invalid("url", "required")
	}
	if _, err := m.policy.CheckURL(in.URL); err != nil {
		return in, core.Invalid("url", "%v", err)
	}
	if len(in.Events) == 0 {
		return in, core.Invalid("events", `at least one event type pattern is required (use "*" for every event)`)
	}
	if len(in.Events) > 64 {
		return in, core.Invalid("events", "at most 64 patterns")
	}
	for i, p := range in.Events {
		if p == "" || len(p) > 200 || strings.ContainsAny(p, " \t\r\n") {
			return in, core.Invalid(fmt.Sprintf("events[%d]", i), "must be a non-empty type pattern without spaces (got %q)", p)
		}
	}
	if len(in.Headers) > 32 {
		return in, core.Invalid("headers", "at most 32 headers")
	}
	norm := make(map[string]string, len(in.Headers))
	for name, v := range in.Headers {
		if !validHeaderName(name) {
			return in, core.Invalid("headers."+name, "not a valid header name")
		}
		canon := textproto.CanonicalMIMEHeaderKey(name)
		if reservedHeaders[canon] {
			return in, core.Invalid("headers."+name, "is set by the hub and may not be overridden")
		}
		if strings.ContainsAny(v, "\r\n\x00") || len(v) > 4096 {
			return in, core.Invalid("headers."+name, "value must be one line of at most 4096 bytes")
		}
		norm[canon] = v
	}
	in.Headers = norm
	if len(in.Description) > 1000 {
		return in, core.Invalid("description", "at most 1000 characters")
	}
	if in.Secret != "" {
		if _, err := signature.Secret(in.Secret).Key(); err != nil {
			return in, core.Invalid("secret", "%v", err)
		}
	}
	if in.MaxInFlight < 0 || in.MaxInFlight > maxInFlight {
		return in, core.Invalid("max_in_flight", "must be between 0 (the hub's default, %d) and %d (got %d)", m.cfg.EndpointConcurrency, maxInFlight, in.MaxInFlight)
	}
	if in.RateLimit < 0 || in.RateLimit > maxRateLimit {
		return in, core.Invalid("rate_limit", "must be between 0 (no limit) and %d requests per second (got %g)", maxRateLimit, in.RateLimit)
	}
	if in.Timeout != 0 && (in.Timeout < 100*time.Millisecond || in.Timeout > m.cfg.Timeout) {
		return in, core.Invalid("timeout_ms", "must be 0 (the hub's %s) or between 100 and %d (got %d)", m.cfg.Timeout, m.cfg.Timeout.Milliseconds(), in.Timeout.Milliseconds())
	}
	if in.Ordered && in.MaxInFlight > 1 {
		return in, core.Invalid("max_in_flight", "an ordered endpoint sends one message at a time (got %d)", in.MaxInFlight)
	}
	return in, nil
}

func validHeaderName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// Create registers an endpoint and returns it with its secret, which is not shown again.
func (m *Module) Create(ctx context.Context, tenant string, in EndpointInput) (Endpoint, error) {
	in, err := m.validate(in)
	if err != nil {
		return Endpoint{}, err
	}
	secret := signature.Secret(in.Secret)
	if secret == "" {
		secret = signature.NewSecret()
	}
	now := m.clock.Now().UTC()
	ep := Endpoint{
		Tenant: tenant, URL: in.URL, Events: in.Events, Headers: in.Headers, Description: in.Description,
		Enabled: in.Enabled == nil || *in.Enabled, CreatedAt: now, UpdatedAt: now, Secret: secret,
		EndpointSettings: in.EndpointSettings,
	}
	err = m.update(ctx, func(tx Tx) error {
		seq, err := tx.NextEndpointSeq()
		if err != nil {
			return err
		}
		ep.ID = newID("ep_", seq)
		return tx.PutEndpoint(ep)
	})
	if err != nil {
		return Endpoint{}, fmt.Errorf("creating webhook endpoint: %w", err)
	}
	return ep, nil
}

// Get returns one endpoint.
func (m *Module) Get(ctx context.Context, tenant, id string) (Endpoint, error) {
	var ep Endpoint
	err := m.view(ctx, func(tx Tx) error {
		var err error
		ep, err = tx.Endpoint(tenant, id)
		return err
	})
	return ep, err
}

// List returns the tenant's endpoints in creation order.
func (m *Module) List(ctx context.Context, tenant string) ([]Endpoint, error) {
	var out []Endpoint
	err := m.view(ctx, func(tx Tx) error {
		var err error
		out, err = tx.Endpoints(tenant)
		return err
	})
	if out == nil {
		out = []Endpoint{}
	}
	return out, err
}

// Update replaces an endpoint's settings. A secret in the input replaces the current one at
// once (use Rotate for an overlap). Enabling an endpoint clears its failure state.
func (m *Module) Update(ctx context.Context, tenant, id string, in EndpointInput) (Endpoint, error) {
	in, err := m.validate(in)
	if err != nil {
		return Endpoint{}, err
	}
	var ep Endpoint
	err = m.update(ctx, func(tx Tx) error {
		var err error
		if ep, err = tx.Endpoint(tenant, id); err != nil {
			return err
		}
		enabled := in.Enabled == nil || *in.Enabled
		if enabled && !ep.Enabled {
			ep.DisabledReason, ep.FailingSince = "", time.Time{}
		}
		ep.URL, ep.Events, ep.Headers, ep.Description, ep.Enabled = in.URL, in.Events, in.Headers, in.Description, enabled
		ep.EndpointSettings = in.EndpointSettings
		if !ep.Ordered {
			ep.OrderedHead = ""
		}
		if in.Secret != "" {
			ep.Secret, ep.PreviousSecret, ep.RotationEndsAt = signature.Secret(in.Secret), "", time.Time{}
		}
		ep.UpdatedAt = m.clock.Now().UTC()
		return tx.PutEndpoint(ep)
	})
	return ep, err
}

// Delete removes an endpoint; its queued messages are dropped when they come due, and its
// breaker is forgotten.
func (m *Module) Delete(ctx context.Context, tenant, id string) error {
	err := m.update(ctx, func(tx Tx) error {
		if _, err := tx.Endpoint(tenant, id); err != nil {
			return err
		}
		return tx.DeleteEndpoint(tenant, id)
	})
	if err == nil {
		key := laneKey(tenant, id)
		if state, _ := m.circuits.State(key, m.clock.Now()); state != core.CircuitClosed {
			m.metrics.circuitsOpen.Dec()
		}
		m.circuits.Forget(key)
		m.urls.Delete(key)
	}
	return err
}

// Rotate replaces the endpoint's secret with next (generated when empty). The previous
// secret keeps signing alongside the new one for Config.RotationOverlap. It returns the
// endpoint, whose Secret is the new one.
func (m *Module) Rotate(ctx context.Context, tenant, id string, next string) (Endpoint, error) {
	if next != "" {
		if _, err := signature.Secret(next).Key(); err != nil {
			return Endpoint{}, core.Invalid("secret", "%v", err)
		}
	}
	secret := signature.Secret(next)
	if secret == "" {
		secret = signature.NewSecret()
	}
	var ep Endpoint
	err := m.update(ctx, func(tx Tx) error {
		var err error
		if ep, err = tx.Endpoint(tenant, id); err != nil {
			return err
		}
		now := m.clock.Now().UTC()
		ep.PreviousSecret, ep.Secret, ep.RotationEndsAt, ep.UpdatedAt = ep.Secret, secret, now.Add(m.cfg.RotationOverlap), now
		return tx.PutEndpoint(ep)
	})
	return ep, err
}
