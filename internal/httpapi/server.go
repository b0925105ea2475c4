package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/gofiber/fiber/v2"
)

// RouteModule is a feature module that serves HTTP operations.
type RouteModule interface {
	Routes(m *Mux)
}

// RequestObserver counts requests by route and status; the metrics adapter implements it.
type RequestObserver interface {
	HTTPRequest(route string, code int)
}

// Options are the server's dependencies.
type Options struct {
	// Auth authenticates requests to every operation that is not public (required).
	Auth core.Authenticator
	// Observer, when set, counts every request.
	Observer RequestObserver
	// Ready reports whether the hub can serve; /readyz answers 503 with its error.
	Ready  func() error
	Logger *slog.Logger
	// Version is reported by /healthz and the document.
	Version string
}

// Server is the HTTP API.
type Server struct {
	app  *fiber.App
	opts Options
	doc  *Document
	log  *slog.Logger
}

// New builds the server: its own routes, then every module's operations.
func New(cfg Config, opts Options, modules ...RouteModule) (*Server, error) {
	if opts.Auth == nil {
		return nil, errors.New("httpapi: an Authenticator is required")
	}
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = DefaultConfig().BodyLimit
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{opts: opts, doc: newDocument(opts.Version), log: opts.Logger}
	s.app = fiber.New(fiber.Config{
		BodyLimit:             int(cfg.BodyLimit),
		ErrorHandler:          s.handleError,
		DisableStartupMessage: true,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           120 * time.Second,
		// Handlers keep request values beyond the handler (queued work), so fiber must not
		// reuse their memory.
		Immutable: true,
	})
	if opts.Observer != nil {
		s.app.Use(s.countRequests)
	}
	m := &Mux{s: s}
	m.Handle(Op{Method: "GET", Path: "/healthz", Summary: "Liveness: the process is up", Tag: "system", Public: true,
		Responses: []Response{{Status: 200, Description: "Up", Body: Health{}}}}, s.healthz)
	m.Handle(Op{Method: "GET", Path: "/readyz", Summary: "Readiness: storage is open and the engine runs", Tag: "system", Public: true,
		Responses: []Response{{Status: 200, Description: "Ready", Body: Readiness{}}, {Status: 503, Description: "Not ready"}}}, s.readyz)
	m.Handle(Op{Method: "GET", Path: "/openapi.json", Summary: "This API's OpenAPI 3.1 document", Tag: "system", Public: true,
		Responses: []Response{{Status: 200, Description: "The document", Body: map[string]any{}}}}, s.openapi)
	if cfg.Pprof {
		profilerRoutes(m)
	}
	for _, mod := range modules {
		mod.Routes(m)
	}
	if err := m.err(); err != nil {
		return nil, err
	}
	s.app.Use(func(c *fiber.Ctx) error {
		return &Problem{Status: 404, Detail: "no route for " + c.Method() + " " + c.Path() + "; see /openapi.json"}
	})
	return s, nil
}

// Health is the answer of /healthz.
type Health struct {
	Status  string `json:"status"`
	Version string `json:"version"`
}

// Readiness is the answer of /readyz.
type Readiness struct {
	Status string `json:"status"`
}

// App returns the fiber app, for tests.
func (s *Server) App() *fiber.App { return s.app }

// Document returns the OpenAPI document built from the registered operations.
func (s *Server) Document() *Document { return s.doc }

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.app.Listener(ln) }

// Shutdown stops accepting connections and waits for in-flight requests until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error { return s.app.ShutdownWithContext(ctx) }

func (s *Server) countRequests(c *fiber.Ctx) error {
	err := c.Next()
	code := c.Response().StatusCode()
	if err != nil {
		code = ToProblem(err).Status
	}
	route := c.Route().Path
	if route == "/" && c.Path() != "/" {
		route = "unmatched"
	}
	s.opts.Observer.HTTPRequest(route, code)
	return err
}

func (s *Server) healthz(c *fiber.Ctx) error {
	return c.JSON(Health{Status: "ok", Version: s.opts.Version})
}

func (s *Server) readyz(c *fiber.Ctx) error {
	if s.opts.Ready != nil {
		if err := s.opts.Ready(); err != nil {
			return &Problem{Status: 503, Detail: err.Error()}
		}
	}
	return c.JSON(Readiness{Status: "ready"})
}

func (s *Server) openapi(c *fiber.Ctx) error {
	return c.JSON(s.doc.JSON())
}
