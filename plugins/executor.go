package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/abi/scrub"
)

// Call is one invocation of a connector action on a batch of inputs.
type Call struct {
	Tenant, RunID, StepID string
	Connector, Action     string
	Inputs                []json.RawMessage
	IdempotencyKey        string
	Attempt               int
	// Released, when set, is called once the call's instance is back in the pool, before
	// the call waits for its kv_set writes (core.StepCall.Released).
	Released func()
}

// Invoke validates the inputs against the action's input schema, runs the action and
// returns one result per input. The error is a *core.StepError when the call as a whole
// failed: unknown connector or action, invalid input, deadline, trap, oversized response.
func (c *Catalog) Invoke(ctx context.Context, call Call) ([]abi.Result, error) {
	var results []abi.Result
	err := c.run(ctx, call, nil, func(v *version, _ *Instance, out []byte) (string, error) {
		resp, err := decodeResponse(v.id, call.Action, out, len(call.Inputs))
		if err != nil {
			return "", err
		}
		c.metrics.recordUsage(call.Tenant, v.id, resp.Usage)
		results = resp.Results
		return outcomeOf(results), nil
	})
	return results, err
}

// decodeResponse decodes an invoke response; a whole-call error becomes the step error.
func decodeResponse(connector, action string, out []byte, n int) (*abi.InvokeResponse, error) {
	resp, err := abi.DecodeInvokeResponse(out, n)
	if err != nil {
		return nil, core.Permanent(fmt.Errorf("connector %q action %q: %w", connector, action, err))
	}
	if resp.Error != nil {
		return nil, stepError(connector, action, resp.Error)
	}
	return resp, nil
}

func outcomeOf(results []abi.Result) string {
	for _, r := range results {
		if r.Error != nil {
			return string(r.Error.Kind)
		}
	}
	return "ok"
}

// run invokes call and hands the guest's response, with the instance the call ran as (nil
// for none), to decode, which returns the outcome for the call metrics; it counts the call.
func (c *Catalog) run(ctx context.Context, call Call, decoded []any, decode func(v *version, inst *Instance, out []byte) (string, error)) error {
	id, _ := splitTarget(call.Connector)
	v, ok := c.get(id)
	if !ok {
		return core.Permanent(fmt.Errorf("connector %q is not loaded (loaded: %s)", id, c.loadedIDs()))
	}
	defer v.inflight.Done()
	out, inst, err := c.invoke(ctx, v, call, decoded)
	outcome := "ok"
	if err == nil {
		outcome, err = decode(v, inst, out)
	}
	if err != nil && (outcome == "" || outcome == "ok") {
		outcome = string(core.Classify(err).Class)
	}
	v.calls.Add(1)
	if outcome != "ok" {
		v.errors.Add(1)
	}
	if counter, ok := v.okCalls[call.Action]; ok && outcome == "ok" {
		counter.Inc()
	} else if _, ok := v.manifest.Action(call.Action); ok {
		c.metrics.calls.WithLabelValues(v.id, call.Action, outcome).Inc()
	} else {
		c.metrics.calls.WithLabelValues(v.id, "", outcome).Inc() // one series for every unknown name
	}
	return err
}

// requestBuffers holds encoding buffers for invoke requests, which are copied into guest
// memory and dropped within one call.
var requestBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxPooledRequest keeps rare huge requests from pinning memory in requestBuffers.
const maxPooledRequest = 64 << 10

// invoke runs call on v and returns the guest's response with the instance the call ran
// as (nil for none). decoded, when not nil, holds the inputs already decoded (the
// executor's rendered `with`), which saves decoding them again for validation.
//
// The guest's response and any error are scrubbed of the tenant's secrets here, before
// they become step outputs and errors, which the engine keeps in the run record and
// serves from the API.
func (c *Catalog) invoke(ctx context.Context, v *version, call Call, decoded []any) ([]byte, *Instance, error) {
	grant, inst, err := c.resolve(ctx, call.Tenant, call.Connector)
	if err != nil {
		if errors.Is(err, core.ErrNotFound) {
			return nil, nil, &core.StepError{Class: core.ClassNotFound, Err: err}
		}
		return nil, nil, core.Permanent(err)
	}
	grantVersion := ""
	if inst != nil {
		grantVersion = inst.Version
	}
	cs := &callState{tenant: call.Tenant, runID: call.RunID, stepID: call.StepID, action: call.Action, v: v, grant: grant,
		target: call.Connector, grantVersion: grantVersion, released: call.Released}
	sc := c.scrubber(cs)
	cs.scrub = sc
	out, err := c.invokeGuest(ctx, v, call, decoded, cs, sc)
	if err != nil {
		return nil, inst, scrubError(sc, err)
	}
	return sc.Bytes(out), inst, nil
}

// scrubError returns err with any secret in its message redacted, keeping its class,
// retry-after and field; the original, which holds the text, is not kept in the chain.
func scrubError(sc *scrub.Scrubber, err error) error {
	if !sc.Found([]byte(err.Error())) {
		return err
	}
	se := core.Classify(err)
	var inner error
	var fe *core.FieldError
	if errors.As(se.Err, &fe) && fe == se.Err {
		inner = &core.FieldError{Path: sc.String(fe.Path), Reason: sc.String(fe.Reason)}
	} else {
		msg := ""
		if se.Err != nil {
			msg = se.Err.Error()
		}
		inner = &scrubbedError{msg: sc.String(msg), invalid: errors.Is(err, core.ErrInvalid)}
	}
	return &core.StepError{Class: se.Class, RetryAfter: se.RetryAfter, Err: inner}
}

// scrubbedError is an error message with the secrets redacted. It matches core.ErrInvalid
// when the error it replaces did.
type scrubbedError struct {
	msg     string
	invalid bool
}

func (e *scrubbedError) Error() string        { return e.msg }
func (e *scrubbedError) Is(target error) bool { return e.invalid && target == core.ErrInvalid }

func (c *Catalog) invokeGuest(ctx context.Context, v *version, call Call, decoded []any, cs *callState, sc *scrub.Scrubber) ([]byte, error) {
	grant := cs.grant
	spec, ok := v.manifest.Action(call.Action)
	if !ok {
		return nil, &core.StepError{Class: core.ClassInvalidInput, Err: core.Invalid("action",
			"connector %q has no action %q (actions: %s)", v.id, Printable(clip(call.Action, 64)), actionNames(v.manifest))}
	}
	if grant.SHA256 != "" && grant.SHA256 != v.hash {
		// Load refuses such a module when the catalog knows the pins; this holds for one
		// opened without them too: a tenant's settings go only to the module it pinned.
		return nil, core.Permanent(fmt.Errorf("connector %q: tenant %q pins sha256 %s, but the module in service is %s", v.id, call.Tenant, grant.SHA256, v.hash))
	}
	// Validation belongs to the call: it runs under the call's deadline, and its work is
	// bounded by a budget, since the schema (its patterns above all) is the guest's.
	start := time.Now()
	dl := newCallDeadline(ctx, cs, start, c.cfg.CallTimeout)
	defer dl.cancel()
	ctx = dl
	deadline := dl.deadline
	opts := abi.ValidateOptions{Budget: &abi.Budget{Steps: c.cfg.ValidationBudget}}
	for i := range max(len(decoded), len(call.Inputs)) {
		if err := ctx.Err(); err != nil {
			return nil, core.Transient(fmt.Errorf("connector %q action %q: validating the inputs: %w", v.id, call.Action, err))
		}
		var val any
		if decoded != nil {
			val = decoded[i]
		} else if err := json.Unmarshal(call.Inputs[i], &val); err != nil {
			return nil, &core.StepError{Class: core.ClassInvalidInput, Err: core.Invalid("", "input %d is not JSON: %v", i, err)}
		}
		if err := spec.Input.Validate(val, opts); err != nil {
			return nil, &core.StepError{Class: core.ClassInvalidInput, Err: fieldError(err)}
		}
	}
	var secrets []string
	if len(grant.Secrets) > 0 {
		secrets = make([]string, 0, len(grant.Secrets))
		for k := range grant.Secrets {
			secrets = append(secrets, k)
		}
		sort.Strings(secrets)
	}
	bufp := requestBuffers.Get().(*[]byte)
	defer requestBuffers.Put(bufp)
	req, err := (&abi.InvokeRequest{
		Action: call.Action, Inputs: call.Inputs, Config: v.manifest.DeriveConfig(grant.Config, grant.Secrets), Secrets: secrets,
		Tenant: call.Tenant, RunID: call.RunID, StepID: call.StepID,
		IdempotencyKey: call.IdempotencyKey, Attempt: call.Attempt, DeadlineUnixMS: deadline.UnixMilli(),
		LogLevel: c.guestLogLevel(ctx),
	}).AppendJSON((*bufp)[:0])
	if cap(req) <= maxPooledRequest {
		*bufp = req
	}
	if err != nil {
		return nil, core.Permanent(fmt.Errorf("encoding invoke request: %w", err))
	}
	out, err := v.call(ctx, cs, req)
	if cs.released != nil {
		cs.released() // the instance is back in the pool
	}
	c.reportDroppedLog(cs)
	if kvErr := cs.settleKV(); kvErr != nil && err == nil {
		// The guest was told its kv_set was stored, and it was not: whatever it answered,
		// the call failed, as it would have had the write failed while it waited.
		if errors.Is(kvErr, ErrKVQuota) { // another call of the scope got there first
			c.metrics.kvRefused.WithLabelValues(cs.tenant, cs.v.id).Inc()
		}
		return nil, core.Transient(fmt.Errorf("connector %q action %q: kv_set: %w", v.id, call.Action, kvErr))
	}
	if !cs.deferUntil.IsZero() {
		// Nothing reached the vendor, so whatever the guest answered, the call is not an
		// attempt: the engine runs it again once the breaker may let a probe through.
		return nil, core.Deferred(max(time.Until(cs.deferUntil), 0),
			fmt.Errorf("connector %q action %q: %s", v.id, call.Action, cs.deferReason))
	}
	if err != nil {
		prefix := fmt.Sprintf("connector %q action %q", v.id, call.Action)
		var ce *callError
		var tl *tooLargeError
		switch {
		case errors.As(err, &tl):
			return nil, core.Permanent(fmt.Errorf("%s: %w", prefix, err))
		case errors.As(err, &ce) && ce.reason == "deadline":
			return nil, core.Transient(fmt.Errorf("%s: call stopped after %s (limit %s): %w", prefix, time.Since(start).Round(time.Millisecond), c.cfg.CallTimeout, err))
		case errors.As(err, &ce):
			c.deps.Logger.Warn("connector instance discarded", "connector", v.id, "action", call.Action, "tenant", call.Tenant, "run", call.RunID, "reason", ce.reason, "err", sc.String(err.Error()))
			return nil, core.Transient(fmt.Errorf("%s: instance discarded: %w", prefix, err))
		}
		return nil, core.Transient(fmt.Errorf("%s: %w", prefix, err))
	}
	return out, nil
}

func (c *Catalog) grant(tenant, connector string) (TenantConfig, bool) {
	if c.deps.Grants == nil {
		return TenantConfig{}, false
	}
	return c.deps.Grants(tenant, connector)
}

func (c *Catalog) loadedIDs() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	ids := make([]string, 0, len(c.byID))
	for id := range c.byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}

func actionNames(m *abi.Manifest) string {
	names := make([]string, len(m.Actions))
	for i, a := range m.Actions {
		names[i] = a.Name
	}
	return strings.Join(names, ", ")
}

func fieldError(err error) error {
	var ve *abi.ValidationError
	if errors.As(err, &ve) {
		return core.Invalid(ve.Path, "%s", ve.Reason)
	}
	return core.Invalid("", "%v", err)
}

// Bounds on what a connector's error puts into run records and logs.
const (
	maxErrorMessage = 2 << 10
	maxErrorField   = 256
)

// stepError maps a connector's typed error onto the engine's error classes. The message and
// field are the guest's: they are cut to a bound.
func stepError(connector, action string, e *abi.Error) error {
	e.Message, e.Field = clip(e.Message, maxErrorMessage), clip(e.Field, maxErrorField)
	err := fmt.Errorf("connector %q action %q: %s", connector, action, e.Message)
	switch e.Kind {
	case abi.KindInvalidInput:
		inner := error(core.Invalid(e.Field, "%s", e.Message))
		if e.Field == "" {
			inner = fmt.Errorf("%w: %s", core.ErrInvalid, err)
		}
		return &core.StepError{Class: core.ClassInvalidInput, Err: inner}
	case abi.KindAuth:
		return &core.StepError{Class: core.ClassAuth, Err: err}
	case abi.KindNotFound:
		return &core.StepError{Class: core.ClassNotFound, Err: err}
	case abi.KindRateLimited:
		return core.RateLimited(e.RetryAfter(), err)
	case abi.KindPermanent:
		return core.Permanent(err)
	}
	return &core.StepError{Class: core.ClassTransient, RetryAfter: e.RetryAfter(), Err: err}
}

// ActionCall is one connector action on one input, as a rule step runs it.
type ActionCall struct {
	Tenant, RunID, StepID string
	Connector, Action     string
	// Input is the rendered `with`.
	Input          map[string]any
	IdempotencyKey string
	Attempt        int
	// Released is Call.Released.
	Released func()
}

// Execute runs one action for a `connector` step: call.Input is validated against the
// action's input schema and sent with the step's idempotency key; the output object,
// rewritten by the instance's Output when call.Connector names an instance, becomes the
// step output.
func (c *Catalog) Execute(ctx context.Context, call ActionCall) (core.StepResult, error) {
	in, err := abi.AppendJSONValue(nil, map[string]any(call.Input))
	if err != nil {
		return core.StepResult{}, &core.StepError{Class: core.ClassInvalidInput, Err: core.Invalid("with", "not JSON: %v", err)}
	}
	// The rendered input holds JSON shapes already (maps, slices, strings, float64...);
	// normalize covers integer types a renderer may produce.
	var output map[string]any
	var inst *Instance
	err = c.run(ctx, Call{
		Tenant: call.Tenant, RunID: call.RunID, StepID: call.StepID,
		Connector: call.Connector, Action: call.Action, Inputs: []json.RawMessage{in},
		IdempotencyKey: call.IdempotencyKey, Attempt: call.Attempt, Released: call.Released,
	}, []any{normalized(map[string]any(call.Input))}, func(v *version, ran *Instance, out []byte) (string, error) {
		inst = ran
		if vals, ok := decodeOutputsFast(out, 1); ok {
			output = outputValue(vals[0])
			return "ok", nil
		}
		resp, err := decodeResponse(v.id, call.Action, out, 1)
		if err != nil {
			return "", err
		}
		c.metrics.recordUsage(call.Tenant, v.id, resp.Usage)
		if e := resp.Results[0].Error; e != nil {
			return string(e.Kind), stepError(call.Connector, call.Action, e)
		}
		output = outputMap(resp.Results[0].Output)
		return "ok", nil
	})
	if err != nil {
		return core.StepResult{}, err
	}
	if inst != nil && inst.Output != nil {
		if output, err = inst.Output(call.Action, output); err != nil {
			return core.StepResult{}, err
		}
	}
	return core.StepResult{Output: output}, nil
}

// outputMap decodes an action output; a value that is not an object is kept under "value".
func outputMap(raw json.RawMessage) map[string]any {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return map[string]any{"value": string(raw)}
	}
	return outputValue(v)
}

// outputValue is a decoded output as step output: an object as it is, anything else under
// "value".
func outputValue(v any) map[string]any {
	if m, ok := v.(map[string]any); ok {
		return m
	}
	return map[string]any{"value": v}
}

// CheckStep validates a rule step's static `with` against the action's input schema at
// load time; string values containing ${{ }} expressions are accepted wherever a value is
// expected. The error names the field.
func (c *Catalog) CheckStep(connector, action string, with map[string]any) error {
	if err := checkInstanceName(connector); err != nil {
		return err
	}
	connector, _ = splitTarget(connector)
	m, ok := c.Manifest(connector)
	if !ok {
		return fmt.Errorf("connector %q is not loaded (loaded: %s)", connector, c.loadedIDs())
	}
	spec, ok := m.Action(action)
	if !ok {
		return fmt.Errorf("connector %q has no action %q (actions: %s)", connector, action, actionNames(m))
	}
	var v any = with
	if with == nil {
		v = map[string]any{}
	}
	if err := spec.Input.Validate(normalize(v), abi.ValidateOptions{AllowExpressions: true}); err != nil {
		return fieldError(err)
	}
	return nil
}

// normalized is normalize without copying a value that has JSON shapes already (the
// rendered `with` of a step nearly always does).
func normalized(v any) any {
	if jsonShaped(v) {
		return v
	}
	return normalize(v)
}

// jsonShaped reports whether v holds no map[any]any, the one shape normalize changes.
func jsonShaped(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		for _, x := range t {
			if !jsonShaped(x) {
				return false
			}
		}
	case []any:
		for _, x := range t {
			if !jsonShaped(x) {
				return false
			}
		}
	case map[any]any:
		return false
	}
	return true
}

// normalize turns YAML-decoded values (map[any]any, int) into the JSON shapes the
// validator expects.
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = normalize(x)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[fmt.Sprint(k)] = normalize(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = normalize(x)
		}
		return out
	}
	return v
}

// guestLogLevel is the least level the host logger keeps, which the invoke request passes
// on so guests do not encode and send records that would be dropped.
func (c *Catalog) guestLogLevel(ctx context.Context) string {
	for _, l := range guestLevels {
		if c.deps.Logger.Enabled(ctx, l.level) {
			return l.name
		}
	}
	return "error"
}

// guestLevels are the levels guestLogLevel tries, least first, with their names in the
// invoke request.
var guestLevels = [...]struct {
	level slog.Level
	name  string
}{{slog.LevelDebug, "debug"}, {slog.LevelInfo, "info"}, {slog.LevelWarn, "warn"}}
