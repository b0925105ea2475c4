//go:build wasip1

//lint:file-ignore U1000 the host calls the //go:wasmexport functions, which staticcheck cannot see

package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"time"
	"unsafe"

	"github.com/aquascene/aquahub/sdk/abi"
)

//go:wasmimport hub log
func hubLog(ptr unsafe.Pointer, length uint32)

//go:wasmimport hub http_request
func hubHTTPRequest(ptr unsafe.Pointer, length uint32) int64

//go:wasmimport hub kv_get
func hubKVGet(kptr unsafe.Pointer, klen uint32) int64

//go:wasmimport hub kv_set
func hubKVSet(kptr unsafe.Pointer, klen uint32, vptr unsafe.Pointer, vlen uint32) int32

//go:wasmimport hub now
func hubNow() int64

//go:wasmimport hub take_result
func hubTakeResult(ptr unsafe.Pointer, length uint32) int32

// hubSignJWT is reached only from SignJWT, so a module that never signs does not import
// it and still loads on hosts older than ABI revision 1.3.
//
//go:wasmimport hub sign_jwt
func hubSignJWT(ptr unsafe.Pointer, length uint32) int64

// input is the buffer of the last hub_alloc. Since this module exports hub_reuse_input,
// the host may write into it and call hub_invoke any number of times until it calls
// hub_alloc again, which drops it.
var input []byte

// lastResult keeps the previous export's result alive until the next export call.
var lastResult []byte

//go:wasmexport hub_abi_v1
func hubABIv1() {}

// hubReuseInput declares ABI revision 1.1 input-buffer reuse (docs/connector-abi.md §2).
//
//go:wasmexport hub_reuse_input
func hubReuseInput() {}

//go:wasmexport hub_alloc
func hubAlloc(size uint32) uint32 {
	if size == 0 {
		size = 1
	}
	input = make([]byte, size)
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(input))))
}

//go:wasmexport hub_describe
func hubDescribe() uint64 { return result(describe()) }

//go:wasmexport hub_invoke
func hubInvoke(ptr, length uint32) uint64 {
	// The request is decoded into fresh values (strings and inputs are copies), so nothing
	// refers to input once invoke returns and the host may overwrite it.
	if len(input) == 0 || ptr != uint32(uintptr(unsafe.Pointer(unsafe.SliceData(input)))) || uint32(len(input)) < length {
		return result(encodeResponse(&abi.InvokeResponse{Error: &abi.Error{Kind: abi.KindPermanent, Message: "hub_invoke: pointer and length are not within the last hub_alloc buffer"}}))
	}
	return result(invoke(wasmHost{}, input[:length]))
}

func result(b []byte) uint64 {
	lastResult = b
	if len(b) == 0 {
		return 0
	}
	return abi.Pack(uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))), uint32(len(b)))
}

func ptrOf(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(unsafe.SliceData(b))
}

// take copies the host's pending result of n bytes.
func take(n int64) ([]byte, error) {
	b := make([]byte, n)
	if st := abi.Status(hubTakeResult(ptrOf(b), uint32(n))); st != abi.StatusOK && n > 0 {
		return nil, errors.New("take_result: " + st.String())
	}
	return b, nil
}

type wasmHost struct{}

func defaultHost() Host { return wasmHost{} }

func (wasmHost) HTTP(_ context.Context, req *abi.HTTPRequest) *abi.HTTPResponse {
	return roundTripWire(req, func(b []byte) ([]byte, error) {
		n := hubHTTPRequest(ptrOf(b), uint32(len(b)))
		if n < 0 {
			return nil, errors.New("http_request: " + abi.Status(n).String())
		}
		return take(n)
	})
}

func (wasmHost) KVGet(_ context.Context, key string) ([]byte, bool, error) {
	k := []byte(key)
	n := hubKVGet(ptrOf(k), uint32(len(k)))
	switch {
	case n == int64(abi.StatusNotFound):
		return nil, false, nil
	case n < 0:
		return nil, false, errors.New("kv_get: " + abi.Status(n).String())
	}
	v, err := take(n)
	return v, err == nil, err
}

func (wasmHost) KVSet(_ context.Context, key string, value []byte) error {
	k := []byte(key)
	if st := abi.Status(hubKVSet(ptrOf(k), uint32(len(k)), ptrOf(value), uint32(len(value)))); st != abi.StatusOK {
		return errors.New("kv_set: " + st.String())
	}
	return nil
}

func (wasmHost) Log(_ context.Context, rec abi.LogRecord) {
	b, err := rec.AppendJSON(nil)
	if err != nil {
		return
	}
	hubLog(ptrOf(b), uint32(len(b)))
}

func (wasmHost) Now(context.Context) time.Time { return time.Unix(0, hubNow()) }

// platformSignJWT calls the hub's sign_jwt import. It is a function rather than a method
// of wasmHost so that the linker drops it (and the import) from modules that never call
// SignJWT: reflection can keep every exported method of a type alive, but not an
// unreferenced function.
func platformSignJWT(h Host, req *abi.JWTRequest) (*abi.JWTResponse, bool) {
	if _, ok := h.(wasmHost); !ok {
		return nil, false
	}
	fail := func(msg string) (*abi.JWTResponse, bool) {
		return &abi.JWTResponse{Error: &abi.JWTError{Code: abi.JWTErrorInvalid, Message: msg}}, true
	}
	b, err := json.Marshal(req)
	if err != nil {
		return fail(err.Error())
	}
	n := hubSignJWT(ptrOf(b), uint32(len(b)))
	if n < 0 {
		return fail("sign_jwt: " + abi.Status(n).String())
	}
	out, err := take(n)
	if err != nil {
		return fail(err.Error())
	}
	var resp abi.JWTResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return fail("decoding sign_jwt response: " + err.Error())
	}
	return &resp, true
}
