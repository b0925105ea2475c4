package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	bbolt "go.etcd.io/bbolt"
)

// The file as a whole: the checks before bbolt maps it, online backups and offline
// compaction.

// ErrDamaged is returned (wrapped, with the file's name and what is wrong) when the data
// file is not a complete bbolt database: truncated, overwritten, or not one at all.
var ErrDamaged = errors.New("the data file is damaged")

// ErrLocked is returned (wrapped, with the file's name) when another process holds the data
// file open past the lock timeout: a running hub, or a command working on the file.
var ErrLocked = errors.New("the file is locked by another process (is another aquahub running?)")

// damaged explains a damaged file and the way forward. The hub never starts over on such a
// file: it holds whatever could still be recovered.
func damaged(path string, cause error) error {
	return fmt.Errorf("opening %s: %w (%v). aquahub will not start on it and will not replace it: move it aside and restore the last backup (aquahub backup takes one while the hub runs), or inspect it with `bbolt check %s` (go install go.etcd.io/bbolt/cmd/bbolt@latest)",
		path, ErrDamaged, cause, path)
}

// The layout of a bbolt meta page (pages 0 and 1): a 16-byte page header, then magic,
// version, page size and flags (4 bytes each), the root bucket (root page and sequence), the
// freelist page, the high-water page id, the transaction id and an FNV-64a checksum of what
// precedes it.
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	metaOffset     = pageHeaderSize
	metaPageSize   = metaOffset + 8
	metaRoot       = metaOffset + 16
	metaFreelist   = metaOffset + 32
	metaPgid       = metaOffset + 40
	metaTxid       = metaOffset + 48
	metaChecksum   = metaOffset + 56
	metaHeaderSize = metaOffset + 64
)

// preflight checks, before bbolt maps the file, what bbolt would only find by faulting on it
// or by failing an assertion: that an existing file has a valid meta page, is as long as
// that page says, and holds a sound tree of pages (walkPages). A missing file is fine (Open
// creates it); an empty one is not, since starting over on it would hide the loss of
// everything it held.
func preflight(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	if st.Size() == 0 {
		return damaged(path, errors.New("it is empty; if this is a new installation, delete the empty file"))
	}
	var best metaPage
	var errs []string
	// The second meta page starts one page in: at the page size the first states, or at the
	// usual 4 KiB when the first is unreadable.
	next := int64(4096)
	for i := range 2 {
		off := int64(0)
		if i == 1 {
			off = next
		}
		buf := make([]byte, metaHeaderSize)
		if _, err := f.ReadAt(buf, off); err != nil {
			errs = append(errs, fmt.Sprintf("meta page %d: %v", i, err))
			continue
		}
		m, err := readMeta(buf)
		if err != nil {
			errs = append(errs, fmt.Sprintf("meta page %d: %v", i, err))
			continue
		}
		if i == 0 {
			next = int64(m.pageSize)
		}
		if best.pageSize == 0 || m.txid > best.txid {
			best = m
		}
	}
	if best.pageSize == 0 {
		return damaged(path, fmt.Errorf("no valid meta page: %s", strings.Join(errs, "; ")))
	}
	if need := int64(best.pgid) * int64(best.pageSize); st.Size() < need {
		return damaged(path, fmt.Errorf("it is truncated: %d bytes, but its pages reach %d", st.Size(), need))
	}
	if err := walkPages(f, st.Size(), best); err != nil {
		return damaged(path, err)
	}
	return nil
}

// readMeta validates one meta page.
func readMeta(b []byte) (metaPage, error) {
	le := binary.LittleEndian
	m := b[metaOffset:]
	switch {
	case le.Uint32(m[0:]) != boltMagic:
		return metaPage{}, errors.New("not a bbolt database (bad magic number)")
	case le.Uint32(m[4:]) != boltVersion:
		return metaPage{}, fmt.Errorf("bbolt format version %d, not %d", le.Uint32(m[4:]), boltVersion)
	}
	h := fnv.New64a()
	h.Write(b[metaOffset:metaChecksum])
	if h.Sum64() != le.Uint64(b[metaChecksum:]) {
		return metaPage{}, errors.New("checksum mismatch")
	}
	mp := metaPage{pageSize: le.Uint32(b[metaPageSize:]), root: le.Uint64(b[metaRoot:]), freelist: le.Uint64(b[metaFreelist:]),
		pgid: le.Uint64(b[metaPgid:]), txid: le.Uint64(b[metaTxid:])}
	if mp.pageSize < 512 || mp.pageSize > 1<<20 || mp.pageSize&(mp.pageSize-1) != 0 {
		return metaPage{}, fmt.Errorf("page size %d", mp.pageSize)
	}
	if mp.pgid < 3 {
		return metaPage{}, fmt.Errorf("high-water page %d", mp.pgid)
	}
	return mp, nil
}

// Backup writes a consistent copy of the file to w from one read transaction, while
// writers go on; it returns the bytes written. The copy is a complete bbolt file.
func (d *DB) Backup(w io.Writer) (int64, error) {
	var n int64
	err := d.db.View(func(tx *bbolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("backing up %s: %w", d.path, err)
	}
	return n, nil
}

// BackupSize is the size of the copy Backup would write now.
func (d *DB) BackupSize() int64 {
	var n int64
	_ = d.db.View(func(tx *bbolt.Tx) error {
		n = tx.Size()
		return nil
	})
	return n
}

// BackupFile copies the file at path, which no hub has open, to w. It opens the file
// read-only, so it waits for (and then fails on) a hub holding it.
func BackupFile(path string, w io.Writer) (int64, error) {
	db, err := openFile(path, true)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	d := &DB{db: newHandle(db, Config{}), path: path}
	return d.Backup(w)
}

// CheckFile opens the file at path read-only and checks its consistency the way
// `bbolt check` does. A backup is checked before it replaces anything.
func CheckFile(path string) (err error) {
	db, err := openFile(path, true)
	if err != nil {
		return err
	}
	defer db.Close()
	defer func() {
		if r := recover(); r != nil {
			err = damaged(path, fmt.Errorf("%v", r))
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	if err := (&DB{db: newHandle(db, Config{}), path: path}).Check(); err != nil {
		return damaged(path, err)
	}
	return nil
}

// CompactResult is what Compact did.
type CompactResult struct {
	Before, After int64
}

// Compact rewrites the file at path, which no hub may have open, into a new file holding
// only the pages in use, then puts it in place: the file never shrinks by itself, since
// bbolt reuses freed pages but never returns them. With out set, the compacted copy goes
// there and path is left as it was. The new file is checked before it replaces anything.
func Compact(path, out string) (CompactResult, error) {
	var res CompactResult
	if err := preflight(path); err != nil {
		return res, err
	}
	src, err := openFile(path, false)
	if err != nil {
		return res, err
	}
	defer src.Close()
	st, err := os.Stat(path)
	if err != nil {
		return res, err
	}
	res.Before = st.Size()
	dest := out
	if dest == "" {
		dest = path
	}
	tmp := dest + ".compacting"
	os.Remove(tmp)
	// The copy is opened without the hub's large initial map, so that bbolt grows it by
	// what it needs rather than by whole allocation steps.
	dst, err := bbolt.Open(tmp, 0o600, &bbolt.Options{Timeout: lockTimeout, FreelistType: bbolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		return res, fmt.Errorf("creating %s: %w", tmp, err)
	}
	// Commit every 64 MiB so that a large file does not need its whole copy in memory.
	err = bbolt.Compact(dst, src, 64<<20)
	var used int64
	if err == nil {
		err = dst.View(func(tx *bbolt.Tx) error {
			used = tx.Size()
			return nil
		})
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	// bbolt rounds the file up to its memory map; the pages past the last one in use hold
	// nothing.
	if err == nil {
		err = os.Truncate(tmp, used)
	}
	if err != nil {
		os.Remove(tmp)
		return res, fmt.Errorf("compacting %s: %w", path, err)
	}
	if err := CheckFile(tmp); err != nil {
		os.Remove(tmp)
		return res, fmt.Errorf("the compacted copy failed its check, %s is unchanged: %w", path, err)
	}
	if st, err := os.Stat(tmp); err == nil {
		res.After = st.Size()
	}
	// The rename happens while src still holds the old file's lock, so no hub opens the old
	// file meanwhile (and one that waited on the lock notices the swap; see openFile).
	if err := os.Rename(tmp, dest); err != nil {
		os.Remove(tmp)
		return res, err
	}
	if dir, err := os.Open(filepath.Dir(dest)); err == nil {
		dir.Sync()
		dir.Close()
	}
	return res, nil
}
