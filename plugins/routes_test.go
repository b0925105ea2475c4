package plugins

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/internal/httpapi/apitest"
)

// richManifest is a manifest with the schema keywords real connectors use (closed objects,
// nested properties, enums, bounds), secrets of both uses and a rate limit, so the answer of
// GET /api/v1/connectors/{id} is checked against the document with all of them.
const richManifest = `{"abi":1,"id":"rich","version":"2.1.0","description":"every manifest field",
"actions":[{"name":"records.upsert","description":"upsert rows",
 "input":{"type":"object","additionalProperties":false,"required":["table"],"properties":{
  "table":{"type":"string","minLength":1,"description":"table name"},
  "mode":{"type":"string","enum":["merge","replace"],"default":"merge"},
  "rows":{"type":"array","maxItems":10,"items":{"type":"object","additionalProperties":{"type":"string"}}},
  "limit":{"type":"integer","minimum":1,"maximum":100}}},
 "output":{"type":"object","properties":{"ids":{"type":"array","items":{"type":"string"}}}}}],
"config":[{"name":"base_url","description":"API base","default":"https://api.rich.example"}],
"secrets":[{"name":"api_key","required":true},{"name":"signing_key","use":"sign"}],
"egress":["https://api.rich.example"],
"rate_limits":[{"origin":"https://api.rich.example","per_second":5,"path_segments":1}]}`

// routesModule is a Module over a directory holding the noop and rich modules.
func routesModule(t *testing.T) (*Module, string) {
	t.Helper()
	dir := t.TempDir()
	for name, b := range map[string][]byte{"noop.wasm": NoopModule(), "rich.wasm": noopModuleWith([]byte(strings.ReplaceAll(richManifest, "\n", "")))} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := New(context.Background(), Config{Dir: dir}, Deps{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	return m, dir
}

func TestConnectorRoutes(t *testing.T) {
	m, dir := routesModule(t)
	srv := apitest.New(t, m)
	tests := []struct {
		name, method, path, key string
		setup                   func(t *testing.T)
		status                  int
		check                   func(t *testing.T, body map[string]any)
	}{
		{name: "list", method: "GET", path: "/api/v1/connectors", key: "viewer-key", status: 200, check: func(t *testing.T, body map[string]any) {
			list := body["connectors"].([]any)
			c := list[0].(map[string]any)
			if len(list) != 2 || c["id"] != "noop" || c["version"] != "1.0.0" || c["pool_size"] != float64(4) || c["live_instances"] != float64(1) {
				t.Fatalf("got %v", body)
			}
			if r := list[1].(map[string]any); r["id"] != "rich" || r["abi_features"] == nil {
				t.Fatalf("rich connector: %v", r)
			}
		}},
		{name: "manifest", method: "GET", path: "/api/v1/connectors/noop", key: "viewer-key", status: 200, check: func(t *testing.T, body map[string]any) {
			if body["id"] != "noop" || len(body["actions"].([]any)) != 1 {
				t.Fatalf("got %v", body)
			}
		}},
		{name: "manifest with closed schemas, signing secrets and rate limits", method: "GET", path: "/api/v1/connectors/rich", key: "viewer-key", status: 200, check: func(t *testing.T, body map[string]any) {
			in := body["actions"].([]any)[0].(map[string]any)["input"].(map[string]any)
			if in["additionalProperties"] != false || body["secrets"].([]any)[1].(map[string]any)["use"] != "sign" {
				t.Fatalf("got %v", body)
			}
		}},
		{name: "unknown connector", method: "GET", path: "/api/v1/connectors/ghost", key: "viewer-key", status: 404},
		{name: "no key", method: "GET", path: "/api/v1/connectors", status: 401},
		{name: "reload", method: "POST", path: "/api/v1/connectors/reload", key: apitest.OperatorToken, status: 200, check: func(t *testing.T, body map[string]any) {
			if u := body["unchanged"].([]any); len(u) != 2 || u[0] != "noop" || len(body["loaded"].([]any)) != 0 || body["error"] != nil {
				t.Fatalf("got %v", body)
			}
		}},
		{name: "reload needs the operator", method: "POST", path: "/api/v1/connectors/reload", key: "admin-key", status: 403},
		{name: "reload reports refused files", method: "POST", path: "/api/v1/connectors/reload", key: apitest.OperatorToken, setup: func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(dir, "junk.wasm"), []byte("not wasm"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, status: 200, check: func(t *testing.T, body map[string]any) {
			failed := body["failed"].([]any)
			if len(failed) != 1 || !strings.HasSuffix(failed[0].(string), "junk.wasm") || !strings.Contains(body["error"].(string), "not a valid WebAssembly module") {
				t.Fatalf("got %v", body)
			}
		}},
		{name: "removed connectors leave an empty list", method: "GET", path: "/api/v1/connectors", key: "viewer-key", setup: func(t *testing.T) {
			for _, f := range []string{"noop.wasm", "rich.wasm", "junk.wasm"} {
				os.Remove(filepath.Join(dir, f))
			}
			if _, err := m.Catalog().Reload(context.Background()); err != nil {
				t.Fatal(err)
			}
		}, status: 200, check: func(t *testing.T, body map[string]any) {
			if list, ok := body["connectors"].([]any); !ok || len(list) != 0 {
				t.Fatalf("got %v, want connectors: []", body)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup(t)
			}
			status, body, _ := srv.Call(t, tt.method, tt.path, tt.key, nil, nil)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, body)
			}
			if tt.check != nil {
				tt.check(t, body)
			}
		})
	}
}
