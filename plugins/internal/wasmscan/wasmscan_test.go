package wasmscan_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/plugins/internal/wasmgen"
	"github.com/aquascene/aquahub/plugins/internal/wasmscan"
)

func TestScan(t *testing.T) {
	lim := wasmscan.Limits{MaxFunctions: 10, MaxFunctionLocals: 100, MaxTotalLocals: 150, MaxNesting: 8, MaxFunctionBytes: 1 << 10}
	locals := func(n uint32) wasmgen.Func {
		return wasmgen.Func{Locals: []wasmgen.Locals{{Count: n / 2, Type: wasmgen.I32}, {Count: n - n/2, Type: wasmgen.I64}}}
	}
	// Every immediate kind the scanner skips, inside blocks: it must come out at depth 0.
	var body []byte
	body = append(body, 0x02, 0x40) // block
	body = append(body, 0x03, 0x7f) // loop (result i32)
	body = append(body, wasmgen.I32Const(-123456)...)
	body = append(body, wasmgen.I64Const(1<<40)...)
	body = append(body, 0x1a, 0x1a)                   // drop drop
	body = append(body, 0x43, 0, 0, 0x80, 0x3f, 0x1a) // f32.const 1, drop
	body = append(body, 0x44, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x1a)
	body = append(body, 0x41, 0, 0x28, 0x02, 0x80, 0x01, 0x1a) // i32.load align 2 offset 128
	body = append(body, 0x41, 0, 0x0e, 0x02, 0x00, 0x01, 0x01) // br_table 0 1 1
	body = append(body, 0x41, 0, 0xfc, 0x00, 0x1a)             // i32.trunc_sat_f32_s (operands aside)
	body = append(body, 0xfd, 0x0c)                            // v128.const
	body = append(body, make([]byte, 16)...)
	body = append(body, 0xfd, 0x15, 0x03, 0x1a) // i8x16.extract_lane_s 3
	body = append(body, 0x41, 0x01, 0x0b)       // i32.const 1, end (loop)
	body = append(body, 0x1a, 0x0b)             // drop, end (block)
	tests := []struct {
		name   string
		module []byte
		want   wasmscan.Stats
		err    string
	}{
		{name: "no functions", module: wasmgen.Module(1), want: wasmscan.Stats{}},
		{name: "every immediate kind", module: wasmgen.Module(1, wasmgen.Func{Body: body}),
			want: wasmscan.Stats{Functions: 1, MaxNesting: 2, MaxFunctionBytes: len(body) + 2}},
		{name: "locals at the limit", module: wasmgen.Module(0, locals(100), locals(50)),
			want: wasmscan.Stats{Functions: 2, MaxLocals: 100, TotalLocals: 150, MaxFunctionBytes: 6}},
		{name: "nesting at the limit", module: wasmgen.Module(0, wasmgen.Func{Body: wasmgen.Nested(8)}),
			want: wasmscan.Stats{Functions: 1, MaxNesting: 8, MaxFunctionBytes: 2 + 3*8}},
		{name: "too many locals in one function", module: wasmgen.Module(0, locals(101)), err: "function 0: locals 101 exceed the limit of 100"},
		{name: "too many locals together", module: wasmgen.Module(0, locals(100), locals(51)), err: "locals of all functions 151 exceed the limit of 150"},
		{name: "locals past 32 bits", module: wasmgen.Module(0, wasmgen.Func{Locals: []wasmgen.Locals{{Count: 1<<32 - 1, Type: wasmgen.I32}, {Count: 1<<32 - 1, Type: wasmgen.I32}}}),
			err: "locals 4294967295 exceed"},
		{name: "nesting too deep", module: wasmgen.Module(0, wasmgen.Func{Body: wasmgen.Nested(9)}), err: "function 0: nested blocks 9 exceed the limit of 8"},
		{name: "too many functions", module: wasmgen.Module(0, make([]wasmgen.Func, 11)...), err: "functions 11 exceed the limit of 10"},
		{name: "function too large", module: wasmgen.Module(0, wasmgen.Func{Body: make([]byte, 2<<10)}), err: "function 0: body bytes 2050 exceed the limit of 1024"},
		{name: "not wasm", module: []byte("#!/bin/sh\n"), err: "no \\0asm header"},
		{name: "truncated section", module: wasmgen.Module(0, wasmgen.Func{})[:20], err: "runs past the end"},
		{name: "unknown instruction", module: wasmgen.Module(0, wasmgen.Func{Body: []byte{0xfb, 0x00}}), err: "unsupported instruction 0xfb"},
		{name: "body ending inside a block", module: wasmgen.Module(0, wasmgen.Func{Body: []byte{0x02, 0x40}}), err: "ends inside a block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := wasmscan.Scan(tt.module, lim)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Scan: %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st != tt.want {
				t.Fatalf("stats %+v, want %+v", st, tt.want)
			}
		})
	}
}

func TestLimitErrorsAreTyped(t *testing.T) {
	_, err := wasmscan.Scan(wasmgen.Module(0, wasmgen.Func{Body: wasmgen.Nested(3)}), wasmscan.Limits{MaxNesting: 2})
	var le *wasmscan.LimitError
	if !errors.As(err, &le) || le.What != "nested blocks" || le.Limit != 2 || le.Function != 0 {
		t.Fatalf("got %#v", err)
	}
	_, err = wasmscan.Scan([]byte("\x00asm\x02\x00\x00\x00"), wasmscan.Limits{})
	if !errors.Is(err, wasmscan.ErrMalformed) {
		t.Fatalf("a bad version: %v, want ErrMalformed", err)
	}
}

func FuzzScan(f *testing.F) {
	f.Add(wasmgen.Module(1, wasmgen.Func{Export: "f", Body: wasmgen.Nested(3)}))
	f.Add(wasmgen.Module(0, wasmgen.Func{Locals: []wasmgen.Locals{{Count: 7, Type: wasmgen.I32}}, Body: wasmgen.Loop}))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := wasmscan.Scan(b, wasmscan.Limits{MaxNesting: 100, MaxFunctionLocals: 1000})
		if err == nil && (st.MaxNesting > 100 || st.MaxLocals > 1000) {
			t.Fatalf("accepted %+v over the limits", st)
		}
	})
}
