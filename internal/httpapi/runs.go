package httpapi

import (
	"github.com/aquascene/aquahub/core"
	"github.com/gofiber/fiber/v2"
)

func (s *Server) runRoutes(api fiber.Router) {
	s.Handle(api, "GET", "/runs", Op{
		Summary: "List runs, newest first", Tag: "runs", Permission: PermReadContent,
		Query: map[string]string{"status": "queued, running, retrying, succeeded or dead", "rule": "rule id", "event": "CloudEvents id of the trigger", "limit": "at most this many (default 100, max 1000)", "after": "continue after this run id"},
	}, s.listRuns)
	s.Handle(api, "GET", "/runs/:id", Op{Summary: "A run with its steps, attempts, errors and outputs", Tag: "runs", Permission: PermReadContent}, s.getRun)
	s.Handle(api, "GET", "/dlq", Op{Summary: "Runs in the dead-letter queue", Tag: "dlq", Permission: PermReadContent,
		Query: map[string]string{"rule": "rule id", "limit": "at most this many", "after": "continue after this run id"}}, s.listDLQ)
	s.Handle(api, "POST", "/dlq/:id/replay", Op{Summary: "Queue a dead run again; finished steps are not repeated", Tag: "dlq", Permission: PermAdmin,
		Responses: map[int]string{200: "Queued again", 404: "No such run", 409: "The run is not dead"}}, s.replayDLQ)
	s.Handle(api, "DELETE", "/dlq/:id", Op{Summary: "Discard a dead run", Tag: "dlq", Permission: PermAdmin,
		Responses: map[int]string{204: "Discarded", 404: "No such run", 409: "The run is not dead"}}, s.discardDLQ)
}

var runStatuses = map[string]bool{"queued": true, "running": true, "retrying": true, "succeeded": true, "dead": true}

func (s *Server) runFilter(c *fiber.Ctx) (core.RunFilter, error) {
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

func (s *Server) listRuns(c *fiber.Ctx) error {
	f, err := s.runFilter(c)
	if err != nil {
		return err
	}
	runs, err := s.opts.Engine.Store().Runs(c.UserContext(), Tenant(c), f)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"runs": nonNil(runs)})
}

func nonNil(runs []core.Run) []core.Run {
	if runs == nil {
		return []core.Run{}
	}
	return runs
}

func (s *Server) getRun(c *fiber.Ctx) error {
	run, err := s.opts.Engine.Store().Run(c.UserContext(), Tenant(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(run)
}

func (s *Server) listDLQ(c *fiber.Ctx) error {
	f, err := s.runFilter(c)
	if err != nil {
		return err
	}
	f.Status = core.RunDead
	runs, err := s.opts.Engine.Store().Runs(c.UserContext(), Tenant(c), f)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"runs": nonNil(runs)})
}

func (s *Server) replayDLQ(c *fiber.Ctx) error {
	run, err := s.opts.Engine.Replay(c.UserContext(), Tenant(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(run)
}

func (s *Server) discardDLQ(c *fiber.Ctx) error {
	if err := s.opts.Engine.Store().Discard(c.UserContext(), Tenant(c), c.Params("id")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
