package inbound_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/inbound"
	"github.com/aquascene/aquahub/sdk/netguard"
)

func TestAirtableSourceFields(t *testing.T) {
	const secret = "c2VjcmV0LWtleQ=="
	tests := []struct {
		name    string
		cfg     inbound.SourceConfig
		wantErr []string
	}{
		{name: "verification only", cfg: inbound.SourceConfig{Verifier: "airtable", Secret: secret}},
		{name: "payload fetch", cfg: inbound.SourceConfig{Verifier: "airtable", Secret: secret, BaseURL: "http://127.0.0.1:8781", Token: "patX", BaseID: "appAquaSceneDev01", WebhookID: "achAquaSceneDev01"}},
		{name: "fetch without webhook id", cfg: inbound.SourceConfig{Verifier: "airtable", Secret: secret, Token: "patX", BaseID: "appAquaSceneDev01"},
			wantErr: []string{"webhook_id: must be the webhook's id"}},
		{name: "fetch without token", cfg: inbound.SourceConfig{Verifier: "airtable", Secret: secret, BaseID: "appAquaSceneDev01", WebhookID: "achAquaSceneDev01"},
			wantErr: []string{"token: required"}},
		{name: "bad base id and url", cfg: inbound.SourceConfig{Verifier: "airtable", Secret: secret, Token: "patX", BaseID: "base1", WebhookID: "achAquaSceneDev01", BaseURL: "ftp://x"},
			wantErr: []string{"base_id: must be a base id", `base_url: must be an http(s) URL (got "ftp://x")`}},
		{name: "airtable fields on another verifier", cfg: inbound.SourceConfig{Verifier: "hmac", Secret: "s", WebhookID: "achAquaSceneDev01"},
			wantErr: []string{"webhook_id: applies only to verifier airtable"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestValidSourceName(t *testing.T) {
	for name, ok := range map[string]bool{"content-updates": true, "sendgrid_2": true, "": false, "Content": false, "a/b": false, "-x": false} {
		if got := inbound.ValidSourceName(name); got != ok {
			t.Errorf("ValidSourceName(%q) = %v, want %v", name, got, ok)
		}
	}
}

// tokenScheme is a scheme defined outside the package, as a new verifier is: a shared token
// in X-Token.
func tokenScheme() inbound.Scheme {
	return inbound.Scheme{
		Name:   "token",
		Fields: []string{"header"},
		New: func(cfg inbound.SourceConfig) (inbound.Verifier, error) {
			if len(cfg.Secret) < 8 {
				return nil, core.Invalid("secret", "a token has at least 8 characters")
			}
			return tokenVerifier(cfg.Secret), nil
		},
	}
}

type tokenVerifier string

func (v tokenVerifier) Verify(r inbound.Request) (inbound.Verified, error) {
	if r.Header.Get("X-Token") != string(v) {
		return inbound.Verified{}, inbound.ErrUnauthorized
	}
	return inbound.Verified{}, nil
}

// TestOneRegistrationAddsAScheme: a scheme in the registry is accepted by validation and
// served by the module; nothing else names it.
func TestOneRegistrationAddsAScheme(t *testing.T) {
	schemes, err := inbound.NewSchemes(tokenScheme())
	if err != nil {
		t.Fatal(err)
	}
	cfg := inbound.SourceConfig{Verifier: "token", Secret: "s3cret-token"}
	if err := schemes.Validate(cfg); err != nil {
		t.Fatalf("Validate = %v", err)
	}
	var fe *core.FieldError
	if err := schemes.Validate(inbound.SourceConfig{Verifier: "token", Secret: "short"}); !errors.As(err, &fe) || fe.Path != "secret" {
		t.Fatalf("the scheme's own check: %v, want an error on secret", err)
	}
	if err := schemes.Validate(inbound.SourceConfig{Verifier: "hmac", Secret: "k"}); !errors.As(err, &fe) || fe.Path != "verifier" || !strings.Contains(err.Error(), "token") {
		t.Fatalf("a scheme not in the registry: %v, want verifier: must be one of token", err)
	}
	pub := &recPublisher{}
	m, err := inbound.New(map[string]map[string]inbound.SourceConfig{"aquascene": {"partner": cfg}},
		inbound.Deps{Store: nopStore{}, Publisher: pub, Schemes: schemes, Policy: netguard.Policy{}})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"X-Token": {"s3cret-token"}}
	if _, err := m.Receive(t.Context(), "aquascene", "partner", h, []byte(`{"a":1}`)); err != nil || len(pub.events) != 1 || pub.events[0].Type != "partner.received" {
		t.Fatalf("Receive = %v, published %+v", err, pub.events)
	}
	if _, err := m.Receive(t.Context(), "aquascene", "partner", http.Header{}, []byte(`{}`)); !errors.Is(err, inbound.ErrUnauthorized) {
		t.Fatalf("Receive without the token = %v", err)
	}
	if _, err := inbound.NewSchemes(tokenScheme(), tokenScheme()); err == nil {
		t.Fatal("a scheme registered twice was accepted")
	}
	if names := inbound.DefaultSchemes().Names(); strings.Join(names, ",") != "airtable,api_key,basic,hmac,sendgrid,standard-webhooks,woocommerce" {
		t.Fatalf("DefaultSchemes = %v", names)
	}
}

// nopStore remembers nothing; the token scheme has no message ids.
type nopStore struct{}

func (nopStore) MessageSeen(context.Context, string, string, string, time.Time) (bool, error) {
	return false, nil
}
func (nopStore) RememberMessage(context.Context, string, string, string, time.Time) error { return nil }
func (nopStore) ForgetMessages(context.Context, time.Time, int) (int, error)              { return 0, nil }
func (nopStore) PayloadCursor(context.Context, string, string, string) (uint64, bool, error) {
	return 0, false, nil
}
func (nopStore) SetPayloadCursor(context.Context, string, string, string, uint64) error { return nil }
