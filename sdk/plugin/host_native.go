//go:build !wasip1

package plugin

import "github.com/aquascene/aquahub/sdk/abi"

// defaultHost is nil natively: package plugintest supplies a host per action.
func defaultHost() Host { return nil }

// platformSignJWT has nothing to offer natively: plugintest's Harness is a JWTSigner.
func platformSignJWT(Host, *abi.JWTRequest) (*abi.JWTResponse, bool) { return nil, false }
