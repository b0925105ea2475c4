package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/content"
	"github.com/gofiber/fiber/v2"
)

// ContentRoutes serves the content engine of svc: generation (/content/generate), stored
// content (/content, /content/{id}), batches (/content/batches) and templates (/templates).
func ContentRoutes(svc *content.Service) Routes {
	return func(s *Server, api fiber.Router) {
		h := contentHandlers{svc: svc}
		str := map[string]any{"type": "string"}
		requestProps := map[string]any{
			"template":     map[string]any{"type": "string", "description": "template id (alias content_type)"},
			"topic":        str,
			"audience":     map[string]any{"type": "string", "description": "alias target_audience"},
			"keywords":     map[string]any{"type": []string{"array", "string"}, "items": str, "description": "SEO keywords (alias seo_keywords); a comma-separated string works too"},
			"instructions": map[string]any{"type": "string", "description": "alias custom_instructions"},
			"brand_voice":  str,
			"request_id":   str,
			"partnership": map[string]any{"type": "object", "description": "alias partnership_data", "properties": map[string]any{
				"partner": str, "product_id": str, "product_name": str, "category": str, "description": str, "price_range": str,
				"key_benefits": map[string]any{"type": "array", "items": str}, "affiliate_link": map[string]any{"type": "string", "format": "uri"},
			}},
		}
		generateProps := map[string]any{"async": map[string]any{"type": "boolean", "description": "answer 202 at once and generate in the background"}}
		for k, v := range requestProps {
			generateProps[k] = v
		}
		s.Handle(api, "POST", "/content/generate", Op{
			Summary: "Generate, score and validate one piece of content", Tag: "content", Permission: PermGenerateContent,
			Request: map[string]any{"type": "object", "required": []string{"template", "topic"}, "properties": generateProps},
			Responses: map[int]string{
				201: "Generated; the stored content with quality score and findings", 202: "Accepted (async); poll GET /content/{id}",
				400: "Invalid request field", 422: "Generated but failed validation or the minimum quality score (problem with content_id and findings)",
				429: "The provider rate-limited the request (Retry-After)", 502: "The provider failed or answered malformed", 504: "The provider timed out",
			},
		}, h.generate)
		s.Handle(api, "GET", "/content", Op{
			Summary: "List generated content, newest first (bodies omitted)", Tag: "content", Permission: PermReadContent,
			Query: map[string]string{"status": "pending, running, completed or failed", "template": "template id", "batch_id": "only items of this batch",
				"after": "continue after this content id", "limit": "at most this many (default 50, max 500)"},
		}, h.list)
		s.Handle(api, "POST", "/content/batches", Op{
			Summary: "Generate a batch of requests with bounded concurrency; survives restarts", Tag: "content", Permission: PermGenerateContent,
			Request: map[string]any{"type": "object", "required": []string{"name", "requests"}, "properties": map[string]any{
				"name":            str,
				"max_concurrent":  map[string]any{"type": "integer", "minimum": 1, "maximum": content.MaxBatchConcurrent, "default": content.DefaultBatchConcurrent},
				"processing_mode": map[string]any{"const": "concurrent"},
				"requests":        map[string]any{"type": "array", "maxItems": content.MaxBatchRequests, "items": map[string]any{"type": "object", "properties": requestProps}},
			}},
			Responses: map[int]string{202: "Accepted; poll GET /content/batches/{id}", 400: "Invalid field (requests[i].topic ...)"},
		}, h.createBatch)
		s.Handle(api, "GET", "/content/batches/:id", Op{Summary: "A batch's progress (completed/failed/total) and results", Tag: "content", Permission: PermReadContent,
			Responses: map[int]string{200: "The batch", 404: "No such batch"}}, h.getBatch)
		s.Handle(api, "GET", "/content/usage", Op{Summary: "The tenant's generations, token usage and cost", Tag: "content", Permission: PermViewAnalytics}, h.usage)
		s.Handle(api, "GET", "/content/:id", Op{Summary: "One piece of content with body, score breakdown and findings", Tag: "content", Permission: PermReadContent,
			Responses: map[int]string{200: "The content", 404: "No such content"}}, h.get)

		templateBody := map[string]any{"type": "object", "required": []string{"structure", "brand_guidelines"}, "properties": map[string]any{
			"id": str, "name": str, "description": str, "format": map[string]any{"enum": []string{content.FormatArticle, content.FormatCaption}},
			"structure": map[string]any{"type": "array", "items": map[string]any{"type": "object", "required": []string{"id"},
				"properties": map[string]any{"id": str, "title": str, "guidance": str}}},
			"brand_guidelines": map[string]any{"type": "object", "properties": map[string]any{
				"tone": str, "expertise_level": str, "include_safety_tips": map[string]any{"type": "boolean"},
				"word_count_range": map[string]any{"description": `"1200-1500" or {"min":1200,"max":1500}`}}},
			"seo_settings": map[string]any{"type": "object", "properties": map[string]any{
				"keyword_density": map[string]any{"description": `"2-3%" or {"min":2,"max":3}`}, "headings_required": map[string]any{"type": "boolean"},
				"meta_description": map[string]any{"type": "boolean"}}},
			"limits": map[string]any{"type": "object", "properties": map[string]any{"max_chars": map[string]any{"type": "integer"},
				"max_hashtags": map[string]any{"type": "integer"}, "min_hashtags": map[string]any{"type": "integer"}}},
		}}
		s.Handle(api, "GET", "/templates", Op{Summary: "Builtin and stored content templates", Tag: "templates", Permission: PermReadContent}, h.listTemplates)
		s.Handle(api, "GET", "/templates/:id", Op{Summary: "One template (a stored one overrides the builtin of the same id)", Tag: "templates", Permission: PermReadContent,
			Responses: map[int]string{200: "The template", 404: "No such template"}}, h.getTemplate)
		s.Handle(api, "POST", "/templates", Op{Summary: "Create or replace a stored template (id in the body)", Tag: "templates", Permission: PermWriteContent,
			Request: templateBody, Responses: map[int]string{201: "Created", 200: "Replaced", 400: "Invalid field"}}, h.postTemplate)
		s.Handle(api, "PUT", "/templates/:id", Op{Summary: "Create or replace a stored template", Tag: "templates", Permission: PermWriteContent,
			Request: templateBody, Responses: map[int]string{201: "Created", 200: "Replaced", 400: "Invalid field or id differs from the path"}}, h.putTemplate)
		s.Handle(api, "DELETE", "/templates/:id", Op{Summary: "Delete a stored template (a builtin of the same id comes back)", Tag: "templates", Permission: PermWriteContent,
			Responses: map[int]string{204: "Deleted", 404: "No such stored template", 409: "Builtin templates cannot be deleted"}}, h.deleteTemplate)
	}
}

type contentHandlers struct{ svc *content.Service }

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

func (h contentHandlers) generate(c *fiber.Ctx) error {
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
	req, err := content.RequestFromMap(m, "", "async")
	if err != nil {
		return err
	}
	key := c.Get("Idempotency-Key")
	if len(key) > 255 {
		return core.Invalid("Idempotency-Key", "longer than 255 characters")
	}
	opts := content.GenerateOptions{}
	if key != "" {
		opts.IdempotencyKey = "api:" + key
	}
	tenant := Tenant(c)
	if async {
		out, err := h.svc.GenerateAsync(c.UserContext(), tenant, req, opts)
		if err != nil {
			return err
		}
		c.Location("/api/v1/content/" + out.ID)
		return c.Status(fiber.StatusAccepted).JSON(out)
	}
	out, err := h.svc.Generate(c.UserContext(), tenant, req, opts)
	if err != nil {
		return generationProblem(c, &out, err)
	}
	c.Location("/api/v1/content/" + out.ID)
	return c.Status(fiber.StatusCreated).JSON(out)
}

// generationProblem turns a failed generation into a problem that still carries the
// stored content's id, error type and findings.
func generationProblem(c *fiber.Ctx, out *content.Content, err error) error {
	var ge *content.GenerationError
	if !errors.As(err, &ge) {
		return err
	}
	status := fiber.StatusBadGateway
	switch ge.Type {
	case content.ErrTypeInvalidRequest:
		return err
	case content.ErrTypeValidation, content.ErrTypeQuality:
		status = fiber.StatusUnprocessableEntity
	case content.ErrTypeRateLimited:
		status = fiber.StatusTooManyRequests
		if ge.RetryAfter > 0 {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(ge.RetryAfter.Seconds()))))
		}
	case content.ErrTypeTimeout:
		status = fiber.StatusGatewayTimeout
	case content.ErrTypeInterruptedByStop:
		status = fiber.StatusServiceUnavailable
	}
	return &Problem{
		Status: status, Title: titles[status], Detail: err.Error(),
		Extra: map[string]any{
			"content_id": out.ID, "error_type": ge.Type, "retry_possible": ge.Retryable,
			"quality_score": out.QualityScore(), "findings": out.Findings,
		},
	}
}

func (h contentHandlers) get(c *fiber.Ctx) error {
	out, err := h.svc.Content(c.UserContext(), Tenant(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(out)
}

var contentStatuses = map[string]bool{content.StatusPending: true, content.StatusRunning: true, content.StatusCompleted: true, content.StatusFailed: true}

func (h contentHandlers) list(c *fiber.Ctx) error {
	f := content.Filter{Status: c.Query("status"), Template: c.Query("template"), BatchID: c.Query("batch_id"), After: c.Query("after")}
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
	items, err := h.svc.List(c.UserContext(), Tenant(c), f)
	if err != nil {
		return err
	}
	out := make([]content.Content, len(items))
	for i, it := range items {
		it.BodyMarkdown, it.BodyHTML, it.Caption = "", "", ""
		out[i] = it
	}
	return c.JSON(fiber.Map{"content": out})
}

func (h contentHandlers) createBatch(c *fiber.Ctx) error {
	m, err := decodeObject(c)
	if err != nil {
		return err
	}
	br := content.BatchRequest{}
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
			if len(list) > content.MaxBatchRequests {
				return core.Invalid("requests", "at most %d requests (got %d)", content.MaxBatchRequests, len(list))
			}
			for i, item := range list {
				obj, ok := item.(map[string]any)
				p := fmt.Sprintf("requests[%d]", i)
				if !ok {
					return core.Invalid(p, "must be an object")
				}
				r, err := content.RequestFromMap(obj, p)
				if err != nil {
					return err
				}
				br.Requests = append(br.Requests, r)
			}
		default:
			return core.Invalid(k, "unknown field")
		}
	}
	b, err := h.svc.CreateBatch(c.UserContext(), Tenant(c), br)
	if err != nil {
		return err
	}
	c.Location("/api/v1/content/batches/" + b.ID)
	return c.Status(fiber.StatusAccepted).JSON(batchView(b))
}

// batchView adds the seed SDK's batch_id beside id.
func batchView(b content.Batch) fiber.Map {
	return fiber.Map{
		"id": b.ID, "batch_id": b.ID, "name": b.Name, "status": b.Status, "max_concurrent": b.MaxConcurrent,
		"progress": b.Progress, "results": b.Results, "created_at": b.CreatedAt, "updated_at": b.UpdatedAt,
		"completed_at": b.CompletedAt,
	}
}

func (h contentHandlers) getBatch(c *fiber.Ctx) error {
	b, err := h.svc.Batch(c.UserContext(), Tenant(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(batchView(b))
}

func (h contentHandlers) usage(c *fiber.Ctx) error {
	u, err := h.svc.Usage(c.UserContext(), Tenant(c))
	if err != nil {
		return err
	}
	return c.JSON(u)
}

func (h contentHandlers) listTemplates(c *fiber.Ctx) error {
	ts, err := h.svc.Templates(c.UserContext(), Tenant(c))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"templates": ts})
}

func (h contentHandlers) getTemplate(c *fiber.Ctx) error {
	t, err := h.svc.Template(c.UserContext(), Tenant(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(t)
}

func (h contentHandlers) postTemplate(c *fiber.Ctx) error { return h.upsertTemplate(c, "") }
func (h contentHandlers) putTemplate(c *fiber.Ctx) error  { return h.upsertTemplate(c, c.Params("id")) }

func (h contentHandlers) upsertTemplate(c *fiber.Ctx, pathID string) error {
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
	t, err := content.ParseTemplateJSON(body)
	if err != nil {
		return err
	}
	out, created, err := h.svc.PutTemplate(c.UserContext(), Tenant(c), t)
	if err != nil {
		return err
	}
	if created {
		c.Location("/api/v1/templates/" + out.ID)
		return c.Status(fiber.StatusCreated).JSON(out)
	}
	return c.JSON(out)
}

func (h contentHandlers) deleteTemplate(c *fiber.Ctx) error {
	if err := h.svc.DeleteTemplate(c.UserContext(), Tenant(c), c.Params("id")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
