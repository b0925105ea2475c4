package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/metrics"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Routes adds a feature's routes to the authenticated /api/v1 group. Features register
// through Server.Handle so that every route appears in the OpenAPI document.
type Routes func(s *Server, api fiber.Router)

// Options configures a Server. Engine and Auth are required.
type Options struct {
	Engine *core.Engine
	Auth   Authenticator
	// BodyLimit caps request bodies in bytes (default 1 MiB); larger ones get 413.
	BodyLimit int
	Metrics   *metrics.Metrics
	Logger    *slog.Logger
	// Features add their routes under /api/v1.
	Features []Routes
	// Public adds routes outside /api/v1 that do their own authentication (inbound hooks).
	Public []Routes
	// Ready reports whether the hub can serve; /readyz answers 503 with its error.
	Ready func() error
	// Version is reported by /healthz.
	Version string
}

// Server is the HTTP API.
type Server struct {
	app  *fiber.App
	opts Options
	doc  *Document
	log  *slog.Logger
}

// New builds the server and registers every route.
func New(opts Options) *Server {
	if opts.BodyLimit <= 0 {
		opts.BodyLimit = 1 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.New()
	}
	s := &Server{opts: opts, doc: newDocument(opts.Version), log: opts.Logger}
	s.app = fiber.New(fiber.Config{
		BodyLimit:             opts.BodyLimit,
		ErrorHandler:          s.handleError,
		DisableStartupMessage: true,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           120 * time.Second,
		// Handlers keep request values beyond the handler (queued work), so fiber must not
		// reuse their memory.
		Immutable: true,
	})
	s.app.Use(s.countRequests)
	s.Handle(s.app, "GET", "/healthz", Op{Summary: "Liveness: the process is up", Tag: "system", Public: true}, s.healthz)
	s.Handle(s.app, "GET", "/readyz", Op{Summary: "Readiness: storage is open and the engine runs", Tag: "system", Public: true}, s.readyz)
	s.Handle(s.app, "GET", "/metrics", Op{Summary: "Prometheus metrics", Tag: "system", Public: true},
		adaptor.HTTPHandler(promhttp.HandlerFor(opts.Metrics.Registry, promhttp.HandlerOpts{})))
	s.Handle(s.app, "GET", "/openapi.json", Op{Summary: "This API's OpenAPI 3.1 document", Tag: "system", Public: true}, s.openapi)
	for _, r := range opts.Public {
		r(s, s.app)
	}
	api := s.app.Group("/api/v1", s.authenticate)
	s.eventRoutes(api)
	s.runRoutes(api)
	for _, r := range opts.Features {
		r(s, api)
	}
	s.app.Use(func(c *fiber.Ctx) error {
		return &Problem{Status: 404, Title: "Not Found", Detail: "no route for " + c.Method() + " " + c.Path() + "; see /openapi.json"}
	})
	return s
}

// App returns the fiber app, for tests.
func (s *Server) App() *fiber.App { return s.app }

// Document returns the OpenAPI document built from the registered routes.
func (s *Server) Document() *Document { return s.doc }

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.app.Listener(ln) }

// Shutdown stops accepting connections and waits for in-flight requests until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error { return s.app.ShutdownWithContext(ctx) }

// Op documents a route in the OpenAPI document.
type Op struct {
	Summary string
	Tag     string
	// Public routes skip API-key authentication.
	Public bool
	// Request names the request body (a JSON Schema object); nil means none.
	Request map[string]any
	// RequestTypes lists accepted content types (default application/json when Request is set).
	RequestTypes []string
	// Responses maps a status code to its description.
	Responses map[int]string
	// Query documents query parameters: name → description.
	Query map[string]string
	// Permission is the action a role needs (for example "events:write").
	Permission string
}

// Handle registers a route on r and records it in the OpenAPI document. Path parameters
// use fiber's :name form.
func (s *Server) Handle(r fiber.Router, method, path string, op Op, h fiber.Handler) {
	full := path
	if g, ok := r.(*fiber.Group); ok {
		full = g.Prefix + path
	}
	s.doc.add(method, full, op)
	handlers := []fiber.Handler{}
	if op.Permission != "" {
		handlers = append(handlers, require(op.Permission))
	}
	handlers = append(handlers, h)
	r.Add(method, path, handlers...)
}

func (s *Server) countRequests(c *fiber.Ctx) error {
	err := c.Next()
	code := c.Response().StatusCode()
	if err != nil {
		var p *Problem
		var fe *fiber.Error
		switch {
		case errors.As(err, &p):
			code = p.Status
		case errors.As(err, &fe):
			code = fe.Code
		default:
			code = statusOf(err)
		}
	}
	route := c.Route().Path
	if route == "/" && c.Path() != "/" {
		route = "unmatched"
	}
	s.opts.Metrics.HTTPRequest(route, code)
	return err
}

func (s *Server) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok", "version": s.opts.Version})
}

func (s *Server) readyz(c *fiber.Ctx) error {
	if s.opts.Ready != nil {
		if err := s.opts.Ready(); err != nil {
			return &Problem{Status: 503, Title: "Service Unavailable", Detail: err.Error()}
		}
	}
	return c.JSON(fiber.Map{"status": "ready"})
}

func (s *Server) openapi(c *fiber.Ctx) error {
	return c.JSON(s.doc.JSON())
}

// fiberPathToOpenAPI turns /runs/:id into /runs/{id}.
func fiberPathToOpenAPI(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		if strings.HasPrefix(part, ":") {
			parts[i] = "{" + strings.TrimSuffix(strings.TrimPrefix(part, ":"), "?") + "}"
		}
	}
	return strings.Join(parts, "/")
}
