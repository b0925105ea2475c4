package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
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
	// Scrape marks a public operation read by monitoring (/metrics): when
	// server.metrics_token is set it must come as a bearer token.
	Scrape bool
	// Operator operations administer the hub itself (its tenants): only the operator's
	// credential reaches them, and it reaches nothing else. They declare PermAdmin.
	Operator bool
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
	switch {
	case op.Scrape:
		handlers = append(handlers, m.s.scrapeToken)
	case op.Public:
	case op.Operator:
		handlers = append(handlers, m.s.authenticate, m.s.requireOperator, m.s.admit)
	default:
		handlers = append(handlers, m.s.authenticate, m.s.require(op.Permission), m.s.admit)
	}
	if !op.Public && op.Method != "GET" && op.Method != "HEAD" && (op.Permission == core.PermAdmin || op.Operator) {
		handlers = append(handlers, m.s.auditChange)
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
	case op.Scrape && !op.Public:
		return fmt.Errorf("operation %s: only public operations may be scraped with the metrics token", name)
	case op.Operator && (op.Public || op.Permission != core.PermAdmin):
		return fmt.Errorf("operation %s: operator operations authenticate and declare %s", name, core.PermAdmin)
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

// require answers 403 unless the caller is a tenant's member whose role grants perm.
func (s *Server) require(perm core.Permission) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p := PrincipalOf(c)
		if p.Operator || p.Tenant == "" {
			return s.forbid(c, p, "the operator credential administers tenants only; use a tenant's credential")
		}
		if !p.Can(perm) {
			return s.forbid(c, p, fmt.Sprintf("permission %s required (role %s)", perm, p.Role))
		}
		return c.Next()
	}
}

// requireOperator answers 403 unless the caller is the hub's operator.
func (s *Server) requireOperator(c *fiber.Ctx) error {
	p := PrincipalOf(c)
	if !p.Operator {
		return s.forbid(c, p, "the hub's operator credential is required (a tenant's role does not reach tenant administration)")
	}
	return c.Next()
}

// forbid records a refused credential and returns the 403.
func (s *Server) forbid(c *fiber.Ctx, p core.Principal, reason string) error {
	if s.opts.Audit != nil {
		info := core.RequestInfoFrom(c.UserContext())
		s.opts.Audit.Audit(c.UserContext(), core.AuditEntry{Tenant: p.Tenant, Actor: actor(p), Action: "auth.forbidden",
			Target: c.Method() + " " + c.Path(), Outcome: "denied", Detail: reason, RemoteAddr: info.RemoteAddr})
	}
	return core.Forbidden("%s", reason)
}

// admit asks the request admission (a tenant's daily request quota) whether the caller may
// go on.
func (s *Server) admit(c *fiber.Ctx) error {
	if s.opts.Admission != nil {
		if err := s.opts.Admission.AdmitRequest(c.UserContext(), PrincipalOf(c)); err != nil {
			return err
		}
	}
	return c.Next()
}

// auditChange records an administrative change once its handler answered.
func (s *Server) auditChange(c *fiber.Ctx) error {
	err := c.Next()
	if s.opts.Audit == nil {
		return err
	}
	status := c.Response().StatusCode()
	if err != nil {
		status = ToProblem(err).Status
	}
	outcome := "ok"
	if status >= 400 {
		outcome = "failed"
	}
	p := PrincipalOf(c)
	info := core.RequestInfoFrom(c.UserContext())
	s.opts.Audit.Audit(c.UserContext(), core.AuditEntry{Tenant: p.Tenant, Actor: actor(p), Action: c.Method() + " " + c.Route().Path,
		Target: c.Path(), Outcome: outcome, Detail: fmt.Sprintf("HTTP %d", status), RemoteAddr: info.RemoteAddr})
	return err
}

func actor(p core.Principal) string {
	switch {
	case p.Operator:
		return "operator"
	case p.Subject != "":
		return p.Subject
	}
	return "unknown"
}

// scrapeToken guards /metrics with server.metrics_token when it is set.
func (s *Server) scrapeToken(c *fiber.Ctx) error {
	if s.cfg.MetricsToken == "" {
		return c.Next()
	}
	v := c.Get(fiber.HeaderAuthorization)
	got := ""
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		got = strings.TrimSpace(v[7:])
	}
	want := sha256.Sum256([]byte(s.cfg.MetricsToken))
	have := sha256.Sum256([]byte(got))
	if subtle.ConstantTimeCompare(want[:], have[:]) != 1 {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="aquahub metrics"`)
		if got == "" {
			return core.Unauthenticated("missing credential: /metrics needs Authorization: Bearer <server.metrics_token>")
		}
		return core.Unauthenticated("wrong metrics token")
	}
	return c.Next()
}

// PrincipalOf returns the authenticated caller.
func PrincipalOf(c *fiber.Ctx) core.Principal {
	p, _ := c.Locals(principalKey).(core.Principal)
	return p
}

// Tenant returns the authenticated caller's tenant.
func Tenant(c *fiber.Ctx) string { return PrincipalOf(c).Tenant }
