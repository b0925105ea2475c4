package inbound

import (
	"regexp"
	"time"
)

// SourceConfig is an inbound webhook served at POST /hooks/{tenant}/{name}. Requests are
// authenticated by the verifier, not by an API key.
type SourceConfig struct {
	// Verifier names the scheme that checks the request's authenticity: hmac,
	// standard-webhooks, basic, api_key, airtable, sendgrid or woocommerce (required). With
	// sendgrid every item of an Event Webhook batch becomes its own event (type
	// email.<event>, id sg_event_id, subject the address), and the expressions below run per
	// item with body bound to the item. With woocommerce a delivery becomes the event
	// woocommerce.<topic> (woocommerce.product.created, woocommerce.order.created; id a hash
	// of the topic and the signed body, subject the resource id, data the resource), and
	// WooCommerce's ping on webhook creation is answered 200 without publishing.
	Verifier string `koanf:"verifier"`
	// Secret is the verifier's key: the HMAC key as text (hmac), whsec_… (standard-webhooks;
	// several separated by spaces while the sender rotates), "user:password" (basic), the
	// key (api_key), the webhook's macSecretBase64 (airtable), the base64 DER public key
	// (sendgrid), or the webhook's secret as typed in the store (woocommerce). Use ${VAR} to
	// keep it out of the file.
	Secret string `koanf:"secret"`
	// Header carries the signature (hmac, default X-Signature-256) or the key (api_key,
	// default X-API-Key; with Authorization the key follows "Bearer ").
	Header string `koanf:"header"`
	// Algorithm is the HMAC hash: sha256 (default) or sha512 (hmac).
	Algorithm string `koanf:"algorithm"`
	// Encoding of the HMAC in the header: hex (default) or base64 (hmac).
	Encoding string `koanf:"encoding"`
	// Prefix precedes the encoded HMAC in the header, such as "sha256=" (hmac).
	Prefix string `koanf:"prefix"`
	// Tolerance bounds signed timestamps' distance from now (standard-webhooks, sendgrid;
	// default 5m, at most 24h).
	Tolerance time.Duration `koanf:"tolerance"`
	// Type is an expr-lang expression giving the event type, over body (the decoded JSON),
	// headers (lower-case names), tenant, source, verified and raw; for example
	// '"airtable.content." + body.action'. Default: "<name>.received".
	Type string `koanf:"type"`
	// ID is an expression giving the event id. Default: the sender's message id
	// (webhook-id), else a hash of the body, so a repeated delivery is deduplicated.
	ID string `koanf:"id"`
	// Subject is an expression giving the event subject (default none).
	Subject string `koanf:"subject"`
	// Data is an expression giving the event data (default: the whole body).
	Data string `koanf:"data"`

	// The fields below apply to verifier airtable only. When webhook_id is set, a verified
	// notification ping makes the hub fetch the webhook's payloads (GET
	// {base_url}/v0/bases/{base_id}/webhooks/{webhook_id}/payloads, cursor kept in the
	// database) and publish one airtable.record.created|updated|deleted event per changed
	// record. The fetch obeys the address policy the wiring passes (webhooks.allow_http,
	// allow_loopback and allow_private).

	// BaseURL is the Airtable API origin (default https://api.airtable.com).
	BaseURL string `koanf:"base_url"`
	// Token is the personal access token used to fetch payloads and the base schema (scopes
	// data.records:read, schema.bases:read). Use ${VAR} to keep it out of the file.
	Token string `koanf:"token"`
	// BaseID is the base the webhook watches (app…).
	BaseID string `koanf:"base_id"`
	// WebhookID is the webhook's id (ach…), as webhook creation returned it with the
	// macSecretBase64 that goes in secret.
	WebhookID string `koanf:"webhook_id"`
}

// Validate checks the settings as the module will build them, through DefaultSchemes;
// errors name the field.
func (s SourceConfig) Validate() error { return DefaultSchemes().Validate(s) }

// schemeFields are the fields that belong to some schemes and not others, by configuration
// name, with their values ("" when not set).
func (s SourceConfig) schemeFields() map[string]string {
	tolerance := ""
	if s.Tolerance != 0 {
		tolerance = s.Tolerance.String()
	}
	return map[string]string{
		"header": s.Header, "algorithm": s.Algorithm, "encoding": s.Encoding, "prefix": s.Prefix, "tolerance": tolerance,
		"base_url": s.BaseURL, "token": s.Token, "base_id": s.BaseID, "webhook_id": s.WebhookID,
	}
}

var sourceNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidSourceName reports whether name may name a source: it appears in the URL
// /hooks/{tenant}/{name}.
func ValidSourceName(name string) bool { return sourceNamePattern.MatchString(name) }
