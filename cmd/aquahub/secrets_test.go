package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/logtest"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/internal/config"
	"github.com/aquascene/aquahub/internal/identity"
	"github.com/aquascene/aquahub/plugins"
	"github.com/aquascene/aquahub/plugins/wasmtest"
	"github.com/aquascene/aquahub/sdk/client"
)

// TestRunRecordsNeverShowSecrets runs a hostile connector in a whole hub: it collects the
// tenant's secret from a granted server in thirds (each too short to be caught on the way
// in), then puts it in its step output, its log and, in a second rule, its error. Neither
// GET /api/v1/runs/{id} nor the hub's log may show it, and the hub keeps serving.
func TestRunRecordsNeverShowSecrets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a connector and runs a hub")
	}
	const secret = "sk-live-q7fx2plm9rtz4wke0042xyz"
	sum := sha256.Sum256([]byte(secret))
	reflector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := r.Header.Get("X-Api-Key")
		var i int
		fmt.Sscanf(r.URL.Path, "/piece/%d", &i)
		n := (len(s) + 2) / 3
		w.Header().Set("X-Piece", s[min(len(s), i*n):min(len(s), (i+1)*n)])
	}))
	defer reflector.Close()

	dir := t.TempDir()
	conns := filepath.Join(dir, "connectors")
	os.MkdirAll(conns, 0o755)
	wasm, err := os.ReadFile(wasmtest.Build(t, "../../plugins/testdata/hostile"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(conns, "hostile.wasm"), wasm, 0o644)
	var requests strings.Builder
	for i := range 3 {
		fmt.Fprintf(&requests, "            - { url: \"%s/piece/%d\", headers: { X-Api-Key: \"{{secret:token}}\" } }\n", reflector.URL, i)
	}
	step := func(extra string) string {
		return "    steps:\n      - id: steal\n        connector: hostile\n        action: steal\n        with:\n" +
			"          sha256: " + hex.EncodeToString(sum[:]) + "\n          " + extra + "\n          requests:\n" + requests.String()
	}
	rules := "rules:\n  - id: steal-output\n    on: steal.output\n" + step("emit: true") +
		"  - id: steal-error\n    on: steal.error\n" + step("fail: true")
	os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(rules), 0o644)

	cfg := DefaultConfig()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Storage.Path = filepath.Join(dir, "aquahub.db")
	cfg.Rules.Paths = []string{filepath.Join(dir, "rules.yaml")}
	cfg.Connectors.Dir = conns
	cfg.Connectors.CacheDir = wasmtest.CacheDir(t)
	cfg.Connectors.WatchInterval = 0
	cfg.Tenants = []Tenant{{ID: DevTenant, TenantConfig: identity.TenantConfig{APIKeys: []identity.ConfigKey{{Key: DevAPIKey, Role: core.RoleAdmin}}},
		Connectors: map[string]plugins.TenantConfig{"hostile": {
			Secrets: map[string]string{"token": secret}, Egress: []string{reflector.URL},
			SecretOrigins: map[string][]string{"token": {reflector.URL}},
		}}}}
	if err := config.Validate(&cfg); err != nil {
		t.Fatal(err)
	}
	var logs logtest.Buffer
	h, err := buildHub(cfg, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	addr, _, err := h.start(context.Background())
	if err != nil {
		h.close(context.Background())
		t.Fatal(err)
	}
	defer h.shutdown()
	base := "http://" + addr.String()
	hub := client.New(base, DevAPIKey)

	forms := map[string]string{
		"plain": secret, "base64": base64.StdEncoding.EncodeToString([]byte(secret)),
		"basic": base64.StdEncoding.EncodeToString([]byte("u:" + secret)), "hex": hex.EncodeToString([]byte(secret)),
	}
	noSecret := func(what, text string) {
		t.Helper()
		for name, f := range forms {
			if strings.Contains(strings.ToLower(text), strings.ToLower(f)) {
				t.Fatalf("%s shows the secret (%s):\n%s", what, name, text)
			}
		}
	}
	for _, tt := range []struct {
		event, status, want string
	}{
		{"steal.output", "succeeded", `"assembled":"[redacted]"`},
		{"steal.error", "dead", `stolen [redacted]`},
	} {
		t.Run(tt.event, func(t *testing.T) {
			acc, err := hub.SendEvent(context.Background(), client.Event{ID: tt.event, Source: "test", Type: tt.event})
			if err != nil || len(acc.Runs) != 1 {
				t.Fatalf("%+v %v", acc, err)
			}
			var raw json.RawMessage
			var run client.Run
			for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
				if _, err := hub.Do(context.Background(), "GET", "/api/v1/runs/"+acc.Runs[0], nil, "", nil, &raw); err != nil {
					t.Fatal(err)
				}
				json.Unmarshal(raw, &run)
				if run.Status == "succeeded" || run.Status == "dead" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the run did not finish: %s", raw)
				}
			}
			if run.Status != tt.status || !strings.Contains(string(raw), tt.want) {
				t.Fatalf("status %s, want %s with %q in\n%s", run.Status, tt.status, tt.want, raw)
			}
			// The connector did hold the secret; what is under test is where it went.
			if tt.status == "succeeded" && !strings.Contains(string(raw), `"leaked":true`) {
				t.Fatalf("the connector did not assemble the secret, which this test needs:\n%s", raw)
			}
			noSecret("GET /api/v1/runs/"+acc.Runs[0], string(raw))
			var list json.RawMessage
			if _, err := hub.Do(context.Background(), "GET", "/api/v1/runs?limit=10", nil, "", nil, &list); err != nil {
				t.Fatal(err)
			}
			noSecret("GET /api/v1/runs", string(list))
		})
	}
	noSecret("the hub's log", logs.String())
	if !strings.Contains(logs.String(), "stolen [redacted]") {
		t.Fatalf("the connector's log line is missing from the hub's log")
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/healthz: %d", resp.StatusCode)
	}
}
