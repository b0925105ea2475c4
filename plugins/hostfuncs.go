package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/samyfodil/wazy/api"

	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/abi/egress"
	"github.com/aquascene/aquahub/sdk/abi/jwtsign"
	"github.com/aquascene/aquahub/sdk/abi/scrub"
)

// callState is what host functions know about the call in progress. It travels in the
// context passed to api.Function.Call, which wazero hands to every host function.
type callState struct {
	tenant, runID, stepID, action string
	v                             *version
	grant                         TenantConfig
	inst                          *instance
	log                           callLog
	// target is the connector id, or id/instance for an instance; grantVersion is the
	// instance's Version.
	target, grantVersion string
	// scrub finds the call's sendable secrets, built once per call for its results and logs.
	scrub *scrub.Scrubber
	// deferUntil is set when a request of the call found its origin's circuit open: the call
	// is then deferred until then, whatever the guest makes of the refusal.
	deferUntil  time.Time
	deferReason string
	// released is Call.Released.
	released func()
	// kv is the call's kv_set on its way to disk, if any (see hostKVSet).
	kv *pendingKV
}

// pendingKV is a kv_set the guest was answered before the value was durable.
type pendingKV struct {
	done chan struct{}
	err  error
}

// settleKV waits for the call's kv_set on its way to disk, if any, and returns its error.
// The call settles before anything that must come after its writes: reading the store
// again, a request leaving for a vendor, and the end of the call, whose outcome the engine
// records next. A failure is kept, so the call fails at its end.
func (cs *callState) settleKV() error {
	if cs.kv == nil {
		return nil
	}
	<-cs.kv.done
	return cs.kv.err
}

// kvScope is the kv scope of the call: its tenant and connector (or instance).
func (cs *callState) kvScope() KVScope { return KVScope{Tenant: cs.tenant, Connector: cs.target} }

// apiModule is the guest module a host function is called from.
type apiModule = api.Module

type callStateKey struct{}

const maxHostArgBytes = 8 << 20

func stateOf(ctx context.Context) *callState {
	cs, _ := ctx.Value(callStateKey{}).(*callState)
	return cs
}

func (c *Catalog) instantiateHostModule(ctx context.Context) error {
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	b := c.rt.NewHostModuleBuilder(abi.ModuleName)
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(c.hostLog), []api.ValueType{i32, i32}, nil).Export(abi.ImportLog)
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(c.hostHTTP), []api.ValueType{i32, i32}, []api.ValueType{i64}).Export(abi.ImportHTTPRequest)
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(c.hostKVGet), []api.ValueType{i32, i32}, []api.ValueType{i64}).Export(abi.ImportKVGet)
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(c.hostKVSet), []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}).Export(abi.ImportKVSet)
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(hostNow), nil, []api.ValueType{i64}).Export(abi.ImportNow)
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(hostTakeResult), []api.ValueType{i32, i32}, []api.ValueType{i32}).Export(abi.ImportTakeResult)
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(c.hostSignJWT), []api.ValueType{i32, i32}, []api.ValueType{i64}).Export(abi.ImportSignJWT)
	_, err := b.Instantiate(ctx)
	return err
}

func readArg(mod api.Module, ptr, n uint64, limit int) ([]byte, abi.Status) {
	if int(uint32(n)) > limit {
		return nil, abi.StatusTooLarge
	}
	b, ok := mod.Memory().Read(uint32(ptr), uint32(n))
	if !ok {
		return nil, abi.StatusInvalid
	}
	return b, abi.StatusOK
}

func status(s abi.Status) uint64 { return uint64(int64(s)) }

func (c *Catalog) hostHTTP(ctx context.Context, mod api.Module, stack []uint64) {
	cs := stateOf(ctx)
	if cs == nil {
		stack[0] = status(abi.StatusUnavailable)
		return
	}
	b, st := readArg(mod, stack[0], stack[1], maxHostArgBytes)
	if st != abi.StatusOK {
		stack[0] = status(st)
		return
	}
	var resp *abi.HTTPResponse
	req, err := abi.DecodeHTTPRequest(b)
	if err != nil {
		resp = &abi.HTTPResponse{Error: &abi.HTTPError{Code: abi.HTTPErrorInvalid, Message: err.Error()}}
	} else if err := cs.settleKV(); err != nil {
		// What the guest stored before a request is durable before the request leaves.
		resp = &abi.HTTPResponse{Error: &abi.HTTPError{Code: abi.HTTPErrorNetwork, Message: "not sent: an earlier kv_set of this call failed: " + err.Error()}}
	} else if client, err := c.client(cs); err != nil {
		resp = &abi.HTTPResponse{Error: &abi.HTTPError{Code: abi.HTTPErrorDenied, Message: err.Error()}}
	} else {
		resp = client.Do(ctx, req)
		if e := resp.Error; e != nil && e.Code == abi.HTTPErrorCircuitOpen {
			if until := time.Now().Add(time.Duration(e.RetryAfterMS) * time.Millisecond); until.After(cs.deferUntil) {
				cs.deferUntil, cs.deferReason = until, e.Message
			}
		}
	}
	out := resp.AppendJSON(nil)
	cs.inst.pending = out
	stack[0] = uint64(len(out))
}

// egressLogOverhead is what an egress log line costs besides its URL and reason.
const egressLogOverhead = 128

// client returns the egress client for the call's tenant and connector version.
func (c *Catalog) client(cs *callState) (*egress.Client, error) {
	key := cs.tenant + "\x00" + cs.target + "\x00" + cs.v.hash + "\x00" + strconv.FormatUint(cs.grant.Revision, 10) + "\x00" + cs.grantVersion
	c.clientsMu.Lock()
	defer c.clientsMu.Unlock()
	if cl, ok := c.clients[key]; ok {
		return cl, nil
	}
	id, target, tenant, log := cs.v.id, cs.target, cs.tenant, c.deps.Logger
	cl, err := egress.NewClient(egress.Policy{
		Requested:        cs.v.manifest.Egress,
		Granted:          cs.grant.Egress,
		Secrets:          cs.grant.Secrets,
		Declared:         cs.v.manifest.Secrets,
		SecretOrigins:    cs.grant.SecretOrigins,
		MaxResponseBytes: int64(c.cfg.MaxResponseBytes),
		LookupIP:         c.deps.LookupIP,
		RateLimits:       cs.v.manifest.RateLimits,
		Limiters:         c.limiters,
		LimitScope:       cs.tenant + "\x00" + cs.target,
		Circuit:          c.breakers.scope(cs.tenant, cs.target),
		OnDecision: func(d egress.Decision) {
			decision := "allowed"
			if !d.Allowed {
				decision = "denied"
			}
			c.metrics.egress.WithLabelValues(id, decision).Inc()
			level := slog.LevelDebug
			if !d.Allowed {
				level = slog.LevelWarn
			}
			if !log.Enabled(context.Background(), level) {
				return
			}
			url, reason := clip(d.URL, maxLoggedField), clip(d.Reason, maxLoggedField)
			// A denial costs the guest nothing, so its lines are charged to the connector's
			// log budget for the tenant: a guest asking for forbidden URLs in a loop cannot
			// flood the log through the host's voice either.
			if !d.Allowed && !c.logBudgets.allow(tenant, id, len(url)+len(reason)+egressLogOverhead) {
				c.metrics.logDropped.WithLabelValues(id).Add(float64(len(url) + len(reason) + egressLogOverhead))
				c.metrics.logRecords.WithLabelValues(id).Inc()
				return
			}
			log.Log(context.Background(), level, "connector egress "+decision, "tenant", tenant, "connector", target,
				"url", url, "reason", reason)
		},
	})
	if err != nil {
		return nil, err
	}
	c.clients[key] = cl
	return cl, nil
}

// scrubber returns what finds the tenant's sendable secrets for the connector version: the
// egress client's, or, when the grant is too broken for a client (no request can be sent
// then), one of its own.
func (c *Catalog) scrubber(cs *callState) *scrub.Scrubber {
	if len(cs.grant.Secrets) == 0 {
		return nil
	}
	if cl, err := c.client(cs); err == nil {
		return cl.Scrubber()
	}
	values := make([]string, 0, len(cs.grant.Secrets))
	for _, val := range cs.grant.Secrets {
		values = append(values, val)
	}
	return scrub.New(values...)
}

// hostSignJWT signs a JWT with one of the tenant's signing keys (ABI revision 1.3). The
// parsed key stays in the host's cache; the guest gets the token only.
func (c *Catalog) hostSignJWT(ctx context.Context, mod api.Module, stack []uint64) {
	cs := stateOf(ctx)
	if cs == nil {
		stack[0] = status(abi.StatusUnavailable)
		return
	}
	b, st := readArg(mod, stack[0], stack[1], abi.MaxJWTRequestBytes)
	if st != abi.StatusOK {
		stack[0] = status(st)
		return
	}
	var resp *abi.JWTResponse
	if req, err := abi.DecodeJWTRequest(b); err != nil {
		resp = &abi.JWTResponse{Error: &abi.JWTError{Code: abi.JWTErrorInvalid, Message: err.Error()}}
	} else {
		resp = jwtsign.NewSigner(jwtsign.Policy{
			Secrets:  cs.grant.Secrets,
			Declared: cs.v.manifest.Secrets,
			Keys:     c.keys,
			Scope:    cs.tenant + "\x00" + cs.target,
		}).Sign(req)
	}
	out, err := json.Marshal(resp)
	if err != nil {
		stack[0] = status(abi.StatusUnavailable)
		return
	}
	cs.inst.pending = out
	stack[0] = uint64(len(out))
}

func (c *Catalog) hostKVGet(ctx context.Context, mod api.Module, stack []uint64) {
	cs := stateOf(ctx)
	if cs == nil || c.deps.KV == nil {
		stack[0] = status(abi.StatusUnavailable)
		return
	}
	key, st := readArg(mod, stack[0], stack[1], abi.MaxKVKeyBytes)
	if st != abi.StatusOK || len(key) == 0 {
		stack[0] = status(orInvalid(st))
		return
	}
	// The call reads what it stored.
	v, ok, err := []byte(nil), false, cs.settleKV()
	if err == nil {
		v, ok, err = c.kvGet(ctx, cs.kvScope(), key)
	}
	switch {
	case err != nil:
		c.deps.Logger.Warn("connector kv_get failed", "tenant", cs.tenant, "connector", cs.v.id, "err", err)
		stack[0] = status(abi.StatusUnavailable)
	case !ok:
		stack[0] = status(abi.StatusNotFound)
	default:
		cs.inst.pending = v
		stack[0] = uint64(len(v))
	}
}

func (c *Catalog) hostKVSet(ctx context.Context, mod api.Module, stack []uint64) {
	cs := stateOf(ctx)
	if cs == nil || c.deps.KV == nil {
		stack[0] = status(abi.StatusUnavailable)
		return
	}
	key, st := readArg(mod, stack[0], stack[1], abi.MaxKVKeyBytes)
	if st != abi.StatusOK || len(key) == 0 {
		stack[0] = status(orInvalid(st))
		return
	}
	val, st := readArg(mod, stack[2], stack[3], int(c.cfg.MaxKVValueBytes))
	if st != abi.StatusOK {
		stack[0] = status(st)
		return
	}
	if err := cs.settleKV(); err != nil {
		stack[0] = status(abi.StatusUnavailable)
		return
	}
	if err := c.kvSetAsync(ctx, cs, key, val); err != nil {
		if errors.Is(err, ErrKVQuota) {
			c.metrics.kvRefused.WithLabelValues(cs.tenant, cs.v.id).Inc()
			stack[0] = status(abi.StatusQuotaExceeded)
			return
		}
		c.deps.Logger.Warn("connector kv_set failed", "tenant", cs.tenant, "connector", cs.v.id, "err", err)
		stack[0] = status(abi.StatusUnavailable)
		return
	}
	stack[0] = status(abi.StatusOK)
}

func hostNow(_ context.Context, _ api.Module, stack []uint64) {
	stack[0] = uint64(time.Now().UnixNano())
}

func hostTakeResult(ctx context.Context, mod api.Module, stack []uint64) {
	cs := stateOf(ctx)
	if cs == nil || cs.inst.pending == nil || uint32(stack[1]) != uint32(len(cs.inst.pending)) {
		stack[0] = status(abi.StatusNoResult)
		return
	}
	if !mod.Memory().Write(uint32(stack[0]), cs.inst.pending) {
		stack[0] = status(abi.StatusInvalid)
		return
	}
	cs.inst.pending = nil
	stack[0] = status(abi.StatusOK)
}

func orInvalid(st abi.Status) abi.Status {
	if st == abi.StatusOK {
		return abi.StatusInvalid
	}
	return st
}
