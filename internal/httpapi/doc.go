// Package httpapi is aquahub's HTTP server (fiber v2): event ingestion, runs and the DLQ,
// health, metrics and the OpenAPI document, plus the routes features add. It is the only
// place where errors become HTTP statuses: handlers return errors and the error handler
// writes them as application/problem+json (RFC 9457).
package httpapi
