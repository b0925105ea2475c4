package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/aquascene/aquahub/plugins"
)

func TestConnectorRoutes(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "noop.wasm"), plugins.NoopModule(), 0o644); err != nil {
		t.Fatal(err)
	}
	cat, err := plugins.Open(context.Background(), plugins.Options{Dir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close(context.Background()) })
	_, eng := newTestEngine(t)
	srv := New(Options{Engine: eng, Auth: testKeys(), Features: []Routes{ConnectorRoutes(cat)}})

	get := func(method, path string) (int, map[string]any) {
		t.Helper()
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("Authorization", "Bearer admin-key")
		resp, err := srv.App().Test(req, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	tests := []struct {
		name, method, path string
		status             int
		check              func(t *testing.T, body map[string]any)
	}{
		{"list", "GET", "/api/v1/connectors", 200, func(t *testing.T, body map[string]any) {
			list := body["connectors"].([]any)
			c := list[0].(map[string]any)
			if len(list) != 1 || c["id"] != "noop" || c["version"] != "1.0.0" || c["pool_size"] != float64(4) {
				t.Fatalf("got %v", body)
			}
		}},
		{"manifest", "GET", "/api/v1/connectors/noop", 200, func(t *testing.T, body map[string]any) {
			if body["id"] != "noop" || len(body["actions"].([]any)) != 1 {
				t.Fatalf("got %v", body)
			}
		}},
		{"unknown connector", "GET", "/api/v1/connectors/ghost", 404, nil},
		{"reload", "POST", "/api/v1/connectors/reload", 200, func(t *testing.T, body map[string]any) {
			if u := body["unchanged"].([]any); len(u) != 1 || u[0] != "noop" {
				t.Fatalf("got %v", body)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := get(tt.method, tt.path)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, body)
			}
			if tt.check != nil {
				tt.check(t, body)
			}
		})
	}
}
