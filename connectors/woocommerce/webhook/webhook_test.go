package webhook

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// The expected values were computed independently with
// `printf '%s' BODY | openssl dgst -sha256 -hmac SECRET -binary | base64`.
var vectors = []struct{ name, secret, body, want string }{
	{"product", "wc-webhook-secret", `{"id":799,"name":"ADA Aqua Soil Amazonia 9L"}`, "0p6ocHIYOlCO/XlrEp0toP6NvNkfG+DaBbWJn2JoN7E="},
	{"empty body", "k", "", "i7mQxAp9YcuXWXqUISUCW+UKyL63RDbjc1uYiTp/ZiA="},
}

func TestSignMatchesOpenSSL(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			if got := Sign(v.secret, []byte(v.body)); got != v.want {
				t.Fatalf("Sign = %s, want %s", got, v.want)
			}
			if err := Verify(v.secret, v.want, []byte(v.body)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	v := vectors[0]
	tests := []struct {
		name, secret, sig, body string
		want                    error
	}{
		{"missing", v.secret, " ", v.body, ErrMissingSignature},
		{"not base64", v.secret, "not*base64", v.body, ErrMalformedSignature},
		{"short", v.secret, "AAAA", v.body, ErrMalformedSignature},
		{"hex instead of base64", v.secret, "d29aa87072183a508efd796b129d2da0fe8dbcd91f1be0da05b589df626837b1", v.body, ErrMalformedSignature},
		{"other body", v.secret, v.want, v.body + " ", ErrSignatureMismatch},
		{"other secret", "wc-webhook-secreT", v.want, v.body, ErrSignatureMismatch},
		{"no secret", "", v.want, v.body, ErrNoSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Verify(tt.secret, tt.sig, []byte(tt.body)); !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDeliveryHeadersRoundTrip(t *testing.T) {
	d := Delivery{Topic: "product.updated", Resource: "product", Event: "updated", WebhookID: "3", DeliveryID: "17",
		Source: "https://shop.example/", Signature: "sig"}
	h := http.Header{}
	d.Headers(h)
	if h.Get("X-WC-Webhook-Topic") != "product.updated" || DeliveryOf(h) != d {
		t.Fatalf("headers %v, read back %+v", h, DeliveryOf(h))
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("s", vectors[0].want, []byte(vectors[0].body))
	f.Fuzz(func(t *testing.T, secret, sig string, body []byte) {
		err := Verify(secret, sig, body)
		if err == nil && Sign(secret, body) != strings.TrimSpace(sig) {
			t.Fatalf("accepted a signature that is not the body's")
		}
	})
}
