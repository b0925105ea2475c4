package plugins

import (
	"bytes"
	"encoding/binary"
)

// NoopModule returns a minimal hub ABI v1 module, assembled here byte by byte: connector id
// "noop" with one action "noop" whose hub_invoke answers every call with one empty output
// without parsing its input. It exports hub_reuse_input (its hub_alloc returns one fixed
// scratch buffer). Benchmarks use it to measure the host's own cost per call
// (pool, copy in, export call, copy out, envelope decoding), free of guest work.
func NoopModule() []byte {
	return noopModuleWith([]byte(`{"abi":1,"id":"noop","version":"1.0.0","description":"does nothing, for benchmarks","actions":[{"name":"noop","input":{"type":"object"}}]}`))
}

// noopModuleWith is NoopModule describing itself with manifest, which must fit below the
// response at offset 4096.
func noopModuleWith(manifest []byte) []byte {
	response := []byte(`{"results":[{"output":{}}]}`)
	const manifestAt, responseAt, scratchAt = 1024, 4096, 16384

	var m bytes.Buffer
	m.Write([]byte{0, 'a', 's', 'm', 1, 0, 0, 0})
	section := func(id byte, body []byte) {
		m.WriteByte(id)
		m.Write(uleb(uint64(len(body))))
		m.Write(body)
	}
	// Types: 0 ()->(), 1 (i32)->i32, 2 ()->i64, 3 (i32,i32)->i64.
	const i32, i64 = 0x7f, 0x7e
	section(1, cat([]byte{4},
		[]byte{0x60, 0, 0},
		[]byte{0x60, 1, i32, 1, i32},
		[]byte{0x60, 0, 1, i64},
		[]byte{0x60, 2, i32, i32, 1, i64}))
	// Functions: marker, alloc, describe, invoke, _initialize.
	section(3, []byte{5, 0, 1, 2, 3, 0})
	// Memory: 1 page minimum, no maximum.
	section(5, []byte{1, 0, 1})
	exports := [][]byte{
		export("memory", 2, 0),
		export("hub_abi_v1", 0, 0),
		export("hub_alloc", 0, 1),
		export("hub_describe", 0, 2),
		export("hub_invoke", 0, 3),
		export("_initialize", 0, 4),
		export("hub_reuse_input", 0, 0), // hub_alloc always returns the same scratch buffer
	}
	section(7, cat(append([][]byte{{byte(len(exports))}}, exports...)...))
	body := func(code ...byte) []byte {
		b := append([]byte{0}, code...) // no locals
		b = append(b, 0x0b)
		return append(uleb(uint64(len(b))), b...)
	}
	packed := func(at, n int) []byte { return append([]byte{0x42}, sleb(int64(at)<<32|int64(n))...) }
	section(10, cat([]byte{5},
		body(),
		body(append([]byte{0x41}, sleb(scratchAt)...)...),
		body(packed(manifestAt, len(manifest))...),
		body(packed(responseAt, len(response))...),
		body()))
	data := func(at int, b []byte) []byte {
		d := []byte{0, 0x41}
		d = append(d, sleb(int64(at))...)
		d = append(d, 0x0b)
		d = append(d, uleb(uint64(len(b)))...)
		return append(d, b...)
	}
	section(11, cat([]byte{2}, data(manifestAt, manifest), data(responseAt, response)))
	return m.Bytes()
}

func export(name string, kind byte, index byte) []byte {
	b := append(uleb(uint64(len(name))), name...)
	return append(b, kind, index)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func uleb(v uint64) []byte { return binary.AppendUvarint(nil, v) }

func sleb(v int64) []byte {
	var out []byte
	for {
		b := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && b&0x40 == 0) || (v == -1 && b&0x40 != 0) {
			return append(out, b)
		}
		out = append(out, b|0x80)
	}
}
