package client

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"github.com/aquascene/aquahub/sdk/api"
)

// The outbound webhook endpoints API, /api/v1/webhooks.

func webhookPath(id string, rest ...string) string {
	p := "/api/v1/webhooks/" + url.PathEscape(id)
	for _, r := range rest {
		p += "/" + url.PathEscape(r)
	}
	return p
}

// Webhooks lists the tenant's endpoints in creation order.
func (c *Client) Webhooks(ctx context.Context) ([]api.WebhookEndpoint, error) {
	var out api.WebhookEndpointList
	_, err := c.Do(ctx, "GET", "/api/v1/webhooks", nil, "", nil, &out)
	return out.Webhooks, err
}

// CreateWebhook registers an endpoint. The answer holds its signing secret, which the hub
// does not show again.
func (c *Client) CreateWebhook(ctx context.Context, in api.WebhookEndpointInput) (api.WebhookEndpointSecret, error) {
	var out api.WebhookEndpointSecret
	_, err := c.Do(ctx, "POST", "/api/v1/webhooks", in, "", nil, &out)
	return out, err
}

// Webhook returns one endpoint.
func (c *Client) Webhook(ctx context.Context, id string) (api.WebhookEndpoint, error) {
	var out api.WebhookEndpoint
	_, err := c.Do(ctx, "GET", webhookPath(id), nil, "", nil, &out)
	return out, err
}

// UpdateWebhook replaces an endpoint's settings.
func (c *Client) UpdateWebhook(ctx context.Context, id string, in api.WebhookEndpointInput) (api.WebhookEndpoint, error) {
	var out api.WebhookEndpointUpdated
	_, err := c.Do(ctx, "PUT", webhookPath(id), in, "", nil, &out)
	return out.WebhookEndpoint, err
}

// DeleteWebhook deletes an endpoint and its queued messages.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	_, err := c.Do(ctx, "DELETE", webhookPath(id), nil, "", nil, nil)
	return err
}

// RotateWebhookSecret replaces an endpoint's signing secret with secret (generated when
// empty); the previous one keeps signing for the hub's rotation overlap. The answer holds
// the new secret.
func (c *Client) RotateWebhookSecret(ctx context.Context, id, secret string) (api.WebhookEndpointSecret, error) {
	var out api.WebhookEndpointSecret
	_, err := c.Do(ctx, "POST", webhookPath(id, "rotate"), api.WebhookRotate{Secret: secret}, "", nil, &out)
	return out, err
}

// WebhookDeliveryFilter selects an endpoint's messages.
type WebhookDeliveryFilter struct {
	// State is pending, sending, succeeded or dead; empty for all.
	State string
	// Before continues a listing before this message id.
	Before string
	// Limit caps the page (the hub's default is 50, at most 500).
	Limit int
}

// WebhookDeliveries lists an endpoint's messages with their attempts, newest first.
func (c *Client) WebhookDeliveries(ctx context.Context, id string, f WebhookDeliveryFilter) ([]api.WebhookDelivery, error) {
	q := url.Values{}
	if f.State != "" {
		q.Set("state", f.State)
	}
	if f.Before != "" {
		q.Set("before", f.Before)
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	path := webhookPath(id, "deliveries")
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out api.WebhookDeliveryList
	_, err := c.Do(ctx, "GET", path, nil, "", nil, &out)
	return out.Deliveries, err
}

// WebhookDelivery returns one message with its attempts.
func (c *Client) WebhookDelivery(ctx context.Context, id, messageID string) (api.WebhookDelivery, error) {
	var out api.WebhookDelivery
	_, err := c.Do(ctx, "GET", webhookPath(id, "deliveries", messageID), nil, "", nil, &out)
	return out, err
}

// ReplayWebhookDelivery sends a dead or delivered message again, with the same webhook-id.
func (c *Client) ReplayWebhookDelivery(ctx context.Context, id, messageID string) (api.WebhookDelivery, error) {
	var out api.WebhookDelivery
	_, err := c.Do(ctx, "POST", webhookPath(id, "deliveries", messageID, "replay"), nil, "", nil, &out)
	return out, err
}

// RecoverWebhook sends again every dead message of the endpoint created since then, and
// returns how many were queued.
func (c *Client) RecoverWebhook(ctx context.Context, id string, since time.Time) (int, error) {
	var out api.WebhookRecovered
	_, err := c.Do(ctx, "POST", webhookPath(id, "recover"), api.WebhookRecover{Since: since.Format(time.RFC3339Nano)}, "", nil, &out)
	return out.Queued, err
}
