package webhooks_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/internal/webhooks"
	"github.com/aquascene/aquahub/sdk/signature"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// TestReferenceLibraryAcceptsOurRequests signs with BuildRequest and verifies with the
// Standard Webhooks reference Go library, during a rotation too.
func TestReferenceLibraryAcceptsOurRequests(t *testing.T) {
	oldSecret, newSecret := signature.NewSecret(), signature.NewSecret()
	body := []byte(`{"specversion":"1.0","id":"e1","source":"s","type":"newsletter.sent","data":{"n":1}}`)
	req, err := webhooks.BuildRequest(t.Context(), "https://example.com/hook", "msg_1", time.Now(), body, []signature.Secret{newSecret, oldSecret}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(req.Header.Get(signature.WebhookSignatureHeader))); n != 2 {
		t.Fatalf("webhook-signature has %d entries during rotation, want 2", n)
	}
	for name, sec := range map[string]signature.Secret{"new": newSecret, "old": oldSecret} {
		wh, err := standardwebhooks.NewWebhook(string(sec))
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(body, req.Header); err != nil {
			t.Errorf("reference library rejects the %s secret's signature: %v", name, err)
		}
	}
	if got, want := req.Header.Get(signature.Signature256Header), signature.SignSHA256Hex(string(newSecret), body); got != want {
		t.Fatalf("X-Signature-256 = %q, want %q (the current secret's)", got, want)
	}
}

func TestMatchType(t *testing.T) {
	tests := []struct {
		name, pattern, typ string
		want               bool
	}{
		{name: "exact", pattern: "newsletter.sent", typ: "newsletter.sent", want: true},
		{name: "star all", pattern: "*", typ: "a.b.c", want: true},
		{name: "prefix", pattern: "content.*", typ: "content.generation.completed", want: true},
		{name: "middle", pattern: "content.*.failed", typ: "content.generation.failed", want: true},
		{name: "middle mismatch", pattern: "content.*.failed", typ: "content.generation.completed", want: false},
		{name: "other prefix", pattern: "content.*", typ: "social.posted", want: false},
		{name: "no wildcard mismatch", pattern: "newsletter.sent", typ: "newsletter.sent.x", want: false},
		{name: "double star", pattern: "**.sent", typ: "newsletter.sent", want: true},
		{name: "suffix", pattern: "*.posted", typ: "social.posted", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := webhooks.MatchType(tt.pattern, tt.typ); got != tt.want {
				t.Fatalf("MatchType(%q, %q) = %v, want %v", tt.pattern, tt.typ, got, tt.want)
			}
		})
	}
}
