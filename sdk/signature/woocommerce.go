package signature

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
)

// The headers of a WooCommerce webhook delivery. The signature is the standard (padded)
// base64 of HMAC-SHA256 over the raw body, keyed with the webhook's secret as the store
// admin typed it (its bytes, not decoded). Only the body is signed: the topic and delivery
// headers beside it are not.
const (
	// WooCommerceSignatureHeader carries base64(HMAC-SHA256(secret, body)).
	WooCommerceSignatureHeader = "X-WC-Webhook-Signature"
	// WooCommerceTopicHeader is resource.event, such as product.updated.
	WooCommerceTopicHeader = "X-WC-Webhook-Topic"
	// WooCommerceResourceHeader is the resource, such as product or order.
	WooCommerceResourceHeader = "X-WC-Webhook-Resource"
	// WooCommerceEventHeader is the event, such as created, updated, deleted or restored.
	WooCommerceEventHeader = "X-WC-Webhook-Event"
	// WooCommerceIDHeader is the webhook's id in the store.
	WooCommerceIDHeader = "X-WC-Webhook-ID"
	// WooCommerceDeliveryIDHeader identifies one delivery. WooCommerce derives it from the
	// webhook id and the second the delivery was made, so it is not unique on its own.
	WooCommerceDeliveryIDHeader = "X-WC-Webhook-Delivery-ID"
	// WooCommerceSourceHeader is the store's home URL with a trailing slash.
	WooCommerceSourceHeader = "X-WC-Webhook-Source"
)

var wooCommerceMAC = HMAC{Encoding: "base64"}

// SignWooCommerce returns the X-WC-Webhook-Signature value of body under secret.
func SignWooCommerce(secret string, body []byte) string {
	return wooCommerceMAC.Sign([]byte(secret), body)
}

// VerifyWooCommerce checks, in constant time, that header, the X-WC-Webhook-Signature value
// as received, signs body under secret. An empty secret is ErrBadKey: WooCommerce always
// signs with one.
func VerifyWooCommerce(secret, header string, body []byte) error {
	if secret == "" {
		return fmt.Errorf("%s: %w: the webhook secret is empty", WooCommerceSignatureHeader, ErrBadKey)
	}
	if err := wooCommerceMAC.Verify([]byte(secret), header, body); err != nil {
		return fmt.Errorf("%s: %w", WooCommerceSignatureHeader, err)
	}
	return nil
}

// WooCommerceDelivery is what a WooCommerce webhook request says about itself in its
// headers.
type WooCommerceDelivery struct {
	Topic, Resource, Event, WebhookID, DeliveryID, Source, Signature string
}

// Header sets the delivery's headers on h; empty fields are left out.
func (d WooCommerceDelivery) Header(h http.Header) {
	for _, kv := range [][2]string{
		{WooCommerceTopicHeader, d.Topic}, {WooCommerceResourceHeader, d.Resource}, {WooCommerceEventHeader, d.Event},
		{WooCommerceIDHeader, d.WebhookID}, {WooCommerceDeliveryIDHeader, d.DeliveryID}, {WooCommerceSourceHeader, d.Source},
		{WooCommerceSignatureHeader, d.Signature},
	} {
		if kv[1] != "" {
			h.Set(kv[0], kv[1])
		}
	}
}

// WooCommerceDeliveryOf reads a delivery's headers.
func WooCommerceDeliveryOf(h http.Header) WooCommerceDelivery {
	return WooCommerceDelivery{Topic: h.Get(WooCommerceTopicHeader), Resource: h.Get(WooCommerceResourceHeader),
		Event: h.Get(WooCommerceEventHeader), WebhookID: h.Get(WooCommerceIDHeader), DeliveryID: h.Get(WooCommerceDeliveryIDHeader),
		Source: h.Get(WooCommerceSourceHeader), Signature: h.Get(WooCommerceSignatureHeader)}
}

// WooCommercePingBody is the body of the ping WooCommerce sends when a webhook is created
// (and when it is saved active while its first ping is still pending): a form-encoded
// webhook_id, with no signature and none of the delivery headers. The store treats any
// answer but 200 as a failed ping.
func WooCommercePingBody(webhookID int) []byte {
	return []byte("webhook_id=" + strconv.Itoa(webhookID))
}

var wooCommercePing = regexp.MustCompile(`^webhook_id=([1-9][0-9]{0,18})$`)

// ParseWooCommercePing reports whether body is a webhook ping, and the webhook id it names.
func ParseWooCommercePing(body []byte) (string, bool) {
	m := wooCommercePing.FindSubmatch(body)
	if m == nil {
		return "", false
	}
	return string(m[1]), true
}
