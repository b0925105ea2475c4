// Package webhook verifies and produces Airtable webhook notification signatures: the
// X-Airtable-Content-MAC header, "hmac-sha256=" followed by the lowercase hex HMAC-SHA256 of
// the raw body keyed with the base64-decoded macSecretBase64 that webhook creation returned.
//
// It is used by the hub's inbound handler (core/webhooks) and by the Airtable simulator, and
// imports only the standard library.
package webhook
