//go:build !wasip1

package main

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/mailchimp/sim"
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
	s := sim.New()
	ts := httptest.NewServer(s)
	defer ts.Close()
	config := map[string]any{"base_url": ts.URL + "/3.0", "list_id": sim.DefaultList}
	cat := wasmtest.Connector(t, ".", plugins.TenantConfig{Config: config, Secrets: map[string]string{"api_key": sim.DefaultKey}, Egress: []string{ts.URL}},
		plugins.Config{CallTimeout: 2 * time.Second, PoolSize: 1})
	run := wasmtest.Steps(cat, "aquascene", "mailchimp")
	member := func(email string) map[string]any {
		return map[string]any{"email": email, "merge_fields": map[string]any{"FNAME": "Ana"}, "tags": []any{"newsletter"}}
	}

	// Happy path: a subscriber, then a newsletter created, filled and sent to the audience.
	out, err := run("members.upsert", member("ana@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if out["status"] != "subscribed" || len(s.Members(sim.DefaultList)) != 1 {
		t.Fatalf("members.upsert output %v", out)
	}
	out, err = run("newsletter.send", map[string]any{
		"subject_line": "CO2 basics", "from_name": "AquaScene Team", "reply_to": "hello@aquascene.bg", "html": "<p>CO2</p>",
	})
	if err != nil {
		t.Fatal(err)
	}
	if out["status"] != "sent" || fmt.Sprint(out["emails_sent"]) != "1" || len(s.Campaigns()) != 1 {
		t.Fatalf("newsletter.send output %v, %d campaigns", out, len(s.Campaigns()))
	}

	tests := []struct {
		name      string
		inject    int
		latency   time.Duration
		action    string
		input     map[string]any
		wantClass core.ErrorClass
		retryOK   bool
	}{
		{"4xx", 0, 0, "campaigns.send", map[string]any{"campaign_id": "nosuchcampaign"}, core.ClassNotFound, false},
		{"429 then success", 429, 0, "members.upsert", member("bo@example.com"), core.ClassRateLimited, true},
		{"5xx then success", 503, 0, "members.upsert", member("cy@example.com"), core.ClassTransient, true},
		{"timeout", 0, 5 * time.Second, "members.upsert", member("di@example.com"), core.ClassTransient, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.inject != 0 {
				s.Injector().Inject(tt.inject, 1)
			}
			if tt.latency != 0 {
				s.Injector().Set(simkit.Faults{Latency: tt.latency})
			}
			_, err := run(tt.action, tt.input)
			var se *core.StepError
			if !errors.As(err, &se) || se.Class != tt.wantClass {
				t.Fatalf("error %v, want class %q", err, tt.wantClass)
			}
			if tt.wantClass == core.ClassRateLimited && se.RetryAfter != 10*time.Second {
				t.Fatalf("retry after %s, want 10s (Mailchimp sends no reset header)", se.RetryAfter)
			}
			s.Injector().Set(simkit.Faults{})
			if tt.retryOK {
				before := len(s.Members(sim.DefaultList))
				if _, err := run(tt.action, tt.input); err != nil {
					t.Fatalf("retry: %v", err)
				}
				if n := len(s.Members(sim.DefaultList)); n != before+1 {
					t.Fatalf("%d members after the retry, want %d", n, before+1)
				}
			}
		})
	}

	// Neither dc nor base_url: the host derives dc from the key's suffix (us21), and the
	// connector goes for that data center, which this tenant has not granted.
	delete(config, "base_url")
	_, err = run("members.upsert", member("ed@example.com"))
	var se *core.StepError
	if !errors.As(err, &se) || se.Class != core.ClassPermanent || !strings.Contains(err.Error(), "https://us21.api.mailchimp.com:443 is not granted") {
		t.Fatalf("without dc and base_url: %v, want the derived data center us21", err)
	}
	config["dc"] = "us-21"
	if _, err = run("members.upsert", member("ed@example.com")); err == nil || !strings.Contains(err.Error(), `config.dc must be a data center such as us21`) {
		t.Fatalf("with a malformed dc: %v", err)
	}
}
