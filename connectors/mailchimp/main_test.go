//go:build !wasip1

package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/mailchimp/sim"
	"github.com/aquascene/aquahub/connectors/simkit"
	"github.com/aquascene/aquahub/connectors/simkit/simtest"
	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/plugin/plugintest"
)

func setup(t testing.TB, key string, config map[string]any) (*sim.Server, *plugintest.Harness) {
	t.Helper()
	s := sim.New()
	ts := simtest.Serve(t, s, nil)
	cfg := map[string]any{"base_url": ts.URL + "/3.0", "list_id": sim.DefaultList}
	for k, v := range config {
		cfg[k] = v
	}
	h := plugintest.Start(t, Connector, plugintest.Options{
		Config: cfg, Secrets: map[string]string{"api_key": key}, Egress: []string{ts.URL}, Timeout: 5 * time.Second,
	})
	return s, h
}

// TestDataCenterFromTheKey checks that the host derives dc from the key's suffix (the
// manifest's from_secret) when the tenant sets neither dc nor base_url, so the connector
// calls the key's data center without ever holding the key.
func TestDataCenterFromTheKey(t *testing.T) {
	tests := []struct {
		name   string
		config map[string]any
		want   string
	}{
		{"derived", map[string]any{}, "https://us21.api.mailchimp.com:443 is not granted"},
		{"dc set by the tenant wins", map[string]any{"dc": "us7"}, "https://us7.api.mailchimp.com:443 is not granted"},
		{"no suffix", nil, "no data center suffix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := sim.DefaultKey
			if tt.config == nil {
				key = "aquahubdev0000000000000000000000"
			}
			h, err := plugintest.New(Connector, plugintest.Options{Config: tt.config, Secrets: map[string]string{"api_key": key}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = h.Invoke(context.Background(), "members.upsert", map[string]any{"list_id": "l1", "email": "a@b.co"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

var newsletter = map[string]any{
	"subject_line": "This Week in Aquascaping", "title": "AquaScene Newsletter - CO2", "from_name": "AquaScene Team",
	"reply_to": "hello@aquascene.bg", "to_name": "*|FNAME|*", "html": "<h1>CO2</h1>",
}

func subscribe(t testing.TB, h *plugintest.Harness, email string) {
	t.Helper()
	out, err := h.Invoke(context.Background(), "members.upsert", map[string]any{"email": email, "merge_fields": map[string]any{"FNAME": "Ann"}})
	if err != nil || out["status"] != "subscribed" || out["id"] != SubscriberHash(email) {
		t.Fatalf("members.upsert = %v, %v", out, err)
	}
}

func TestNewsletterSend(t *testing.T) {
	s, h := setup(t, sim.DefaultKey, nil)
	subscribe(t, h, "Reader@Example.com")
	out, err := h.Invoke(context.Background(), "newsletter.send", newsletter)
	if err != nil {
		t.Fatal(err)
	}
	cs := s.Campaigns()
	if len(cs) != 1 || cs[0].Status != "sent" || cs[0].EmailsSent != 1 || out["campaign_id"] != cs[0].ID || out["status"] != "sent" {
		t.Fatalf("campaigns = %+v, out = %v", cs, out)
	}
	for _, r := range s.Requests() {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Basic ") {
			t.Fatalf("request without Basic auth: %v", r.Header)
		}
	}
}

// A newsletter.send that fails after creating the campaign resumes with that campaign.
func TestNewsletterResumes(t *testing.T) {
	tests := []struct {
		name string
		// failAt is the index of the request answered 503: 0 create, 1 content, 2 send.
		failAt int
	}{
		{"create fails", 0},
		{"content fails", 1},
		{"send fails", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, h := setup(t, sim.DefaultKey, nil)
			subscribe(t, h, "a@example.com")
			if tt.failAt == 0 {
				s.Injector().Inject(503, 1)
			} else {
				s.Injector().Set(simkit.Faults{RateLimitEvery: tt.failAt, RateLimitBurst: 1})
			}
			_, err := h.Invoke(context.Background(), "newsletter.send", newsletter)
			var e *abi.Error
			if !errors.As(err, &e) || (e.Kind != abi.KindTransient && e.Kind != abi.KindRateLimited) {
				t.Fatalf("first attempt = %v", err)
			}
			s.Injector().Set(simkit.Faults{})
			out, err := h.Invoke(context.Background(), "newsletter.send", newsletter)
			if err != nil {
				t.Fatal(err)
			}
			cs := s.Campaigns()
			if len(cs) != 1 || cs[0].Status != "sent" || out["campaign_id"] != cs[0].ID {
				t.Fatalf("%d campaigns after the retry, want exactly one sent: %+v", len(cs), cs)
			}
		})
	}
}

// The campaign created by an attempt that died before recording its id (kv says "creating")
// is found by the step marker in its title instead of being created twice.
func TestNewsletterFindsOrphanCampaign(t *testing.T) {
	s, h := setup(t, sim.DefaultKey, nil)
	subscribe(t, h, "a@example.com")
	ctx := context.Background()
	orphan, err := h.Invoke(ctx, "campaigns.create", map[string]any{
		"subject_line": "s", "from_name": "f", "reply_to": "a@aquascene.bg", "title": "AquaScene Newsletter - CO2 (" + marker("idem-test") + ")",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.KVSet(ctx, "newsletter/idem-test", []byte(`{"creating":true}`)); err != nil {
		t.Fatal(err)
	}
	out, err := h.Invoke(ctx, "newsletter.send", newsletter)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.Campaigns()); n != 1 || out["campaign_id"] != orphan["campaign_id"] || s.Campaigns()[0].Status != "sent" {
		t.Fatalf("%d campaigns, sent %v; want the orphan %v sent", n, out["campaign_id"], orphan["campaign_id"])
	}
}

func TestCampaignSteps(t *testing.T) {
	s, h := setup(t, sim.DefaultKey, nil)
	subscribe(t, h, "a@example.com")
	ctx := context.Background()
	c, err := h.Invoke(ctx, "campaigns.create", map[string]any{"subject_line": "s", "from_name": "f", "reply_to": "a@aquascene.bg"})
	if err != nil {
		t.Fatal(err)
	}
	id := c["campaign_id"].(string)
	_, err = h.Invoke(ctx, "campaigns.send", map[string]any{"campaign_id": id})
	var e *abi.Error
	if !errors.As(err, &e) || e.Kind != abi.KindInvalidInput || !strings.Contains(e.Message, "not ready") {
		t.Fatalf("send without content = %v", err)
	}
	if _, err := h.Invoke(ctx, "campaigns.set_content", map[string]any{"campaign_id": id, "html": "<p>x</p>"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // a second send (lost answer, retry) is a success too
		out, err := h.Invoke(ctx, "campaigns.send", map[string]any{"campaign_id": id})
		if err != nil || out["status"] != "sent" {
			t.Fatalf("send %d = %v, %v", i, out, err)
		}
	}
	if s.Campaigns()[0].EmailsSent != 1 {
		t.Fatalf("campaign = %+v", s.Campaigns()[0])
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name      string
		key       string
		config    map[string]any
		inject    int
		action    string
		input     map[string]any
		wantKind  abi.ErrorKind
		wantField string
	}{
		{"bad key", "nope-us21", nil, 0, "members.upsert", map[string]any{"email": "a@b.co"}, abi.KindAuth, ""},
		{"unknown list", sim.DefaultKey, nil, 0, "members.upsert", map[string]any{"email": "a@b.co", "list_id": "nope"}, abi.KindNotFound, ""},
		{"unknown campaign", sim.DefaultKey, nil, 0, "campaigns.send", map[string]any{"campaign_id": "nope"}, abi.KindNotFound, ""},
		{"bad type", sim.DefaultKey, nil, 0, "campaigns.create", map[string]any{"type": "weekly", "subject_line": "s", "from_name": "f", "reply_to": "a@b.co"}, abi.KindInvalidInput, "type"},
		{"no content", sim.DefaultKey, nil, 0, "campaigns.set_content", map[string]any{"campaign_id": "x"}, abi.KindInvalidInput, "html"},
		{"no dc and a key without one", "aquahubdev0000000000000000000000", map[string]any{"base_url": ""}, 0, "members.upsert", map[string]any{"email": "a@b.co"}, abi.KindPermanent, ""},
		{"429", sim.DefaultKey, nil, 429, "members.upsert", map[string]any{"email": "a@b.co"}, abi.KindRateLimited, ""},
		{"500", sim.DefaultKey, nil, 500, "members.upsert", map[string]any{"email": "a@b.co"}, abi.KindTransient, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, h := setup(t, tt.key, tt.config)
			if tt.inject != 0 {
				s.Injector().Inject(tt.inject, 1)
			}
			_, err := h.Invoke(context.Background(), tt.action, tt.input)
			var e *abi.Error
			if !errors.As(err, &e) || e.Kind != tt.wantKind || e.Field != tt.wantField {
				t.Fatalf("error = %#v, want %s field %q", err, tt.wantKind, tt.wantField)
			}
			if tt.inject != 0 {
				if _, err := h.Invoke(context.Background(), tt.action, tt.input); err != nil {
					t.Fatalf("after the fault: %v", err)
				}
			}
		})
	}
}
