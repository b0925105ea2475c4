// Package webhooks delivers hub events to registered HTTP endpoints, signed, durably and with
// retries, and (in the inbound subpackage) verifies webhooks that vendors send to the hub.
//
// Outbound, the life of one message:
//
//	Store.EventsAfter ──► FanOut ──► deliveries + due index (one bbolt transaction that
//	                                 also advances the fan-out cursor)
//	                                      │
//	                      DeliverDue ◄────┘ claim (lease) ──► signed POST ──► record attempt
//	                                                                         │
//	            2xx: succeeded · 410: endpoint disabled · other: next slot of the schedule,
//	            at least the receiver's Retry-After · schedule exhausted: dead (replayable)
//
// Every request carries the Standard Webhooks headers (webhook-id, webhook-timestamp,
// webhook-signature) and the seed guide's X-Signature-256. The webhook-id is the message id:
// it is the same on every attempt and every replay, so receivers can deduplicate.
//
// A Service is built with New, started with Run, and stopped by cancelling Run's context.
// FanOut and DeliverDue are exported so tests (and the benchmark) can drive one pass at a
// time under a fake Clock.
package webhooks
