package plugins

import (
	"context"
	"syscall"
	"unsafe"

	"github.com/samyfodil/wazy/api"
)

// hugePage is the size of a transparent huge page on the platforms the hub runs on.
const hugePage = 2 << 20

// guestMemory backs each instance's linear memory with a mapping of its own that the
// kernel may fill with transparent huge pages (madvise(MADV_HUGEPAGE)). Connector code
// touches its few MiB of memory all over on every call; with 4 KiB pages that costs a TLB
// miss after another, which under a hypervisor's nested paging is a two-level walk.
// Huge pages cut the pipeline bench's CPU per event by about a tenth (docs/performance.md,
// finding 15). The kernel's own setting rules: with THP "never" the advice is ignored and
// the memory is ordinary pages. A mapping that cannot be made (an address space or data
// limit) falls back to wazy's own Go-allocated memory for that instance.
func guestMemory(ctx context.Context) context.Context {
	return api.WithMemoryAllocator(ctx, api.MemoryAllocatorFunc(allocateGuestMemory))
}

func allocateGuestMemory(capacity, max uint64) api.LinearMemory {
	if m, err := mapGuestMemory(max); err == nil {
		return m
	}
	return &heapMemory{b: make([]byte, 0, capacity)}
}

// mappedMemory is a linear memory reserved at its maximum size: growing it only lengthens
// the slice, so the memory never moves and is never copied. Pages are backed on first
// touch, zero-filled by the kernel, and returned by Free.
type mappedMemory struct {
	region []byte // the whole mapping, for munmap
	b      []byte // the huge-page aligned part the guest uses, max bytes long
}

func mapGuestMemory(max uint64) (*mappedMemory, error) {
	if max == 0 || max > 1<<32 {
		return nil, syscall.EINVAL
	}
	// One huge page more than asked, so that the memory can start on a huge-page
	// boundary wherever the kernel puts the mapping.
	region, err := syscall.Mmap(-1, 0, int(max)+hugePage, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		return nil, err
	}
	off := 0
	if rem := addressOf(region) % hugePage; rem != 0 {
		off = int(hugePage - rem)
	}
	b := region[off : off+int(max) : off+int(max)]
	// Advice the kernel does not take (THP compiled out or "never") leaves ordinary pages.
	_ = syscall.Madvise(b, syscall.MADV_HUGEPAGE)
	return &mappedMemory{region: region, b: b}, nil
}

func addressOf(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// Reallocate implements api.LinearMemory.
func (m *mappedMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.b)) {
		return nil
	}
	return m.b[:size:size]
}

// Free implements api.LinearMemory. wazy calls it once no call of the instance is running.
func (m *mappedMemory) Free() {
	if m.region != nil {
		_ = syscall.Munmap(m.region)
		m.region, m.b = nil, nil
	}
}

// heapMemory is a linear memory in Go's heap, for when no mapping could be made.
type heapMemory struct{ b []byte }

// Reallocate implements api.LinearMemory.
func (m *heapMemory) Reallocate(size uint64) []byte {
	if size > uint64(cap(m.b)) {
		grown := make([]byte, size, max(size, 2*uint64(cap(m.b))))
		copy(grown, m.b)
		m.b = grown
	}
	m.b = m.b[:size]
	return m.b
}

// Free implements api.LinearMemory.
func (m *heapMemory) Free() { m.b = nil }
