package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aquascene/aquahub/core"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
)

// Mux is where modules register their operations.
type Mux struct {
	s    *Server
	errs []error
}

// Op describes one operation: its route, who may call it, and the request and response
// types the OpenAPI document shows.
type Op struct {
	// Method and Path locate the operation; path parameters use fiber's :name form.
	Method, Path string
	Summary      string
	Tag          string
	// Permission is what the caller's role must grant. Every operation that is not Public
	// declares one; registering one without is an error.
	Permission core.Permission
	// Public operations skip authentication: health, the document, inbound webhooks (which
	// verify their own signatures).
	Public bool
	// Request is a value of the request body's type (its schema is generated from the
	// type); RequestSchema replaces it when the body is not one Go type. Both nil: no body.
	Request       any
	RequestSchema map[string]any
	// RequestTypes lists accepted content types (default application/json).
	RequestTypes []string
	// Query documents query parameters.
	Query []Param
	// Responses lists the answers other than the problem+json errors every operation has.
	// Each 2xx other than 204 names its body type.
	Responses []Response
}

// Param is a documented query parameter.
type Param struct {
	Name        string
	Description string
}

// Response is one documented answer.
type Response struct {
	Status      int
	Description string
	// Body is a value of the body's type; nil means no body (or an error status, whose body
	// is a problem).
	Body any
	// OneOf replaces Body when the answer is one of several types.
	OneOf []any
	// ContentType is the body's type (default application/json).
	ContentType string
}

// Handle registers an operation.
func (m *Mux) Handle(op Op, h fiber.Handler) {
	if err := m.s.doc.add(op); err != nil {
		m.errs = append(m.errs, err)
		return
	}
	handlers := []fiber.Handler{}
	if !op.Public {
		handlers = append(handlers, m.s.authenticate, require(op.Permission))
	}
	handlers = append(handlers, h)
	m.s.app.Add(op.Method, op.Path, handlers...)
}

// HandleHTTP registers an operation served by a net/http handler (the Prometheus exporter).
func (m *Mux) HandleHTTP(op Op, h http.Handler) {
	m.Handle(op, adaptor.HTTPHandler(h))
}

func (m *Mux) err() error { return errors.Join(m.errs...) }

// checkOp refuses an operation that would be unsafe or undocumented.
func checkOp(op Op) error {
	name := op.Method + " " + op.Path
	switch {
	case op.Method == "" || !strings.HasPrefix(op.Path, "/"):
		return fmt.Errorf("operation %q: method and an absolute path are required", name)
	case !op.Public && op.Permission == "":
		return fmt.Errorf("operation %s declares no permission: set Op.Permission, or Public for routes that authenticate themselves", name)
	case op.Public && op.Permission != "":
		return fmt.Errorf("operation %s is public but declares permission %s", name, op.Permission)
	}
	for _, r := range op.Responses {
		if r.Status >= 200 && r.Status < 300 && r.Status != 204 && r.Body == nil && len(r.OneOf) == 0 {
			return fmt.Errorf("operation %s: response %d has no body type", name, r.Status)
		}
	}
	return nil
}

// headers adapts fiber's request headers to core.Header.
type headers struct{ c *fiber.Ctx }

func (h headers) Get(name string) string { return h.c.Get(name) }

const principalKey = "aquahub.principal"

func (s *Server) authenticate(c *fiber.Ctx) error {
	p, err := s.opts.Auth.Authenticate(c.UserContext(), headers{c})
	if err != nil {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="aquahub"`)
		return err
	}
	c.Locals(principalKey, p)
	return c.Next()
}

// require answers 403 unless the caller's role grants perm.
func require(perm core.Permission) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p := PrincipalOf(c)
		if !p.Can(perm) {
			return core.Forbidden("permission %s required (role %s)", perm, p.Role)
		}
		return c.Next()
	}
}

// PrincipalOf returns the authenticated caller.
func PrincipalOf(c *fiber.Ctx) core.Principal {
	p, _ := c.Locals(principalKey).(core.Principal)
	return p
}

// Tenant returns the authenticated caller's tenant.
func Tenant(c *fiber.Ctx) string { return PrincipalOf(c).Tenant }
