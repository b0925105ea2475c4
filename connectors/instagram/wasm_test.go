//go:build !wasip1

package main

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/instagram/sim"
	"github.com/aquascene/aquahub/connectors/simkit"
	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/plugins"
	"github.com/aquascene/aquahub/plugins/wasmtest"
)

// TestWASMThroughHost builds the connector for wasip1 (once per test binary) and runs it
// through the real host (package plugins) against the simulator.
func TestWASMThroughHost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the wasm module")
	}
	s := sim.New(sim.WithProcessingPolls(2))
	ts := httptest.NewServer(s)
	defer ts.Close()
	grant := func(token string) plugins.TenantConfig {
		return plugins.TenantConfig{
			Config:  map[string]any{"base_url": ts.URL + "/v25.0", "ig_user_id": sim.DefaultUser, "poll_interval": "20ms", "publish_wait": "2s"},
			Secrets: map[string]string{"access_token": token},
			Egress:  []string{ts.URL},
		}
	}
	cat := wasmtest.Connector(t, ".", grant(sim.DefaultKey), plugins.Config{CallTimeout: 5 * time.Second, PoolSize: 1})
	step := wasmtest.Steps(cat, "aquascene", "instagram")

	// Happy path: a carousel with a video child, polled until FINISHED, published once.
	out, err := step("media.publish", album)
	if err != nil {
		t.Fatal(err)
	}
	media := s.Media()
	if len(media) != 1 || out["post_id"] != media[0].ID || out["permalink"] != media[0].Permalink || out["platform"] != "instagram" {
		t.Fatalf("output %v, media %v", out, media)
	}
	insights, err := step("insights.get", map[string]any{"media_id": out["post_id"], "metrics": []string{"reach", "views", "total_interactions"}})
	if err != nil || len(insights["metrics"].(map[string]any)) != 3 {
		t.Fatalf("insights %v %v", insights, err)
	}

	tests := []struct {
		name      string
		action    string
		inject    int
		latency   time.Duration
		input     map[string]any
		wantClass core.ErrorClass
		wantField string
	}{
		{"deprecated metric", "insights.get", 0, 0, map[string]any{"media_id": out["post_id"], "metrics": []string{"impressions"}}, core.ClassInvalidInput, "metrics[0]"},
		{"caption limit", "media.publish", 0, 0, with(image, "caption", strings.Repeat("@a ", 21)), core.ClassInvalidInput, "caption"},
		{"container error", "media.publish", 0, 0, with(reel, "video_url", "https://cdn.example.invalid/x.mp4"), core.ClassInvalidInput, "video_url"},
		{"throttled", "media.publish", 429, 0, image, core.ClassRateLimited, ""},
		{"5xx", "media.publish", 503, 0, image, core.ClassTransient, ""},
		{"timeout", "media.publish", 0, 10 * time.Second, image, core.ClassTransient, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.inject != 0 {
				s.Injector().Inject(tt.inject, 1)
			}
			if tt.latency != 0 {
				s.Injector().Set(simkit.Faults{Latency: tt.latency})
				defer s.Injector().Set(simkit.Faults{})
			}
			before := len(s.Media())
			_, err := step(tt.action, tt.input)
			var se *core.StepError
			if !errors.As(err, &se) || se.Class != tt.wantClass || fieldOf(err) != tt.wantField {
				t.Fatalf("error %#v, want class %q field %q", err, tt.wantClass, tt.wantField)
			}
			if tt.wantClass == core.ClassRateLimited && se.RetryAfter < time.Minute {
				t.Fatalf("retry after %s", se.RetryAfter)
			}
			if len(s.Media()) != before {
				t.Fatal("published despite the error")
			}
		})
	}

	t.Run("auth", func(t *testing.T) {
		bad := wasmtest.Connector(t, ".", grant("expired-token"), plugins.Config{CallTimeout: 5 * time.Second, PoolSize: 1})
		_, err := wasmtest.Steps(bad, "aquascene", "instagram")("publishing_limit.get", map[string]any{})
		var se *core.StepError
		if !errors.As(err, &se) || se.Class != core.ClassAuth {
			t.Fatalf("error %v, want auth", err)
		}
	})
}

// fieldOf returns the input field an invalid_input step error names, or "".
func fieldOf(err error) string {
	var fe *core.FieldError
	if errors.As(err, &fe) {
		return fe.Path
	}
	return ""
}
