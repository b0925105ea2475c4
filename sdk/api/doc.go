// Package api holds the request and response types of aquahub's REST API. The server
// encodes exactly these types and the OpenAPI document's schemas are generated from them,
// so the Go client (sdk/client), other SDKs and the document agree by construction. It
// imports only the standard library and sdk/abi.
package api
