package inbound_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/inbound"
	"github.com/aquascene/aquahub/sdk/netguard"
	"github.com/aquascene/aquahub/sdk/signature"
)

// wcDelivery signs body as a WooCommerce store does and sets the delivery headers.
func wcDelivery(secret, topic, deliveryID, body string) http.Header {
	h := http.Header{}
	res, ev, _ := strings.Cut(topic, ".")
	signature.WooCommerceDelivery{Topic: topic, Resource: res, Event: ev, WebhookID: "3", DeliveryID: deliveryID,
		Source: "https://shop.aquascene.bg/", Signature: signature.SignWooCommerce(secret, []byte(body))}.Header(h)
	h.Set("Content-Type", "application/json")
	return h
}

func TestWooCommerceDeliveriesBecomeEvents(t *testing.T) {
	now := time.Unix(1754481600, 0)
	r, pub, _ := newModule(t, &clock{t: now}, "aquascene", map[string]inbound.SourceConfig{
		"woocommerce": {Verifier: "woocommerce", Secret: "wc-secret"},
	}, netguard.Policy{})
	product := `{"id":703,"name":"Chihiros WRGB II 60","status":"publish","description":"","short_description":"<p>RGB LED</p>"}`
	tests := []struct {
		name, topic, delivery, body string
		wantType, wantSubject       string
	}{
		{"product created", "product.created", "a1", product, "woocommerce.product.created", "703"},
		{"product updated", "product.updated", "a2", product, "woocommerce.product.updated", "703"},
		{"order created", "order.created", "a3", `{"id":713,"status":"processing","total":"518.00"}`, "woocommerce.order.created", "713"},
		{"action webhook without id", "action.woocommerce_add_to_cart", "a4", `{"action":"woocommerce_add_to_cart","arg":"x"}`, "woocommerce.action.woocommerce_add_to_cart", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(pub.events)
			res, err := r.Receive(t.Context(), "aquascene", "woocommerce", wcDelivery("wc-secret", tt.topic, tt.delivery, tt.body), []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(pub.events) != before+1 || res.Duplicate || res.Handshake {
				t.Fatalf("result %+v, %d events", res, len(pub.events))
			}
			ev := pub.events[len(pub.events)-1]
			if ev.Type != tt.wantType || ev.Subject != tt.wantSubject || ev.Source != "aquahub/hooks/woocommerce" ||
				!strings.HasPrefix(ev.ID, "wc-") || len(ev.ID) != 35 || ev.Time == nil || !ev.Time.Equal(now) {
				t.Fatalf("event %+v", ev)
			}
			var data, sent map[string]any
			if err := json.Unmarshal(ev.Data, &data); err != nil {
				t.Fatal(err)
			}
			json.Unmarshal([]byte(tt.body), &sent)
			if len(data) != len(sent) || data["id"] != sent["id"] {
				t.Fatalf("data %s, sent %s", ev.Data, tt.body)
			}
		})
	}

	// A delivery received twice publishes once, also when replayed under another delivery
	// id (the header is not signed); two deliveries that share a delivery id (WooCommerce
	// derives it from the webhook and the second) are both published, and so is the same
	// body under another topic.
	body := `{"id":704,"name":"Twinstar","status":"publish","date_modified_gmt":"2025-08-06T10:00:00"}`
	receive := func(topic, delivery, body string) inbound.Result {
		t.Helper()
		res, err := r.Receive(t.Context(), "aquascene", "woocommerce", wcDelivery("wc-secret", topic, delivery, body), []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := receive("product.updated", "same", body); res.Duplicate {
		t.Fatalf("first: %+v", res)
	}
	if res := receive("product.updated", "same", body); !res.Duplicate {
		t.Fatalf("again: %+v", res)
	}
	if res := receive("product.updated", "replayed", body); !res.Duplicate {
		t.Fatalf("replayed under another delivery id: %+v", res)
	}
	other := `{"id":705,"name":"Dennerle","status":"publish"}`
	if res := receive("product.updated", "same", other); res.Duplicate || pub.events[len(pub.events)-1].Subject != "705" {
		t.Fatalf("same delivery id, other product: %+v", res)
	}
	if res := receive("product.created", "c1", body); res.Duplicate || pub.events[len(pub.events)-1].Type != "woocommerce.product.created" {
		t.Fatalf("same body, other topic: %+v", res)
	}
}

// TestWooCommercePing: the unsigned ping a store sends when a webhook is created is a
// handshake, publishing nothing.
func TestWooCommercePing(t *testing.T) {
	r, pub, _ := newModule(t, &clock{t: time.Now()}, "aquascene", map[string]inbound.SourceConfig{
		"woocommerce": {Verifier: "woocommerce", Secret: "wc-secret"},
	}, netguard.Policy{})
	h := hdr("Content-Type", "application/x-www-form-urlencoded", "User-Agent", "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)")
	res, err := r.Receive(t.Context(), "aquascene", "woocommerce", h, signature.WooCommercePingBody(7))
	if err != nil || !res.Handshake || len(pub.events) != 0 {
		t.Fatalf("ping: %+v %v, %d events", res, err, len(pub.events))
	}
	// Anything else unsigned is refused.
	for _, body := range []string{"webhook_id=7&topic=product.created", `{"webhook_id":7}`, ""} {
		if _, err := r.Receive(t.Context(), "aquascene", "woocommerce", h, []byte(body)); !errors.Is(err, inbound.ErrUnauthorized) {
			t.Fatalf("unsigned %q: %v", body, err)
		}
	}
}

func TestWooCommerceBadDeliveries(t *testing.T) {
	r, pub, _ := newModule(t, &clock{t: time.Now()}, "aquascene", map[string]inbound.SourceConfig{
		"woocommerce": {Verifier: "woocommerce", Secret: "wc-secret"},
	}, netguard.Policy{})
	product := `{"id":703}`
	mismatch := wcDelivery("wc-secret", "product.updated", "d1", product)
	mismatch.Set(signature.WooCommerceEventHeader, "deleted")
	noTopic := wcDelivery("wc-secret", "product.updated", "d2", product)
	noTopic.Del(signature.WooCommerceTopicHeader)
	tests := []struct {
		name   string
		header http.Header
		body   string
		field  string
	}{
		{"no topic", noTopic, product, signature.WooCommerceTopicHeader},
		{"odd topic", wcDelivery("wc-secret", "product updated", "d3", product), product, signature.WooCommerceTopicHeader},
		{"topic and event disagree", mismatch, product, signature.WooCommerceResourceHeader},
		{"not JSON", wcDelivery("wc-secret", "product.updated", "d4", "id=703"), "id=703", "body"},
		{"a JSON array", wcDelivery("wc-secret", "product.updated", "d5", "[1]"), "[1]", "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.Receive(t.Context(), "aquascene", "woocommerce", tt.header, []byte(tt.body))
			var fe *core.FieldError
			if !errors.As(err, &fe) || fe.Path != tt.field {
				t.Fatalf("Receive = %v, want an error on %s", err, tt.field)
			}
		})
	}
	if len(pub.events) != 0 {
		t.Fatalf("%d events published", len(pub.events))
	}
}

// TestWooCommerceMapping: a source's expressions override the type, id, subject and data.
func TestWooCommerceMapping(t *testing.T) {
	r, pub, _ := newModule(t, &clock{t: time.Now()}, "aquascene", map[string]inbound.SourceConfig{
		"shop": {Verifier: "woocommerce", Secret: "wc-secret", Type: `"shop." + headers["x-wc-webhook-resource"] + ".changed"`,
			Subject: `body.sku`, Data: `{"id": body.id, "name": body.name}`},
	}, netguard.Policy{})
	body := `{"id":703,"sku":"CH-WRGB2-60","name":"Chihiros WRGB II 60","price":"219.00"}`
	if _, err := r.Receive(t.Context(), "aquascene", "shop", wcDelivery("wc-secret", "product.updated", "m1", body), []byte(body)); err != nil {
		t.Fatal(err)
	}
	ev := pub.events[0]
	if ev.Type != "shop.product.changed" || ev.Subject != "CH-WRGB2-60" || string(ev.Data) != `{"id":703,"name":"Chihiros WRGB II 60"}` {
		t.Fatalf("event %+v data %s", ev, ev.Data)
	}
}
