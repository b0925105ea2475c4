package content

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/httpapi"
	"github.com/aquascene/aquahub/sdk/api"
	"github.com/gofiber/fiber/v2"
)

// Routes implements httpapi.RouteModule: generation (/content/generate), stored content
// (/content, /content/{id}), usage, batches (/content/batches) and templates (/templates). A
// module without storage serves nothing.
func (m *Module) Routes(mux *httpapi.Mux) {
	if m.svc == nil {
		return
	}
	h := handlers{svc: m.svc}
	mux.Handle(httpapi.Op{Method: "POST", Path: "/api/v1/content/generate", Summary: "Generate, score and validate one piece of content",
		Tag: "content", Permission: core.PermGenerateContent, Request: api.GenerateRequest{},
		Responses: []httpapi.Response{
			{Status: 201, Description: "Generated; the stored content with quality score and findings", Body: api.Content{}},
			{Status: 202, Description: "Accepted (async); poll GET /api/v1/content/{id}", Body: api.Content{}},
			{Status: 400, Description: "Invalid request field"},
			{Status: 422, Description: "Generated but failed validation or the minimum quality score (problem with content_id and findings)"},
			{Status: 429, Description: "The provider rate-limited the request (Retry-After)"},
			{Status: 502, Description: "The provider failed or answered malformed"},
			{Status: 503, Description: "The hub is stopping; the same Idempotency-Key generates again later"},
			{Status: 504, Description: "The provider timed out"},
		}}, h.generate)
	mux.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/content", Summary: "List generated content, newest first (bodies omitted)",
		Tag: "content", Permission: core.PermReadContent,
		Query: []httpapi.Param{
			{Name: "status", Description: "pending, running, completed or failed"}, {Name: "template", Description: "template id"},
			{Name: "batch_id", Description: "only items of this batch"}, {Name: "after", Description: "continue after this content id"},
			{Name: "partner", Description: "only content featuring this partner (its partner_id, or its name)"},
			{Name: "limit", Description: "at most this many (default 50, max 500)"},
		},
		Responses: []httpapi.Response{{Status: 200, Description: "The content, without bodies", Body: api.ContentList{}}, {Status: 400, Description: "Invalid query parameter"}}}, h.list)
	mux.Handle(httpapi.Op{Method: "POST", Path: "/api/v1/content/batches", Summary: "Generate a batch of requests with bounded concurrency; survives restarts",
		Tag: "content", Permission: core.PermGenerateContent, Request: api.BatchRequest{},
		Responses: []httpapi.Response{
			{Status: 202, Description: "Accepted; poll GET /api/v1/content/batches/{id}", Body: api.Batch{}},
			{Status: 400, Description: "Invalid field (requests[i].topic ...)"},
		}}, h.createBatch)
	mux.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/content/batches/:id", Summary: "A batch's progress (completed/failed/total) and results",
		Tag: "content", Permission: core.PermReadContent,
		Responses: []httpapi.Response{{Status: 200, Description: "The batch", Body: api.Batch{}}, {Status: 404, Description: "No such batch"}}}, h.getBatch)
	mux.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/content/usage", Summary: "The tenant's generations, token usage and cost",
		Tag: "content", Permission: core.PermViewAnalytics,
		Responses: []httpapi.Response{{Status: 200, Description: "The totals", Body: api.TenantUsage{}}}}, h.usage)
	mux.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/content/:id", Summary: "One piece of content with body, score breakdown and findings",
		Tag: "content", Permission: core.PermReadContent,
		Responses: []httpapi.Response{{Status: 200, Description: "The content", Body: api.Content{}}, {Status: 404, Description: "No such content"}}}, h.get)
	m.templateRoutes(mux, h)
}

type handlers struct{ svc *Service }

// decodeObject reads a JSON object body, keeping numbers as float64.
func decodeObject(c *fiber.Ctx) (map[string]any, error) {
	body := bytes.TrimSpace(c.Body())
	if len(body) == 0 || body[0] != '{' {
		return nil, core.Invalid("", "the body must be a JSON object")
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, core.Invalid("", "malformed JSON: %v", err)
	}
	return m, nil
}

func (h handlers) generate(c *fiber.Ctx) error {
	m, err := decodeObject(c)
	if err != nil {
		return err
	}
	async := false
	if v, ok := m["async"]; ok {
		b, ok := v.(bool)
		if !ok {
			return core.Invalid("async", "must be true or false")
		}
		async = b
	}
	req, err := RequestFromMap(m, "", "async")
	if err != nil {
		return err
	}
	key := c.Get("Idempotency-Key")
	if len(key) > 255 {
		return core.Invalid("Idempotency-Key", "longer than 255 characters")
	}
	opts := GenerateOptions{}
	if key != "" {
		opts.IdempotencyKey = "api:" + key
	}
	tenant := httpapi.Tenant(c)
	if async {
		out, err := h.svc.GenerateAsync(c.UserContext(), tenant, req, opts)
		if err != nil {
			return err
		}
		c.Location("/api/v1/content/" + out.ID)
		return c.Status(fiber.StatusAccepted).JSON(out.ToAPI())
	}
	out, err := h.svc.Generate(c.UserContext(), tenant, req, opts)
	if err != nil {
		return generationProblem(c, &out, err)
	}
	c.Location("/api/v1/content/" + out.ID)
	return c.Status(fiber.StatusCreated).JSON(out.ToAPI())
}

// generationProblem turns a failed generation into a problem that still carries the
// stored content's id, error type and findings.
func generationProblem(c *fiber.Ctx, out *Content, err error) error {
	var ge *GenerationError
	if !errors.As(err, &ge) {
		return err
	}
	status := fiber.StatusBadGateway
	switch ge.Type {
	case ErrTypeInvalidRequest:
		return err
	case ErrTypeValidation, ErrTypeQuality:
		status = fiber.StatusUnprocessableEntity
	case ErrTypeRateLimited:
		status = fiber.StatusTooManyRequests
		if ge.RetryAfter > 0 {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(ge.RetryAfter.Seconds()))))
		}
	case ErrTypeTimeout:
		status = fiber.StatusGatewayTimeout
	case ErrTypeInterruptedByStop:
		status = fiber.StatusServiceUnavailable
	}
	return &httpapi.Problem{
		Status: status, Detail: err.Error(),
		Extra: map[string]any{
			"content_id": out.ID, "error_type": ge.Type, "retry_possible": ge.Retryable,
			"quality_score": out.QualityScore(), "findings": findingsToAPI(out.Findings),
		},
	}
}

func (h handlers) get(c *fiber.Ctx) error {
	out, err := h.svc.Content(c.UserContext(), httpapi.Tenant(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(out.ToAPI())
}

var contentStatuses = map[string]bool{StatusPending: true, StatusRunning: true, StatusCompleted: true, StatusFailed: true}

func (h handlers) list(c *fiber.Ctx) error {
	f := Filter{Status: c.Query("status"), Template: c.Query("template"), BatchID: c.Query("batch_id"), After: c.Query("after"),
		Partner: c.Query("partner")}
	if f.Status != "" && !contentStatuses[f.Status] {
		return core.Invalid("status", "must be pending, running, completed or failed (got %q)", f.Status)
	}
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			return core.Invalid("limit", "must be a number from 1 to 500 (got %q)", l)
		}
		f.Limit = n
	}
	items, err := h.svc.List(c.UserContext(), httpapi.Tenant(c), f)
	if err != nil {
		return err
	}
	out := api.ContentList{Content: make([]api.Content, len(items))}
	for i, it := range items {
		it.BodyMarkdown, it.BodyHTML, it.Caption = "", "", ""
		out.Content[i] = it.ToAPI()
	}
	return c.JSON(out)
}

func (h handlers) createBatch(c *fiber.Ctx) error {
	m, err := decodeObject(c)
	if err != nil {
		return err
	}
	br := BatchRequest{}
	for k, v := range m {
		switch k {
		case "name":
			s, ok := v.(string)
			if !ok {
				return core.Invalid("name", "must be a string")
			}
			br.Name = s
		case "max_concurrent", "maxConcurrent":
			n, ok := v.(float64)
			if !ok || n != math.Trunc(n) {
				return core.Invalid(k, "must be an integer")
			}
			br.MaxConcurrent = int(n)
		case "processing_mode", "processingMode":
			if v != "concurrent" {
				return core.Invalid(k, `only "concurrent" is supported`)
			}
		case "requests":
			list, ok := v.([]any)
			if !ok {
				return core.Invalid("requests", "must be an array of request objects")
			}
			if len(list) > MaxBatchRequests {
				return core.Invalid("requests", "at most %d requests (got %d)", MaxBatchRequests, len(list))
			}
			for i, item := range list {
				obj, ok := item.(map[string]any)
				p := fmt.Sprintf("requests[%d]", i)
				if !ok {
					return core.Invalid(p, "must be an object")
				}
				r, err := RequestFromMap(obj, p)
				if err != nil {
					return err
				}
				br.Requests = append(br.Requests, r)
			}
		default:
			return core.Invalid(k, "unknown field")
		}
	}
	b, err := h.svc.CreateBatch(c.UserContext(), httpapi.Tenant(c), br)
	if err != nil {
		return err
	}
	c.Location("/api/v1/content/batches/" + b.ID)
	return c.Status(fiber.StatusAccepted).JSON(b.ToAPI())
}

func (h handlers) getBatch(c *fiber.Ctx) error {
	b, err := h.svc.Batch(c.UserContext(), httpapi.Tenant(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(b.ToAPI())
}

func (h handlers) usage(c *fiber.Ctx) error {
	u, err := h.svc.Usage(c.UserContext(), httpapi.Tenant(c))
	if err != nil {
		return err
	}
	return c.JSON(u.ToAPI())
}

var _ httpapi.RouteModule = (*Module)(nil)
