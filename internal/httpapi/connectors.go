package httpapi

import (
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/plugins"
)

// ConnectorRoutes serves the loaded connectors of cat under /api/v1/connectors: the listing
// (versions, actions, pool sizes, call and error counts) and a reload that picks up
// replaced, added and removed module files.
func ConnectorRoutes(cat *plugins.Catalog) Routes {
	return func(s *Server, api fiber.Router) {
		s.Handle(api, "GET", "/connectors", Op{Summary: "Loaded connectors with versions, actions, pool sizes, call and error counts", Tag: "connectors",
			Permission: PermReadContent, Responses: map[int]string{200: "The connectors, by id"}},
			func(c *fiber.Ctx) error {
				return c.JSON(fiber.Map{"connectors": cat.Connectors()})
			})
		s.Handle(api, "GET", "/connectors/:id", Op{Summary: "One connector's manifest: actions with input and output JSON Schemas, config keys, secret names, requested egress", Tag: "connectors",
			Permission: PermReadContent, Responses: map[int]string{200: "The manifest", 404: "No such connector"}},
			func(c *fiber.Ctx) error {
				m, ok := cat.Manifest(c.Params("id"))
				if !ok {
					return fmt.Errorf("connector %q: %w", c.Params("id"), core.ErrNotFound)
				}
				return c.JSON(m)
			})
		s.Handle(api, "POST", "/connectors/reload", Op{Summary: "Reload the connector directory; calls in flight finish on the old versions", Tag: "connectors",
			Permission: PermAdmin, Responses: map[int]string{200: "What was loaded, kept, removed and refused (with errors)"}},
			func(c *fiber.Ctx) error {
				rep, err := cat.Reload(c.UserContext())
				body := fiber.Map{"loaded": rep.Loaded, "unchanged": rep.Unchanged, "removed": rep.Removed, "failed": rep.Failed}
				if err != nil {
					body["error"] = err.Error()
				}
				return c.JSON(body)
			})
	}
}
