// Package plugins is aquahub's WebAssembly connector host, and the only package that imports
// the WebAssembly runtime (wazy, a fork of wazero; RATIONALE.md says why).
//
// A Catalog (Open, from a Config and Deps) loads every *.wasm file of a directory. A file's
// name is the connector's id, and its manifest must say the same; a tenant may pin the
// file's digest. Each module is checked against the load-time limits (its size, then a scan
// of its functions, locals and nesting before any compiler runs), compiled once per content
// hash (in a child process bounded in memory and time when Deps.CompileCommand is set, and
// with a disk compilation cache, so a restart is fast), checked for the hub ABI v1 marker,
// instantiated once to read its manifest through hub_describe under Config.InitTimeout
// (the manifest's schemas compiled and bounded by the schema limits), and then served from
// a bounded pool of initialised instances. A module refused for any reason is not tried
// again until its file changes; every reload reports it. Lifecycle: Open → (Execute |
// Invoke | CheckStep | Reload)* → Close. A Reload (or Watch noticing a replaced file) swaps a connector's pool
// atomically; calls in flight finish on the version they started with.
//
// Every call runs under a deadline (the runtime checks for cancellation inline at every loop
// back-edge, so a guest stuck in a loop is stopped; input validation counts against it and
// spends a work budget; a guest's sleep really sleeps and ends with it), a linear-memory
// page limit and a response size cap. An instance that traps, panics or runs out of memory
// is discarded and the call fails as transient, carrying the tail of the guest's stderr,
// quoted as the guest's. Instances are recycled after a number of calls or when their memory
// grows past a mark, since Go guests never shrink their heap.
//
// Host functions (module "hub"): log into slog tagged with tenant, run, connector and action,
// within a per-call and a per-second byte budget, every field cut;
// http_request under package sdk/abi/egress's rules (deny by default, manifest request ∩
// tenant grant, dial-time address checks, re-checked redirects, no proxy, secrets injected by
// name, counted in metrics; signing keys are never sent); sign_jwt, which signs a JWT with a
// tenant's signing key through package sdk/abi/jwtsign (keys parsed once per tenant,
// connector and secret); kv_get/kv_set in the KVStore of Deps, scoped by tenant and
// connector and held to a quota of keys and bytes per scope, checked in the store's write
// (the hub's is internal/storage/bolt's, whose contract suite is package storetest); now;
// take_result.
//
// The Catalog's StepKind is the `connector` rule step kind. Module (New) makes the host a
// feature of the hub: the step kind, the directory watcher as a worker, the metrics and the
// /api/v1/connectors routes.
package plugins
