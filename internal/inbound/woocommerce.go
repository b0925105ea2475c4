package inbound

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/signature"
)

// WooCommerceEventPrefix starts the type of every event a WooCommerce source publishes:
// woocommerce.<topic>, such as woocommerce.product.created or woocommerce.order.created.
const WooCommerceEventPrefix = "woocommerce."

// wooCommerceTopic is resource.event as WooCommerce names topics (product.updated,
// order.created, action.woocommerce_add_to_cart for action webhooks).
var wooCommerceTopic = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}\.[a-z0-9_]{1,100}$`)

// wooCommerceScheme verifies WooCommerce webhooks (X-WC-Webhook-Signature, base64
// HMAC-SHA256 of the body keyed with the webhook's secret, the source's secret) and
// publishes each delivery as the event woocommerce.<X-WC-Webhook-Topic> whose data is the
// resource (the product, the order). WooCommerce's unsigned ping when a webhook is created
// is answered 200, as the store requires, and publishes nothing.
func wooCommerceScheme() Scheme {
	return Scheme{
		Name: "woocommerce",
		New: func(cfg SourceConfig) (Verifier, error) {
			return WooCommerce{Secret: cfg.Secret}, nil
		},
		Intake: func(_ SourceConfig, deps IntakeDeps) (Intake, error) {
			return wooCommerceDelivery{pub: deps.Publisher}, nil
		},
	}
}

// WooCommerce verifies X-WC-Webhook-Signature. A request with no signature whose body is
// exactly WooCommerce's ping (webhook_id=<id>) is a handshake: it is let through, because it
// publishes nothing and the store counts anything but 200 as a failed ping.
type WooCommerce struct {
	// Secret is the webhook's secret as typed in the store.
	Secret string
}

// Verify implements Verifier.
func (v WooCommerce) Verify(r Request) (Verified, error) {
	sig := r.Header.Get(signature.WooCommerceSignatureHeader)
	if strings.TrimSpace(sig) == "" {
		if _, ok := signature.ParseWooCommercePing(r.Body); ok {
			return Verified{Handshake: true}, nil
		}
	}
	if err := signature.VerifyWooCommerce(v.Secret, sig, r.Body); err != nil {
		return Verified{}, fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	return Verified{}, nil
}

// wooCommerceDelivery publishes one verified delivery: type woocommerce.<topic> from
// X-WC-Webhook-Topic (checked against -Resource and -Event when they are sent), subject the
// resource's id, data the body. The event id is a hash of the topic and the signed body.
// X-WC-Webhook-Delivery-ID cannot be the id: WooCommerce derives it from the webhook and the
// second of sending, so deliveries in one second share it, and it is not signed, so a
// captured delivery replayed under a new one would publish again. The resource's
// date_modified is in the body, so distinct changes hash apart, and WooCommerce firing one
// change twice publishes once. Configured expressions override each part (the delivery id
// is headers["x-wc-webhook-delivery-id"]).
type wooCommerceDelivery struct{ pub core.Publisher }

// Receive implements Intake.
func (d wooCommerceDelivery) Receive(ctx context.Context, s *Source, req Request, ver Verified) (Result, error) {
	wc := signature.WooCommerceDeliveryOf(req.Header)
	topic := strings.ToLower(strings.TrimSpace(wc.Topic))
	if !wooCommerceTopic.MatchString(topic) {
		return Result{}, core.Invalid(signature.WooCommerceTopicHeader, "must be a WooCommerce topic such as product.created (got %q)", wc.Topic)
	}
	if wc.Resource != "" || wc.Event != "" {
		if got := strings.ToLower(wc.Resource + "." + wc.Event); got != topic {
			return Result{}, core.Invalid(signature.WooCommerceResourceHeader, "resource and event %q do not make the topic %q", got, topic)
		}
	}
	var body map[string]any
	if err := json.Unmarshal(req.Body, &body); err != nil || body == nil {
		return Result{}, core.Invalid("body", "a WooCommerce delivery is a JSON object")
	}
	h := sha256.New()
	h.Write([]byte(topic + "\n"))
	h.Write(req.Body)
	id := "wc-" + hex.EncodeToString(h.Sum(nil)[:16])
	subject := ""
	if n, ok := body["id"].(float64); ok && n > 0 {
		subject = strconv.FormatFloat(n, 'f', -1, 64)
	}
	verified := map[string]any{"id": ver.ID}
	env := exprEnv{Body: body, Headers: headerMap(req.Header), Tenant: s.Tenant, Source: s.Name, Verified: verified, Raw: string(req.Body)}
	ev, err := s.mapEvent(env, WooCommerceEventPrefix+topic, id, subject, req.Now)
	if err != nil {
		return Result{}, err
	}
	acc, err := d.pub.Publish(ctx, s.Tenant, ev)
	if err != nil {
		return Result{}, err
	}
	res := Result{Accepted: core.Accepted{ID: ev.ID, Source: ev.Source}}
	if len(acc) == 1 {
		res.Accepted, res.Duplicate = acc[0], acc[0].Duplicate
	}
	return res, nil
}

var (
	_ Verifier = WooCommerce{}
	_ Intake   = wooCommerceDelivery{}
)
