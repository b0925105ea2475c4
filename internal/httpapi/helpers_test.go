package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/storage/bolt"
)

// noRules matches nothing: the feature tests follow events through their feature, not rules.
type noRules struct{}

func (noRules) Match(*core.Event) ([]string, error) { return nil, nil }
func (noRules) Plan(string) (core.RulePlan, bool)   { return core.RulePlan{}, false }
func (noRules) Schedules() []core.Schedule          { return nil }

// newTestEngine opens a store in a temporary directory and an engine over it with no rules;
// both are closed when the test ends.
func newTestEngine(tb testing.TB) (*bolt.Store, *core.Engine) {
	tb.Helper()
	st, err := bolt.Open(filepath.Join(tb.TempDir(), "hub.db"), bolt.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	eng, err := core.NewEngine(core.EngineOptions{Store: st, Rules: noRules{}})
	if err != nil {
		tb.Fatal(err)
	}
	return st, eng
}

// testKeys are the API keys the feature tests use: dev-key and viewer-key for tenant
// aquascene, other-key for tenant other, admin-key an alias of dev-key.
func testKeys() *APIKeys {
	keys := NewAPIKeys()
	keys.Add("dev-key", "aquascene", "admin")
	keys.Add("admin-key", "aquascene", "admin")
	keys.Add("viewer-key", "aquascene", "viewer")
	keys.Add("other-key", "other", "admin")
	return keys
}

// callAPI sends a JSON request (body as given when a string, else marshalled) through srv
// with the API key and extra headers, and returns the status, the decoded JSON object and
// the headers.
func callAPI(tb testing.TB, srv *Server, method, path, key string, body any, header map[string]string) (int, map[string]any, http.Header) {
	tb.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, r)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := srv.App().Test(req, 30_000)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, resp.Header
}
