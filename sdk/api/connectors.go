package api

import "time"

// Connector is a loaded connector as GET /api/v1/connectors lists it. Its manifest (GET
// /api/v1/connectors/{id}) is an abi.Manifest.
type Connector struct {
	ID          string `json:"id"`
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
	// File is the module file the connector was loaded from; SHA256 its content hash.
	File     string    `json:"file"`
	SHA256   string    `json:"sha256"`
	LoadedAt time.Time `json:"loaded_at"`
	// Actions are the names of its actions.
	Actions []string `json:"actions"`
	// Egress lists the origins its manifest requests (tenants grant a subset).
	Egress []string `json:"egress,omitempty"`
	// Features lists the optional features of ABI v1 revisions the module uses:
	// hub_reuse_input (1.1), rate_limits (1.2), sign_jwt (1.3), secret_places (1.5).
	Features []string `json:"abi_features,omitempty"`
	// PoolSize is the most instances the connector may have; Live the instances that exist
	// now, Idle those waiting in the pool.
	PoolSize int   `json:"pool_size"`
	Live     int64 `json:"live_instances"`
	Idle     int   `json:"idle_instances"`
	// Calls and Errors count invocations and failed ones since this version was loaded.
	Calls  int64 `json:"calls"`
	Errors int64 `json:"errors"`
	// KV is what the connector stores in kv, one entry per tenant holding any, with the
	// quota each tenant's share is held to.
	KV []ConnectorKV `json:"kv,omitempty"`
}

// ConnectorKV is what one connector stores in kv for one tenant, against its quota.
type ConnectorKV struct {
	Tenant     string `json:"tenant"`
	Keys       int    `json:"keys"`
	Bytes      int64  `json:"bytes"`
	QuotaKeys  int    `json:"quota_keys"`
	QuotaBytes int64  `json:"quota_bytes"`
}

// ConnectorRefusal is a module file the hub refused and does not serve. It is not loaded
// again until the file changes.
type ConnectorRefusal struct {
	// File is the module's path; Connector the name it would serve under (its file name
	// without .wasm).
	File      string `json:"file"`
	Connector string `json:"connector"`
	// Reason says why, naming the limit or rule the module broke.
	Reason string `json:"reason"`
	// Since is when the file was refused in its present form.
	Since time.Time `json:"since"`
}

// ConnectorList is the answer of GET /api/v1/connectors, by id, with the refused module
// files by path.
type ConnectorList struct {
	Connectors []Connector        `json:"connectors"`
	Refused    []ConnectorRefusal `json:"refused"`
}

// ConnectorReload is the answer of POST /api/v1/connectors/reload: connector ids loaded or
// replaced, kept unchanged and removed (their file disappeared), and the files refused,
// whose previous versions stay in service.
type ConnectorReload struct {
	Loaded    []string `json:"loaded"`
	Unchanged []string `json:"unchanged"`
	Removed   []string `json:"removed"`
	Failed    []string `json:"failed"`
	// Refused says why each failed file was refused, including files refused by an earlier
	// reload and unchanged since.
	Refused []ConnectorRefusal `json:"refused"`
	// Error says why the failed files were refused, one line per file.
	Error string `json:"error,omitempty"`
}
