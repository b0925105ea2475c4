//go:build !wasip1

package main

import (
	"errors"

	"github.com/aquascene/aquahub/sdk/abi"
)

func rawHTTP(*abi.HTTPRequest) (*abi.HTTPResponse, error) {
	return nil, errors.New("raw http_request needs the wasm host")
}
