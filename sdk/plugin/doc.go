// Package plugin is the Go SDK for aquahub connectors: WASI preview 1 reactor modules that
// speak the hub ABI (package sdk/abi, docs/connector-abi.md).
//
// A connector is a package main that registers itself in init and is built with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o acme.wasm .
//
// (or `aquahub plugin build`). In a reactor module main never runs; the SDK's exports
// (hub_abi_v1, hub_alloc, hub_describe, hub_invoke) are compiled in when the package is
// imported, and serve the Connector passed to Main:
//
//	type ListIn struct {
//		Status string `json:"status,omitempty" desc:"filter by status" jsonschema:"enum=open|closed"`
//	}
//	type ListOut struct {
//		Orders []Order `json:"orders"`
//	}
//
//	func init() {
//		plugin.Main(&plugin.Connector{
//			ID: "acme", Version: "1.0.0",
//			Secrets: []plugin.SecretSpec{{Name: "api_key", Required: true,
//				Places: []plugin.SecretPlace{{Header: "Authorization"}}}},
//			Egress:  []string{"https://api.acme.test"},
//			Actions: []plugin.Handler{
//				plugin.Action[ListIn, ListOut]{Name: "orders.list", Handle: listOrders},
//			},
//		})
//	}
//	func main() {}
//
// Handlers use ordinary net/http code through HTTPClient, whose transport is the host's
// http_request import: the host applies the tenant's egress grant and injects secrets
// referenced with Secret or BasicAuth, only in the places the manifest declares (ABI
// revision 1.5) and only to the origins the operator binds them to, so secret values never
// enter the module; HMACHex and HMACBase64 have the host sign a request body with a secret.
// The context an action gets ends at the call's deadline. For
// service-account and JWT-bearer flows, SignJWT has the host sign claims with a private
// key the manifest declares with Use SecretUseSign (ABI revision 1.3); the key never
// enters the module either, and no request may carry it. Config, KV, Logger and Now reach
// the rest of the host. Errors are typed with RateLimited, Permanent,
// Transient, InvalidInput, Auth and NotFound (CheckResponse maps HTTP statuses onto them);
// any other error counts as transient.
//
// The package also builds natively, where package plugintest runs a connector's handlers
// with the same host semantics for fast unit tests.
package plugin
