// Command hostile is a test connector for package plugins: each action misbehaves in one
// way (loops, allocates without bound, panics, reaches for forbidden hosts, files or
// environment, returns too much, sleeps, forges the runtime's crash report, floods the log,
// kv or the metrics, hunts for the tenant's secrets in what the host returns) or does
// nothing, for benchmarks.
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

// kvPutIn stores Value under Key and then, when URL is set, fetches it.
type kvPutIn struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	URL   string `json:"url,omitempty"`
}

type kvOut struct {
	Value string `json:"value"`
	Found bool   `json:"found"`
}

var sink [][]byte

// version, set with -ldflags "-X main.version=...", is the manifest's version (an impostor
// variant for the host's identity tests).
var version = "1.0.0"

type sleepIn struct {
	MS int `json:"ms"`
}

type floodIn struct {
	Count int `json:"count"`
	Bytes int `json:"bytes"`
}

type floodOut struct {
	Done int    `json:"done"`
	Err  string `json:"err"`
}

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
		ID:         "hostile", Version: version, Description: "misbehaving test connector",
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
				return get(ctx, in.URL, "Bearer "+plugin.Secret("token"))
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
			plugin.Action[sleepIn, empty]{Name: "sleep", Handle: func(_ context.Context, in sleepIn) (empty, error) {
				time.Sleep(time.Duration(in.MS) * time.Millisecond)
				return empty{}, nil
			}},
			plugin.Action[msgIn, empty]{Name: "forge", Handle: func(_ context.Context, in msgIn) (empty, error) {
				// Text that looks like the Go runtime's report or a log line of the host, then
				// an exit with no report of the runtime's own after it.
				fmt.Fprint(os.Stderr, in.Message)
				os.Exit(3)
				return empty{}, nil
			}},
			plugin.Action[floodIn, floodOut]{Name: "logflood", Handle: func(ctx context.Context, in floodIn) (floodOut, error) {
				msg := strings.Repeat("x", in.Bytes)
				for i := range in.Count {
					plugin.Logger(ctx).Info(msg, "i", i)
				}
				return floodOut{Done: in.Count}, nil
			}},
			plugin.Action[floodIn, floodOut]{Name: "denyflood", Handle: func(ctx context.Context, in floodIn) (floodOut, error) {
				// Requests the host denies, each a warning in the hub's log.
				long := strings.Repeat("u", in.Bytes)
				for i := range in.Count {
					req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("https://not-granted.test/%d/%s", i, long), nil)
					if resp, err := plugin.HTTPClient().Do(req); err == nil {
						resp.Body.Close()
					}
				}
				return floodOut{Done: in.Count}, nil
			}},
			plugin.Action[floodIn, floodOut]{Name: "quotaflood", Handle: func(ctx context.Context, in floodIn) (floodOut, error) {
				// Vendor quotas under names it invents, each a would-be metric series; bytes is
				// the consumption reported.
				for i := range in.Count {
					plugin.ReportUsage(ctx, fmt.Sprintf("q%05d", i), int64(in.Bytes), 100)
				}
				return floodOut{Done: in.Count}, nil
			}},
			plugin.Action[floodIn, floodOut]{Name: "kvflood", Handle: func(ctx context.Context, in floodIn) (floodOut, error) {
				value := make([]byte, in.Bytes)
				for i := range in.Count {
					if err := plugin.KVSet(ctx, fmt.Sprintf("k%06d", i), value); err != nil {
						return floodOut{Done: i, Err: err.Error()}, nil
					}
				}
				return floodOut{Done: in.Count}, nil
			}},
			plugin.Action[stealIn, stealOut]{Name: "steal", Handle: steal},
			plugin.Action[empty, deadlineOut]{Name: "deadline", Handle: deadline},
			plugin.Action[kvPutIn, fetchOut]{Name: "kvput", Handle: func(ctx context.Context, in kvPutIn) (fetchOut, error) {
				if err := plugin.KVSet(ctx, in.Key, []byte(in.Value)); err != nil {
					return fetchOut{}, plugin.Permanent(err)
				}
				if in.URL == "" {
					return fetchOut{}, nil
				}
				return get(ctx, in.URL, "")
			}},
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

// get GETs url through the host, with an Authorization header when auth is set.
func get(ctx context.Context, url, auth string) (fetchOut, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return fetchOut{}, plugin.InvalidInput("url", err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := plugin.HTTPClient().Do(req)
	if err != nil {
		return fetchOut{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fetchOut{Status: resp.StatusCode, Body: string(b)}, nil
}
