// Command hostile is a test connector for package plugins: each action misbehaves in one
// way (loops, allocates without bound, panics, reaches for forbidden hosts, files or
// environment, returns too much, hunts for the tenant's secrets in what the host returns)
// or does nothing, for benchmarks.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/plugin"
)

type empty struct{}

type fetchIn struct {
	URL string `json:"url"`
}

type fetchOut struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
}

type sizeIn struct {
	Bytes int `json:"bytes"`
}

type msgIn struct {
	Message string `json:"message,omitempty"`
}

type probeOut struct {
	File    string   `json:"file"`
	FileErr string   `json:"file_err"`
	Env     []string `json:"env"`
	Home    string   `json:"home"`
	Dir     []string `json:"dir"`
}

type failIn struct {
	Kind       string `json:"kind" jsonschema:"enum=invalid_input|auth|not_found|rate_limited|transient|permanent|untyped"`
	RetryAfter int    `json:"retry_after_ms,omitempty"`
}

type kvIn struct {
	Key   string `json:"key"`
	Value string `json:"value,omitempty"`
}

type kvOut struct {
	Value string `json:"value"`
	Found bool   `json:"found"`
}

var sink [][]byte

// rateLimit, set with -ldflags "-X main.rateLimit=PER_SECOND/BURST/PATH_SEGMENTS", declares
// one rate limit on every origin (a variant for the host's rate-limit test; the compiled
// packages are shared with the plain build, only the link differs).
var rateLimit string

func rateLimits() []abi.RateLimit {
	if rateLimit == "" {
		return nil
	}
	var perSecond float64
	var burst, segments int
	if _, err := fmt.Sscanf(rateLimit, "%g/%d/%d", &perSecond, &burst, &segments); err != nil {
		panic("main.rateLimit: " + err.Error())
	}
	return []abi.RateLimit{{Origin: "*", PerSecond: perSecond, Burst: burst, PathSegments: segments}}
}

func main() {}

func init() {
	plugin.Main(&plugin.Connector{
		RateLimits: rateLimits(),
		ID:         "hostile", Version: "1.0.0", Description: "misbehaving test connector",
		Egress:  []string{"*"},
		Secrets: secretSpecs(),
		Actions: []plugin.Handler{
			plugin.Action[empty, empty]{Name: "noop", Handle: func(context.Context, empty) (empty, error) { return empty{}, nil }},
			plugin.Action[empty, empty]{Name: "loop", Handle: func(context.Context, empty) (empty, error) {
				n := 0
				for {
					n++
				}
			}},
			plugin.Action[empty, empty]{Name: "alloc", Handle: func(context.Context, empty) (empty, error) {
				for {
					sink = append(sink, make([]byte, 1<<20))
				}
			}},
			plugin.Action[msgIn, empty]{Name: "panic", Handle: func(_ context.Context, in msgIn) (empty, error) {
				panic(in.Message)
			}},
			plugin.Action[fetchIn, fetchOut]{Name: "fetch", Handle: func(ctx context.Context, in fetchIn) (fetchOut, error) {
				req, err := http.NewRequestWithContext(ctx, "GET", in.URL, nil)
				if err != nil {
					return fetchOut{}, plugin.InvalidInput("url", err)
				}
				req.Header.Set("Authorization", "Bearer "+plugin.Secret("token"))
				resp, err := plugin.HTTPClient().Do(req)
				if err != nil {
					return fetchOut{}, err
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return fetchOut{Status: resp.StatusCode, Body: string(b)}, nil
			}},
			plugin.Action[empty, probeOut]{Name: "probe", Handle: func(context.Context, empty) (probeOut, error) {
				var out probeOut
				b, err := os.ReadFile("/etc/passwd")
				out.File = string(b)
				if err != nil {
					out.FileErr = err.Error()
				}
				out.Env = os.Environ()
				out.Home = os.Getenv("HOME")
				for _, d := range []string{"/", "."} {
					if entries, err := os.ReadDir(d); err == nil {
						for _, e := range entries {
							out.Dir = append(out.Dir, e.Name())
						}
					}
				}
				return out, nil
			}},
			plugin.Action[sizeIn, fetchOut]{Name: "big", Handle: func(_ context.Context, in sizeIn) (fetchOut, error) {
				return fetchOut{Body: strings.Repeat("x", in.Bytes)}, nil
			}},
			plugin.Action[failIn, empty]{Name: "fail", Handle: func(ctx context.Context, in failIn) (empty, error) {
				err := errors.New("failing as asked, key " + plugin.IdempotencyKey(ctx))
				switch in.Kind {
				case "invalid_input":
					return empty{}, plugin.InvalidInput("kind", err)
				case "auth":
					return empty{}, plugin.Auth(err)
				case "not_found":
					return empty{}, plugin.NotFound(err)
				case "rate_limited":
					return empty{}, plugin.RateLimited(time.Duration(in.RetryAfter)*time.Millisecond, err)
				case "transient":
					return empty{}, plugin.Transient(err)
				case "permanent":
					return empty{}, plugin.Permanent(err)
				}
				return empty{}, err
			}},
			plugin.Action[stealIn, stealOut]{Name: "steal", Handle: steal},
			plugin.Action[empty, deadlineOut]{Name: "deadline", Handle: deadline},
			plugin.Action[kvIn, kvOut]{Name: "kv", Handle: func(ctx context.Context, in kvIn) (kvOut, error) {
				if in.Value != "" {
					if err := plugin.KVSet(ctx, in.Key, []byte(in.Value)); err != nil {
						return kvOut{}, plugin.Permanent(err)
					}
				}
				v, ok, err := plugin.KVGet(ctx, in.Key)
				if err != nil {
					return kvOut{}, err
				}
				plugin.Logger(ctx).Info("kv read", "key", in.Key, "found", ok)
				return kvOut{Value: string(v), Found: ok}, nil
			}},
		},
	})
}
