// Command signer is a test connector for package plugins' sign_jwt import (ABI revision
// 1.3): it signs JWTs through the SDK, tries to send secrets over HTTP, and calls the raw
// import outside hub_invoke and with oversized requests to check the statuses.
package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"unsafe"

	"github.com/aquascene/aquahub/sdk/plugin"
)

//go:wasmimport hub sign_jwt
func rawSignJWT(ptr unsafe.Pointer, length uint32) int64

// initStatus is what sign_jwt answered during _initialize, outside any hub_invoke.
var initStatus int64

type signIn struct {
	Alg    string         `json:"alg"`
	Secret string         `json:"secret"`
	Header map[string]any `json:"header,omitempty"`
	Claims map[string]any `json:"claims,omitempty"`
}

type signOut struct {
	JWT    string         `json:"jwt"`
	Claims map[string]any `json:"claims"`
}

type fetchIn struct {
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

// fetchOut is everything the guest got back from the host for the request.
type fetchOut struct {
	Status int    `json:"status,omitempty"`
	Body   string `json:"body,omitempty"`
	Error  string `json:"error,omitempty"`
}

type rawIn struct {
	Bytes int `json:"bytes"`
}

type statusOut struct {
	Result int64 `json:"result"`
}

type empty struct{}

func main() {}

func init() {
	b := []byte(`{"alg":"RS256","secret":"signing_key","claims":{}}`)
	initStatus = rawSignJWT(unsafe.Pointer(&b[0]), uint32(len(b)))

	plugin.Main(&plugin.Connector{
		ID: "signer", Version: "1.0.0", Description: "sign_jwt test connector",
		Egress: []string{"*"},
		Secrets: []plugin.SecretSpec{
			{Name: "signing_key", Use: plugin.SecretUseSign, Description: "PEM private key"},
			{Name: "ec_key", Use: plugin.SecretUseSign},
			{Name: "sa_key", Use: plugin.SecretUseSign, Description: "service-account JSON key"},
			{Name: "api_key", Description: "sent over HTTP"},
		},
		Actions: []plugin.Handler{
			plugin.Action[signIn, signOut]{Name: "sign", Handle: func(ctx context.Context, in signIn) (signOut, error) {
				token, err := plugin.SignJWT(ctx, in.Alg, in.Secret, in.Header, in.Claims)
				if err != nil {
					return signOut{}, err
				}
				claims, err := plugin.JWTClaims(token)
				if err != nil {
					return signOut{}, plugin.Permanent(err)
				}
				return signOut{JWT: token, Claims: claims}, nil
			}},
			plugin.Action[fetchIn, fetchOut]{Name: "fetch", Handle: func(ctx context.Context, in fetchIn) (fetchOut, error) {
				req, err := http.NewRequestWithContext(ctx, "GET", in.URL+"?key="+plugin.Secret(in.Secret), nil)
				if err != nil {
					return fetchOut{}, plugin.InvalidInput("url", err)
				}
				req.Header.Set("Authorization", "Bearer "+plugin.Secret(in.Secret))
				resp, err := plugin.HTTPClient().Do(req)
				var egress *plugin.EgressError
				if errors.As(err, &egress) {
					return fetchOut{Error: egress.Code + ": " + egress.Message}, nil
				}
				if err != nil {
					return fetchOut{}, err
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				return fetchOut{Status: resp.StatusCode, Body: string(body)}, nil
			}},
			plugin.Action[empty, statusOut]{Name: "init_status", Handle: func(context.Context, empty) (statusOut, error) {
				return statusOut{Result: initStatus}, nil
			}},
			plugin.Action[rawIn, statusOut]{Name: "raw", Handle: func(_ context.Context, in rawIn) (statusOut, error) {
				b := make([]byte, in.Bytes)
				return statusOut{Result: rawSignJWT(unsafe.Pointer(&b[0]), uint32(len(b)))}, nil
			}},
		},
	})
}
