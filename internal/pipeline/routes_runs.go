package pipeline

import (
	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/httpapi"
	"github.com/aquascene/aquahub/sdk/api"
	"github.com/gofiber/fiber/v2"
)

// Routes implements httpapi.RouteModule.
func (m *Module) Routes(mux *httpapi.Mux) {
	m.eventRoutes(mux)
	listQuery := []httpapi.Param{
		{Name: "status", Description: "queued, running, retrying, succeeded or dead"}, {Name: "rule", Description: "rule id"},
		{Name: "event", Description: "CloudEvents id of the trigger"}, {Name: "limit", Description: "at most this many (default 100, max 1000)"},
		{Name: "after", Description: "continue after this run id"},
	}
	mux.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/runs", Summary: "List runs, newest first", Tag: "runs", Permission: core.PermReadContent,
		Query: listQuery, Responses: []httpapi.Response{{Status: 200, Description: "The runs, without their steps", Body: api.RunList{}}}}, m.listRuns)
	mux.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/runs/:id", Summary: "A run with its steps, attempts, errors and outputs", Tag: "runs", Permission: core.PermReadContent,
		Responses: []httpapi.Response{{Status: 200, Description: "The run", Body: api.Run{}}, {Status: 404, Description: "No such run"}}}, m.getRun)
	mux.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/dlq", Summary: "Runs in the dead-letter queue", Tag: "dlq", Permission: core.PermReadContent,
		Query:     []httpapi.Param{{Name: "rule", Description: "rule id"}, {Name: "limit", Description: "at most this many"}, {Name: "after", Description: "continue after this run id"}},
		Responses: []httpapi.Response{{Status: 200, Description: "The dead runs, newest first", Body: api.RunList{}}}}, m.listDLQ)
	mux.Handle(httpapi.Op{Method: "POST", Path: "/api/v1/dlq/:id/replay", Summary: "Queue a dead run again; finished steps are not repeated", Tag: "dlq", Permission: core.PermAdmin,
		Responses: []httpapi.Response{{Status: 200, Description: "Queued again", Body: api.Run{}}, {Status: 404, Description: "No such run"}, {Status: 409, Description: "The run is not dead"}}}, m.replayDLQ)
	mux.Handle(httpapi.Op{Method: "DELETE", Path: "/api/v1/dlq/:id", Summary: "Discard a dead run", Tag: "dlq", Permission: core.PermAdmin,
		Responses: []httpapi.Response{{Status: 204, Description: "Discarded"}, {Status: 404, Description: "No such run"}, {Status: 409, Description: "The run is not dead"}}}, m.discardDLQ)
}

var runStatuses = map[string]bool{"queued": true, "running": true, "retrying": true, "succeeded": true, "dead": true}

func runFilter(c *fiber.Ctx) (core.RunFilter, error) {
	f := core.RunFilter{Status: core.RunStatus(c.Query("status")), RuleID: c.Query("rule"), EventID: c.Query("event"), After: c.Query("after")}
	if f.Status != "" && !runStatuses[string(f.Status)] {
		return f, core.Invalid("status", "must be queued, running, retrying, succeeded or dead (got %q)", f.Status)
	}
	if l := c.Query("limit"); l != "" {
		n := c.QueryInt("limit", -1)
		if n < 1 || n > 1000 {
			return f, core.Invalid("limit", "must be a number from 1 to 1000 (got %q)", l)
		}
		f.Limit = n
	}
	return f, nil
}

func (m *Module) listRuns(c *fiber.Ctx) error {
	f, err := runFilter(c)
	if err != nil {
		return err
	}
	runs, err := m.store.Runs(c.UserContext(), httpapi.Tenant(c), f)
	if err != nil {
		return err
	}
	return c.JSON(runList(runs))
}

func (m *Module) getRun(c *fiber.Ctx) error {
	r, err := m.store.Run(c.UserContext(), httpapi.Tenant(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(run(r))
}

func (m *Module) listDLQ(c *fiber.Ctx) error {
	f, err := runFilter(c)
	if err != nil {
		return err
	}
	f.Status = core.RunDead
	runs, err := m.store.Runs(c.UserContext(), httpapi.Tenant(c), f)
	if err != nil {
		return err
	}
	return c.JSON(runList(runs))
}

func (m *Module) replayDLQ(c *fiber.Ctx) error {
	r, err := m.engine.Replay(c.UserContext(), httpapi.Tenant(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(run(r))
}

func (m *Module) discardDLQ(c *fiber.Ctx) error {
	if err := m.store.Discard(c.UserContext(), httpapi.Tenant(c), c.Params("id")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
