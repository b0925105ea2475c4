package plugins

// NewMemKV lets the external tests run the kv contract suite on the in-memory store.
func NewMemKV() KVStore { return newMemKV() }
