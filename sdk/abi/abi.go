package abi

import "fmt"

// Version is the ABI version this package describes. A module exports ExportMarker to claim
// it and repeats it in Manifest.ABI.
const Version = 1

// ModuleName is the import module name of every host function.
const ModuleName = "hub"

// Guest exports.
const (
	// ExportMarker is a function export `() -> ()` whose presence declares ABI v1. The host
	// never calls it. A future v2 adds "hub_abi_v2"; a module may export both.
	ExportMarker = "hub_abi_v1"
	// ExportAlloc is `hub_alloc(size i32) -> i32`: the guest returns a pointer to size bytes
	// the host may write, owned by the guest and kept alive until the next hub_invoke or
	// hub_describe consumes it (or, for a guest exporting ExportReuseInput, until the next
	// hub_alloc call).
	ExportAlloc = "hub_alloc"
	// ExportReuseInput is an optional function export `() -> ()`, never called, added in ABI
	// revision 1.1. Its presence promises that a hub_alloc buffer stays valid and untouched
	// by the guest until the host calls hub_alloc again, so the host may pass the same buffer
	// to any number of hub_invoke calls (each with a length up to the buffer's size) and
	// skip one export call per invoke. Without it the host calls hub_alloc before every
	// hub_invoke, as in revision 1.0.
	ExportReuseInput = "hub_reuse_input"
	// ExportDescribe is `hub_describe() -> i64`: the packed location of the Manifest JSON.
	ExportDescribe = "hub_describe"
	// ExportInvoke is `hub_invoke(ptr i32, len i32) -> i64`: ptr/len locate an InvokeRequest
	// the host wrote into a hub_alloc buffer; the result packs the location of an
	// InvokeResponse. The result stays valid until the next export call.
	ExportInvoke = "hub_invoke"
	// ExportInitialize is the WASI reactor initialiser, run once per instance before any
	// other export.
	ExportInitialize = "_initialize"
)

// Host imports, all in module ModuleName.
const (
	// ImportLog is `log(ptr i32, len i32)`: ptr/len locate a LogRecord JSON.
	ImportLog = "log"
	// ImportHTTPRequest is `http_request(ptr i32, len i32) -> i64`: ptr/len locate an
	// HTTPRequest JSON. A result >= 0 is the length of an HTTPResponse JSON waiting in the
	// result buffer (read it with take_result); a negative result is a Status.
	ImportHTTPRequest = "http_request"
	// ImportKVGet is `kv_get(kptr i32, klen i32) -> i64`: a result >= 0 is the length of the
	// value waiting in the result buffer; StatusNotFound means no value.
	ImportKVGet = "kv_get"
	// ImportKVSet is `kv_set(kptr i32, klen i32, vptr i32, vlen i32) -> i32`: stores the value
	// (vlen 0 deletes the key) and returns a Status.
	ImportKVSet = "kv_set"
	// ImportNow is `now() -> i64`: the host's wall clock in Unix nanoseconds.
	ImportNow = "now"
	// ImportTakeResult is `take_result(ptr i32, len i32) -> i32`: copies the pending result
	// of the last http_request, kv_get or sign_jwt into guest memory at ptr (len must equal
	// the length that call returned) and clears it. Returns a Status.
	ImportTakeResult = "take_result"
	// ImportSignJWT is `sign_jwt(ptr i32, len i32) -> i64`, added in ABI revision 1.3:
	// ptr/len locate a JWTRequest JSON of at most MaxJWTRequestBytes. A result >= 0 is the
	// length of a JWTResponse JSON waiting in the result buffer (read it with take_result);
	// a negative result is a Status. The host signs with a tenant secret the manifest
	// declares with Use SecretUseSign, so the private key never enters the guest.
	ImportSignJWT = "sign_jwt"
)

// Status is the result code of a host import. Zero is success; failures are negative so that
// an i64 result can carry either a length or a status.
type Status int32

// Host import status codes.
const (
	StatusOK Status = 0
	// StatusNotFound: kv_get found no value.
	StatusNotFound Status = -1
	// StatusInvalid: the arguments do not decode or point outside guest memory.
	StatusInvalid Status = -2
	// StatusTooLarge: a key, value or request exceeds the host's size limit.
	StatusTooLarge Status = -3
	// StatusNoResult: take_result was called with no pending result or the wrong length.
	StatusNoResult Status = -4
	// StatusUnavailable: the host could not serve the call (storage error, no call context).
	StatusUnavailable Status = -5
)

// String returns the status name.
func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusNotFound:
		return "not_found"
	case StatusInvalid:
		return "invalid"
	case StatusTooLarge:
		return "too_large"
	case StatusNoResult:
		return "no_result"
	case StatusUnavailable:
		return "unavailable"
	}
	return fmt.Sprintf("status(%d)", int32(s))
}

// Limits shared by host and guest.
const (
	// MaxKVKeyBytes bounds a kv key.
	MaxKVKeyBytes = 256
	// DefaultMaxKVValueBytes is the host's default bound on a kv value.
	DefaultMaxKVValueBytes = 64 << 10
	// DefaultMaxResponseBytes is the host's default bound on an invoke result and on an HTTP
	// response body.
	DefaultMaxResponseBytes = 4 << 20
	// MaxJWTRequestBytes bounds a sign_jwt request; a larger one gets StatusTooLarge.
	MaxJWTRequestBytes = 64 << 10
)

// Pack encodes a byte range of guest memory as ptr<<32 | len.
func Pack(ptr, length uint32) uint64 { return uint64(ptr)<<32 | uint64(length) }

// Unpack splits a packed range into pointer and length.
func Unpack(v uint64) (ptr, length uint32) { return uint32(v >> 32), uint32(v) }
