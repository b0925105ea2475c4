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
}

// ConnectorList is the answer of GET /api/v1/connectors, by id.
type ConnectorList struct {
	Connectors []Connector `json:"connectors"`
}

// ConnectorReload is the answer of POST /api/v1/connectors/reload: connector ids loaded or
// replaced, kept unchanged and removed (their file disappeared), and the files refused,
// whose previous versions stay in service.
type ConnectorReload struct {
	Loaded    []string `json:"loaded"`
	Unchanged []string `json:"unchanged"`
	Removed   []string `json:"removed"`
	Failed    []string `json:"failed"`
	// Error says why the failed files were refused.
	Error string `json:"error,omitempty"`
}
