package httpapi

import (
	"encoding/json"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/webhooks"
	"github.com/gofiber/fiber/v2"
)

// WebhookRoutes serves the outbound webhook endpoints API of svc under /api/v1/webhooks.
func WebhookRoutes(svc *webhooks.Service) Routes {
	return func(s *Server, api fiber.Router) {
		h := webhookHandlers{svc: svc}
		endpointBody := map[string]any{
			"type":     "object",
			"required": []string{"url", "events"},
			"properties": map[string]any{
				"url":         map[string]any{"type": "string", "format": "uri", "description": "https URL of the receiver (SSRF-checked)"},
				"events":      map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "event type patterns, * matches anything"},
				"headers":     map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
				"description": map[string]any{"type": "string"},
				"enabled":     map[string]any{"type": "boolean", "default": true},
				"secret":      map[string]any{"type": "string", "description": "whsec_ + base64 of 24-64 bytes; generated when absent"},
			},
		}
		s.Handle(api, "POST", "/webhooks", Op{Summary: "Register a webhook endpoint; the answer shows its secret once", Tag: "webhooks", Permission: PermAdmin,
			Request: endpointBody, Responses: map[int]string{201: "Registered", 400: "Invalid field (url, events, headers, secret)"}}, h.create)
		s.Handle(api, "GET", "/webhooks", Op{Summary: "List webhook endpoints", Tag: "webhooks", Permission: PermReadContent}, h.list)
		s.Handle(api, "GET", "/webhooks/:id", Op{Summary: "A webhook endpoint", Tag: "webhooks", Permission: PermReadContent,
			Responses: map[int]string{200: "The endpoint", 404: "No such endpoint"}}, h.get)
		s.Handle(api, "PUT", "/webhooks/:id", Op{Summary: "Replace a webhook endpoint's settings", Tag: "webhooks", Permission: PermAdmin,
			Request: endpointBody, Responses: map[int]string{200: "Updated", 400: "Invalid field", 404: "No such endpoint"}}, h.update)
		s.Handle(api, "DELETE", "/webhooks/:id", Op{Summary: "Delete a webhook endpoint and its queued messages", Tag: "webhooks", Permission: PermAdmin,
			Responses: map[int]string{200: "Deleted", 404: "No such endpoint"}}, h.delete)
		s.Handle(api, "POST", "/webhooks/:id/rotate", Op{Summary: "Rotate the signing secret; both are used for the overlap (24h)", Tag: "webhooks", Permission: PermAdmin,
			Request:   map[string]any{"type": "object", "properties": map[string]any{"secret": map[string]any{"type": "string"}}},
			Responses: map[int]string{200: "The new secret, shown once", 404: "No such endpoint"}}, h.rotate)
		s.Handle(api, "GET", "/webhooks/:id/deliveries", Op{Summary: "Messages of an endpoint with every attempt, newest first", Tag: "webhooks", Permission: PermReadContent,
			Query: map[string]string{"state": "pending, sending, succeeded or dead", "before": "continue before this message id", "limit": "at most this many (default 50, max 500)"}}, h.deliveries)
		s.Handle(api, "GET", "/webhooks/:id/deliveries/:delivery", Op{Summary: "One message with its attempts", Tag: "webhooks", Permission: PermReadContent,
			Responses: map[int]string{200: "The message", 404: "No such message"}}, h.delivery)
		s.Handle(api, "POST", "/webhooks/:id/deliveries/:delivery/replay", Op{Summary: "Send a dead or delivered message again with the same webhook-id", Tag: "webhooks", Permission: PermAdmin,
			Responses: map[int]string{202: "Queued", 404: "No such message", 409: "The message is in flight or the endpoint is disabled"}}, h.replay)
		s.Handle(api, "POST", "/webhooks/:id/recover", Op{Summary: "Send again every dead message created since a time", Tag: "webhooks", Permission: PermAdmin,
			Request:   map[string]any{"type": "object", "required": []string{"since"}, "properties": map[string]any{"since": map[string]any{"type": "string", "format": "date-time"}}},
			Responses: map[int]string{202: "Queued; the count of messages", 400: "since missing or malformed", 409: "The endpoint is disabled"}}, h.recover)
	}
}

type webhookHandlers struct{ svc *webhooks.Service }

func decodeJSON(c *fiber.Ctx, dst any) error {
	if len(c.Body()) == 0 {
		return core.Invalid("", "a JSON body is required")
	}
	if err := json.Unmarshal(c.Body(), dst); err != nil {
		return core.Invalid("", "malformed JSON: %v", err)
	}
	return nil
}

// endpointWithSecret is the answer to create and rotate, the only ones that show a secret.
type endpointWithSecret struct {
	webhooks.Endpoint
	Secret webhooks.Secret `json:"secret"`
	// WebhookID and Status keep the seed guide's answer shape.
	WebhookID string `json:"webhook_id"`
	Status    string `json:"status"`
}

func (h webhookHandlers) create(c *fiber.Ctx) error {
	var in webhooks.EndpointInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ep, secret, err := h.svc.Create(c.UserContext(), Tenant(c), in)
	if err != nil {
		return err
	}
	return c.Status(201).JSON(endpointWithSecret{Endpoint: ep, Secret: secret, WebhookID: ep.ID, Status: "registered"})
}

func (h webhookHandlers) list(c *fiber.Ctx) error {
	eps, err := h.svc.List(c.UserContext(), Tenant(c))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"webhooks": eps})
}

func (h webhookHandlers) get(c *fiber.Ctx) error {
	ep, err := h.svc.Get(c.UserContext(), Tenant(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(ep)
}

func (h webhookHandlers) update(c *fiber.Ctx) error {
	var in webhooks.EndpointInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ep, err := h.svc.Update(c.UserContext(), Tenant(c), c.Params("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(struct {
		webhooks.Endpoint
		Status string `json:"status"`
	}{ep, "updated"})
}

func (h webhookHandlers) delete(c *fiber.Ctx) error {
	if err := h.svc.Delete(c.UserContext(), Tenant(c), c.Params("id")); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"status": "deleted"})
}

func (h webhookHandlers) rotate(c *fiber.Ctx) error {
	var in struct {
		Secret string `json:"secret"`
	}
	if len(c.Body()) > 0 {
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
	}
	ep, secret, err := h.svc.Rotate(c.UserContext(), Tenant(c), c.Params("id"), in.Secret)
	if err != nil {
		return err
	}
	return c.JSON(endpointWithSecret{Endpoint: ep, Secret: secret, WebhookID: ep.ID, Status: "rotating"})
}

var deliveryStates = map[string]bool{"pending": true, "sending": true, "succeeded": true, "dead": true}

func (h webhookHandlers) deliveries(c *fiber.Ctx) error {
	f := webhooks.DeliveryFilter{State: webhooks.DeliveryState(c.Query("state")), Before: c.Query("before")}
	if f.State != "" && !deliveryStates[string(f.State)] {
		return core.Invalid("state", "must be pending, sending, succeeded or dead (got %q)", f.State)
	}
	if l := c.Query("limit"); l != "" {
		n := c.QueryInt("limit", -1)
		if n < 1 || n > 500 {
			return core.Invalid("limit", "must be a number from 1 to 500 (got %q)", l)
		}
		f.Limit = n
	}
	ds, err := h.svc.Deliveries(c.UserContext(), Tenant(c), c.Params("id"), f)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"deliveries": ds})
}

func (h webhookHandlers) delivery(c *fiber.Ctx) error {
	d, err := h.svc.Delivery(c.UserContext(), Tenant(c), c.Params("id"), c.Params("delivery"))
	if err != nil {
		return err
	}
	return c.JSON(d)
}

func (h webhookHandlers) replay(c *fiber.Ctx) error {
	d, err := h.svc.Replay(c.UserContext(), Tenant(c), c.Params("id"), c.Params("delivery"))
	if err != nil {
		return err
	}
	return c.Status(202).JSON(d)
}

func (h webhookHandlers) recover(c *fiber.Ctx) error {
	var in struct {
		Since string `json:"since"`
	}
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
	n, err := h.svc.Recover(c.UserContext(), Tenant(c), c.Params("id"), since)
	if err != nil {
		return err
	}
	return c.Status(202).JSON(fiber.Map{"queued": n, "since": since})
}
