package httpapi

import (
	"encoding/json"
	"fmt"
	"path"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/invopop/jsonschema"
)

// Document is the OpenAPI 3.1 description of the registered operations. It is built from the
// registrations themselves, with request and response schemas generated from the Go types
// the operations name, so it cannot drift from the router or from what handlers send.
type Document struct {
	mu      sync.Mutex
	version string
	paths   map[string]map[string]Op
	// schemas are the components/schemas, by name; names maps each name to its Go type so
	// that two types of one name from different packages get distinct names.
	schemas map[string]any
	names   map[string]reflect.Type
	refs    map[reflect.Type]map[string]any
}

func newDocument(version string) *Document {
	if version == "" {
		version = "dev"
	}
	return &Document{version: version, paths: map[string]map[string]Op{}, schemas: map[string]any{},
		names: map[string]reflect.Type{}, refs: map[reflect.Type]map[string]any{}}
}

func (d *Document) add(op Op) error {
	if err := checkOp(op); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if op.Request != nil {
		if _, err := d.schemaOf(op.Request); err != nil {
			return fmt.Errorf("operation %s %s: request: %w", op.Method, op.Path, err)
		}
	}
	for _, r := range op.Responses {
		for _, body := range append([]any{r.Body}, r.OneOf...) {
			if body == nil {
				continue
			}
			if _, err := d.schemaOf(body); err != nil {
				return fmt.Errorf("operation %s %s: response %d: %w", op.Method, op.Path, r.Status, err)
			}
		}
	}
	p := openAPIPath(op.Path)
	if d.paths[p] == nil {
		d.paths[p] = map[string]Op{}
	}
	method := strings.ToLower(op.Method)
	if _, dup := d.paths[p][method]; dup {
		return fmt.Errorf("operation %s %s is registered twice", op.Method, op.Path)
	}
	d.paths[p][method] = op
	return nil
}

// schemaOf returns the schema of v's type: a $ref into components/schemas for named struct
// types, the schema itself otherwise. Generating it adds every named type it uses to the
// components.
func (d *Document) schemaOf(v any) (map[string]any, error) {
	t := reflect.TypeOf(v)
	if s, ok := d.refs[t]; ok {
		return s, nil
	}
	r := &jsonschema.Reflector{Anonymous: true, Namer: d.namer}
	raw, err := json.Marshal(r.ReflectFromType(t))
	if err != nil {
		return nil, err
	}
	raw = []byte(strings.ReplaceAll(string(raw), `"#/$defs/`, `"#/components/schemas/`))
	var s map[string]any
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	defs, _ := s["$defs"].(map[string]any)
	for name, def := range defs {
		d.schemas[name] = def
	}
	delete(s, "$defs")
	delete(s, "$schema")
	d.refs[t] = s
	return s, nil
}

// namer names a type by its Go name, qualified by its package when another package already
// took the name.
func (d *Document) namer(t reflect.Type) string {
	if t == nil {
		return ""
	}
	name := t.Name()
	if name == "" {
		return ""
	}
	if prev, ok := d.names[name]; ok && prev != t {
		pkg := path.Base(t.PkgPath())
		name = strings.ToUpper(pkg[:1]) + pkg[1:] + name
	}
	d.names[name] = t
	return name
}

// Operations lists the registered operations by method and path (OpenAPI form).
func (d *Document) Operations() map[string]Op {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]Op{}
	for p, ops := range d.paths {
		for m, op := range ops {
			out[strings.ToUpper(m)+" "+p] = op
		}
	}
	return out
}

// Has reports whether the document describes method and path (fiber form).
func (d *Document) Has(method, path string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.paths[openAPIPath(path)][strings.ToLower(method)]
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
			item[method] = d.operation(p, method, op)
		}
		paths[p] = item
	}
	schemas := map[string]any{"Problem": problemSchema}
	for name, s := range d.schemas {
		schemas[name] = s
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
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "description": "An API key (aqh_live_…, or one from the configuration file), a JWT, or for operator operations the hub operator's token."},
			},
			"schemas": schemas,
		},
	}
}

var problemSchema = map[string]any{
	"type":     "object",
	"required": []string{"title", "status"},
	"properties": map[string]any{
		"type": map[string]any{"type": "string"}, "title": map[string]any{"type": "string"},
		"status": map[string]any{"type": "integer"}, "detail": map[string]any{"type": "string"},
		"instance": map[string]any{"type": "string"},
		"errors": map[string]any{"type": "array", "items": map[string]any{
			"type": "object", "required": []string{"field", "message"},
			"properties": map[string]any{"field": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"}},
		}},
	},
}

func (d *Document) operation(path, method string, op Op) map[string]any {
	o := map[string]any{
		"summary":     op.Summary,
		"operationId": method + strings.NewReplacer("/", "_", "{", "", "}", "", "-", "_", ".", "_").Replace(path),
	}
	if op.Tag != "" {
		o["tags"] = []string{op.Tag}
	}
	switch {
	case op.Scrape:
		// Open unless server.metrics_token is set.
		o["security"] = []any{map[string]any{}, map[string]any{"bearer": []string{}}}
	case op.Public:
		o["security"] = []any{}
	default:
		o["security"] = []any{map[string]any{"bearer": []string{}}}
		o["x-permission"] = string(op.Permission)
		if op.Operator {
			o["x-operator"] = true
		}
	}
	var params []any
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") {
			params = append(params, map[string]any{"name": strings.Trim(seg, "{}"), "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
	}
	for _, q := range op.Query {
		params = append(params, map[string]any{"name": q.Name, "in": "query", "description": q.Description, "schema": map[string]any{"type": "string"}})
	}
	if len(params) > 0 {
		o["parameters"] = params
	}
	if op.Request != nil || op.RequestSchema != nil {
		schema := op.RequestSchema
		if schema == nil {
			schema = d.refs[reflect.TypeOf(op.Request)]
		}
		types := op.RequestTypes
		if len(types) == 0 {
			types = []string{"application/json"}
		}
		content := map[string]any{}
		for _, t := range types {
			content[t] = map[string]any{"schema": schema}
		}
		o["requestBody"] = map[string]any{"required": true, "content": content}
	}
	responses := map[string]any{}
	for _, r := range op.Responses {
		resp := map[string]any{"description": r.Description}
		ct := r.ContentType
		if ct == "" {
			ct = "application/json"
		}
		switch {
		case r.Body != nil:
			resp["content"] = map[string]any{ct: map[string]any{"schema": d.refs[reflect.TypeOf(r.Body)]}}
		case len(r.OneOf) > 0:
			var alts []any
			for _, b := range r.OneOf {
				alts = append(alts, d.refs[reflect.TypeOf(b)])
			}
			resp["content"] = map[string]any{ct: map[string]any{"schema": map[string]any{"oneOf": alts}}}
		case r.Status >= 400:
			resp["content"] = problemContent()
		}
		responses[strconv.Itoa(r.Status)] = resp
	}
	responses["default"] = map[string]any{"description": "Error", "content": problemContent()}
	o["responses"] = responses
	return o
}

func problemContent() map[string]any {
	return map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}}
}

// openAPIPath turns /runs/:id into /runs/{id}.
func openAPIPath(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		if strings.HasPrefix(part, ":") {
			parts[i] = "{" + strings.TrimSuffix(strings.TrimPrefix(part, ":"), "?") + "}"
		}
	}
	return strings.Join(parts, "/")
}
