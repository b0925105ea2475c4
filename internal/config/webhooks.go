package config

// This file is owned by webhooks (issue 6); extend it there.

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// WebhooksConfig configures outbound webhook delivery.
type WebhooksConfig struct {
	// AllowHTTP permits http:// endpoint URLs (default false: https only).
	AllowHTTP bool `koanf:"allow_http"`
	// AllowLoopback permits endpoints on loopback addresses, for local receivers (default
	// false; aquahub dev sets it).
	AllowLoopback bool `koanf:"allow_loopback"`
	// AllowPrivate permits RFC 1918, 100.64/10 and fc00::/7 addresses, for receivers on the
	// operator's private network (default false). Link-local and cloud metadata addresses are
	// never allowed.
	AllowPrivate bool `koanf:"allow_private"`
	// Timeout bounds one delivery request, connection to last byte (default 15s).
	Timeout time.Duration `koanf:"timeout"`
	// Schedule is the delay before each attempt of a message; its length is the number of
	// attempts before the message is dead (default 0s, 5s, 5m, 30m, 2h, 5h, 10h, 10h).
	Schedule []time.Duration `koanf:"schedule"`
	// DisableAfter disables an endpoint that has failed continuously for this long
	// (default 120h, five days).
	DisableAfter time.Duration `koanf:"disable_after"`
	// RotationOverlap is how long the previous secret keeps signing after a rotation
	// (default 24h).
	RotationOverlap time.Duration `koanf:"rotation_overlap"`
	// Workers bounds concurrent delivery requests (default 32).
	Workers int `koanf:"workers"`
}

func (c *WebhooksConfig) setDefaults() {
	*c = WebhooksConfig{
		Timeout: 15 * time.Second,
		Schedule: []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
			2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour},
		DisableAfter:    5 * 24 * time.Hour,
		RotationOverlap: 24 * time.Hour,
		Workers:         32,
	}
}

func (c WebhooksConfig) validate(path string) []error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", path, field, fmt.Sprintf(format, args...)))
	}
	if c.Timeout < time.Second || c.Timeout > 5*time.Minute {
		add("timeout", "must be between 1s and 5m (got %s)", c.Timeout)
	}
	if len(c.Schedule) == 0 || len(c.Schedule) > 50 {
		add("schedule", "must list 1 to 50 delays (got %d)", len(c.Schedule))
	}
	for i, d := range c.Schedule {
		if d < 0 || d > 7*24*time.Hour {
			add(fmt.Sprintf("schedule[%d]", i), "must be between 0s and 168h (got %s)", d)
		}
	}
	if c.DisableAfter < time.Minute {
		add("disable_after", "must be at least 1m (got %s)", c.DisableAfter)
	}
	if c.RotationOverlap < 0 || c.RotationOverlap > 30*24*time.Hour {
		add("rotation_overlap", "must be between 0s and 720h (got %s)", c.RotationOverlap)
	}
	if c.Workers < 1 || c.Workers > 1024 {
		add("workers", "must be between 1 and 1024 (got %d)", c.Workers)
	}
	return errs
}

// Source is an inbound webhook served at POST /hooks/{tenant}/{name}. Requests are
// authenticated by the verifier, not by an API key.
type Source struct {
	// Verifier checks the request's authenticity: hmac, standard-webhooks, basic, api_key,
	// airtable or sendgrid (required). With sendgrid every item of an Event Webhook batch
	// becomes its own event (type email.<event>, id sg_event_id, subject the address), and
	// the expressions below run per item with body bound to the item.
	Verifier string `koanf:"verifier"`
	// Secret is the verifier's key: the HMAC key as text (hmac), whsec_… (standard-webhooks;
	// several separated by spaces while the sender rotates), "user:password" (basic), the
	// key (api_key), the webhook's macSecretBase64 (airtable), or the base64 DER public key
	// (sendgrid). Use ${VAR} to keep it out of the file.
	Secret string `koanf:"secret"`
	// Header carries the signature (hmac, default X-Signature-256) or the key (api_key,
	// default X-API-Key; with Authorization the key follows "Bearer ").
	Header string `koanf:"header"`
	// Algorithm is the HMAC hash: sha256 (default) or sha512.
	Algorithm string `koanf:"algorithm"`
	// Encoding of the HMAC in the header: hex (default) or base64.
	Encoding string `koanf:"encoding"`
	// Prefix precedes the encoded HMAC in the header, such as "sha256=".
	Prefix string `koanf:"prefix"`
	// Tolerance bounds signed timestamps' distance from now (standard-webhooks, sendgrid;
	// default 5m).
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
	// record. The fetch obeys webhooks.allow_http, allow_loopback and allow_private.

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

// SourceVerifiers lists the accepted Source.Verifier values.
var SourceVerifiers = []string{"hmac", "standard-webhooks", "basic", "api_key", "airtable", "sendgrid"}

var sourceNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

func (s Source) validate(path string) []error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", path, field, fmt.Sprintf(format, args...)))
	}
	if name := path[strings.LastIndexByte(path, '.')+1:]; !sourceNamePattern.MatchString(name) {
		errs = append(errs, fmt.Errorf("%s: source name %q must be lowercase letters, digits, - and _", path, name))
	}
	if !slices.Contains(SourceVerifiers, s.Verifier) {
		add("verifier", "must be one of %s (got %q)", strings.Join(SourceVerifiers, ", "), s.Verifier)
	}
	if s.Secret == "" {
		add("secret", "required")
	}
	if s.Algorithm != "" && s.Algorithm != "sha256" && s.Algorithm != "sha512" {
		add("algorithm", "must be sha256 or sha512 (got %q)", s.Algorithm)
	}
	if s.Encoding != "" && s.Encoding != "hex" && s.Encoding != "base64" {
		add("encoding", "must be hex or base64 (got %q)", s.Encoding)
	}
	if s.Verifier != "hmac" {
		for _, f := range [][2]string{{"algorithm", s.Algorithm}, {"encoding", s.Encoding}, {"prefix", s.Prefix}} {
			if f[1] != "" {
				add(f[0], "applies only to verifier hmac")
			}
		}
	}
	if s.Tolerance < 0 || s.Tolerance > 24*time.Hour {
		add("tolerance", "must be between 0s and 24h (got %s)", s.Tolerance)
	}
	s.validateAirtable(add)
	return errs
}

// validateAirtable checks the payload-fetch fields of an airtable source.
func (s Source) validateAirtable(add func(field, format string, args ...any)) {
	fields := [][2]string{{"base_url", s.BaseURL}, {"token", s.Token}, {"base_id", s.BaseID}, {"webhook_id", s.WebhookID}}
	if s.Verifier != "airtable" {
		for _, f := range fields {
			if f[1] != "" {
				add(f[0], "applies only to verifier airtable")
			}
		}
		return
	}
	if s.BaseURL == "" && s.Token == "" && s.BaseID == "" && s.WebhookID == "" {
		return // verification only; the ping itself becomes the event
	}
	if !airtableIDPattern("ach").MatchString(s.WebhookID) {
		add("webhook_id", "must be the webhook's id, ach followed by 14 letters or digits (got %q)", s.WebhookID)
	}
	if !airtableIDPattern("app").MatchString(s.BaseID) {
		add("base_id", "must be a base id, app followed by 14 letters or digits (got %q)", s.BaseID)
	}
	if s.Token == "" {
		add("token", "required to fetch the webhook's payloads")
	}
	if s.BaseURL != "" {
		if u, err := url.Parse(s.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("base_url", "must be an http(s) URL (got %q)", s.BaseURL)
		}
	}
}

func airtableIDPattern(prefix string) *regexp.Regexp {
	return regexp.MustCompile(`^` + prefix + `[A-Za-z0-9]{14}$`)
}
