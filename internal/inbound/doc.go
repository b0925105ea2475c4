// Package inbound verifies webhooks that vendors and partners send to the hub and turns them
// into CloudEvents.
//
// A Source is one configured endpoint, POST /hooks/{tenant}/{source}: a Verifier decides
// whether the request is authentic (HMAC over the raw body, Standard Webhooks, Basic auth, an
// API key, Airtable's X-Airtable-Content-MAC, SendGrid's ECDSA signature), replay protection
// refuses stale timestamps and repeated message ids, and expr-lang expressions map the
// payload to the event's type, id, subject and data. The Receiver publishes the event into
// the pipeline, where rules pick it up like any other.
//
// Two vendor sources publish more than one event per request: a SendGrid Event Webhook batch
// becomes one email.<event> event per item (id sg_event_id), and an Airtable notification
// ping, which carries no data, makes the Receiver fetch the webhook's payloads through a
// cursor kept in bbolt and publish one airtable.record.created|updated|deleted event per
// changed record.
package inbound
