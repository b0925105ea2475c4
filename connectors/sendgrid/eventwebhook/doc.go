// Package eventwebhook verifies and produces the signatures of SendGrid's signed Event
// Webhook: an ECDSA P-256 signature, base64 ASN.1 DER, over SHA-256 of the timestamp header
// bytes followed by the raw body bytes, checked with the base64 DER SubjectPublicKeyInfo that
// SendGrid shows for the webhook.
//
// It is used by the hub's inbound handler (core/webhooks) and by the SendGrid simulator, and
// imports only the standard library.
package eventwebhook
