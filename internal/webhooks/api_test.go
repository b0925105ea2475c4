package webhooks

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/api"
)

var at = time.Date(2025, 8, 6, 12, 0, 0, 0, time.UTC)

func TestAPIEndpointHidesSecrets(t *testing.T) {
	ep := Endpoint{
		Tenant: "aquascene", ID: "ep_1", URL: "https://example.com/hook", Events: []string{"content.*"},
		Headers: map[string]string{"X-Team": "growth"}, Description: "d", Enabled: true, DisabledReason: "r",
		FailingSince: at, RotationEndsAt: at.Add(time.Hour), CreatedAt: at, UpdatedAt: at.Add(time.Minute),
		Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", PreviousSecret: "whsec_b2xkLXNlY3JldC1vbGQtc2VjcmV0LW9sZA==",
		EndpointSettings: EndpointSettings{MaxInFlight: 2, RateLimit: 0.5, Timeout: 1500 * time.Millisecond, Ordered: true},
		OrderedHead:      "msg_9",
	}
	want := api.WebhookEndpoint{
		ID: "ep_1", URL: "https://example.com/hook", Events: []string{"content.*"}, Headers: map[string]string{"X-Team": "growth"},
		Description: "d", Enabled: true, DisabledReason: "r", FailingSince: at, RotationEndsAt: at.Add(time.Hour), CreatedAt: at, UpdatedAt: at.Add(time.Minute),
		WebhookDeliverySettings: api.WebhookDeliverySettings{MaxInFlight: 2, RateLimit: 0.5, TimeoutMS: 1500, Ordered: true},
	}
	if got := apiEndpoint(ep); !reflect.DeepEqual(got, want) {
		t.Fatalf("apiEndpoint = %+v\nwant %+v", got, want)
	}
	m, err := New(Config{}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]any{"endpoint": m.apiEndpoint(ep), "list": m.apiEndpointList([]Endpoint{ep})} {
		if b, _ := json.Marshal(v); strings.Contains(string(b), "whsec_") || strings.Contains(string(b), "aquascene") {
			t.Errorf("the %s's JSON shows a secret or the tenant: %s", name, b)
		}
	}
	withSecret := m.apiEndpointSecret(ep, "rotating")
	if withSecret.Secret != string(ep.Secret) || withSecret.WebhookID != "ep_1" || withSecret.Status != "rotating" || withSecret.ID != "ep_1" {
		t.Fatalf("apiEndpointSecret = %+v, want the current secret only", withSecret)
	}
	if b, _ := json.Marshal(withSecret); strings.Contains(string(b), string(ep.PreviousSecret)) {
		t.Fatalf("the rotate answer shows the previous secret: %s", b)
	}
}

func TestAPICircuit(t *testing.T) {
	tests := []struct {
		name  string
		state core.CircuitState
		want  *api.WebhookCircuit
	}{
		{name: "closed is absent", state: core.CircuitClosed},
		{name: "open with its probe time", state: core.CircuitOpen, want: &api.WebhookCircuit{State: "open", ProbeAt: at}},
		{name: "half open", state: core.CircuitHalfOpen, want: &api.WebhookCircuit{State: "half_open", ProbeAt: at}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := apiCircuit(tc.state, at); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("apiCircuit = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestAPIDelivery(t *testing.T) {
	d := Delivery{
		Tenant: "aquascene", ID: "msg_1", EndpointID: "ep_1", EventType: "newsletter.sent", EventID: "e1", EventSeq: 3,
		State: StatePending, Attempts: 1, NextAt: at.Add(5 * time.Second), LastError: "HTTP 500", CreatedAt: at, UpdatedAt: at,
		Log:  []Attempt{{N: 1, At: at, URL: "https://example.com/hook", Status: 500, LatencyMS: 2.5, Response: "boom", Error: "HTTP 500", Trigger: "schedule"}},
		Body: []byte(`{"id":"e1"}`), Round: 1, LeaseUntil: at, DueAt: at.Add(5 * time.Second), Trigger: "replay",
	}
	want := api.WebhookDelivery{
		ID: "msg_1", EndpointID: "ep_1", EventType: "newsletter.sent", EventID: "e1", EventSeq: 3, State: "pending", Attempts: 1,
		NextAt: at.Add(5 * time.Second), LastError: "HTTP 500", CreatedAt: at, UpdatedAt: at,
		Log: []api.WebhookAttempt{{N: 1, At: at, URL: "https://example.com/hook", Status: 500, LatencyMS: 2.5, Response: "boom", Error: "HTTP 500", Trigger: "schedule"}},
	}
	if got := apiDelivery(d); !reflect.DeepEqual(got, want) {
		t.Fatalf("apiDelivery = %+v\nwant %+v", got, want)
	}
	// A message not yet attempted has an empty log, not null: the API requires the array.
	d.Log = nil
	if b, _ := json.Marshal(apiDelivery(d)); !strings.Contains(string(b), `"attempt_log":[]`) {
		t.Fatalf("a message without attempts encodes as %s", b)
	}
	if b, _ := json.Marshal(apiDeliveryList(nil)); string(b) != `{"deliveries":[]}` {
		t.Fatalf("an empty listing encodes as %s", b)
	}
	m, err := New(Config{}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(m.apiEndpointList(nil)); string(b) != `{"webhooks":[]}` {
		t.Fatalf("an empty endpoint list encodes as %s", b)
	}
}

func TestEndpointInput(t *testing.T) {
	off := false
	in := api.WebhookEndpointInput{URL: "https://example.com", Events: []string{"*"}, Headers: map[string]string{"A": "b"}, Description: "d", Enabled: &off, Secret: "whsec_x",
		WebhookDeliverySettings: api.WebhookDeliverySettings{MaxInFlight: 3, RateLimit: 2.5, TimeoutMS: 750, Ordered: true}}
	want := EndpointInput{URL: "https://example.com", Events: []string{"*"}, Headers: map[string]string{"A": "b"}, Description: "d", Enabled: &off, Secret: "whsec_x",
		EndpointSettings: EndpointSettings{MaxInFlight: 3, RateLimit: 2.5, Timeout: 750 * time.Millisecond, Ordered: true}}
	if got := endpointInput(in); !reflect.DeepEqual(got, want) {
		t.Fatalf("endpointInput = %+v, want %+v", got, want)
	}
}
