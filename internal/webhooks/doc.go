// Package webhooks is the outbound webhooks module: it delivers a tenant's events to the
// endpoints it registered, signed, durably and with retries.
//
// The life of one message:
//
//	EventReader.EventsAfter ──► FanOut ──► messages due now (one Store transaction that also
//	                                        advances the fan-out cursor)
//	                                             │
//	                  DeliverDue ◄───────────────┘ claim (lease) ──► signed POST ──► record
//	                                                                                 │
//	            2xx: succeeded · 410: endpoint disabled · other: next slot of the schedule,
//	            at least the receiver's Retry-After · schedule exhausted: dead (replayable)
//
// Every request carries the Standard Webhooks headers (webhook-id, webhook-timestamp,
// webhook-signature) and the seed guide's X-Signature-256, both made by sdk/signature. The
// webhook-id is the message id: it is the same on every attempt and every replay, so
// receivers can deduplicate. A rule's `webhook` step queues a message outside fan-out.
//
// The module is built by New from its Config and Deps. It contributes the webhook step kind,
// a worker (Start/Stop) running fan-out and delivery, and the /api/v1/webhooks operations
// (routes.go, the only file that knows HTTP). Its state lives behind Store, a transactional
// interface whose bbolt implementation is in internal/storage/bolt; storetest is the
// contract every implementation passes. FanOut and DeliverDue are exported so tests and the
// benchmark can drive one pass at a time under a fake clock.
//
// Three shapes of the same data stay apart: the domain types here (Endpoint, Delivery,
// Attempt), the API's (sdk/api, converted in api.go) and the storage package's records.
package webhooks
