package inbound

import (
	"fmt"
	"strings"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/signature"
)

// standardWebhooksScheme verifies Standard Webhooks (webhook-id, webhook-timestamp,
// webhook-signature). The secret is whsec_…, several separated by spaces while the sender
// rotates; the sender's message id is deduplicated.
func standardWebhooksScheme() Scheme {
	return Scheme{
		Name:   "standard-webhooks",
		Fields: []string{"tolerance"},
		New: func(cfg SourceConfig) (Verifier, error) {
			var keys [][]byte
			for _, s := range strings.Fields(cfg.Secret) {
				k, err := signature.Secret(s).Key()
				if err != nil {
					return nil, core.Invalid("secret", "%v", err)
				}
				keys = append(keys, k)
			}
			return StandardWebhooks{Keys: keys, Tolerance: cfg.Tolerance}, nil
		},
	}
}

// StandardWebhooks verifies webhook-id, webhook-timestamp and webhook-signature.
type StandardWebhooks struct {
	// Keys are the decoded secrets (several while the sender rotates).
	Keys [][]byte
	// Tolerance bounds the timestamp's distance from now (default 5 minutes).
	Tolerance time.Duration
}

// Verify implements Verifier.
func (v StandardWebhooks) Verify(r Request) (Verified, error) {
	id := r.Header.Get(signature.WebhookIDHeader)
	if id == "" || len(id) > 256 {
		return Verified{}, unauthorized("webhook-id header missing or too long")
	}
	ts := r.Header.Get(signature.WebhookTimestampHeader)
	if err := signature.VerifyStandard(v.Keys, id, ts, r.Header.Get(signature.WebhookSignatureHeader), r.Body, r.Now, v.Tolerance); err != nil {
		return Verified{}, fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	t, _ := signature.ParseTimestamp(ts)
	return Verified{ID: id, Timestamp: t}, nil
}

var _ Verifier = StandardWebhooks{}
