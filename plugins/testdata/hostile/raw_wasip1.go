//go:build wasip1

package main

import (
	"encoding/json"
	"errors"
	"unsafe"

	"github.com/aquascene/aquahub/sdk/abi"
)

// The SDK hides the http_request answer behind net/http (the final URL, for one, never
// reaches connector code through it); a hostile connector calls the import itself to see
// every byte the host returns.

//go:wasmimport hub http_request
func rawHTTPRequest(ptr unsafe.Pointer, length uint32) int64

//go:wasmimport hub take_result
func rawTakeResult(ptr unsafe.Pointer, length uint32) int32

func rawHTTP(req *abi.HTTPRequest) (*abi.HTTPResponse, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	n := rawHTTPRequest(unsafe.Pointer(unsafe.SliceData(b)), uint32(len(b)))
	if n < 0 {
		return nil, errors.New("http_request: " + abi.Status(n).String())
	}
	out := make([]byte, n+1)
	if st := abi.Status(rawTakeResult(unsafe.Pointer(unsafe.SliceData(out)), uint32(n))); st != abi.StatusOK {
		return nil, errors.New("take_result: " + st.String())
	}
	var resp abi.HTTPResponse
	if err := json.Unmarshal(out[:n], &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}
