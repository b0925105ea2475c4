//go:build !linux

package plugins

import "context"

// guestMemory leaves linear memory to wazy outside Linux, where the hub does not advise
// the kernel on huge pages.
func guestMemory(ctx context.Context) context.Context { return ctx }
