package config

// This file is owned by webhooks (issue 6); extend it there.

// WebhooksConfig configures outbound webhook delivery.
type WebhooksConfig struct {
	// AllowHTTP permits http:// endpoint URLs (default false: https only).
	AllowHTTP bool `koanf:"allow_http"`
	// AllowLoopback permits endpoints on loopback addresses, for local receivers.
	AllowLoopback bool `koanf:"allow_loopback"`
}

func (c *WebhooksConfig) setDefaults() {}

func (c WebhooksConfig) validate(path string) []error { return nil }

// Source is an inbound webhook served at POST /hooks/{tenant}/{name}.
type Source struct {
	// Verifier checks the request's authenticity.
	Verifier string `koanf:"verifier"`
	// Secret is the verifier's key.
	Secret string `koanf:"secret"`
}

func (s Source) validate(path string) []error { return nil }
