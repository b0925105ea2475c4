package httpapi

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/aquascene/aquahub/core"
	"github.com/gofiber/fiber/v2"
)

// Problem is an RFC 9457 problem detail. Handlers may return one directly.
type Problem struct {
	Type     string         `json:"type,omitempty"`
	Title    string         `json:"title"`
	Status   int            `json:"status"`
	Detail   string         `json:"detail,omitempty"`
	Instance string         `json:"instance,omitempty"`
	Errors   []ProblemField `json:"errors,omitempty"`
	// Extra members, such as accepted content types.
	Extra map[string]any `json:"-"`
}

// ProblemField names one offending field.
type ProblemField struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

// MarshalJSON adds Extra members beside the standard ones.
func (p *Problem) MarshalJSON() ([]byte, error) {
	type plain Problem
	b, err := json.Marshal((*plain)(p))
	if err != nil || len(p.Extra) == 0 {
		return b, err
	}
	m := map[string]any{}
	_ = json.Unmarshal(b, &m)
	for k, v := range p.Extra {
		m[k] = v
	}
	return json.Marshal(m)
}

// statusOf maps core's sentinel errors onto HTTP statuses.
func statusOf(err error) int {
	var se *core.StepError
	switch {
	case errors.Is(err, core.ErrInvalid):
		return 400
	case errors.Is(err, core.ErrNotFound):
		return 404
	case errors.Is(err, core.ErrConflict):
		return 409
	case errors.Is(err, core.ErrClosed):
		return 503
	case errors.Is(err, context.DeadlineExceeded):
		return 504
	case errors.As(err, &se):
		switch se.Class {
		case core.ClassInvalidInput:
			return 400
		case core.ClassNotFound:
			return 404
		case core.ClassRateLimited:
			return 429
		case core.ClassAuth:
			return 502
		}
		return 502
	}
	return 500
}

var titles = map[int]string{
	400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
	409: "Conflict", 413: "Content Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Content",
	429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}

// ToProblem converts any handler error into a Problem.
func ToProblem(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		if p.Title == "" {
			p.Title = titles[p.Status]
		}
		return p
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		detail := fe.Message
		if fe.Code == 413 {
			detail = "request body is larger than the server's body limit (server.body_limit)"
		}
		return &Problem{Status: fe.Code, Title: titles[fe.Code], Detail: detail}
	}
	status := statusOf(err)
	p = &Problem{Status: status, Title: titles[status], Detail: err.Error()}
	var field *core.FieldError
	if errors.As(err, &field) {
		p.Errors = []ProblemField{{Field: field.Path, Message: field.Reason}}
	}
	if status == 500 {
		p.Detail = "internal error; the server log has details"
	}
	return p
}

func (s *Server) handleError(c *fiber.Ctx, err error) error {
	p := ToProblem(err)
	if p.Status >= 500 {
		s.log.Error("request failed", "method", c.Method(), "path", c.Path(), "err", err)
	}
	if p.Instance == "" {
		p.Instance = c.Path()
	}
	body, _ := json.Marshal(p)
	c.Status(p.Status)
	c.Set(fiber.HeaderContentType, "application/problem+json")
	return c.Send(body)
}
