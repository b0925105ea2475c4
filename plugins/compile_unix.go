//go:build unix

package plugins

import "syscall"

// limitProcess caps this process's data memory at maxMemory bytes and its CPU time at
// maxCPU seconds (zero: no cap). The data limit (RLIMIT_DATA) counts the private writable
// memory a compiler allocates; the address space limit would also count what the Go
// runtime only reserves, and stop it from starting. Past the CPU cap the kernel sends
// SIGXCPU and then kills; past the memory cap allocations fail and the Go runtime exits
// reporting that it cannot allocate memory.
func limitProcess(maxMemory int64, maxCPU int) error {
	if maxMemory > 0 {
		lim := uint64(maxMemory)
		if err := syscall.Setrlimit(syscall.RLIMIT_DATA, &syscall.Rlimit{Cur: lim, Max: lim}); err != nil {
			return err
		}
	}
	if maxCPU > 0 {
		if err := syscall.Setrlimit(syscall.RLIMIT_CPU, &syscall.Rlimit{Cur: uint64(maxCPU), Max: uint64(maxCPU) + 1}); err != nil {
			return err
		}
	}
	return nil
}
