// Package plugintest runs a connector's actions natively, without wasm, with the hub's host
// semantics: input validated against the action's schema, egress checked against the
// manifest and the grant (including dial-time address checks), secrets injected by name
// only into their declared places and bound origins and scrubbed from responses, config
// derived from secrets as the manifest declares, JWTs signed with signing-key secrets
// (sign_jwt), responses capped, kv size-capped and scoped, logs recorded, and the action's
// context ending at the call's deadline. Use it for fast unit tests of a connector's
// package main.
package plugintest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/abi/egress"
	"github.com/aquascene/aquahub/sdk/abi/jwtsign"
	"github.com/aquascene/aquahub/sdk/plugin"
)

// Options configures a Harness the way tenant configuration configures the hub.
type Options struct {
	// Tenant is reported to the connector; default "test".
	Tenant string
	// Config is the tenant's connector configuration.
	Config map[string]any
	// Secrets maps secret names to values, injected into requests by the harness, or, for
	// secrets the manifest declares with use "sign", used by SignJWT only.
	Secrets map[string]string
	// Egress is the tenant's grant ("https://api.example.com", "http://127.0.0.1:8080").
	// Loopback test servers must be granted by address, as `aquahub dev` does.
	Egress []string
	// SecretOrigins binds secrets to origins, as the tenant's secret_origins does: a
	// secret with an entry is sent only to those origins; one without goes to every
	// origin of Egress.
	SecretOrigins map[string][]string
	// Timeout bounds one Invoke; default 10s.
	Timeout time.Duration
	// MaxResponseBytes caps an HTTP response body; default abi.DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// MaxKVValueBytes caps a kv value; default abi.DefaultMaxKVValueBytes.
	MaxKVValueBytes int
	// LookupIP replaces DNS resolution (see egress.Policy.LookupIP).
	LookupIP func(ctx context.Context, host string) ([]netip.Addr, error)
}

// Harness runs one connector natively. It is safe for concurrent use; invocations are
// serialised, as in one wasm instance.
type Harness struct {
	conn     *plugin.Connector
	manifest abi.Manifest
	opts     Options
	client   *egress.Client
	signer   *jwtsign.Signer

	mu        sync.Mutex
	kv        map[string][]byte
	logs      []abi.LogRecord
	decisions []egress.Decision
}

// New validates the connector's manifest and returns a harness for it.
func New(c *plugin.Connector, opts Options) (*Harness, error) {
	m := c.Manifest()
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if opts.Tenant == "" {
		opts.Tenant = "test"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.MaxKVValueBytes <= 0 {
		opts.MaxKVValueBytes = abi.DefaultMaxKVValueBytes
	}
	for _, name := range sortedKeys(opts.Secrets) {
		if len(opts.Secrets[name]) < abi.MinSecretBytes {
			return nil, fmt.Errorf("secrets.%s: must be at least %d bytes, as the hub requires", name, abi.MinSecretBytes)
		}
	}
	h := &Harness{conn: c, manifest: m, opts: opts, kv: map[string][]byte{}}
	client, err := egress.NewClient(egress.Policy{
		Requested:        m.Egress,
		Granted:          opts.Egress,
		Secrets:          opts.Secrets,
		Declared:         m.Secrets,
		SecretOrigins:    opts.SecretOrigins,
		MaxResponseBytes: opts.MaxResponseBytes,
		LookupIP:         opts.LookupIP,
		RateLimits:       m.RateLimits,
		LimitScope:       opts.Tenant + "\x00" + m.ID,
		OnDecision: func(d egress.Decision) {
			h.mu.Lock()
			h.decisions = append(h.decisions, d)
			h.mu.Unlock()
		},
	})
	if err != nil {
		return nil, err
	}
	h.client = client
	h.signer = jwtsign.NewSigner(jwtsign.Policy{Secrets: opts.Secrets, Declared: m.Secrets, Scope: opts.Tenant + "\x00" + m.ID})
	return h, nil
}

// Manifest returns the connector's manifest.
func (h *Harness) Manifest() abi.Manifest { return h.manifest }

// Close releases idle connections.
func (h *Harness) Close() { h.client.CloseIdleConnections() }

// Invoke runs action on one input (any value that encodes to JSON) and returns the output
// decoded as an object. A failure is returned as *abi.Error, with the kind the hub would see.
func (h *Harness) Invoke(ctx context.Context, action string, input any) (map[string]any, error) {
	raw, err := json.Marshal(input)
	if err != nil {
		return nil, fmt.Errorf("encoding input: %w", err)
	}
	resp, err := h.InvokeBatch(ctx, action, raw)
	if err != nil {
		return nil, err
	}
	if resp.Error != nil {
		return nil, resp.Error
	}
	r := resp.Results[0]
	if r.Error != nil {
		return nil, r.Error
	}
	out := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(r.Output))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("output is not a JSON object: %s", r.Output)
	}
	return out, nil
}

// InvokeBatch runs action on several raw inputs, validating each as the hub does.
func (h *Harness) InvokeBatch(ctx context.Context, action string, inputs ...json.RawMessage) (*abi.InvokeResponse, error) {
	spec, ok := h.manifest.Action(action)
	if !ok {
		return nil, &abi.Error{Kind: abi.KindInvalidInput, Field: "action", Message: fmt.Sprintf("connector %q has no action %q", h.manifest.ID, action)}
	}
	for _, in := range inputs {
		var v any
		if err := json.Unmarshal(in, &v); err != nil {
			return nil, &abi.Error{Kind: abi.KindInvalidInput, Message: "input is not JSON: " + err.Error()}
		}
		if err := spec.Input.Validate(v, abi.ValidateOptions{}); err != nil {
			var ve *abi.ValidationError
			errors.As(err, &ve)
			return nil, &abi.Error{Kind: abi.KindInvalidInput, Field: ve.Path, Message: ve.Reason}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, h.opts.Timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	req := &abi.InvokeRequest{
		Action: action, Inputs: inputs, Config: h.manifest.DeriveConfig(h.opts.Config, h.opts.Secrets), Secrets: sortedKeys(h.opts.Secrets),
		Tenant: h.opts.Tenant, RunID: "run-test", StepID: "step-test",
		IdempotencyKey: "idem-test", Attempt: 1, DeadlineUnixMS: deadline.UnixMilli(),
	}
	var resp *abi.InvokeResponse
	plugin.WithFallbackHost(h, func() {
		defer func() {
			if p := recover(); p != nil {
				resp = &abi.InvokeResponse{Error: &abi.Error{Kind: abi.KindTransient,
					Message: fmt.Sprintf("connector panicked: %v\n%s", p, tail(debug.Stack(), 800))}}
			}
		}()
		resp = h.conn.Invoke(ctx, h, req)
	})
	// Round-trip through JSON, as the wasm boundary does.
	b, err := json.Marshal(resp)
	if err != nil {
		return nil, err
	}
	return abi.DecodeInvokeResponse(b, len(inputs))
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// HTTP implements plugin.Host.
func (h *Harness) HTTP(ctx context.Context, req *abi.HTTPRequest) *abi.HTTPResponse {
	b, _ := json.Marshal(req)
	r, err := abi.DecodeHTTPRequest(b)
	if err != nil {
		return &abi.HTTPResponse{Error: &abi.HTTPError{Code: abi.HTTPErrorInvalid, Message: err.Error()}}
	}
	return h.client.Do(ctx, r)
}

// SignJWT implements plugin.JWTSigner with the host's signing code, after the same
// round trip through JSON and the same size limit as the wasm boundary.
func (h *Harness) SignJWT(_ context.Context, req *abi.JWTRequest) *abi.JWTResponse {
	b, _ := json.Marshal(req)
	if len(b) > abi.MaxJWTRequestBytes {
		return &abi.JWTResponse{Error: &abi.JWTError{Code: abi.JWTErrorInvalid, Message: "sign_jwt: " + abi.StatusTooLarge.String()}}
	}
	r, err := abi.DecodeJWTRequest(b)
	if err != nil {
		return &abi.JWTResponse{Error: &abi.JWTError{Code: abi.JWTErrorInvalid, Message: err.Error()}}
	}
	return h.signer.Sign(r)
}

// KVGet implements plugin.Host.
func (h *Harness) KVGet(_ context.Context, key string) ([]byte, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, ok := h.kv[key]
	return bytes.Clone(v), ok, nil
}

// KVSet implements plugin.Host.
func (h *Harness) KVSet(_ context.Context, key string, value []byte) error {
	if len(key) == 0 || len(key) > abi.MaxKVKeyBytes {
		return errors.New("kv_set: " + abi.StatusTooLarge.String())
	}
	if len(value) > h.opts.MaxKVValueBytes {
		return errors.New("kv_set: " + abi.StatusTooLarge.String())
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(value) == 0 {
		delete(h.kv, key)
		return nil
	}
	h.kv[key] = bytes.Clone(value)
	return nil
}

// Log implements plugin.Host.
func (h *Harness) Log(_ context.Context, rec abi.LogRecord) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.logs = append(h.logs, rec)
}

// Now implements plugin.Host.
func (h *Harness) Now(context.Context) time.Time { return time.Now() }

// KV returns a copy of the stored values.
func (h *Harness) KV() map[string][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string][]byte, len(h.kv))
	for k, v := range h.kv {
		out[k] = bytes.Clone(v)
	}
	return out
}

// Logs returns the records the connector logged.
func (h *Harness) Logs() []abi.LogRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]abi.LogRecord(nil), h.logs...)
}

// Decisions returns every egress allow and deny so far.
func (h *Harness) Decisions() []egress.Decision {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]egress.Decision(nil), h.decisions...)
}

// Denied returns the reasons of denied egress decisions, joined by newlines.
func (h *Harness) Denied() string {
	var out []string
	for _, d := range h.Decisions() {
		if !d.Allowed {
			out = append(out, d.Reason)
		}
	}
	return strings.Join(out, "\n")
}

var (
	_ plugin.Host      = (*Harness)(nil)
	_ plugin.JWTSigner = (*Harness)(nil)
)

// WantError fails the test unless err is an *abi.Error of kind about field ("" for an error
// about no one field), and returns it for further checks.
func WantError(tb testing.TB, err error, kind abi.ErrorKind, field string) *abi.Error {
	tb.Helper()
	var e *abi.Error
	if !errors.As(err, &e) || e.Kind != kind || e.Field != field {
		tb.Fatalf("error = %#v, want %s field %q", err, kind, field)
	}
	return e
}

// Start returns a harness for c, closed when the test ends; a connector whose manifest or
// options New refuses fails the test.
func Start(tb testing.TB, c *plugin.Connector, opts Options) *Harness {
	tb.Helper()
	h, err := New(c, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(h.Close)
	return h
}
