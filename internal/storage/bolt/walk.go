package bolt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// walkPages checks the tree of pages a meta page roots, reading the file directly: every
// reachable page is inside the file, says it is the page it was reached as, is a branch or
// leaf page whose elements lie within it with keys in order, and is reached once; the
// freelist, when the file has one, names only unreachable pages. bbolt makes the same checks
// as assertions, some on a goroutine of its own where a failure ends the process; this walk
// runs first, so a damaged file is an error that names it.
func walkPages(f *os.File, size int64, m metaPage) error {
	w := pageWalker{f: f, size: size, m: m, seen: make([]uint64, m.pgid/64+1)}
	if m.root < 2 || m.root >= m.pgid {
		return fmt.Errorf("the root bucket's page %d is outside the file's pages 2 to %d", m.root, m.pgid-1)
	}
	if err := w.page(m.root, 0); err != nil {
		return err
	}
	if m.freelist == pgidNoFreelist {
		return nil
	}
	return w.freelist()
}

// metaPage is what the walk needs of a meta page.
type metaPage struct {
	pageSize uint32
	root     uint64
	freelist uint64
	pgid     uint64
	txid     uint64
}

const (
	pageHeaderSize  = 16
	elementSize     = 16 // a branch element (pos, ksize, pgid) or a leaf one (flags, pos, ksize, vsize)
	branchPageFlag  = 0x01
	leafPageFlag    = 0x02
	freelistFlag    = 0x10
	bucketLeafFlag  = 0x01
	bucketHeader    = 16 // root page id and sequence
	pgidNoFreelist  = ^uint64(0)
	maxBucketsDepth = 64
)

type pageWalker struct {
	f    *os.File
	size int64
	m    metaPage
	seen []uint64
	// free holds page buffers for reuse: the walk reads every page once, and allocating each
	// would cost more than reading it.
	free [][]byte
}

func (w *pageWalker) mark(id uint64) bool {
	if w.seen[id/64]&(1<<(id%64)) != 0 {
		return false
	}
	w.seen[id/64] |= 1 << (id % 64)
	return true
}

// read returns page id with its overflow pages.
func (w *pageWalker) read(id uint64) ([]byte, error) {
	if id < 2 || id >= w.m.pgid {
		return nil, fmt.Errorf("page %d is outside the file's pages 2 to %d", id, w.m.pgid-1)
	}
	ps := int64(w.m.pageSize)
	var buf []byte
	if n := len(w.free); n > 0 {
		buf, w.free = w.free[n-1], w.free[:n-1]
	} else {
		buf = make([]byte, ps)
	}
	if _, err := w.f.ReadAt(buf, int64(id)*ps); err != nil {
		return nil, fmt.Errorf("page %d: %w", id, err)
	}
	if got := binary.LittleEndian.Uint64(buf); got != id {
		return nil, fmt.Errorf("page %d identifies itself as page %d", id, got)
	}
	overflow := uint64(binary.LittleEndian.Uint32(buf[12:]))
	if id+overflow >= w.m.pgid {
		return nil, fmt.Errorf("page %d runs over %d more pages, past the last page %d", id, overflow, w.m.pgid-1)
	}
	for o := uint64(0); o <= overflow; o++ {
		if !w.mark(id + o) {
			return nil, fmt.Errorf("page %d is reached twice", id+o)
		}
	}
	if overflow > 0 {
		buf = append(buf[:ps:ps], make([]byte, int64(overflow)*ps)...)
		if _, err := w.f.ReadAt(buf[ps:], int64(id+1)*ps); err != nil {
			return nil, fmt.Errorf("page %d: %w", id, err)
		}
	}
	return buf, nil
}

// page checks page id, reached depth buckets deep, and what it leads to.
func (w *pageWalker) page(id uint64, depth int) error {
	buf, err := w.read(id)
	if err != nil {
		return err
	}
	if err := w.node(buf, id, depth); err != nil {
		return err
	}
	if len(buf) == int(w.m.pageSize) {
		w.free = append(w.free, buf)
	}
	return nil
}

// node checks one page's bytes: page id of the file, or a bucket inlined in a value (id 0).
func (w *pageWalker) node(buf []byte, id uint64, depth int) error {
	where := func() string {
		if id == 0 {
			return "an inline bucket"
		}
		return fmt.Sprintf("page %d", id)
	}
	if len(buf) < pageHeaderSize {
		return fmt.Errorf("%s: %d bytes, shorter than a page header", where(), len(buf))
	}
	le := binary.LittleEndian
	flags, count := le.Uint16(buf[8:]), int(le.Uint16(buf[10:]))
	if pageHeaderSize+count*elementSize > len(buf) {
		return fmt.Errorf("%s: %d elements do not fit in %d bytes", where(), count, len(buf))
	}
	var prev []byte
	for i := range count {
		at := pageHeaderSize + i*elementSize
		e := buf[at : at+elementSize]
		var k, v []byte
		var child uint64
		var elemFlags uint32
		switch flags {
		case branchPageFlag:
			pos, ksize := int(le.Uint32(e[0:])), int(le.Uint32(e[4:]))
			child = le.Uint64(e[8:])
			if at+pos+ksize > len(buf) || pos < 0 || ksize < 0 {
				return fmt.Errorf("%s: element %d lies outside the page", where(), i)
			}
			k = buf[at+pos : at+pos+ksize]
		case leafPageFlag:
			elemFlags = le.Uint32(e[0:])
			pos, ksize, vsize := int(le.Uint32(e[4:])), int(le.Uint32(e[8:])), int(le.Uint32(e[12:]))
			if pos < 0 || ksize < 0 || vsize < 0 || at+pos+ksize+vsize > len(buf) {
				return fmt.Errorf("%s: element %d lies outside the page", where(), i)
			}
			k, v = buf[at+pos:at+pos+ksize], buf[at+pos+ksize:at+pos+ksize+vsize]
		default:
			return fmt.Errorf("%s: page type %#x where a branch or leaf page belongs", where(), flags)
		}
		if i > 0 && bytes.Compare(prev, k) >= 0 {
			return fmt.Errorf("%s: keys out of order at element %d", where(), i)
		}
		prev = k
		switch {
		case flags == branchPageFlag:
			if err := w.page(child, depth); err != nil {
				return err
			}
		case elemFlags&bucketLeafFlag != 0:
			if err := w.bucket(v, depth+1); err != nil {
				return fmt.Errorf("%s: bucket %q: %w", where(), k, err)
			}
		}
	}
	return nil
}

// bucket checks a bucket's value: its root page, or its inlined page.
func (w *pageWalker) bucket(v []byte, depth int) error {
	if depth > maxBucketsDepth {
		return fmt.Errorf("buckets nested deeper than %d", maxBucketsDepth)
	}
	if len(v) < bucketHeader {
		return fmt.Errorf("a bucket value of %d bytes", len(v))
	}
	if root := binary.LittleEndian.Uint64(v); root != 0 {
		return w.page(root, depth)
	}
	return w.node(v[bucketHeader:], 0, depth)
}

// freelist checks that the freelist names only pages in the file that no bucket uses.
func (w *pageWalker) freelist() error {
	buf, err := w.read(w.m.freelist)
	if err != nil {
		return fmt.Errorf("the freelist: %w", err)
	}
	le := binary.LittleEndian
	if flags := le.Uint16(buf[8:]); flags != freelistFlag {
		return fmt.Errorf("the freelist's page %d has type %#x", w.m.freelist, flags)
	}
	first, count := pageHeaderSize, uint64(le.Uint16(buf[10:]))
	if count == 0xFFFF {
		count, first = le.Uint64(buf[pageHeaderSize:]), pageHeaderSize+8
	}
	if count > uint64(len(buf)-first)/8 {
		return errors.New("the freelist names more pages than its page holds")
	}
	for i := range count {
		id := le.Uint64(buf[first+int(i)*8:])
		if id < 2 || id >= w.m.pgid {
			return fmt.Errorf("the freelist names page %d, outside the file's pages", id)
		}
		if !w.mark(id) {
			return fmt.Errorf("the freelist names page %d, which is in use", id)
		}
	}
	return nil
}
