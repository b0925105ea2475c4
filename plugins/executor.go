package plugins

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/abi"
)

// Call is one invocation of a connector action on a batch of inputs.
type Call struct {
	Tenant, RunID, StepID string
	Connector, Action     string
	Inputs                []json.RawMessage
	IdempotencyKey        string
	Attempt               int
}

// Invoke validates the inputs against the action's input schema, runs the action and
// returns one result per input. The error is a *core.StepError when the call as a whole
// failed: unknown connector or action, invalid input, deadline, trap, oversized response.
func (c *Catalog) Invoke(ctx context.Context, call Call) ([]abi.Result, error) {
	return c.invokeCounted(ctx, call, nil)
}

func (c *Catalog) invokeCounted(ctx context.Context, call Call, decoded []any) ([]abi.Result, error) {
	v, ok := c.get(call.Connector)
	if !ok {
		return nil, core.Permanent(fmt.Errorf("connector %q is not loaded (loaded: %s)", call.Connector, c.loadedIDs()))
	}
	defer v.inflight.Done()
	res, err := c.invoke(ctx, v, call, decoded)
	v.calls.Add(1)
	outcome := "ok"
	if err != nil {
		outcome = string(core.Classify(err).Class)
	} else {
		for _, r := range res {
			if r.Error != nil {
				outcome = string(r.Error.Kind)
				break
			}
		}
	}
	if outcome != "ok" {
		v.errors.Add(1)
	}
	c.metrics.calls.WithLabelValues(v.id, call.Action, outcome).Inc()
	return res, err
}

// invoke runs call on v. decoded, when not nil, holds the inputs already decoded (the
// executor's rendered `with`), which saves decoding them again for validation.
func (c *Catalog) invoke(ctx context.Context, v *version, call Call, decoded []any) ([]abi.Result, error) {
	spec, ok := v.manifest.Action(call.Action)
	if !ok {
		return nil, &core.StepError{Class: core.ClassInvalidInput, Err: core.Invalid("action",
			"connector %q has no action %q (actions: %s)", v.id, call.Action, actionNames(v.manifest))}
	}
	for _, val := range decoded {
		if err := spec.Input.Validate(val, abi.ValidateOptions{}); err != nil {
			return nil, &core.StepError{Class: core.ClassInvalidInput, Err: fieldError(err)}
		}
	}
	for i, in := range call.Inputs {
		if decoded != nil {
			break
		}
		var val any
		if err := json.Unmarshal(in, &val); err != nil {
			return nil, &core.StepError{Class: core.ClassInvalidInput, Err: core.Invalid("", "input %d is not JSON: %v", i, err)}
		}
		if err := spec.Input.Validate(val, abi.ValidateOptions{}); err != nil {
			return nil, &core.StepError{Class: core.ClassInvalidInput, Err: fieldError(err)}
		}
	}
	grant, _ := c.grant(call.Tenant, v.id)
	ctx, cancel := context.WithTimeout(ctx, c.opts.CallTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	secrets := make([]string, 0, len(grant.Secrets))
	for k := range grant.Secrets {
		secrets = append(secrets, k)
	}
	sort.Strings(secrets)
	req, err := json.Marshal(&abi.InvokeRequest{
		Action: call.Action, Inputs: call.Inputs, Config: grant.Config, Secrets: secrets,
		Tenant: call.Tenant, RunID: call.RunID, StepID: call.StepID,
		IdempotencyKey: call.IdempotencyKey, Attempt: call.Attempt, DeadlineUnixMS: deadline.UnixMilli(),
	})
	if err != nil {
		return nil, core.Permanent(fmt.Errorf("encoding invoke request: %w", err))
	}
	cs := &callState{tenant: call.Tenant, runID: call.RunID, stepID: call.StepID, action: call.Action, v: v, grant: grant}
	start := time.Now()
	out, err := v.call(ctx, cs, req)
	if err != nil {
		prefix := fmt.Sprintf("connector %q action %q", v.id, call.Action)
		var ce *callError
		var tl *tooLargeError
		switch {
		case errors.As(err, &tl):
			return nil, core.Permanent(fmt.Errorf("%s: %w", prefix, err))
		case errors.As(err, &ce) && ce.reason == "deadline":
			return nil, core.Transient(fmt.Errorf("%s: call stopped after %s (limit %s): %w", prefix, time.Since(start).Round(time.Millisecond), c.opts.CallTimeout, err))
		case errors.As(err, &ce):
			c.opts.Logger.Warn("connector instance discarded", "connector", v.id, "action", call.Action, "tenant", call.Tenant, "run", call.RunID, "reason", ce.reason, "err", err)
			return nil, core.Transient(fmt.Errorf("%s: instance discarded: %w", prefix, err))
		}
		return nil, core.Transient(fmt.Errorf("%s: %w", prefix, err))
	}
	resp, err := abi.DecodeInvokeResponse(out, len(call.Inputs))
	if err != nil {
		return nil, core.Permanent(fmt.Errorf("connector %q action %q: %w", v.id, call.Action, err))
	}
	if resp.Error != nil {
		return nil, stepError(v.id, call.Action, resp.Error)
	}
	return resp.Results, nil
}

func (c *Catalog) grant(tenant, connector string) (Grant, bool) {
	if c.opts.Grants == nil {
		return Grant{}, false
	}
	return c.opts.Grants(tenant, connector)
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

// stepError maps a connector's typed error onto the engine's error classes.
func stepError(connector, action string, e *abi.Error) error {
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

// Execute implements core.StepExecutor for `connector` steps: call.Input (the rendered
// `with`) is validated against the action's input schema and sent with the step's
// idempotency key; the output object becomes the step output.
func (c *Catalog) Execute(ctx context.Context, call core.StepCall) (core.StepResult, error) {
	in, err := json.Marshal(call.Input)
	if err != nil {
		return core.StepResult{}, &core.StepError{Class: core.ClassInvalidInput, Err: core.Invalid("with", "not JSON: %v", err)}
	}
	// The rendered input holds JSON shapes already (maps, slices, strings, float64...);
	// normalize covers integer types a renderer may produce.
	res, err := c.invokeCounted(ctx, Call{
		Tenant: call.Tenant, RunID: call.RunID, StepID: call.StepID,
		Connector: call.Connector, Action: call.Action, Inputs: []json.RawMessage{in},
		IdempotencyKey: call.IdempotencyKey, Attempt: call.Attempt,
	}, []any{normalize(map[string]any(call.Input))})
	if err != nil {
		return core.StepResult{}, err
	}
	if e := res[0].Error; e != nil {
		return core.StepResult{}, stepError(call.Connector, call.Action, e)
	}
	return core.StepResult{Output: outputMap(res[0].Output)}, nil
}

// outputMap decodes an action output; a value that is not an object is kept under "value".
func outputMap(raw json.RawMessage) map[string]any {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&v); err != nil {
		return map[string]any{"value": string(raw)}
	}
	if m, ok := v.(map[string]any); ok {
		return m
	}
	return map[string]any{"value": v}
}

// CheckStep validates a rule step's static `with` against the action's input schema at
// load time; string values containing ${{ }} expressions are accepted wherever a value is
// expected. It implements the rules loader's StepChecker. The error names the field.
func (c *Catalog) CheckStep(connector, action string, with map[string]any) error {
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

var _ core.StepExecutor = (*Catalog)(nil)
