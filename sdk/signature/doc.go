// Package signature signs and verifies the webhook signature schemes aquahub speaks, each in
// one file: plain HMAC headers such as the seed guide's X-Signature-256 (hmac.go), Standard
// Webhooks (standardwebhooks.go), Airtable's X-Airtable-Content-MAC (airtable.go),
// SendGrid's signed Event Webhook (sendgrid.go) and WooCommerce's X-WC-Webhook-Signature
// with its unsigned creation ping (woocommerce.go).
//
// The hub signs its outbound webhooks and verifies inbound ones with it, and the vendor
// simulators sign what they send with it, so both ends of every test run the same code the
// vendors' wire contracts describe. It imports only the standard library.
//
// Verification errors wrap one of the sentinels in errors.go, so a caller can tell a missing
// signature from a forged one or a stale timestamp.
package signature
