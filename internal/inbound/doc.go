// Package inbound is the inbound sources module: it verifies webhooks that vendors and
// partners send to the hub and turns them into CloudEvents.
//
// A source is one configured endpoint, POST /hooks/{tenant}/{source} (SourceConfig). Its
// verifier decides whether a request is authentic (HMAC over the raw body, Standard
// Webhooks, Basic auth, an API key, Airtable's X-Airtable-Content-MAC, SendGrid's ECDSA
// signature, WooCommerce's X-WC-Webhook-Signature; the signature schemes themselves are in
// sdk/signature), replay protection
// refuses stale timestamps and repeated message ids, and expr-lang expressions map the
// payload to the event's type, id, subject and data. The module publishes the event into
// the pipeline, where rules pick it up like any other. A request that fails verification is
// ErrUnauthorized, which is core.ErrUnauthenticated: the HTTP kernel answers 401.
//
// A sender's handshake that carries no data, WooCommerce's unsigned ping when a webhook is
// created, is answered 200 (the store wants exactly that) and publishes nothing.
//
// Two vendor sources publish more than one event per request: a SendGrid Event Webhook batch
// becomes one email.<event> event per item (id sg_event_id), and an Airtable notification
// ping, which carries no data, makes the module fetch the webhook's payloads through a
// cursor kept in the Store and publish one airtable.record.created|updated|deleted event per
// changed record.
//
// # Adding a verifier
//
// Each verifier is a Scheme: its name (the value of SourceConfig.Verifier), the
// scheme-specific SourceConfig fields it reads, a New function that checks its part of the
// configuration and builds its Verifier, and optionally an Intake for requests that are not
// one event each. Configuration validation (SourceConfig.Validate) and module construction
// (New) both ask the Schemes registry, so adding one takes two steps:
//
//  1. a new file, say github.go, with func githubScheme() Scheme and the Verifier it
//     builds; a signature algorithm shared with a simulator or the hub's outbound side goes
//     in sdk/signature;
//  2. one line, githubScheme(), in DefaultSchemes.
//
// A verifier returns an error wrapping ErrUnauthorized for a request that is not authentic,
// and Verified.ID when the sender signs a message id, which is then deduplicated.
package inbound
