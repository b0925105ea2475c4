package webhooks

import (
	"encoding/json"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/httpapi"
	"github.com/aquascene/aquahub/sdk/api"
	"github.com/gofiber/fiber/v2"
)

// Routes implements httpapi.RouteModule: the endpoints API under /api/v1/webhooks.
func (m *Module) Routes(mux *httpapi.Mux) {
	type R = httpapi.Response
	notFound := R{Status: 404, Description: "No such endpoint"}
	mux.Handle(httpapi.Op{Method: "POST", Path: "/api/v1/webhooks", Summary: "Register a webhook endpoint; the answer shows its secret once", Tag: "webhooks",
		Permission: core.PermAdmin, Request: api.WebhookEndpointInput{},
		Responses: []R{{Status: 201, Description: "Registered", Body: api.WebhookEndpointSecret{}}, {Status: 400, Description: "Invalid field (url, events, headers, secret, max_in_flight, rate_limit, timeout_ms)"}}}, m.createEndpoint)
	mux.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/webhooks", Summary: "List webhook endpoints", Tag: "webhooks", Permission: core.PermReadContent,
		Responses: []R{{Status: 200, Description: "The tenant's endpoints in creation order", Body: api.WebhookEndpointList{}}}}, m.listEndpoints)
	mux.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/webhooks/:id", Summary: "A webhook endpoint", Tag: "webhooks", Permission: core.PermReadContent,
		Responses: []R{{Status: 200, Description: "The endpoint", Body: api.WebhookEndpoint{}}, notFound}}, m.getEndpoint)
	mux.Handle(httpapi.Op{Method: "PUT", Path: "/api/v1/webhooks/:id", Summary: "Replace a webhook endpoint's settings", Tag: "webhooks", Permission: core.PermAdmin,
		Request:   api.WebhookEndpointInput{},
		Responses: []R{{Status: 200, Description: "Updated", Body: api.WebhookEndpointUpdated{}}, {Status: 400, Description: "Invalid field"}, notFound}}, m.updateEndpoint)
	mux.Handle(httpapi.Op{Method: "DELETE", Path: "/api/v1/webhooks/:id", Summary: "Delete a webhook endpoint and its queued messages", Tag: "webhooks", Permission: core.PermAdmin,
		Responses: []R{{Status: 200, Description: "Deleted", Body: api.WebhookEndpointDeleted{}}, notFound}}, m.deleteEndpoint)
	mux.Handle(httpapi.Op{Method: "POST", Path: "/api/v1/webhooks/:id/rotate", Summary: "Rotate the signing secret; both are used for the overlap (24h)", Tag: "webhooks",
		Permission: core.PermAdmin, Request: api.WebhookRotate{},
		Responses: []R{{Status: 200, Description: "The new secret, shown once", Body: api.WebhookEndpointSecret{}}, {Status: 400, Description: "Invalid secret"}, notFound}}, m.rotateSecret)
	mux.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/webhooks/:id/deliveries", Summary: "Messages of an endpoint with every attempt, newest first", Tag: "webhooks",
		Permission: core.PermReadContent,
		Query: []httpapi.Param{{Name: "state", Description: "pending, sending, succeeded or dead"}, {Name: "before", Description: "continue before this message id"},
			{Name: "limit", Description: "at most this many (default 50, max 500)"}},
		Responses: []R{{Status: 200, Description: "The messages", Body: api.WebhookDeliveryList{}}, {Status: 400, Description: "Invalid state or limit"}, notFound}}, m.listDeliveries)
	mux.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/webhooks/:id/deliveries/:delivery", Summary: "One message with its attempts", Tag: "webhooks", Permission: core.PermReadContent,
		Responses: []R{{Status: 200, Description: "The message", Body: api.WebhookDelivery{}}, {Status: 404, Description: "No such message"}}}, m.getDelivery)
	mux.Handle(httpapi.Op{Method: "POST", Path: "/api/v1/webhooks/:id/deliveries/:delivery/replay", Summary: "Send a dead or delivered message again with the same webhook-id", Tag: "webhooks",
		Permission: core.PermAdmin,
		Responses: []R{{Status: 202, Description: "Queued", Body: api.WebhookDelivery{}}, {Status: 404, Description: "No such message"},
			{Status: 409, Description: "The message is in flight or the endpoint is disabled"}}}, m.replayDelivery)
	mux.Handle(httpapi.Op{Method: "POST", Path: "/api/v1/webhooks/:id/recover", Summary: "Send again every dead message created since a time", Tag: "webhooks",
		Permission: core.PermAdmin, Request: api.WebhookRecover{},
		Responses: []R{{Status: 202, Description: "Queued; the count of messages", Body: api.WebhookRecovered{}}, {Status: 400, Description: "since missing or malformed"},
			notFound, {Status: 409, Description: "The endpoint is disabled"}}}, m.recoverDeliveries)
}

func decodeJSON(c *fiber.Ctx, dst any) error {
	if len(c.Body()) == 0 {
		return core.Invalid("", "a JSON body is required")
	}
	if err := json.Unmarshal(c.Body(), dst); err != nil {
		return core.Invalid("", "malformed JSON: %v", err)
	}
	return nil
}

func (m *Module) createEndpoint(c *fiber.Ctx) error {
	var in api.WebhookEndpointInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ep, err := m.Create(c.UserContext(), httpapi.Tenant(c), endpointInput(in))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(m.apiEndpointSecret(ep, "registered"))
}

func (m *Module) listEndpoints(c *fiber.Ctx) error {
	eps, err := m.List(c.UserContext(), httpapi.Tenant(c))
	if err != nil {
		return err
	}
	return c.JSON(m.apiEndpointList(eps))
}

func (m *Module) getEndpoint(c *fiber.Ctx) error {
	ep, err := m.Get(c.UserContext(), httpapi.Tenant(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(m.apiEndpoint(ep))
}

func (m *Module) updateEndpoint(c *fiber.Ctx) error {
	var in api.WebhookEndpointInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ep, err := m.Update(c.UserContext(), httpapi.Tenant(c), c.Params("id"), endpointInput(in))
	if err != nil {
		return err
	}
	return c.JSON(api.WebhookEndpointUpdated{WebhookEndpoint: m.apiEndpoint(ep), Status: "updated"})
}

func (m *Module) deleteEndpoint(c *fiber.Ctx) error {
	if err := m.Delete(c.UserContext(), httpapi.Tenant(c), c.Params("id")); err != nil {
		return err
	}
	return c.JSON(api.WebhookEndpointDeleted{Status: "deleted"})
}

func (m *Module) rotateSecret(c *fiber.Ctx) error {
	var in api.WebhookRotate
	if len(c.Body()) > 0 {
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
	}
	ep, err := m.Rotate(c.UserContext(), httpapi.Tenant(c), c.Params("id"), in.Secret)
	if err != nil {
		return err
	}
	return c.JSON(m.apiEndpointSecret(ep, "rotating"))
}

var deliveryStates = map[DeliveryState]bool{StatePending: true, StateSending: true, StateSucceeded: true, StateDead: true}

func (m *Module) listDeliveries(c *fiber.Ctx) error {
	f := DeliveryFilter{State: DeliveryState(c.Query("state")), Before: c.Query("before")}
	if f.State != "" && !deliveryStates[f.State] {
		return core.Invalid("state", "must be pending, sending, succeeded or dead (got %q)", f.State)
	}
	if l := c.Query("limit"); l != "" {
		n := c.QueryInt("limit", -1)
		if n < 1 || n > 500 {
			return core.Invalid("limit", "must be a number from 1 to 500 (got %q)", l)
		}
		f.Limit = n
	}
	ds, err := m.Deliveries(c.UserContext(), httpapi.Tenant(c), c.Params("id"), f)
	if err != nil {
		return err
	}
	return c.JSON(apiDeliveryList(ds))
}

func (m *Module) getDelivery(c *fiber.Ctx) error {
	d, err := m.Delivery(c.UserContext(), httpapi.Tenant(c), c.Params("id"), c.Params("delivery"))
	if err != nil {
		return err
	}
	return c.JSON(apiDelivery(d))
}

func (m *Module) replayDelivery(c *fiber.Ctx) error {
	d, err := m.Replay(c.UserContext(), httpapi.Tenant(c), c.Params("id"), c.Params("delivery"))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(apiDelivery(d))
}

func (m *Module) recoverDeliveries(c *fiber.Ctx) error {
	var in api.WebhookRecover
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Since == "" {
		return core.Invalid("since", "required: an RFC 3339 time")
	}
	since, err := time.Parse(time.RFC3339Nano, in.Since)
	if err != nil {
		return core.Invalid("since", "must be an RFC 3339 time (got %q)", in.Since)
	}
	n, err := m.Recover(c.UserContext(), httpapi.Tenant(c), c.Params("id"), since)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(api.WebhookRecovered{Queued: n, Since: since})
}

var _ httpapi.RouteModule = (*Module)(nil)
