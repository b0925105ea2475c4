package httpapi

import (
	"errors"
	"net/http"

	"github.com/aquascene/aquahub/internal/inbound"
	"github.com/gofiber/fiber/v2"
)

// HookRoutes serves inbound webhooks at POST /hooks/{tenant}/{source}. These routes do not
// take an API key: the source's verifier authenticates each request from its signature.
func HookRoutes(r *inbound.Receiver) Routes {
	return func(s *Server, app fiber.Router) {
		s.Handle(app, "POST", "/hooks/:tenant/:source", Op{
			Summary: "Inbound webhook of a configured source, verified by its signature scheme", Tag: "hooks", Public: true,
			RequestTypes: []string{"application/json", "*/*"},
			Request:      map[string]any{"description": "the vendor's payload, signed as the source's verifier expects"},
			Responses:    map[int]string{202: "Verified and published as a CloudEvent", 401: "Signature, credentials or timestamp refused", 404: "No such source"},
		}, func(c *fiber.Ctx) error {
			header := http.Header{}
			c.Request().Header.VisitAll(func(k, v []byte) { header.Add(string(k), string(v)) })
			res, err := r.Receive(c.UserContext(), c.Params("tenant"), c.Params("source"), header, c.Body())
			if errors.Is(err, inbound.ErrUnauthorized) {
				return &Problem{Status: 401, Title: "Unauthorized", Detail: err.Error()}
			}
			if err != nil {
				return err
			}
			status := "accepted"
			if res.Duplicate {
				status = "duplicate"
			}
			body := fiber.Map{"status": status, "event": res.Accepted}
			if len(res.Events) > 0 {
				body["events"] = res.Events
			}
			return c.Status(202).JSON(body)
		})
	}
}
