package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func TestBenchPipelineDeliversEveryEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a hub with a wasm connector")
	}
	conns := connectorsDir(t)
	for _, tc := range []struct {
		name      string
		connector string
		events    int
	}{
		{name: "http connector to the counting sink", connector: "http", events: 300},
		{name: "sendgrid connector to the simulator", connector: "sendgrid", events: 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runAquahub(t, "bench", "pipeline", "--connectors", conns, "--connector", tc.connector,
				"--events", strconv.Itoa(tc.events), "--clients", "4", "--json")
			if err != nil {
				t.Fatalf("bench pipeline: %v\n%s", err, out)
			}
			var res pipelineResult
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("--json printed %q: %v", out, err)
			}
			if res.Accepted != int64(tc.events) || res.Errors != 0 || res.Delivered != int64(tc.events) {
				t.Fatalf("accepted %d (%d errors), delivered %d; want all %d", res.Accepted, res.Errors, res.Delivered, tc.events)
			}
			if res.BytesPerEvent <= 0 || res.CPUSecondsPer1000 <= 0 || res.DeliveryP99MS < res.DeliveryP50MS {
				t.Fatalf("figures missing or inconsistent: %+v", res)
			}
		})
	}
}

func TestBenchPipelineRefusals(t *testing.T) {
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"title":"unknown API key"}`))
	}))
	defer refusing.Close()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{name: "unknown connector", args: []string{"--connector", "ftp"}, want: "--connector: must be http or sendgrid"},
		{name: "module missing", args: []string{"--connectors", t.TempDir()}, want: "run make connectors first"},
		{name: "hub refuses every event", args: []string{"--url", refusing.URL, "--key", "wrong"}, want: `no event was accepted (first error: 401 {"title":"unknown API key"})`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runAquahub(t, append([]string{"bench", "pipeline", "--events", "10"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v (output %q); want one containing %q", err, out, tc.want)
			}
		})
	}
}
