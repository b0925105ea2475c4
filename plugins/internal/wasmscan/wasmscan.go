// Package wasmscan reads the shape of a WebAssembly binary without compiling it: how many
// functions it defines, how many locals each declares and how deeply its blocks nest. The
// connector host runs it before compiling a module, because those are the figures that make
// a compiler spend memory and time out of all proportion to the module's size (a 312-byte
// module can declare hundreds of millions of locals; a few hundred kilobytes of nested
// blocks take a compiler minutes). One linear pass, no allocation per instruction.
//
// The scan knows the instructions of the WebAssembly 2.0 core specification (with SIMD,
// bulk memory, reference types, sign extension, saturating conversions and multi-value),
// which is what the host's runtime accepts; an opcode outside that set is an error, since
// the runtime would refuse the module anyway.
package wasmscan

import (
	"errors"
	"fmt"
)

// Limits bounds what Scan accepts. A zero field is no bound.
type Limits struct {
	// MaxFunctions bounds the functions the module defines (its code section).
	MaxFunctions int
	// MaxFunctionLocals bounds the locals one function declares.
	MaxFunctionLocals int
	// MaxTotalLocals bounds the locals of all functions together.
	MaxTotalLocals int64
	// MaxNesting bounds how deeply block, loop and if nest in one function.
	MaxNesting int
	// MaxFunctionBytes bounds one function body's size.
	MaxFunctionBytes int
}

// Stats is what Scan measured.
type Stats struct {
	// Functions is the number of function bodies.
	Functions int
	// MaxLocals is the most locals one function declares; TotalLocals their sum.
	MaxLocals   int64
	TotalLocals int64
	// MaxNesting is the deepest block nesting of any function.
	MaxNesting int
	// MaxFunctionBytes is the largest function body.
	MaxFunctionBytes int
}

// LimitError is returned when the module exceeds one of the Limits.
type LimitError struct {
	// What names the figure (functions, locals, total locals, nesting, function size).
	What string
	// Got is the module's figure (at least Limit+1: the scan stops counting there), Limit
	// the bound.
	Got, Limit int64
	// Function is the index of the function body that exceeded it, -1 for the module.
	Function int
}

func (e *LimitError) Error() string {
	if e.Function >= 0 {
		return fmt.Sprintf("function %d: %s %d exceed the limit of %d", e.Function, e.What, e.Got, e.Limit)
	}
	return fmt.Sprintf("%s %d exceed the limit of %d", e.What, e.Got, e.Limit)
}

// ErrMalformed is wrapped by errors about a binary that does not decode.
var ErrMalformed = errors.New("malformed WebAssembly binary")

const codeSectionID = 10

// Scan checks b's code section against lim. It returns a *LimitError for a bound exceeded
// and an error wrapping ErrMalformed for a binary it cannot read; other sections are
// skipped, since they cost a compiler nothing out of proportion.
func Scan(b []byte, lim Limits) (Stats, error) {
	var st Stats
	if len(b) < 8 || string(b[:4]) != "\x00asm" {
		return st, fmt.Errorf("%w: no \\0asm header", ErrMalformed)
	}
	if b[4] != 1 || b[5] != 0 || b[6] != 0 || b[7] != 0 {
		return st, fmt.Errorf("%w: version %x, want 1", ErrMalformed, b[4:8])
	}
	r := reader{b: b, i: 8}
	for !r.done() {
		id := r.byte()
		size := r.u32()
		if r.err != nil {
			return st, r.err
		}
		if uint64(size) > uint64(len(b)-r.i) {
			return st, fmt.Errorf("%w: section %d of %d bytes runs past the end", ErrMalformed, id, size)
		}
		end := r.i + int(size)
		if id == codeSectionID {
			if err := scanCode(reader{b: b[:end], i: r.i}, lim, &st); err != nil {
				return st, err
			}
		}
		r.i = end
	}
	return st, nil
}

func scanCode(r reader, lim Limits, st *Stats) error {
	n := r.u32()
	if r.err != nil {
		return r.err
	}
	if lim.MaxFunctions > 0 && int64(n) > int64(lim.MaxFunctions) {
		return &LimitError{What: "functions", Got: int64(n), Limit: int64(lim.MaxFunctions), Function: -1}
	}
	st.Functions = int(n)
	for f := 0; f < int(n); f++ {
		size := r.u32()
		if r.err != nil {
			return r.err
		}
		if uint64(size) > uint64(len(r.b)-r.i) {
			return fmt.Errorf("%w: function %d body of %d bytes runs past its section", ErrMalformed, f, size)
		}
		if lim.MaxFunctionBytes > 0 && int64(size) > int64(lim.MaxFunctionBytes) {
			return &LimitError{What: "body bytes", Got: int64(size), Limit: int64(lim.MaxFunctionBytes), Function: f}
		}
		st.MaxFunctionBytes = max(st.MaxFunctionBytes, int(size))
		end := r.i + int(size)
		if err := scanBody(reader{b: r.b[:end], i: r.i}, f, lim, st); err != nil {
			return err
		}
		r.i = end
	}
	return nil
}

func scanBody(r reader, f int, lim Limits, st *Stats) error {
	groups := r.u32()
	var locals int64
	for range groups {
		count := r.u32()
		r.valType()
		if r.err != nil {
			return fmt.Errorf("function %d locals: %w", f, r.err)
		}
		locals += int64(count)
		if lim.MaxFunctionLocals > 0 && locals > int64(lim.MaxFunctionLocals) {
			return &LimitError{What: "locals", Got: locals, Limit: int64(lim.MaxFunctionLocals), Function: f}
		}
	}
	if r.err != nil {
		return fmt.Errorf("function %d locals: %w", f, r.err)
	}
	st.MaxLocals = max(st.MaxLocals, locals)
	st.TotalLocals += locals
	if lim.MaxTotalLocals > 0 && st.TotalLocals > lim.MaxTotalLocals {
		return &LimitError{What: "locals of all functions", Got: st.TotalLocals, Limit: lim.MaxTotalLocals, Function: -1}
	}
	// The body is an expression ended by its own `end`: depth 1 while inside it.
	depth := 1
	for depth > 0 {
		if r.done() {
			return fmt.Errorf("%w: function %d ends inside a block", ErrMalformed, f)
		}
		at := r.i
		op := r.byte()
		switch {
		case op == 0x02 || op == 0x03 || op == 0x04: // block, loop, if
			r.blockType()
			depth++
			if depth-1 > st.MaxNesting {
				st.MaxNesting = depth - 1
			}
			if lim.MaxNesting > 0 && depth-1 > lim.MaxNesting {
				return &LimitError{What: "nested blocks", Got: int64(depth - 1), Limit: int64(lim.MaxNesting), Function: f}
			}
		case op == 0x0b: // end
			depth--
		default:
			if !r.immediates(op) {
				return fmt.Errorf("function %d: unsupported instruction 0x%02x at byte %d", f, op, at)
			}
		}
		if r.err != nil {
			return fmt.Errorf("function %d at byte %d: %w", f, at, r.err)
		}
	}
	if !r.done() {
		return fmt.Errorf("%w: function %d has bytes after its end", ErrMalformed, f)
	}
	return nil
}

// reader reads LEB128 numbers and bytes; the first error sticks and reads then return zero.
type reader struct {
	b   []byte
	i   int
	err error
}

func (r *reader) done() bool { return r.err != nil || r.i >= len(r.b) }

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at byte %d", ErrMalformed, what, r.i)
	}
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.i >= len(r.b) {
		r.fail("unexpected end")
		return 0
	}
	c := r.b[r.i]
	r.i++
	return c
}

func (r *reader) skip(n int) {
	if r.err != nil {
		return
	}
	if n > len(r.b)-r.i {
		r.fail("unexpected end")
		return
	}
	r.i += n
}

// leb reads an LEB128 number of at most maxBytes bytes, keeping the low 64 bits.
func (r *reader) leb(maxBytes int) uint64 {
	var v uint64
	for n := 0; ; n++ {
		if n == maxBytes {
			r.fail("LEB128 number too long")
			return 0
		}
		c := r.byte()
		if r.err != nil {
			return 0
		}
		if n < 10 {
			v |= uint64(c&0x7f) << (7 * n)
		}
		if c&0x80 == 0 {
			return v
		}
	}
}

func (r *reader) u32() uint32 { return uint32(r.leb(5)) }

// valType reads a value type: one byte, or a reference type with a heap type after it.
func (r *reader) valType() {
	switch r.byte() {
	case 0x63, 0x64: // (ref null ht), (ref ht)
		r.leb(5)
	}
}

// blockType reads a block type: 0x40, a value type, or a type index (s33).
func (r *reader) blockType() {
	if r.i < len(r.b) {
		switch c := r.b[r.i]; {
		case c == 0x40 || (c >= 0x6f && c <= 0x7f):
			r.i++
			return
		case c == 0x63 || c == 0x64:
			r.valType()
			return
		}
	}
	r.leb(5)
}

// memarg reads an alignment (with the multi-memory flag, a memory index) and an offset.
func (r *reader) memarg() {
	align := r.u32()
	if align&0x40 != 0 {
		r.u32()
	}
	r.leb(10)
}

// immediates skips the immediates of op, reporting false for an opcode it does not know.
func (r *reader) immediates(op byte) bool {
	switch {
	case op == 0x00, op == 0x01, op == 0x05, op == 0x0f, op == 0x1a, op == 0x1b, op == 0xd1:
		// unreachable, nop, else, return, drop, select, ref.is_null
	case op == 0x0c, op == 0x0d: // br, br_if
		r.u32()
	case op == 0x0e: // br_table
		n := r.u32()
		for i := uint32(0); i <= n && r.err == nil; i++ {
			r.u32()
		}
	case op == 0x10: // call
		r.u32()
	case op == 0x11: // call_indirect
		r.u32()
		r.u32()
	case op == 0x1c: // select t*
		n := r.u32()
		for i := uint32(0); i < n && r.err == nil; i++ {
			r.valType()
		}
	case op >= 0x20 && op <= 0x26: // local.*, global.*, table.get/set
		r.u32()
	case op >= 0x28 && op <= 0x3e: // loads and stores
		r.memarg()
	case op == 0x3f, op == 0x40: // memory.size, memory.grow
		r.u32()
	case op == 0x41: // i32.const
		r.leb(5)
	case op == 0x42: // i64.const
		r.leb(10)
	case op == 0x43: // f32.const
		r.skip(4)
	case op == 0x44: // f64.const
		r.skip(8)
	case op >= 0x45 && op <= 0xc4: // numeric, sign extension
	case op == 0xd0: // ref.null
		r.valType()
	case op == 0xd2: // ref.func
		r.u32()
	case op == 0xfc:
		return r.prefixFC()
	case op == 0xfd:
		return r.prefixFD()
	default:
		return false
	}
	return true
}

// prefixFC skips saturating conversions, bulk memory and table instructions.
func (r *reader) prefixFC() bool {
	switch sub := r.u32(); {
	case sub <= 7: // trunc_sat
	case sub == 8: // memory.init
		r.u32()
		r.u32()
	case sub == 9, sub == 11, sub == 13, sub >= 15 && sub <= 17: // data.drop, memory.fill, elem.drop, table.grow/size/fill
		r.u32()
	case sub == 10, sub == 12, sub == 14: // memory.copy, table.init, table.copy
		r.u32()
		r.u32()
	default:
		return false
	}
	return true
}

// prefixFD skips SIMD instructions.
func (r *reader) prefixFD() bool {
	switch sub := r.u32(); {
	case sub <= 0x0b, sub == 0x5c, sub == 0x5d: // loads, stores, load zero
		r.memarg()
	case sub == 0x0c, sub == 0x0d: // v128.const, i8x16.shuffle
		r.skip(16)
	case sub >= 0x15 && sub <= 0x22: // extract and replace lane
		r.skip(1)
	case sub >= 0x54 && sub <= 0x5b: // load and store lane
		r.memarg()
		r.skip(1)
	case sub <= 0xff: // every other SIMD instruction has no immediates
	default:
		return false
	}
	return true
}
