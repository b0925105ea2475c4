// Package httpapi is aquahub's HTTP kernel (fiber v2): the server, operations, the
// authentication hook, application/problem+json errors (RFC 9457) and the OpenAPI 3.1
// document. It knows no feature: modules register their operations on a Mux, each with its
// permission and its request and response types, from which the document's schemas are
// generated. It is the only place where errors become HTTP statuses: handlers return errors,
// and ToProblem maps them, from a Problem, an error with an HTTPStatus method, or core's
// sentinel errors.
//
// The lifecycle: New builds the server with its own routes (health, readiness, the
// document) and the modules' operations; Serve listens; Shutdown stops accepting requests
// and waits for those in flight.
package httpapi
