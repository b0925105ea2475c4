//go:build !unix

package plugins

// limitProcess does nothing where rlimits do not exist: the compiling child is then bounded
// in time by the host (connectors.compile_timeout) but not in memory.
func limitProcess(maxMemory int64, maxCPU int) error { return nil }
