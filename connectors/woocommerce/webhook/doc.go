// Package webhook produces and verifies WooCommerce webhook signatures: the
// X-WC-Webhook-Signature header, the standard base64 of HMAC-SHA256 over the raw body keyed
// with the webhook's secret as given (not decoded), sent with the X-WC-Webhook-Topic,
// -Resource, -Event, -ID, -Delivery-ID and -Source headers.
//
// It is shared by the WooCommerce simulator, which signs its deliveries, and the hub's
// inbound verifier, and imports only the standard library.
package webhook
