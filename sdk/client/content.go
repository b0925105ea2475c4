package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/aquascene/aquahub/sdk/api"
)

// GenerateContent generates, scores and validates one piece of content and waits for it.
// idempotencyKey (optional) makes a repeat return the stored content. A generation that
// failed validation is an *Error with status 422 whose detail names the findings.
func (c *Client) GenerateContent(ctx context.Context, req api.ContentRequest, idempotencyKey string) (api.Content, error) {
	return c.generate(ctx, api.GenerateRequest{ContentRequest: req}, idempotencyKey)
}

// GenerateContentAsync stores the request and returns the pending content at once; poll
// Content with its id.
func (c *Client) GenerateContentAsync(ctx context.Context, req api.ContentRequest, idempotencyKey string) (api.Content, error) {
	return c.generate(ctx, api.GenerateRequest{ContentRequest: req, Async: true}, idempotencyKey)
}

func (c *Client) generate(ctx context.Context, req api.GenerateRequest, idempotencyKey string) (api.Content, error) {
	var out api.Content
	h := http.Header{}
	if idempotencyKey != "" {
		h.Set("Idempotency-Key", idempotencyKey)
	}
	_, err := c.Do(ctx, "POST", "/api/v1/content/generate", req, "", h, &out)
	return out, err
}

// Content fetches one piece of content with its body, score and findings.
func (c *Client) Content(ctx context.Context, id string) (api.Content, error) {
	var out api.Content
	_, err := c.Do(ctx, "GET", "/api/v1/content/"+url.PathEscape(id), nil, "", nil, &out)
	return out, err
}

// ContentFilter selects content in ListContent; empty fields do not filter.
type ContentFilter struct {
	Status, Template, BatchID, After string
	// Partner is a partner's id (or name): content featuring it.
	Partner string
	Limit   int
}

// ListContent lists content newest first, without bodies.
func (c *Client) ListContent(ctx context.Context, f ContentFilter) ([]api.Content, error) {
	q := url.Values{}
	for k, v := range map[string]string{"status": f.Status, "template": f.Template, "batch_id": f.BatchID, "after": f.After, "partner": f.Partner} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	path := "/api/v1/content"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out api.ContentList
	_, err := c.Do(ctx, "GET", path, nil, "", nil, &out)
	return out.Content, err
}

// ContentUsage returns the tenant's generations, token usage and cost.
func (c *Client) ContentUsage(ctx context.Context) (api.TenantUsage, error) {
	var out api.TenantUsage
	_, err := c.Do(ctx, "GET", "/api/v1/content/usage", nil, "", nil, &out)
	return out, err
}

// CreateBatch starts a batch of generations and returns it at once; poll Batch.
func (c *Client) CreateBatch(ctx context.Context, req api.BatchRequest) (api.Batch, error) {
	var out api.Batch
	_, err := c.Do(ctx, "POST", "/api/v1/content/batches", req, "", nil, &out)
	return out, err
}

// Batch fetches a batch's progress and results.
func (c *Client) Batch(ctx context.Context, id string) (api.Batch, error) {
	var out api.Batch
	_, err := c.Do(ctx, "GET", "/api/v1/content/batches/"+url.PathEscape(id), nil, "", nil, &out)
	return out, err
}

// Templates lists the builtin and stored templates.
func (c *Client) Templates(ctx context.Context) ([]api.Template, error) {
	var out api.TemplateList
	_, err := c.Do(ctx, "GET", "/api/v1/templates", nil, "", nil, &out)
	return out.Templates, err
}

// Template fetches one template.
func (c *Client) Template(ctx context.Context, id string) (api.Template, error) {
	var out api.Template
	_, err := c.Do(ctx, "GET", "/api/v1/templates/"+url.PathEscape(id), nil, "", nil, &out)
	return out, err
}

// PutTemplate creates or replaces the tenant's template t.ID and returns it as stored.
func (c *Client) PutTemplate(ctx context.Context, t api.Template) (api.Template, error) {
	var out api.Template
	_, err := c.Do(ctx, "PUT", "/api/v1/templates/"+url.PathEscape(t.ID), t, "", nil, &out)
	return out, err
}

// DeleteTemplate deletes the tenant's stored template; a builtin one of the same id comes
// back.
func (c *Client) DeleteTemplate(ctx context.Context, id string) error {
	_, err := c.Do(ctx, "DELETE", "/api/v1/templates/"+url.PathEscape(id), nil, "", nil, nil)
	return err
}
