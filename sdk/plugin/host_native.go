//go:build !wasip1

package plugin

// defaultHost is nil natively: package plugintest supplies a host per action.
func defaultHost() Host { return nil }
