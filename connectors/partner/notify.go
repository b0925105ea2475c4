package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/aquascene/aquahub/sdk/plugin"
)

// signatureHeader carries an ES256 or RS256 notification's signature: a JWT signed by the
// host with the notification_key secret, whose claims bind the body, the id and the address.
const signatureHeader = "Aquahub-Signature"

// hmacHeader carries an hmac-sha256 notification's signature, "sha256=" and the hex
// HMAC-SHA256 of the body keyed with notification_secret, which the host computes: the
// X-Signature-256 of the hub's own webhooks, which partners verify as the hub's
// subscribers do. The body holds the id and the timestamp, so the HMAC binds them too.
const hmacHeader = "X-Signature-256"

// algHMAC is the notification_alg of HMAC-signed notifications.
const algHMAC = "hmac-sha256"

// signatureTTL is how long a notification's signature stays valid.
const signatureTTL = 5 * time.Minute

// NotifyIn is the input of content.notify.
type NotifyIn struct {
	Type      string         `json:"type,omitempty" desc:"notification type (default content.published)" jsonschema:"pattern=^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*$"`
	ContentID string         `json:"content_id,omitempty"`
	ProductID string         `json:"product_id,omitempty" desc:"the partner's product id the content features"`
	Title     string         `json:"title,omitempty"`
	URL       string         `json:"url,omitempty" desc:"where the content is published" jsonschema:"format=uri"`
	Data      map[string]any `json:"data,omitempty" desc:"more fields for the notification's data"`
}

// NotifyOut is the output of content.notify.
type NotifyOut struct {
	NotificationID string `json:"notification_id" desc:"the webhook-id, stable across retries of the step"`
	Status         int    `json:"status" desc:"the partner's HTTP status"`
	DeliveredAt    string `json:"delivered_at"`
	// Response is the partner's answer when it is JSON.
	Response any `json:"response,omitempty"`
}

// notificationID derives the webhook-id from the step's idempotency key, so that a retried
// notification carries the id the partner may have seen and can deduplicate on.
func notificationID(ctx context.Context) string {
	key := plugin.IdempotencyKey(ctx)
	if key == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		key = base64.RawURLEncoding.EncodeToString(b[:])
	}
	sum := sha256.Sum256([]byte(plugin.CallOf(ctx).Tenant + "\x00" + key))
	return "msg_" + base64.RawURLEncoding.EncodeToString(sum[:18])
}

func notify(ctx context.Context, in NotifyIn) (NotifyOut, error) {
	a, err := newAPI(ctx)
	if err != nil {
		return NotifyOut{}, err
	}
	alg := plugin.ConfigString(ctx, "notification_alg", algHMAC)
	secret := "notification_key"
	switch alg {
	case algHMAC:
		secret = "notification_secret"
	case plugin.ES256, plugin.RS256:
	default:
		return NotifyOut{}, plugin.Permanent(fmt.Errorf("config notification_alg: want %s, ES256 or RS256 (got %q)", algHMAC, alg))
	}
	if !plugin.HasSecret(ctx, secret) {
		return NotifyOut{}, plugin.Auth(fmt.Errorf("the %s secret is not set; %s content notifications are signed with it", secret, alg))
	}
	target := a.resolve(plugin.ConfigString(ctx, "notify_url", "/notifications"))
	typ := in.Type
	if typ == "" {
		typ = "content.published"
	}
	id := notificationID(ctx)
	now := time.Now().UTC()
	data := map[string]any{}
	for k, v := range in.Data {
		data[k] = v
	}
	for k, v := range map[string]string{"content_id": in.ContentID, "product_id": in.ProductID, "title": in.Title, "url": in.URL} {
		if v != "" {
			data[k] = v
		}
	}
	body, err := json.Marshal(map[string]any{"id": id, "type": typ, "timestamp": now.Format(time.RFC3339), "partner": a.partner, "data": data})
	if err != nil {
		return NotifyOut{}, plugin.InvalidInput("data", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return NotifyOut{}, plugin.Permanent(fmt.Errorf("config notify_url: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Webhook-Id", id)
	req.Header.Set("Webhook-Timestamp", strconv.FormatInt(now.Unix(), 10))
	if alg == algHMAC {
		req.Header.Set(hmacHeader, "sha256="+plugin.HMACHex(secret))
	} else {
		sum := sha256.Sum256(body)
		jwt, err := plugin.SignJWT(ctx, alg, secret, nil, map[string]any{
			"iss": "aquahub/" + plugin.CallOf(ctx).Tenant, "aud": target, "iat": now.Unix(),
			"exp": now.Add(signatureTTL).Unix(), "jti": id, "body_sha256": base64.RawURLEncoding.EncodeToString(sum[:]),
		})
		if err != nil {
			return NotifyOut{}, err
		}
		req.Header.Set(signatureHeader, jwt)
	}
	a.authorize(req)
	resp, err := a.http.Do(req)
	if err != nil {
		return NotifyOut{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return NotifyOut{}, plugin.Transient(fmt.Errorf("partner: reading response: %w", err))
	}
	if err := plugin.CheckResponse(resp, raw); err != nil {
		return NotifyOut{}, err
	}
	out := NotifyOut{NotificationID: id, Status: resp.StatusCode, DeliveredAt: now.Format(time.RFC3339)}
	var answer any
	if json.Unmarshal(raw, &answer) == nil {
		out.Response = answer
	}
	return out, nil
}
