package signature

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// The expected values were computed independently with
// `printf '%s' BODY | openssl dgst -sha256 -hmac SECRET -binary | base64`.
var wooCommerceVectors = []struct{ name, secret, body, want string }{
	{"product", "wc-webhook-secret", `{"id":799,"name":"ADA Aqua Soil Amazonia 9L"}`, "0p6ocHIYOlCO/XlrEp0toP6NvNkfG+DaBbWJn2JoN7E="},
	{"empty body", "k", "", "i7mQxAp9YcuXWXqUISUCW+UKyL63RDbjc1uYiTp/ZiA="},
}

func TestSignWooCommerceMatchesOpenSSL(t *testing.T) {
	for _, v := range wooCommerceVectors {
		t.Run(v.name, func(t *testing.T) {
			if got := SignWooCommerce(v.secret, []byte(v.body)); got != v.want {
				t.Fatalf("SignWooCommerce = %s, want %s", got, v.want)
			}
			if err := VerifyWooCommerce(v.secret, v.want, []byte(v.body)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestVerifyWooCommerceRejects(t *testing.T) {
	v := wooCommerceVectors[0]
	tests := []struct {
		name, secret, sig, body string
		want                    error
	}{
		{"missing", v.secret, " ", v.body, ErrMissing},
		{"not base64", v.secret, "not*base64", v.body, ErrMalformed},
		{"short", v.secret, "AAAA", v.body, ErrMalformed},
		{"hex instead of base64", v.secret, "d29aa87072183a508efd796b129d2da0fe8dbcd91f1be0da05b589df626837b1", v.body, ErrMalformed},
		{"other body", v.secret, v.want, v.body + " ", ErrMismatch},
		{"other secret", "wc-webhook-secreT", v.want, v.body, ErrMismatch},
		{"no secret", "", v.want, v.body, ErrBadKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyWooCommerce(tt.secret, tt.sig, []byte(tt.body))
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), WooCommerceSignatureHeader) {
				t.Fatalf("VerifyWooCommerce = %v, want %v naming the header", err, tt.want)
			}
		})
	}
}

func TestWooCommerceDeliveryHeadersRoundTrip(t *testing.T) {
	d := WooCommerceDelivery{Topic: "product.updated", Resource: "product", Event: "updated", WebhookID: "3", DeliveryID: "17",
		Source: "https://shop.example/", Signature: "sig"}
	h := http.Header{}
	d.Header(h)
	if h.Get("X-WC-Webhook-Topic") != "product.updated" || WooCommerceDeliveryOf(h) != d {
		t.Fatalf("headers %v, read back %+v", h, WooCommerceDeliveryOf(h))
	}
}

func TestParseWooCommercePing(t *testing.T) {
	tests := []struct {
		name, body, want string
		ok               bool
	}{
		{"ping", string(WooCommercePingBody(42)), "42", true},
		{"zero", "webhook_id=0", "", false},
		{"trailing", "webhook_id=4&x=1", "", false},
		{"json", `{"webhook_id":4}`, "", false},
		{"empty", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseWooCommercePing([]byte(tt.body))
			if got != tt.want || ok != tt.ok {
				t.Fatalf("ParseWooCommercePing(%q) = %q, %v", tt.body, got, ok)
			}
		})
	}
}

func FuzzVerifyWooCommerce(f *testing.F) {
	v := wooCommerceVectors[0]
	f.Add(v.secret, v.want, []byte(v.body))
	f.Fuzz(func(t *testing.T, secret, sig string, body []byte) {
		err := VerifyWooCommerce(secret, sig, body)
		if err == nil && SignWooCommerce(secret, body) != strings.TrimSpace(sig) {
			t.Fatalf("accepted a signature that is not the body's")
		}
	})
}
