// Command raw is a connector written against the ABI by hand, without sdk/plugin, as
// docs/connector-abi.md describes it. Build tags make faulty variants: nomarker (no
// hub_abi_v1 export), v2 (exports hub_abi_v2 and declares abi 2), baddescribe (hub_describe
// panics), describehang (hub_describe never returns), inithang (_initialize never
// returns). -ldflags "-X main.NAME=VALUE" sets the manifest's version, its id, a pattern
// for the input of an extra action "match" ({"s": string matching the pattern}), and a
// number of extra actions "a0", "a1"... (extra).
package main

import (
	"encoding/json"
	"strconv"
	"time"
	"unsafe"
)

var (
	version = "1.0.0"
	id      = "raw"
	pattern string
	extra   string
)

var (
	pinned = map[uint32][]byte{}
	last   []byte
)

func main() {}

//go:wasmexport hub_alloc
func hubAlloc(size uint32) uint32 {
	b := make([]byte, size+1)
	p := uint32(uintptr(unsafe.Pointer(&b[0])))
	pinned[p] = b
	return p
}

func pack(b []byte) uint64 {
	last = b
	return uint64(uint32(uintptr(unsafe.Pointer(&b[0]))))<<32 | uint64(len(b))
}

//go:wasmexport hub_describe
func hubDescribe() uint64 {
	describeHook()
	actions := []map[string]any{
		{"name": "echo", "input": map[string]any{"type": "object"}},
		{"name": "slow", "input": map[string]any{"type": "object", "properties": map[string]any{"ms": map[string]any{"type": "integer"}}}},
	}
	if pattern != "" {
		actions = append(actions, map[string]any{"name": "match", "input": map[string]any{"type": "object",
			"properties": map[string]any{"s": map[string]any{"type": "string", "pattern": pattern}}}})
	}
	n, _ := strconv.Atoi(extra)
	for i := range n {
		actions = append(actions, map[string]any{"name": "a" + strconv.Itoa(i), "input": map[string]any{}})
	}
	m := map[string]any{"abi": abiVersion, "id": id, "version": version, "actions": actions}
	b, _ := json.Marshal(m)
	return pack(b)
}

//go:wasmexport hub_invoke
func hubInvoke(ptr, n uint32) uint64 {
	b := pinned[ptr][:n]
	delete(pinned, ptr)
	var req struct {
		Action string            `json:"action"`
		Inputs []json.RawMessage `json:"inputs"`
	}
	if err := json.Unmarshal(b, &req); err != nil {
		out, _ := json.Marshal(map[string]any{"error": map[string]any{"kind": "permanent", "message": err.Error()}})
		return pack(out)
	}
	results := make([]map[string]any, len(req.Inputs))
	for i, in := range req.Inputs {
		if req.Action == "slow" {
			var s struct{ MS int }
			json.Unmarshal(in, &s)
			end := time.Now().Add(time.Duration(s.MS) * time.Millisecond)
			for time.Now().Before(end) {
			}
		}
		results[i] = map[string]any{"output": map[string]any{"version": version, "input": in}}
	}
	out, _ := json.Marshal(map[string]any{"results": results})
	return pack(out)
}
