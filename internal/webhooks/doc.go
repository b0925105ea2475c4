// Package webhooks is the outbound webhooks module: it delivers a tenant's events to the
// endpoints it registered, signed, durably and with retries.
//
// The life of one message:
//
//	EventReader.EventsAfter ──► FanOut ──► messages due now (one Store transaction that also
//	                                        advances the fan-out cursor)
//	                                             │
//	                       claim ◄───────────────┘ per endpoint, fairly (lease)
//	                         │
//	                         ▼
//	             the endpoint's lane ──► signed POST ──► record
//	             (max_in_flight, rate_limit,            │
//	              breaker, ordered)                     │
//	            2xx: succeeded · 410: endpoint disabled · other: next slot of the schedule,
//	            at least the receiver's Retry-After · schedule exhausted: dead (replayable)
//
// Isolation: messages wait in a queue per endpoint, and claiming reads the endpoints in the
// order of their earliest due message, passing over those whose lane is full, so one
// endpoint's backlog never delays another endpoint's messages. Each endpoint's lane runs at
// most max_in_flight requests (Config.EndpointConcurrency by default) and no faster than
// its rate_limit; its first request never waits for the shared workers. Each endpoint has a
// circuit breaker (core.Circuits): after repeated failures or timeouts its messages are
// deferred, not attempted and not charged an attempt, until a probe succeeds; opening and
// closing publish webhook.endpoint.circuit.opened and .closed. An ordered endpoint gets one
// message at a time in creation order.
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
// benchmark can drive one pass at a time under a fake clock; the worker runs requests
// alongside its loop, each ending request waking it to start the next.
//
// Three shapes of the same data stay apart: the domain types here (Endpoint, Delivery,
// Attempt), the API's (sdk/api, converted in api.go) and the storage package's records.
package webhooks
