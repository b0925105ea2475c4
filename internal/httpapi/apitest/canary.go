package apitest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"slices"
	"sync"
	"testing"
)

// Canary is a known secret value. Tests configure it wherever a secret goes (connector
// secrets, webhook and inbound source keys, signing keys, the master key's file) and every
// answer Server.Do reads and every line Logger writes is checked for it: a secret that leaks
// into an answer, a header or a log line fails the test that leaked it.
const Canary = "aqh-canary-9f2c7e41b5d8306a-secret"

var canaries = struct {
	sync.Mutex
	values []string
}{values: []string{Canary}}

// RegisterSecret adds a value (at least 8 bytes) to the secrets every answer and log line is
// checked for, for the rest of the test binary: a test's own generated keys, say.
func RegisterSecret(v string) {
	if len(v) < 8 {
		return
	}
	canaries.Lock()
	defer canaries.Unlock()
	if !slices.Contains(canaries.values, v) {
		canaries.values = append(canaries.values, v)
	}
}

// LeakedSecret returns the registered secret b contains, plainly, base64- or hex-encoded;
// "" when none.
func LeakedSecret(b []byte) string {
	canaries.Lock()
	values := slices.Clone(canaries.values)
	canaries.Unlock()
	for _, v := range values {
		for _, enc := range []string{v, base64.StdEncoding.EncodeToString([]byte(v)), base64.RawURLEncoding.EncodeToString([]byte(v)), hex.EncodeToString([]byte(v))} {
			if bytes.Contains(b, []byte(enc)) {
				return v
			}
		}
	}
	return ""
}

// CheckNoSecret fails tb when b contains a registered secret; what names where b came from.
func CheckNoSecret(tb testing.TB, what string, b []byte) {
	tb.Helper()
	if v := LeakedSecret(b); v != "" {
		tb.Errorf("%s a secret value (%.12s…): %.300s", what, v, b)
	}
}

// Logger returns a logger that writes through tb.Log at debug level and fails tb when a line
// holds a registered secret. Lines logged after the test ended (by background work still
// stopping) are dropped.
func Logger(tb testing.TB) *slog.Logger {
	st := &logState{}
	tb.Cleanup(func() {
		st.mu.Lock()
		st.ended = true
		st.mu.Unlock()
	})
	return slog.New(&canaryHandler{tb: tb, st: st})
}

type logState struct {
	mu    sync.Mutex
	ended bool
}

// canaryHandler formats each record as text, checks it and hands it to tb.Log.
type canaryHandler struct {
	tb    testing.TB
	st    *logState
	attrs []slog.Attr
	group string
}

func (h *canaryHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *canaryHandler) Handle(_ context.Context, r slog.Record) error {
	var buf bytes.Buffer
	th := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
	var hh slog.Handler = th.WithAttrs(h.attrs)
	if h.group != "" {
		hh = hh.WithGroup(h.group)
	}
	if err := hh.Handle(context.Background(), r); err != nil {
		return err
	}
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	if h.st.ended {
		return nil
	}
	if v := LeakedSecret(buf.Bytes()); v != "" {
		h.tb.Errorf("a log line holds a secret value (%.12s…): %s", v, buf.Bytes())
	}
	h.tb.Log(string(bytes.TrimRight(buf.Bytes(), "\n")))
	return nil
}

func (h *canaryHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &canaryHandler{tb: h.tb, st: h.st, attrs: append(slices.Clone(h.attrs), attrs...), group: h.group}
}

func (h *canaryHandler) WithGroup(name string) slog.Handler {
	return &canaryHandler{tb: h.tb, st: h.st, attrs: h.attrs, group: name}
}
