package plugins

import (
	"context"
	"encoding/json"
	"log/slog"
	"sort"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/aquascene/aquahub/sdk/abi"
)

// Bounds on one log record as the host writes it; what a guest sends beyond them is cut.
const (
	// maxLogRecordBytes is the largest record the host reads; a larger one is dropped.
	maxLogRecordBytes = 64 << 10
	// maxLogAttrs is how many attributes of a record are kept.
	maxLogAttrs = 32
	// maxLogKeyBytes bounds an attribute's name.
	maxLogKeyBytes = 64
)

// logBudgets are the per-second log budgets, one token bucket of bytes per tenant and
// connector, shared by every instance and call.
type logBudgets struct {
	perSecond int64
	mu        sync.Mutex
	m         map[string]*rate.Limiter
}

func newLogBudgets(perSecond int64) *logBudgets {
	return &logBudgets{perSecond: perSecond, m: map[string]*rate.Limiter{}}
}

// allow takes n bytes from the budget of tenant and connector, reporting whether it had them.
func (b *logBudgets) allow(tenant, connector string, n int) bool {
	key := tenant + "\x00" + connector
	b.mu.Lock()
	lim, ok := b.m[key]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(b.perSecond), int(4*b.perSecond))
		b.m[key] = lim
	}
	b.mu.Unlock()
	return lim.AllowN(time.Now(), n)
}

// callLog is what one call logged and dropped.
type callLog struct {
	bytes          int64
	droppedRecords int64
	droppedBytes   int64
}

// hostLog writes a guest's log record into the hub's log, within the call's budget
// (Config.LogBytesPerCall) and the connector's per-second budget for the tenant
// (Config.LogBytesPerSecond). A record over either is dropped and counted; the message and
// every attribute are cut to maxLoggedField bytes.
func (c *Catalog) hostLog(ctx context.Context, mod apiModule, stack []uint64) {
	n := int(uint32(stack[1]))
	cs := stateOf(ctx)
	if n > maxLogRecordBytes {
		c.dropLog(cs, n)
		return
	}
	if cs == nil {
		// Outside a call (_initialize, hub_describe): one budget for every module loading.
		if !c.logBudgets.allow("", "", n) {
			return
		}
	} else {
		if cs.log.bytes+int64(n) > int64(c.cfg.LogBytesPerCall) || !c.logBudgets.allow(cs.tenant, cs.v.id, n) {
			c.dropLog(cs, n)
			return
		}
		cs.log.bytes += int64(n)
	}
	b, st := readArg(mod, stack[0], stack[1], maxLogRecordBytes)
	if st != abi.StatusOK {
		return
	}
	var rec abi.LogRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		rec = abi.LogRecord{Level: "warn", Msg: "undecodable log record from connector"}
	}
	level := slog.LevelInfo
	switch rec.Level {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	attrs := make([]any, 0, 10)
	if cs != nil {
		attrs = append(attrs, "tenant", cs.tenant, "run", cs.runID, "connector", cs.v.id, "action", cs.action)
		// A connector only holds what came back to it, scrubbed already; this catches
		// what a reflection got past that.
		rec.Msg = cs.scrub.String(rec.Msg)
		rec.Attrs, _ = cs.scrub.Value(rec.Attrs).(map[string]any)
	}
	if len(rec.Attrs) > 0 {
		keys := make([]string, 0, len(rec.Attrs))
		for k := range rec.Attrs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		group := make([]any, 0, 2*min(len(keys), maxLogAttrs)+2)
		for _, k := range keys[:min(len(keys), maxLogAttrs)] {
			group = append(group, clip(k, maxLogKeyBytes), logValue(rec.Attrs[k]))
		}
		if len(keys) > maxLogAttrs {
			group = append(group, "attrs_dropped", len(keys)-maxLogAttrs)
		}
		attrs = append(attrs, slog.Group("attrs", group...))
	}
	c.deps.Logger.Log(ctx, level, clip(rec.Msg, maxLoggedField), attrs...)
}

// logValue is an attribute value as the host logs it: strings, numbers and booleans as
// they are (strings cut), anything else as JSON text cut to maxLoggedField.
func logValue(v any) any {
	switch t := v.(type) {
	case string:
		return clip(t, maxLoggedField)
	case float64, bool, nil:
		return t
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "unencodable"
	}
	return clip(string(b), maxLoggedField)
}

// dropLog counts a record of n bytes that the budget did not allow.
func (c *Catalog) dropLog(cs *callState, n int) {
	if cs == nil {
		return
	}
	cs.log.droppedRecords++
	cs.log.droppedBytes += int64(n)
	c.metrics.logDropped.WithLabelValues(cs.v.id).Add(float64(n))
	c.metrics.logRecords.WithLabelValues(cs.v.id).Inc()
}

// reportDroppedLog logs, once per call, what the call's log budget dropped.
func (c *Catalog) reportDroppedLog(cs *callState) {
	if cs.log.droppedRecords == 0 {
		return
	}
	c.deps.Logger.Warn("connector log records dropped over the log budget",
		"tenant", cs.tenant, "run", cs.runID, "connector", cs.v.id, "action", cs.action,
		"records", cs.log.droppedRecords, "bytes", cs.log.droppedBytes,
		"per_call", int64(c.cfg.LogBytesPerCall), "per_second", int64(c.cfg.LogBytesPerSecond))
}
