package plugin

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/aquascene/aquahub/sdk/abi"
)

// roundTripWire encodes req, hands it to call (the http_request import) and decodes the
// answer, which call must not change afterwards; a failure on either side becomes an
// invalid_request error. The hand-written
// codecs in package abi stand in for encoding/json, whose reflection a wasm guest pays
// for dearly on every call.
func roundTripWire(req *abi.HTTPRequest, call func([]byte) ([]byte, error)) *abi.HTTPResponse {
	fail := func(msg string) *abi.HTTPResponse {
		return &abi.HTTPResponse{Error: &abi.HTTPError{Code: abi.HTTPErrorInvalid, Message: msg}}
	}
	out, err := call(req.AppendJSON(make([]byte, 0, 512+len(req.Body)*4/3)))
	if err != nil {
		return fail(err.Error())
	}
	resp, err := abi.DecodeHTTPResponse(out)
	if err != nil {
		return fail("decoding " + err.Error())
	}
	return resp
}

// encodeResponse encodes an invoke response for the host.
func encodeResponse(resp *abi.InvokeResponse) []byte {
	n := 64
	for _, r := range resp.Results {
		n += len(r.Output) + 16
	}
	return resp.AppendJSON(make([]byte, 0, n))
}

// checkOutput compacts and validates the output of a handler other than the SDK's Action,
// whose own outputs come from json.Marshal and go to the host as they are.
func checkOutput(out json.RawMessage) (json.RawMessage, error) {
	if len(out) == 0 {
		return out, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, out); err != nil {
		return nil, Permanent(fmt.Errorf("encoding output: %w", err))
	}
	return buf.Bytes(), nil
}
