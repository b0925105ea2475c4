//go:build !wasip1

package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/ga4/sim"
	"github.com/aquascene/aquahub/connectors/simkit"
	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/plugin/plugintest"
)

type fixture struct {
	sim *sim.Server
	ts  *httptest.Server
	h   *plugintest.Harness
}

// setup starts the simulator and a harness whose service_account secret is the
// simulator's key file; edit changes config and secrets before the harness is built.
func setup(t testing.TB, edit func(cfg map[string]any, secrets map[string]string), opts ...sim.Option) *fixture {
	t.Helper()
	s := sim.New(opts...)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	cfg := map[string]any{"base_url": ts.URL, "property_id": sim.DefaultProperty}
	secrets := map[string]string{"service_account": string(s.ServiceAccountJSON(ts.URL))}
	if edit != nil {
		edit(cfg, secrets)
	}
	h, err := plugintest.New(Connector, plugintest.Options{Config: cfg, Secrets: secrets, Egress: []string{ts.URL}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return &fixture{sim: s, ts: ts, h: h}
}

func (f *fixture) run(t testing.TB, in map[string]any) (RunOut, error) {
	t.Helper()
	out, err := f.h.Invoke(context.Background(), "reports.run", in)
	if err != nil {
		return RunOut{}, err
	}
	b, _ := json.Marshal(out)
	var r RunOut
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r, nil
}

func wantError(t testing.TB, err error, kind abi.ErrorKind, field string) *abi.Error {
	t.Helper()
	var e *abi.Error
	if !errors.As(err, &e) || e.Kind != kind || e.Field != field {
		t.Fatalf("error = %v, want %s field %q", err, kind, field)
	}
	return e
}

// seedReport is the request of the seed's track_content_performance.
var seedReport = map[string]any{
	"date_ranges": []map[string]any{{"start_date": "7daysAgo", "end_date": "today"}},
	"dimensions":  []string{"pagePath", "sessionSource"},
	"metrics":     []string{"screenPageViews", "averageSessionDuration", "bounceRate", "sessions"},
	"page_path":   "/blog/co2-basics",
	"content_id":  "550e8400-e29b-41d4-a716-446655440000",
}

func TestContentMetrics(t *testing.T) {
	f := setup(t, nil)
	out, err := f.run(t, seedReport)
	if err != nil {
		t.Fatal(err)
	}
	if out.RowCount != int64(len(sim.Sources)) || len(out.Rows) != len(sim.Sources) || len(out.ContentMetrics) != 1 || out.Pages != 1 {
		t.Fatalf("row_count %d, %d rows, %d content metrics", out.RowCount, len(out.Rows), len(out.ContentMetrics))
	}
	cm := out.ContentMetrics[0]
	var bySource int64
	for _, v := range cm.TrafficSources {
		bySource += v
	}
	if cm.PagePath != "/blog/co2-basics" || cm.ContentID != seedReport["content_id"] || len(cm.TrafficSources) != len(sim.Sources) || bySource != cm.PageViews {
		t.Fatalf("content metrics %+v", cm)
	}
	// The same page without the source breakdown has the same totals and averages.
	whole, err := f.run(t, map[string]any{"dimensions": []string{"pagePath"}, "metrics": []string{"screenPageViews", "averageSessionDuration", "bounceRate"}, "page_path": "/blog/co2-basics"})
	if err != nil {
		t.Fatal(err)
	}
	views, _ := strconv.ParseInt(whole.Rows[0].MetricValues[0], 10, 64)
	duration, _ := strconv.ParseFloat(whole.Rows[0].MetricValues[1], 64)
	bounce, _ := strconv.ParseFloat(whole.Rows[0].MetricValues[2], 64)
	if views != cm.PageViews || !near(duration, *cm.AvgSessionDuration) || !near(bounce, *cm.BounceRate) {
		t.Fatalf("per-page %d %v %v, aggregated %d %v %v", views, duration, bounce, cm.PageViews, *cm.AvgSessionDuration, *cm.BounceRate)
	}
	if out.Records[0]["pagePath"] != "/blog/co2-basics" || out.Records[0]["screenPageViews"].(float64) <= 0 {
		t.Fatalf("records %v", out.Records[0])
	}
	// Without pagePath and screenPageViews there is no content shape.
	other, err := f.run(t, map[string]any{"dimensions": []string{"sessionSource"}, "metrics": []string{"sessions"}})
	if err != nil || other.ContentMetrics != nil {
		t.Fatalf("content metrics %v, %v", other.ContentMetrics, err)
	}
}

func near(a, b float64) bool { return a-b < 1e-6 && b-a < 1e-6 }

func TestPaging(t *testing.T) {
	all := len(sim.Pages) * len(sim.Sources)
	tests := []struct {
		name          string
		pageSize      int
		limit         int
		wantRows      int
		wantPages     int
		wantTruncated bool
	}{
		{"one page", 0, 0, all, 1, false},
		{"pages of 5", 5, 0, all, (all + 4) / 5, false},
		{"pages of 7 up to a limit", 7, 20, 20, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, nil)
			in := map[string]any{"dimensions": []string{"pagePath", "sessionSource"}, "metrics": []string{"screenPageViews"},
				"order_bys": []map[string]any{{"metric": "screenPageViews", "desc": true}}}
			if tt.pageSize > 0 {
				in["page_size"] = tt.pageSize
			}
			if tt.limit > 0 {
				in["limit"] = tt.limit
			}
			out, err := f.run(t, in)
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Rows) != tt.wantRows || out.Pages != tt.wantPages || out.Truncated != tt.wantTruncated || out.RowCount != int64(all) {
				t.Fatalf("%d rows in %d pages, truncated %v, row_count %d", len(out.Rows), out.Pages, out.Truncated, out.RowCount)
			}
			seen := map[string]bool{}
			prev := int64(1 << 62)
			for _, r := range out.Rows {
				k := strings.Join(r.DimensionValues, "|")
				v, _ := strconv.ParseInt(r.MetricValues[0], 10, 64)
				if seen[k] || v > prev {
					t.Fatalf("row %s repeated or out of order", k)
				}
				seen[k], prev = true, v
			}
		})
	}
}

func TestToken(t *testing.T) {
	tests := []struct {
		name       string
		opts       []sim.Option
		between    func(f *fixture)
		wantTokens int
	}{
		{"kept in kv between calls", nil, nil, 1},
		{"refreshed once after a 401", nil, func(f *fixture) { f.sim.ExpireTokens() }, 2},
		{"replaced shortly before expiry", []sim.Option{sim.WithTokenTTL(90 * time.Second)}, nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, nil, tt.opts...)
			if _, err := f.run(t, seedReport); err != nil {
				t.Fatal(err)
			}
			if tt.between != nil {
				tt.between(f)
			}
			if _, err := f.run(t, seedReport); err != nil {
				t.Fatal(err)
			}
			if n := f.sim.TokensIssued(); n != tt.wantTokens {
				t.Fatalf("%d tokens issued, want %d", n, tt.wantTokens)
			}
			if _, ok := f.h.KV()[tokenKey]; !ok {
				t.Fatal("no token kept in kv")
			}
		})
	}
}

func pemOf(t testing.TB, k *rsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func TestAuth(t *testing.T) {
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	tests := []struct {
		name     string
		edit     func(cfg map[string]any, secrets map[string]string)
		wantKind abi.ErrorKind
		wantMsg  string
	}{
		{"PEM key with client_email and token_uri", nil, "", ""},
		{"key the account does not have", func(cfg map[string]any, s map[string]string) {
			var sa map[string]any
			_ = json.Unmarshal([]byte(s["service_account"]), &sa)
			sa["private_key"] = pemOf(t, other)
			b, _ := json.Marshal(sa)
			s["service_account"] = string(b)
		}, abi.KindAuth, "Invalid JWT Signature"},
		{"other account", func(cfg map[string]any, _ map[string]string) {
			cfg["client_email"] = "intruder@x.iam.gserviceaccount.com"
		}, abi.KindAuth, "account not found"},
		{"no key", func(_ map[string]any, s map[string]string) { delete(s, "service_account") }, abi.KindAuth, "service_account"},
		{"not a key", func(_ map[string]any, s map[string]string) { s["service_account"] = "hunter2-not-a-key" }, abi.KindAuth, "bad_key"},
		{"PEM key without client_email", func(_ map[string]any, s map[string]string) { s["service_account"] = pemOf(t, other) }, abi.KindPermanent, "config client_email"},
		{"scope without Analytics", func(cfg map[string]any, _ map[string]string) { cfg["scope"] = "https://www.googleapis.com/auth/drive" }, abi.KindAuth, "insufficient authentication scopes"},
		{"property the account cannot read", func(cfg map[string]any, _ map[string]string) { cfg["property_id"] = "999" }, abi.KindAuth, "PERMISSION_DENIED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edit := tt.edit
			if edit == nil {
				// A bare PEM key works when config names the account and the endpoint.
				edit = func(cfg map[string]any, s map[string]string) {
					var sa map[string]any
					_ = json.Unmarshal([]byte(s["service_account"]), &sa)
					s["service_account"] = sa["private_key"].(string)
					cfg["client_email"] = sa["client_email"]
					cfg["token_uri"] = sa["token_uri"]
				}
			}
			f := setup(t, edit)
			_, err := f.run(t, seedReport)
			if tt.wantKind == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			e := wantError(t, err, tt.wantKind, "")
			if !strings.Contains(e.Message, tt.wantMsg) {
				t.Fatalf("message %q, want %q in it", e.Message, tt.wantMsg)
			}
			if tt.name == "property the account cannot read" && f.sim.TokensIssued() != 2 {
				t.Fatalf("%d tokens issued, want 2 (one refresh before giving up)", f.sim.TokensIssued())
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name      string
		opts      []sim.Option
		edit      func(cfg map[string]any, secrets map[string]string)
		inject    int
		input     map[string]any
		wantKind  abi.ErrorKind
		wantField string
		wantRetry time.Duration
	}{
		{"unknown metric", nil, nil, 0, map[string]any{"metrics": []string{"sessions", "pageviews"}}, abi.KindInvalidInput, "metrics[1]", 0},
		{"unknown dimension", nil, nil, 0, map[string]any{"dimensions": []string{"page"}, "metrics": []string{"sessions"}}, abi.KindInvalidInput, "dimensions[0]", 0},
		{"end before start", nil, nil, 0, map[string]any{"metrics": []string{"sessions"}, "date_ranges": []map[string]any{{"start_date": "today", "end_date": "7daysAgo"}}}, abi.KindInvalidInput, "date_ranges[0]", 0},
		{"bad date", nil, nil, 0, map[string]any{"metrics": []string{"sessions"}, "date_ranges": []map[string]any{{"start_date": "last week", "end_date": "today"}}}, abi.KindInvalidInput, "date_ranges", 0},
		{"order by both", nil, nil, 0, map[string]any{"metrics": []string{"sessions"}, "order_bys": []map[string]any{{"metric": "sessions", "dimension": "pagePath"}}}, abi.KindInvalidInput, "order_bys[0]", 0},
		{"order by a metric not requested", nil, nil, 0, map[string]any{"metrics": []string{"sessions"}, "order_bys": []map[string]any{{"metric": "bounceRate"}}}, abi.KindInvalidInput, "order_bys[0]", 0},
		{"no property", nil, func(cfg map[string]any, _ map[string]string) { delete(cfg, "property_id") }, 0, map[string]any{"metrics": []string{"sessions"}}, abi.KindInvalidInput, "property_id", 0},
		{"concurrent requests", nil, nil, 429, seedReport, abi.KindRateLimited, "", time.Minute},
		{"hourly quota", []sim.Option{sim.WithTokensPerHour(0)}, nil, 0, seedReport, abi.KindRateLimited, "", 0},
		{"5xx", nil, nil, 503, seedReport, abi.KindTransient, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, tt.edit, tt.opts...)
			if tt.inject != 0 {
				f.sim.Injector().Inject(tt.inject, 1)
			}
			_, err := f.run(t, tt.input)
			e := wantError(t, err, tt.wantKind, tt.wantField)
			if tt.wantRetry > 0 && e.RetryAfter() != tt.wantRetry {
				t.Fatalf("retry after %s, want %s", e.RetryAfter(), tt.wantRetry)
			}
			if tt.name == "hourly quota" && (e.RetryAfter() < time.Minute || e.RetryAfter() > time.Hour) {
				t.Fatalf("retry after %s, want until the next hour", e.RetryAfter())
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	f := setup(t, nil)
	f.sim.Injector().Set(simkit.Faults{Latency: 10 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := f.h.Invoke(ctx, "reports.run", seedReport)
	wantError(t, err, abi.KindTransient, "")
}
