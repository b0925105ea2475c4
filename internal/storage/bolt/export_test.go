package bolt

import "time"

// SetLockTimeout shortens the wait for a locked file; the returned function restores it.
func SetLockTimeout(d time.Duration) func() {
	prev := lockTimeout
	lockTimeout = d
	return func() { lockTimeout = prev }
}
