package content

import (
	"encoding/json"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/httpapi"
	"github.com/aquascene/aquahub/sdk/api"
	"github.com/gofiber/fiber/v2"
)

// templateRoutes serves the builtin and stored templates.
func (m *Module) templateRoutes(mux *httpapi.Mux, h handlers) {
	mux.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/templates", Summary: "Builtin and stored content templates", Tag: "templates",
		Permission: core.PermReadContent,
		Responses:  []httpapi.Response{{Status: 200, Description: "The templates by id", Body: api.TemplateList{}}}}, h.listTemplates)
	mux.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/templates/:id", Summary: "One template (a stored one overrides the builtin of the same id)",
		Tag: "templates", Permission: core.PermReadContent,
		Responses: []httpapi.Response{{Status: 200, Description: "The template", Body: api.Template{}}, {Status: 404, Description: "No such template"}}}, h.getTemplate)
	mux.Handle(httpapi.Op{Method: "POST", Path: "/api/v1/templates", Summary: "Create or replace a stored template (id in the body)",
		Tag: "templates", Permission: core.PermWriteContent, Request: api.Template{},
		Responses: []httpapi.Response{
			{Status: 201, Description: "Created", Body: api.Template{}}, {Status: 200, Description: "Replaced", Body: api.Template{}},
			{Status: 400, Description: "Invalid field"},
		}}, h.postTemplate)
	mux.Handle(httpapi.Op{Method: "PUT", Path: "/api/v1/templates/:id", Summary: "Create or replace a stored template",
		Tag: "templates", Permission: core.PermWriteContent, Request: api.Template{},
		Responses: []httpapi.Response{
			{Status: 201, Description: "Created", Body: api.Template{}}, {Status: 200, Description: "Replaced", Body: api.Template{}},
			{Status: 400, Description: "Invalid field or id differs from the path"},
		}}, h.putTemplate)
	mux.Handle(httpapi.Op{Method: "DELETE", Path: "/api/v1/templates/:id", Summary: "Delete a stored template (a builtin of the same id comes back)",
		Tag: "templates", Permission: core.PermWriteContent,
		Responses: []httpapi.Response{
			{Status: 204, Description: "Deleted"}, {Status: 404, Description: "No such stored template"},
			{Status: 409, Description: "Builtin templates cannot be deleted"},
		}}, h.deleteTemplate)
}

func (h handlers) listTemplates(c *fiber.Ctx) error {
	ts, err := h.svc.Templates(c.UserContext(), httpapi.Tenant(c))
	if err != nil {
		return err
	}
	out := api.TemplateList{Templates: make([]api.Template, len(ts))}
	for i := range ts {
		out.Templates[i] = ts[i].ToAPI()
	}
	return c.JSON(out)
}

func (h handlers) getTemplate(c *fiber.Ctx) error {
	t, err := h.svc.Template(c.UserContext(), httpapi.Tenant(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(t.ToAPI())
}

func (h handlers) postTemplate(c *fiber.Ctx) error { return h.upsertTemplate(c, "") }
func (h handlers) putTemplate(c *fiber.Ctx) error  { return h.upsertTemplate(c, c.Params("id")) }

func (h handlers) upsertTemplate(c *fiber.Ctx, pathID string) error {
	body := c.Body()
	if pathID != "" {
		// The id may be omitted from the body; fill it in from the path.
		m, err := decodeObject(c)
		if err != nil {
			return err
		}
		if id, ok := m["id"]; ok && id != pathID {
			return core.Invalid("id", "differs from the path (%v vs %q)", id, pathID)
		}
		m["id"] = pathID
		body, _ = json.Marshal(m)
	}
	t, err := ParseTemplateJSON(body)
	if err != nil {
		return err
	}
	out, created, err := h.svc.PutTemplate(c.UserContext(), httpapi.Tenant(c), t)
	if err != nil {
		return err
	}
	if created {
		c.Location("/api/v1/templates/" + out.ID)
		return c.Status(fiber.StatusCreated).JSON(out.ToAPI())
	}
	return c.JSON(out.ToAPI())
}

func (h handlers) deleteTemplate(c *fiber.Ctx) error {
	if err := h.svc.DeleteTemplate(c.UserContext(), httpapi.Tenant(c), c.Params("id")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
