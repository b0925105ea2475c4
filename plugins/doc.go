// Package plugins is aquahub's WebAssembly connector host, and the only package that imports
// wazero.
//
// A Catalog loads every *.wasm file of a directory. Each module is compiled once per content
// hash (with a disk compilation cache, so a restart is fast), checked for the hub ABI v1
// marker, instantiated once to read its manifest through hub_describe, and then served from
// a bounded pool of initialised instances. Lifecycle: Open → (Execute | Invoke | CheckStep |
// Reload)* → Close. A Reload (or Watch noticing a replaced file) swaps a connector's pool
// atomically; calls in flight finish on the version they started with.
//
// Every call runs under a deadline (wazero's WithCloseOnContextDone stops a guest stuck in a
// loop), a linear-memory page limit and a response size cap. An instance that traps, panics
// or runs out of memory is discarded and the call fails as transient, carrying the tail of
// the guest's stderr. Instances are recycled after a number of calls or when their memory
// grows past a mark, since Go guests never shrink their heap.
//
// Host functions (module "hub"): log into slog tagged with tenant, run, connector and action;
// http_request under package sdk/abi/egress's rules (deny by default, manifest request ∩
// tenant grant, dial-time address checks, re-checked redirects, no proxy, secrets injected by
// name, counted in metrics; signing keys are never sent); sign_jwt, which signs a JWT with a
// tenant's signing key through package sdk/abi/jwtsign (keys parsed once per tenant,
// connector and secret); kv_get/kv_set in the bbolt bucket "plugins.kv" scoped by tenant and
// connector; now; take_result.
//
// The Catalog is the `connector` step executor (core.StepExecutor) and the rules loader's
// StepChecker.
package plugins
