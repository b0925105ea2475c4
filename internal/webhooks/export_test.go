package webhooks

import (
	"time"

	"github.com/aquascene/aquahub/sdk/api"
)

// Lease is how long m reserves a claimed message for its sender.
func Lease(m *Module) time.Duration { return m.lease }

// APIEndpoint is an endpoint as the API shows it.
func APIEndpoint(e Endpoint) api.WebhookEndpoint { return apiEndpoint(e) }

// EndpointView is an endpoint as m's API shows it, with its breaker.
func EndpointView(m *Module, e Endpoint) api.WebhookEndpoint { return m.apiEndpoint(e) }
