package plugin

import (
	"encoding/json"

	"github.com/aquascene/aquahub/sdk/abi"
)

// roundTripWire encodes req, hands it to call (the http_request import) and decodes the
// answer; a failure on either side becomes an invalid_request error.
func roundTripWire(req *abi.HTTPRequest, call func([]byte) ([]byte, error)) *abi.HTTPResponse {
	fail := func(msg string) *abi.HTTPResponse {
		return &abi.HTTPResponse{Error: &abi.HTTPError{Code: abi.HTTPErrorInvalid, Message: msg}}
	}
	b, err := json.Marshal(req)
	if err != nil {
		return fail(err.Error())
	}
	out, err := call(b)
	if err != nil {
		return fail(err.Error())
	}
	var resp abi.HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return fail("decoding http response: " + err.Error())
	}
	return &resp
}
