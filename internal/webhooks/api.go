package webhooks

import (
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/api"
)

// The conversions between the domain types and the API's (sdk/api). The API shows an
// endpoint without its secrets and a message without its body and scheduling state.

func apiEndpoint(e Endpoint) api.WebhookEndpoint {
	return api.WebhookEndpoint{
		ID: e.ID, URL: e.URL, Events: e.Events, Headers: e.Headers, Description: e.Description,
		Enabled: e.Enabled, DisabledReason: e.DisabledReason, FailingSince: e.FailingSince,
		RotationEndsAt: e.RotationEndsAt, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
		WebhookDeliverySettings: api.WebhookDeliverySettings{
			MaxInFlight: e.MaxInFlight, RateLimit: e.RateLimit, TimeoutMS: e.Timeout.Milliseconds(), Ordered: e.Ordered,
		},
	}
}

// apiCircuit is a breaker's state for the API; nil while closed.
func apiCircuit(state core.CircuitState, probeAt time.Time) *api.WebhookCircuit {
	if state == core.CircuitClosed || state == "" {
		return nil
	}
	return &api.WebhookCircuit{State: string(state), ProbeAt: probeAt}
}

// apiEndpointSecret is the answer to create and rotate: the endpoint and its current secret.
func (m *Module) apiEndpointSecret(e Endpoint, status string) api.WebhookEndpointSecret {
	return api.WebhookEndpointSecret{WebhookEndpoint: m.apiEndpoint(e), Secret: string(e.Secret), WebhookID: e.ID, Status: status}
}

// apiEndpoint is the endpoint for the API with its breaker's state.
func (m *Module) apiEndpoint(e Endpoint) api.WebhookEndpoint {
	out := apiEndpoint(e)
	out.Circuit = apiCircuit(m.circuits.State(laneKey(e.Tenant, e.ID), m.clock.Now()))
	return out
}

func (m *Module) apiEndpointList(eps []Endpoint) api.WebhookEndpointList {
	out := api.WebhookEndpointList{Webhooks: make([]api.WebhookEndpoint, 0, len(eps))}
	for _, e := range eps {
		out.Webhooks = append(out.Webhooks, m.apiEndpoint(e))
	}
	return out
}

func endpointInput(in api.WebhookEndpointInput) EndpointInput {
	return EndpointInput{URL: in.URL, Events: in.Events, Headers: in.Headers, Description: in.Description, Enabled: in.Enabled, Secret: in.Secret,
		EndpointSettings: EndpointSettings{MaxInFlight: in.MaxInFlight, RateLimit: in.RateLimit,
			Timeout: time.Duration(in.TimeoutMS) * time.Millisecond, Ordered: in.Ordered}}
}

func apiDelivery(d Delivery) api.WebhookDelivery {
	out := api.WebhookDelivery{
		ID: d.ID, EndpointID: d.EndpointID, EventType: d.EventType, EventID: d.EventID, EventSeq: d.EventSeq,
		State: string(d.State), Attempts: d.Attempts, NextAt: d.NextAt, LastError: d.LastError,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, Log: make([]api.WebhookAttempt, 0, len(d.Log)),
	}
	for _, a := range d.Log {
		out.Log = append(out.Log, api.WebhookAttempt{
			N: a.N, At: a.At, URL: a.URL, Status: a.Status, LatencyMS: a.LatencyMS,
			Response: a.Response, Error: a.Error, Trigger: a.Trigger,
		})
	}
	return out
}

func apiDeliveryList(ds []Delivery) api.WebhookDeliveryList {
	out := api.WebhookDeliveryList{Deliveries: make([]api.WebhookDelivery, 0, len(ds))}
	for _, d := range ds {
		out.Deliveries = append(out.Deliveries, apiDelivery(d))
	}
	return out
}
