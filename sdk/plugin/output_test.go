package plugin

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aquascene/aquahub/sdk/abi"
)

// rawHandler is a Handler of its own, whose outputs the SDK does not vouch for.
type rawHandler struct{ out string }

func (h rawHandler) Spec() abi.ActionSpec {
	return abi.ActionSpec{Name: "raw", Input: &abi.Schema{}}
}

func (h rawHandler) Call(context.Context, json.RawMessage) (json.RawMessage, error) {
	return json.RawMessage(h.out), nil
}

func TestInvokeChecksOutputsOfOtherHandlers(t *testing.T) {
	tests := []struct {
		name, out, want string
	}{
		{"compacted", "{ \"a\" :\n [1, 2] }", `{"results":[{"output":{"a":[1,2]}}]}`},
		{"invalid", `{"a":`, `{"results":[{"error":{"kind":"permanent","message":"encoding output: unexpected end of JSON input"}}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prev := connector
			connector = &Connector{ID: "raw", Version: "1", Actions: []Handler{rawHandler{out: tc.out}}}
			defer func() { connector = prev }()
			got := invoke(&wireHost{}, []byte(`{"action":"raw","inputs":[{}]}`))
			if string(got) != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
			if _, err := abi.DecodeInvokeResponse(got, 1); err != nil {
				t.Fatalf("the host refuses it: %v", err)
			}
		})
	}
}
