package main

import (
	"encoding/json"
	"github.com/aquascene/aquahub/plugins/wasmtest"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
)

// TestOpenAPIDocumentOfTheWholeHub builds the hub as serve does and checks its document:
// valid OpenAPI 3.1, every operation either public or declaring a permission, and a schema
// for every request body and every 2xx answer but 204.
func TestOpenAPIDocumentOfTheWholeHub(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Storage.Path = filepath.Join(t.TempDir(), "hub.db")
	cfg.Rules.Paths = []string{filepath.Join(repoRoot(t), "examples", "aquascene", "rules")}
	cfg.Connectors.Dir = connectorsDir(t)
	cfg.Connectors.CacheDir = wasmtest.CacheDir(t)
	h, err := buildHub(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer h.close(t.Context())
	raw, err := json.Marshal(h.server.Document().JSON())
	if err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(raw)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("%s: %s", e.Message, e.Reason)
		}
	}
	var d struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			Security    []map[string]any `json:"security"`
			Permission  string           `json:"x-permission"`
			RequestBody *struct {
				Content map[string]struct{ Schema any }
			} `json:"requestBody"`
			Responses map[string]struct {
				Content map[string]struct{ Schema any } `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if d.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", d.OpenAPI)
	}
	ops := 0
	for path, methods := range d.Paths {
		for method, op := range methods {
			ops++
			name := strings.ToUpper(method) + " " + path
			if len(op.Security) > 0 && op.Permission == "" {
				t.Errorf("%s needs a credential but declares no permission", name)
			}
			if op.RequestBody != nil {
				for ct, c := range op.RequestBody.Content {
					if c.Schema == nil {
						t.Errorf("%s: request body %s has no schema", name, ct)
					}
				}
			}
			for code, r := range op.Responses {
				if !strings.HasPrefix(code, "2") || code == "204" {
					continue
				}
				if len(r.Content) == 0 {
					t.Errorf("%s: answer %s has no body schema", name, code)
				}
				for ct, c := range r.Content {
					if c.Schema == nil {
						t.Errorf("%s: answer %s (%s) has no schema", name, code, ct)
					}
				}
			}
		}
	}
	t.Logf("%d operations, every 2xx answer with a schema", ops)
}
