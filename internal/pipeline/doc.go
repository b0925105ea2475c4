// Package pipeline is the feature module that serves the pipeline's own API: ingestion of
// CloudEvents (POST /api/v1/events, structured, binary and batch), events by id, runs with
// their effect ledgers, and the dead-letter queue. It converts between core's domain types
// and the API types of sdk/api.
package pipeline
