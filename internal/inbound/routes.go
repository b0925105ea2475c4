package inbound

import (
	"net/http"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/httpapi"
	"github.com/aquascene/aquahub/sdk/api"
	"github.com/gofiber/fiber/v2"
)

// Routes implements httpapi.RouteModule: POST /hooks/{tenant}/{source}. The operation
// takes no API key: the source's verifier authenticates each request from its signature,
// and a request it refuses is answered 401 (ErrUnauthorized is core.ErrUnauthenticated).
func (m *Module) Routes(mux *httpapi.Mux) {
	mux.Handle(httpapi.Op{
		Method: "POST", Path: "/hooks/:tenant/:source", Tag: "hooks", Public: true,
		Summary:       "Inbound webhook of a configured source, verified by its signature scheme",
		RequestTypes:  []string{"application/json", "*/*"},
		RequestSchema: map[string]any{"description": "the vendor's payload, signed as the source's verifier expects"},
		Responses: []httpapi.Response{
			{Status: 200, Description: "The sender's handshake (WooCommerce's ping when a webhook is created), answered without publishing", Body: api.HookHandshake{}},
			{Status: 202, Description: "Verified and published as CloudEvents", Body: api.HookAccepted{}},
			{Status: 400, Description: "The payload does not map to an event"},
			{Status: 401, Description: "Signature, credentials or timestamp refused"},
			{Status: 404, Description: "No such source"},
		},
	}, m.receive)
}

func (m *Module) receive(c *fiber.Ctx) error {
	header := http.Header{}
	c.Request().Header.VisitAll(func(k, v []byte) { header.Add(string(k), string(v)) })
	res, err := m.Receive(c.UserContext(), c.Params("tenant"), c.Params("source"), header, c.Body())
	if err != nil {
		return err
	}
	if res.Handshake {
		return c.Status(fiber.StatusOK).JSON(api.HookHandshake{Status: "handshake", Source: res.Accepted.Source})
	}
	return c.Status(fiber.StatusAccepted).JSON(hookAccepted(res))
}

// hookAccepted converts a Result into the API's answer.
func hookAccepted(res Result) api.HookAccepted {
	out := api.HookAccepted{Status: "accepted", Event: apiAccepted(res.Accepted)}
	if res.Duplicate {
		out.Status = "duplicate"
	}
	for _, a := range res.Events {
		out.Events = append(out.Events, apiAccepted(a))
	}
	return out
}

func apiAccepted(a core.Accepted) api.Accepted {
	return api.Accepted{ID: a.ID, Source: a.Source, Seq: a.Seq, Runs: a.Runs, Duplicate: a.Duplicate}
}

var _ httpapi.RouteModule = (*Module)(nil)
