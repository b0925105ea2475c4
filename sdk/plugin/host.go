package plugin

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/aquascene/aquahub/sdk/abi"
)

// Host is the set of services the hub provides to a connector: the ABI's imports. In a wasm
// build the SDK implements it over the hub's imports; package plugintest implements it
// natively. Connector code does not call it directly but uses HTTPClient, KVGet, Logger...
// A Host that can sign JWTs also implements JWTSigner (used by SignJWT); the interface
// stays as it was so that hosts written before ABI revision 1.3 still compile.
type Host interface {
	// HTTP performs an outbound request under the tenant's egress grant.
	HTTP(ctx context.Context, req *abi.HTTPRequest) *abi.HTTPResponse
	// KVGet reads a value of this tenant and connector.
	KVGet(ctx context.Context, key string) ([]byte, bool, error)
	// KVSet stores a value; an empty value deletes the key.
	KVSet(ctx context.Context, key string, value []byte) error
	// Log writes a structured record to the hub's log.
	Log(ctx context.Context, rec abi.LogRecord)
	// Now returns the host's clock.
	Now(ctx context.Context) time.Time
}

// ErrNoHost is returned by the SDK's host functions when called outside an action natively.
var ErrNoHost = errors.New("plugin: no host (call from an action, or use plugintest natively)")

type hostKey struct{}

type callKey struct{}

type callInfo struct {
	req *abi.InvokeRequest
	key string
	// resp is the invoke's response, where ReportUsage keeps the last report per quota.
	resp *abi.InvokeResponse
}

var (
	fallbackMu   sync.Mutex
	fallbackHost Host = defaultHost()
)

// WithFallbackHost runs fn with h as the host used when a context carries none, such as
// an http.Request made without the action's context. The wasm build's fallback is the hub;
// plugintest sets its own around each action. Calls are serialised, as they are in a
// single wasm instance.
func WithFallbackHost(h Host, fn func()) {
	fallbackMu.Lock()
	defer fallbackMu.Unlock()
	prev := fallbackHost
	fallbackHost = h
	defer func() { fallbackHost = prev }()
	fn()
}

func hostFrom(ctx context.Context) Host {
	if ctx != nil {
		if h, ok := ctx.Value(hostKey{}).(Host); ok && h != nil {
			return h
		}
	}
	return fallbackHost
}

func call(ctx context.Context) *callInfo {
	c, _ := ctx.Value(callKey{}).(*callInfo)
	if c == nil {
		return &callInfo{req: &abi.InvokeRequest{}}
	}
	return c
}

// Config returns the tenant's configuration value for key, or nil.
func Config(ctx context.Context, key string) any { return call(ctx).req.Config[key] }

// ConfigString returns the configuration value for key as a string, or def when unset or not
// a string.
func ConfigString(ctx context.Context, key, def string) string {
	if s, ok := Config(ctx, key).(string); ok && s != "" {
		return s
	}
	return def
}

// Secret returns a reference to the named secret, for use in an HTTP header value or URL
// query: the host replaces it with the value after the egress check.
func Secret(name string) string { return "{{secret:" + name + "}}" }

// BasicAuth returns an Authorization header value for HTTP Basic auth with user and the
// named secret as password.
func BasicAuth(user, secret string) string { return "Basic {{basic:" + user + ":" + secret + "}}" }

// HMACHex returns a reference the host replaces with the lower-case hex HMAC-SHA256 of the
// request's body keyed with the named secret, for a signature header such as
// X-Signature-256: "sha256=" + HMACHex("webhook_secret"). The secret must be declared with
// a SecretPlace{HMAC: header} for that header (ABI revision 1.5); the connector never
// holds the key.
func HMACHex(secret string) string { return "{{" + abi.RefHMACHex + ":" + secret + "}}" }

// HMACBase64 is HMACHex with the HMAC in standard base64.
func HMACBase64(secret string) string { return "{{" + abi.RefHMACBase64 + ":" + secret + "}}" }

// HasSecret reports whether the tenant has set the named secret.
func HasSecret(ctx context.Context, name string) bool {
	for _, s := range call(ctx).req.Secrets {
		if s == name {
			return true
		}
	}
	return false
}

// IdempotencyKey returns the key that is stable for this step across retries; pass it to
// APIs that accept one.
func IdempotencyKey(ctx context.Context) string { return call(ctx).key }

// Call describes the invocation for logs and metrics.
type Call struct {
	Tenant, RunID, StepID, Action string
	Attempt                       int
}

// CallOf returns the invocation's identity.
func CallOf(ctx context.Context) Call {
	r := call(ctx).req
	return Call{Tenant: r.Tenant, RunID: r.RunID, StepID: r.StepID, Action: r.Action, Attempt: r.Attempt}
}

// KVGet reads a durable value scoped to this tenant and connector.
func KVGet(ctx context.Context, key string) ([]byte, bool, error) {
	h := hostFrom(ctx)
	if h == nil {
		return nil, false, ErrNoHost
	}
	if len(key) == 0 || len(key) > abi.MaxKVKeyBytes {
		return nil, false, errors.New("plugin: kv key must be 1 to 256 bytes")
	}
	return h.KVGet(ctx, key)
}

// KVSet stores a durable value scoped to this tenant and connector. An empty value deletes.
// Under the hub it returns before the value is on disk; the hub makes it durable before the
// call's next kv read or write, its next request, and its end (docs/connector-abi.md §5.3).
func KVSet(ctx context.Context, key string, value []byte) error {
	h := hostFrom(ctx)
	if h == nil {
		return ErrNoHost
	}
	if len(key) == 0 || len(key) > abi.MaxKVKeyBytes {
		return errors.New("plugin: kv key must be 1 to 256 bytes")
	}
	return h.KVSet(ctx, key, value)
}

// KVDelete removes a key.
func KVDelete(ctx context.Context, key string) error { return KVSet(ctx, key, nil) }

// ReportUsage reports a vendor quota's consumption as the vendor last stated it (Salesforce's
// Sforce-Limit-Info, for example). The last report of each quota in a call goes back to the
// hub with the response, where it becomes the metrics aquahub_connector_quota_used and
// aquahub_connector_quota_limit. quota is lower-case letters, digits and '_'; a name that
// is not, or a negative number, is dropped by the hub.
func ReportUsage(ctx context.Context, quota string, used, limit int64) {
	c := call(ctx)
	if c.resp == nil {
		return
	}
	u := abi.Usage{Quota: quota, Used: used, Limit: limit}
	for i := range c.resp.Usage {
		if c.resp.Usage[i].Quota == quota {
			c.resp.Usage[i] = u
			return
		}
	}
	c.resp.Usage = append(c.resp.Usage, u)
}

// Now returns the host's wall clock.
func Now(ctx context.Context) time.Time {
	if h := hostFrom(ctx); h != nil {
		return h.Now(ctx)
	}
	return time.Now()
}

// Logger returns a structured logger whose records go to the hub's log, tagged there with
// tenant, run, connector and action.
func Logger(ctx context.Context) *slog.Logger { return slog.New(&logHandler{ctx: ctx}) }

type logHandler struct {
	ctx   context.Context
	attrs []slog.Attr
	group string
}

// Enabled reports whether the host keeps records of level l, so that records it would drop
// are not encoded and sent at all.
func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool {
	var least slog.Level
	if err := least.UnmarshalText([]byte(call(h.ctx).req.LogLevel)); err != nil {
		return true
	}
	return l >= least
}

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	host := hostFrom(h.ctx)
	if host == nil {
		return ErrNoHost
	}
	rec := abi.LogRecord{Level: levelName(r.Level), Msg: r.Message, Attrs: map[string]any{}}
	add := func(a slog.Attr) {
		k := a.Key
		if h.group != "" {
			k = h.group + "." + k
		}
		rec.Attrs[k] = attrValue(a.Value)
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(func(a slog.Attr) bool { add(a); return true })
	if len(rec.Attrs) == 0 {
		rec.Attrs = nil
	}
	host.Log(h.ctx, rec)
	return nil
}

func attrValue(v slog.Value) any {
	v = v.Resolve()
	switch v.Kind() {
	case slog.KindGroup:
		m := map[string]any{}
		for _, a := range v.Group() {
			m[a.Key] = attrValue(a.Value)
		}
		return m
	case slog.KindDuration:
		return v.Duration().String()
	case slog.KindTime:
		return v.Time().Format(time.RFC3339Nano)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return err.Error()
		}
	}
	return v.Any()
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &n
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	n := *h
	if n.group != "" {
		name = n.group + "." + name
	}
	n.group = name
	return &n
}

func levelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "error"
	case l >= slog.LevelWarn:
		return "warn"
	case l >= slog.LevelInfo:
		return "info"
	}
	return "debug"
}
