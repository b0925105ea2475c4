package plugins

import (
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/httpapi"
	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/api"
)

// Routes implements httpapi.RouteModule: the loaded connectors under /api/v1/connectors,
// the listing (versions, actions, pool sizes, call and error counts), one connector's
// manifest, and a reload that picks up replaced, added and removed module files.
func (m *Module) Routes(mux *httpapi.Mux) {
	mux.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/connectors", Summary: "Loaded connectors with versions, actions, pool sizes, call and error counts and kv usage; refused module files", Tag: "connectors",
		Permission: core.PermReadContent, Responses: []httpapi.Response{{Status: 200, Description: "The connectors, by id", Body: api.ConnectorList{}}}}, m.listConnectors)
	mux.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/connectors/:id", Summary: "One connector's manifest: actions with input and output JSON Schemas, config keys, secret names, requested egress", Tag: "connectors",
		Permission: core.PermReadContent, Responses: []httpapi.Response{{Status: 200, Description: "The manifest", Body: abi.Manifest{}}, {Status: 404, Description: "No such connector"}}}, m.getManifest)
	// The directory is the hub's, shared by every tenant: only the operator reloads it.
	mux.Handle(httpapi.Op{Method: "POST", Path: "/api/v1/connectors/reload", Summary: "Reload the connector directory; calls in flight finish on the old versions (operator)", Tag: "connectors",
		Permission: core.PermAdmin, Operator: true, Responses: []httpapi.Response{{Status: 200, Description: "What was loaded, kept, removed and refused (with errors)", Body: api.ConnectorReload{}}}}, m.reload)
}

func (m *Module) listConnectors(c *fiber.Ctx) error {
	return c.JSON(connectorList(m.cat.Connectors(), m.cat.Refused()))
}

func (m *Module) getManifest(c *fiber.Ctx) error {
	man, ok := m.cat.Manifest(c.Params("id"))
	if !ok {
		return fmt.Errorf("connector %q: %w", c.Params("id"), core.ErrNotFound)
	}
	return c.JSON(man)
}

func (m *Module) reload(c *fiber.Ctx) error {
	rep, err := m.cat.Reload(c.UserContext())
	return c.JSON(reloadAnswer(rep, err))
}

var _ httpapi.RouteModule = (*Module)(nil)
