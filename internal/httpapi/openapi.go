package httpapi

import (
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Document is the OpenAPI 3.1 description of the routes registered through Handle. It is
// built from the registrations themselves, so it cannot drift from the router.
type Document struct {
	mu      sync.Mutex
	version string
	paths   map[string]map[string]Op
}

func newDocument(version string) *Document {
	if version == "" {
		version = "dev"
	}
	return &Document{version: version, paths: map[string]map[string]Op{}}
}

func (d *Document) add(method, path string, op Op) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := fiberPathToOpenAPI(path)
	if d.paths[p] == nil {
		d.paths[p] = map[string]Op{}
	}
	d.paths[p][strings.ToLower(method)] = op
}

// Has reports whether the document describes method and path (fiber form).
func (d *Document) Has(method, path string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.paths[fiberPathToOpenAPI(path)][strings.ToLower(method)]
	return ok
}

// JSON returns the document as a JSON-ready value.
func (d *Document) JSON() map[string]any {
	d.mu.Lock()
	defer d.mu.Unlock()
	paths := map[string]any{}
	keys := make([]string, 0, len(d.paths))
	for k := range d.paths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, p := range keys {
		item := map[string]any{}
		for method, op := range d.paths[p] {
			item[method] = operation(p, method, op)
		}
		paths[p] = item
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "aquahub API",
			"version":     d.version,
			"description": "Integration hub for content and marketing operations. Errors are application/problem+json (RFC 9457).",
		},
		"servers": []any{map[string]any{"url": "/"}},
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "description": "An API key from the tenant's configuration."},
			},
			"schemas": map[string]any{
				"Problem": map[string]any{
					"type":     "object",
					"required": []string{"title", "status"},
					"properties": map[string]any{
						"type": map[string]any{"type": "string"}, "title": map[string]any{"type": "string"},
						"status": map[string]any{"type": "integer"}, "detail": map[string]any{"type": "string"},
						"instance": map[string]any{"type": "string"},
						"errors": map[string]any{"type": "array", "items": map[string]any{
							"type": "object", "properties": map[string]any{"field": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"}},
						}},
					},
				},
			},
		},
	}
}

func operation(path, method string, op Op) map[string]any {
	o := map[string]any{
		"summary":     op.Summary,
		"operationId": method + strings.NewReplacer("/", "_", "{", "", "}", "", "-", "_", ".", "_").Replace(path),
	}
	if op.Tag != "" {
		o["tags"] = []string{op.Tag}
	}
	if op.Public {
		o["security"] = []any{}
	} else {
		o["security"] = []any{map[string]any{"bearer": []string{}}}
	}
	var params []any
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") {
			params = append(params, map[string]any{"name": strings.Trim(seg, "{}"), "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
	}
	qs := make([]string, 0, len(op.Query))
	for q := range op.Query {
		qs = append(qs, q)
	}
	sort.Strings(qs)
	for _, q := range qs {
		params = append(params, map[string]any{"name": q, "in": "query", "description": op.Query[q], "schema": map[string]any{"type": "string"}})
	}
	if len(params) > 0 {
		o["parameters"] = params
	}
	if op.Request != nil {
		types := op.RequestTypes
		if len(types) == 0 {
			types = []string{"application/json"}
		}
		content := map[string]any{}
		for _, t := range types {
			content[t] = map[string]any{"schema": op.Request}
		}
		o["requestBody"] = map[string]any{"required": true, "content": content}
	}
	responses := map[string]any{}
	for code, desc := range op.Responses {
		responses[strconv.Itoa(code)] = map[string]any{"description": desc}
	}
	if len(responses) == 0 {
		responses["200"] = map[string]any{"description": "OK"}
	}
	responses["default"] = map[string]any{"description": "Error", "content": map[string]any{
		"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}},
	}}
	o["responses"] = responses
	return o
}
