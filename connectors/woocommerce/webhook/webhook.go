package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
)

// Header names of a WooCommerce webhook delivery.
const (
	// SignatureHeader carries base64(HMAC-SHA256(secret, body)).
	SignatureHeader = "X-WC-Webhook-Signature"
	// TopicHeader is resource.event, such as product.updated.
	TopicHeader = "X-WC-Webhook-Topic"
	// ResourceHeader is the resource, such as product or order.
	ResourceHeader = "X-WC-Webhook-Resource"
	// EventHeader is the event, such as created, updated, deleted or restored.
	EventHeader = "X-WC-Webhook-Event"
	// IDHeader is the webhook's id in the store.
	IDHeader = "X-WC-Webhook-ID"
	// DeliveryIDHeader identifies one delivery; a retried delivery gets a new one.
	DeliveryIDHeader = "X-WC-Webhook-Delivery-ID"
	// SourceHeader is the store's home URL with a trailing slash.
	SourceHeader = "X-WC-Webhook-Source"
)

// Errors returned by Verify.
var (
	// ErrMissingSignature is returned when the signature header is empty.
	ErrMissingSignature = errors.New("woocommerce webhook: missing " + SignatureHeader)
	// ErrMalformedSignature is returned when the header is not the base64 of 32 bytes.
	ErrMalformedSignature = errors.New("woocommerce webhook: malformed " + SignatureHeader)
	// ErrNoSecret is returned when the secret is empty: WooCommerce always signs with one.
	ErrNoSecret = errors.New("woocommerce webhook: empty secret")
	// ErrSignatureMismatch is returned when the signature does not match the body.
	ErrSignatureMismatch = errors.New("woocommerce webhook: signature does not match body")
)

// Sign returns the X-WC-Webhook-Signature value of body under secret.
func Sign(secret string, body []byte) string {
	return base64.StdEncoding.EncodeToString(mac(secret, body))
}

// Verify checks, in constant time, that signature is the X-WC-Webhook-Signature of body
// under secret.
func Verify(secret, signature string, body []byte) error {
	if secret == "" {
		return ErrNoSecret
	}
	signature = strings.TrimSpace(signature)
	if signature == "" {
		return ErrMissingSignature
	}
	got, err := base64.StdEncoding.DecodeString(signature)
	if err != nil || len(got) != sha256.Size {
		return ErrMalformedSignature
	}
	if !hmac.Equal(got, mac(secret, body)) {
		return ErrSignatureMismatch
	}
	return nil
}

// Delivery is what a WooCommerce webhook request says about itself, from its headers.
type Delivery struct {
	Topic, Resource, Event, WebhookID, DeliveryID, Source, Signature string
}

// Headers sets the delivery's headers on h (the signature only when set).
func (d Delivery) Headers(h http.Header) {
	set := func(k, v string) {
		if v != "" {
			h.Set(k, v)
		}
	}
	set(TopicHeader, d.Topic)
	set(ResourceHeader, d.Resource)
	set(EventHeader, d.Event)
	set(IDHeader, d.WebhookID)
	set(DeliveryIDHeader, d.DeliveryID)
	set(SourceHeader, d.Source)
	set(SignatureHeader, d.Signature)
}

// DeliveryOf reads a delivery's headers.
func DeliveryOf(h http.Header) Delivery {
	return Delivery{Topic: h.Get(TopicHeader), Resource: h.Get(ResourceHeader), Event: h.Get(EventHeader),
		WebhookID: h.Get(IDHeader), DeliveryID: h.Get(DeliveryIDHeader), Source: h.Get(SourceHeader), Signature: h.Get(SignatureHeader)}
}

func mac(secret string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write(body)
	return h.Sum(nil)
}
