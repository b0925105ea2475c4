package main

import (
	"bytes"
	"net"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/httpapi"
	"github.com/aquascene/aquahub/internal/identity"
	"github.com/aquascene/aquahub/sdk/api"
	"github.com/gofiber/fiber/v2"
)

// nullEvents is the ceiling `aquahub bench ingest` measures the hub against: the same HTTP
// kernel (fiber, authentication, permission check, error handling) answering POST
// /api/v1/events with 202 after reading the body, storing nothing.
type nullEvents struct{}

func (nullEvents) Routes(m *httpapi.Mux) {
	m.Handle(httpapi.Op{Method: "POST", Path: "/api/v1/events", Summary: "Accept and discard (benchmark ceiling)", Tag: "bench",
		Permission: core.PermWriteContent, RequestSchema: map[string]any{"type": "object"},
		Responses: []httpapi.Response{{Status: 202, Description: "Discarded", Body: api.Accepted{}}}},
		func(c *fiber.Ctx) error {
			if !bytes.HasPrefix(bytes.TrimSpace(c.Body()), []byte("{")) {
				return core.Invalid("", "the body must be a JSON object")
			}
			return c.Status(fiber.StatusAccepted).JSON(api.Accepted{ID: "null", Source: "null"})
		})
}

// startNullServer serves nullEvents on a loopback port until stop is called.
func startNullServer() (url string, stop func(), err error) {
	keys := identity.NewKeys(nil)
	keys.Add(DevAPIKey, DevTenant, "admin")
	srv, err := httpapi.New(httpapi.DefaultConfig(), httpapi.Options{Auth: keys}, nullEvents{})
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.App().Shutdown() }, nil
}
