// Package wasmgen writes small WebAssembly modules byte by byte, for tests that need a
// module no compiler would produce: thousands of nested blocks, functions declaring
// millions of locals, exports that never return.
package wasmgen

// Value types.
const (
	I32 byte = 0x7f
	I64 byte = 0x7e
)

// Func is one function the module defines.
type Func struct {
	// Export is the name it is exported under, "" for none.
	Export string
	// Params and Results are value types.
	Params, Results []byte
	// Locals are (count, type) groups.
	Locals []Locals
	// Body is the instructions, without the final end.
	Body []byte
}

// Locals is one group of locals of one type.
type Locals struct {
	Count uint32
	Type  byte
}

// Module returns a module with one memory of pages pages (exported as "memory" when pages
// is positive) and funcs, each with a type of its own.
func Module(pages uint32, funcs ...Func) []byte {
	out := []byte("\x00asm\x01\x00\x00\x00")
	var types, fns, exports, code []byte
	types = uleb(types, uint64(len(funcs)))
	fns = uleb(fns, uint64(len(funcs)))
	code = uleb(code, uint64(len(funcs)))
	nexports := 0
	var exp []byte
	for i, f := range funcs {
		types = append(types, 0x60)
		types = uleb(types, uint64(len(f.Params)))
		types = append(types, f.Params...)
		types = uleb(types, uint64(len(f.Results)))
		types = append(types, f.Results...)
		fns = uleb(fns, uint64(i))
		if f.Export != "" {
			exp = name(exp, f.Export)
			exp = append(exp, 0x00)
			exp = uleb(exp, uint64(i))
			nexports++
		}
		var body []byte
		body = uleb(body, uint64(len(f.Locals)))
		for _, l := range f.Locals {
			body = uleb(body, uint64(l.Count))
			body = append(body, l.Type)
		}
		body = append(body, f.Body...)
		body = append(body, 0x0b)
		code = uleb(code, uint64(len(body)))
		code = append(code, body...)
	}
	if pages > 0 {
		exp = name(exp, "memory")
		exp = append(exp, 0x02, 0x00)
		nexports++
	}
	exports = uleb(exports, uint64(nexports))
	exports = append(exports, exp...)
	out = section(out, 1, types)
	out = section(out, 3, fns)
	if pages > 0 {
		mem := []byte{1, 0x00}
		mem = uleb(mem, uint64(pages))
		out = section(out, 5, mem)
	}
	out = section(out, 7, exports)
	return section(out, 10, code)
}

// Nested returns depth nested empty blocks.
func Nested(depth int) []byte {
	b := make([]byte, 0, 3*depth)
	for range depth {
		b = append(b, 0x02, 0x40)
	}
	for range depth {
		b = append(b, 0x0b)
	}
	return b
}

// Loop is an infinite loop.
var Loop = []byte{0x03, 0x40, 0x0c, 0x00, 0x0b}

// I32Const pushes v.
func I32Const(v int32) []byte { return sleb(nil, int64(v), 0x41) }

// I64Const pushes v.
func I64Const(v int64) []byte { return sleb(nil, v, 0x42) }

func section(out []byte, id byte, content []byte) []byte {
	out = append(out, id)
	out = uleb(out, uint64(len(content)))
	return append(out, content...)
}

func name(out []byte, s string) []byte {
	out = uleb(out, uint64(len(s)))
	return append(out, s...)
}

func uleb(out []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			out = append(out, c|0x80)
			continue
		}
		return append(out, c)
	}
}

func sleb(out []byte, v int64, op byte) []byte {
	out = append(out, op)
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(out, c)
		}
		out = append(out, c|0x80)
	}
}
