package plugins

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGuestMemoryGrowsInPlaceUpToItsMaximum(t *testing.T) {
	const page = 64 << 10
	m := allocateGuestMemory(2*page, 16*page)
	t.Cleanup(m.Free)
	if _, ok := m.(*mappedMemory); !ok {
		t.Fatalf("allocator returned %T, want a mapping of its own", m)
	}
	b := m.Reallocate(2 * page)
	if len(b) != 2*page || !bytes.Equal(b, make([]byte, 2*page)) {
		t.Fatalf("new memory: %d bytes, zero-filled %v", len(b), bytes.Equal(b, make([]byte, len(b))))
	}
	copy(b, "guest data")
	grown := m.Reallocate(16 * page)
	if len(grown) != 16*page || &grown[0] != &b[0] {
		t.Fatalf("grown memory moved or has %d bytes", len(grown))
	}
	if !bytes.HasPrefix(grown, []byte("guest data")) || !bytes.Equal(grown[2*page:], make([]byte, 14*page)) {
		t.Fatal("growing lost the guest's bytes or exposed non-zero memory")
	}
	if m.Reallocate(17*page) != nil {
		t.Fatal("memory grew past its maximum")
	}
}

// A memory of several huge pages lies on huge-page boundaries in a mapping the kernel may
// back with huge pages, unless this kernel never uses them.
func TestGuestMemoryIsEligibleForHugePages(t *testing.T) {
	skipWithoutHugePages(t)
	m, err := mapGuestMemory(8 * hugePage)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Free)
	b := m.Reallocate(8 * hugePage)
	if addressOf(b)%hugePage != 0 {
		t.Fatalf("memory starts at %#x, not on a huge-page boundary", addressOf(b))
	}
	if eligible := thpEligible(t, addressOf(b)); eligible != "1" {
		t.Fatalf("THPeligible of the memory's mapping = %q, want 1", eligible)
	}
}

// The hub's instances get such memory: a connector's linear memory is in an advised
// mapping of its own, not in Go's heap.
func TestConnectorInstancesLiveInHugePageMemory(t *testing.T) {
	skipWithoutHugePages(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "noop.wasm"), NoopModule(), 0o644); err != nil {
		t.Fatal(err)
	}
	c, _ := openCatalog(t, Config{Dir: dir}, Deps{}, nil, false)
	v, ok := c.get("noop")
	if !ok {
		t.Fatal("noop connector not loaded")
	}
	defer v.inflight.Done()
	inst, err := v.instantiate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer v.discard(inst, "test")
	b, ok := inst.mod.Memory().Read(0, 1)
	if !ok {
		t.Fatal("instance has no memory")
	}
	if eligible := thpEligible(t, addressOf(b)); eligible != "1" {
		t.Fatalf("THPeligible of the instance's memory = %q, want 1", eligible)
	}
}

// skipWithoutHugePages skips a test on a machine whose kernel never uses transparent huge
// pages, where no mapping is eligible for them.
func skipWithoutHugePages(t *testing.T) {
	t.Helper()
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || strings.Contains(string(mode), "[never]") {
		t.Skipf("transparent huge pages are off on this machine (%q, %v)", strings.TrimSpace(string(mode)), err)
	}
}

// thpEligible reads the THPeligible line of the mapping holding addr in /proc/self/smaps.
func thpEligible(t *testing.T, addr uintptr) string {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	inside := false
	for s.Scan() {
		line := s.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x", &lo, &hi); n == 2 && strings.Contains(line, " ") {
			inside = lo <= addr && addr < hi
			continue
		}
		if v, ok := strings.CutPrefix(line, "THPeligible:"); ok && inside {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no mapping holds %#x", addr)
	return ""
}

// Where no mapping can be made, an instance still gets memory: a Go slice that keeps the
// guest's bytes as it grows.
func TestGuestMemoryFallsBackToTheHeap(t *testing.T) {
	const page = 64 << 10
	m := allocateGuestMemory(page, 1<<33) // larger than a 32-bit memory: no mapping
	t.Cleanup(m.Free)
	if _, ok := m.(*heapMemory); !ok {
		t.Fatalf("allocator returned %T, want the heap fallback", m)
	}
	copy(m.Reallocate(page), "guest data")
	grown := m.Reallocate(4 * page)
	if len(grown) != 4*page || !bytes.HasPrefix(grown, []byte("guest data")) || !bytes.Equal(grown[page:], make([]byte, 3*page)) {
		t.Fatal("the heap memory lost the guest's bytes or exposed non-zero memory as it grew")
	}
}
