package bolt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	bbolt "go.etcd.io/bbolt"
)

// The helpers every store shares: keys that start with the tenant, one record codec (JSON of
// the store's private record types), and prefix scans.

// key joins parts with zero bytes: tenant\0id\0…. Tenant ids and the ids under them never
// contain a zero byte.
func key(parts ...string) []byte {
	n := len(parts)
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, p...)
	}
	return b
}

// prefix is key(parts...) followed by a zero byte: every key below those parts.
func prefix(parts ...string) []byte { return append(key(parts...), 0) }

// splitKey splits a key at its first zero byte.
func splitKey(k []byte) (head, rest string, ok bool) {
	i := bytes.IndexByte(k, 0)
	if i < 0 {
		return "", "", false
	}
	return string(k[:i]), string(k[i+1:]), true
}

// be64 encodes v so that keys sort numerically.
func be64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

// getRecord decodes the record at k into v; it reports whether the key exists.
func getRecord(b *bbolt.Bucket, k []byte, v any) (bool, error) {
	raw := b.Get(k)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("decoding record %q: %w", k, err)
	}
	return true, nil
}

// putRecord encodes v at k.
func putRecord(b *bbolt.Bucket, k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding record %q: %w", k, err)
	}
	return b.Put(k, raw)
}

// scan calls fn for every key with prefix p, in order, until fn returns false or an error.
func scan(b *bbolt.Bucket, p []byte, fn func(k, v []byte) (bool, error)) error {
	c := b.Cursor()
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		more, err := fn(k, v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// deletePrefix deletes every key with prefix p.
func deletePrefix(b *bbolt.Bucket, p []byte) error {
	var keys [][]byte
	if err := scan(b, p, func(k, _ []byte) (bool, error) {
		keys = append(keys, bytes.Clone(k))
		return true, nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// lastBefore positions c at the last key strictly less than k.
func lastBefore(c *bbolt.Cursor, k []byte) ([]byte, []byte) {
	if found, _ := c.Seek(k); found == nil {
		return c.Last()
	}
	return c.Prev()
}

// recordWriter builds a binary record: unsigned varints, zigzag varints, length-prefixed
// strings, and times as varints (see time). Records are short-lived byte slices handed to
// bbolt, which copies them.
type recordWriter struct{ b []byte }

func (w *recordWriter) byte(c byte)    { w.b = append(w.b, c) }
func (w *recordWriter) uint(v uint64)  { w.b = binary.AppendUvarint(w.b, v) }
func (w *recordWriter) int(v int64)    { w.b = binary.AppendVarint(w.b, v) }
func (w *recordWriter) str(s string)   { w.uint(uint64(len(s))); w.b = append(w.b, s...) }
func (w *recordWriter) bytes(p []byte) { w.uint(uint64(len(p))); w.b = append(w.b, p...) }
func (w *recordWriter) enum(list []string, s string) {
	for i, x := range list {
		if x == s {
			w.uint(uint64(i + 1))
			return
		}
	}
	w.uint(0)
	w.str(s)
}

// time writes t as nanoseconds since base (since the Unix epoch when base is zero), zigzag
// encoded and plus one, so that the zero time is the single byte 0 and a time close to base
// takes a few bytes.
func (w *recordWriter) time(t, base time.Time) {
	if t.IsZero() {
		w.uint(0)
		return
	}
	d := t.UnixNano()
	if !base.IsZero() {
		d -= base.UnixNano()
	}
	w.uint(uint64(d<<1^d>>63) + 1)
}

// runID writes a run id: "run_" and a UUID as a zero and the UUID's 16 bytes, anything
// else as its length plus one and its bytes.
func (w *recordWriter) runID(id string) {
	if u, err := uuid.Parse(strings.TrimPrefix(id, runIDPrefix)); err == nil && strings.HasPrefix(id, runIDPrefix) && newRunIDFrom(u) == id {
		w.uint(0)
		w.b = append(w.b, u[:]...)
		return
	}
	w.uint(uint64(len(id)) + 1)
	w.b = append(w.b, id...)
}

// recordReader reads what recordWriter wrote. The first malformed field sets err; later
// reads return zero values, and done reports the error.
type recordReader struct {
	b   []byte
	err error
}

func (r *recordReader) fail() {
	if r.err == nil {
		r.err = errors.New("record is truncated or malformed")
	}
	r.b = nil
}

func (r *recordReader) byte() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *recordReader) uint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) int() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a number of items that follow, refusing one larger than the bytes left.
func (r *recordReader) count() int {
	n := r.uint()
	if n > uint64(len(r.b)) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *recordReader) bytes() []byte {
	n := r.count()
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

func (r *recordReader) str() string { return string(r.bytes()) }

func (r *recordReader) enum(list []string) string {
	i := r.uint()
	if i == 0 {
		return r.str()
	}
	if i > uint64(len(list)) {
		r.fail()
		return ""
	}
	return list[i-1]
}

func (r *recordReader) time(base time.Time) time.Time {
	v := r.uint()
	if v == 0 {
		return time.Time{}
	}
	v--
	d := int64(v>>1) ^ -int64(v&1)
	if !base.IsZero() {
		d += base.UnixNano()
	}
	return time.Unix(0, d).UTC()
}

func (r *recordReader) runID() string {
	n := r.uint()
	if n == 0 {
		if len(r.b) < 16 {
			r.fail()
			return ""
		}
		var u uuid.UUID
		copy(u[:], r.b[:16])
		r.b = r.b[16:]
		return newRunIDFrom(u)
	}
	if n-1 > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	id := string(r.b[:n-1])
	r.b = r.b[n-1:]
	return id
}

// rest returns the bytes not read yet: a record's last field, which needs no length.
func (r *recordReader) rest() []byte {
	p := r.b
	r.b = nil
	return p
}

// done reports a malformed record, naming what it is, or bytes left unread.
func (r *recordReader) done(what string) error {
	if r.err == nil && len(r.b) > 0 {
		r.err = fmt.Errorf("%d bytes left over", len(r.b))
	}
	if r.err != nil {
		return fmt.Errorf("decoding %s: %w", what, r.err)
	}
	return nil
}

// fillPercents are how full a page is left when it splits, for the buckets whose keys grow
// with time (event sequence numbers, UUIDv7 run ids): new keys land at the end, so bbolt's
// default of half-full pages would leave half of every page empty for good. Runs are
// rewritten in place as they finish, so their pages keep a little room.
var fillPercents = map[string]float64{
	string(bucketEvents): 0.95,
	string(bucketRuns):   0.9,
	string(bucketLedger): 0.9,
}

// bucket returns a bucket for writing with its fill percent set. bbolt keeps the setting on
// the transaction's bucket value only, so every write transaction takes these buckets
// through here.
func bucket(tx *bbolt.Tx, name []byte) *bbolt.Bucket {
	b := tx.Bucket(name)
	if f, ok := fillPercents[string(name)]; ok {
		b.FillPercent = f
	}
	return b
}
