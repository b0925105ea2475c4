package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestTenantConnectorGrantsThroughTheAPI: a connector grant set through the tenants API is
// checked as the file's are (secrets of at least 8 bytes, secret_origins inside egress), the
// error naming the field; a valid one is stored with its bindings and shows secret names,
// never values.
func TestTenantConnectorGrantsThroughTheAPI(t *testing.T) {
	m := newMatrixHub(t)
	tests := []struct {
		name   string
		grant  map[string]any
		status int
		want   []string
	}{
		{"secret bound outside egress", map[string]any{"secrets": map[string]string{"token": "0123456789ab"}, "egress": []string{"https://a.example"},
			"secret_origins": map[string][]string{"token": {"https://b.example"}}}, 400, []string{"connectors.noop.secret_origins.token[0]", "not in egress"}},
		{"short secret", map[string]any{"secrets": map[string]string{"token": "1234567"}, "egress": []string{"https://a.example"}}, 400,
			[]string{"connectors.noop.secrets.token", "at least 8 bytes"}},
		{"bound secret", map[string]any{"secrets": map[string]string{"token": "0123456789ab"}, "egress": []string{"https://a.example", "https://b.example"},
			"secret_origins": map[string][]string{"token": {"https://b.example"}}}, 201, []string{`"secret_origins":{"token":["https://b.example"]}`, `"secrets":["token"]`}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("grant-%d", i)
			status, out, _ := m.srv.Call(t, "POST", "/api/v1/tenants", matrixOperator, map[string]any{"id": id, "connectors": map[string]any{"noop": tc.grant}}, nil)
			body := jsonText(t, out)
			if status == 201 {
				_, raw, _ := m.srv.Call(t, "GET", "/api/v1/tenants/"+id, matrixOperator, nil, nil)
				body = jsonText(t, raw)
			}
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("the answer does not say %q: %s", w, body)
				}
			}
			if strings.Contains(body, "0123456789ab") || strings.Contains(body, "1234567") {
				t.Errorf("the answer shows a secret value: %s", body)
			}
		})
	}
}

func jsonText(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
