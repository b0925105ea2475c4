package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/aquascene/aquahub/sdk/abi"
)

// ConfigSpec describes a configuration key (see abi.ConfigSpec).
type ConfigSpec = abi.ConfigSpec

// SecretSpec describes a secret referenced by name (see abi.SecretSpec).
type SecretSpec = abi.SecretSpec

// SecretPlace is one place a request may carry a secret: a header, Basic auth, a query
// parameter or an HMAC header (see abi.SecretPlace; ABI revision 1.5).
type SecretPlace = abi.SecretPlace

// SecretDerivation derives a configuration value from a secret's public part (see
// abi.SecretDerivation; ABI revision 1.5).
type SecretDerivation = abi.SecretDerivation

// Connector is everything a module tells the hub about itself, plus its handlers.
type Connector struct {
	// ID names the connector in rules and configuration.
	ID string
	// Version is the connector's version.
	Version     string
	Description string
	Config      []ConfigSpec
	Secrets     []SecretSpec
	// Egress lists the origins the connector asks to reach; the tenant's grant narrows it.
	Egress []string
	// RateLimits are limits the host enforces on the connector's HTTP requests before
	// sending them, shared by all its instances, per tenant (see abi.RateLimit). A request
	// that would wait past the call deadline fails with an EgressError whose typed form is
	// rate_limited with the wait as retry-after.
	RateLimits []abi.RateLimit
	Actions    []Handler
}

// Handler is one action of a connector. Action is the implementation to use.
type Handler interface {
	// Spec returns the action's name, description and schemas.
	Spec() abi.ActionSpec
	// Call decodes raw input, runs the action and encodes its output.
	Call(ctx context.Context, raw json.RawMessage) (json.RawMessage, error)
}

// Action is a typed action: In is decoded from the step input (unknown fields are an
// invalid_input error naming the field), Out is encoded as the step output. Schemas are
// derived from In and Out (see SchemaOf) unless given explicitly, so the struct tags are the
// single source for validation, `aquahub plugin inspect` and documentation.
type Action[In, Out any] struct {
	Name        string
	Description string
	Handle      func(ctx context.Context, in In) (Out, error)
	// InputSchema and OutputSchema override the derived schemas.
	InputSchema, OutputSchema *abi.Schema
}

// Spec implements Handler.
func (a Action[In, Out]) Spec() abi.ActionSpec {
	in, out := a.InputSchema, a.OutputSchema
	if in == nil {
		in = SchemaOf[In]()
	}
	if out == nil {
		out = SchemaOf[Out]()
	}
	return abi.ActionSpec{Name: a.Name, Description: a.Description, Input: in, Output: out}
}

// Call implements Handler.
func (a Action[In, Out]) Call(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
	var in In
	if len(raw) > 0 && !bytes.Equal(raw, []byte("null")) && !decodeFast(raw, &in) {
		in = *new(In)
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return nil, decodeError(err)
		}
	}
	out, err := a.Handle(ctx, in)
	if err != nil {
		return nil, err
	}
	b, err := marshalOutput(out)
	if err != nil {
		return nil, Permanent(fmt.Errorf("encoding output: %w", err))
	}
	return b, nil
}

func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return InvalidInput(te.Field, fmt.Errorf("must be %s (got %s)", jsonKind(te.Type), te.Value))
	}
	const unknown = "json: unknown field "
	if msg := err.Error(); len(msg) > len(unknown) && msg[:len(unknown)] == unknown {
		name, _ := strconv.Unquote(msg[len(unknown):])
		return InvalidInput(name, fmt.Errorf("unknown field %s", msg[len(unknown):]))
	}
	return InvalidInput("", err)
}

func jsonKind(t reflect.Type) string {
	s := schemaFor(t)
	if s.Type == "" {
		return "a value"
	}
	return "a " + s.Type
}

// Manifest returns the connector's manifest.
func (c *Connector) Manifest() abi.Manifest {
	m := abi.Manifest{
		ABI: abi.Version, ID: c.ID, Version: c.Version, Description: c.Description,
		Config: c.Config, Secrets: c.Secrets, Egress: c.Egress, RateLimits: c.RateLimits,
	}
	for _, a := range c.Actions {
		m.Actions = append(m.Actions, a.Spec())
	}
	return m
}

// namer is implemented by handlers that know their name without building their spec;
// Spec derives both schemas by reflection, which a lookup on every call cannot afford.
type namer interface{ actionName() string }

func (a Action[In, Out]) actionName() string { return a.Name }

func (c *Connector) handler(name string) Handler {
	for _, a := range c.Actions {
		if n, ok := a.(namer); ok {
			if n.actionName() == name {
				return a
			}
			continue
		}
		if a.Spec().Name == name {
			return a
		}
	}
	return nil
}

// Invoke runs one invoke request against the connector with host providing the imports. The
// wasm exports call it with the hub's imports; package plugintest calls it natively. The
// context handed to actions ends at the request's deadline (DeadlineUnixMS), when the host
// stops the call, so that an action can bound its own waits.
func (c *Connector) Invoke(ctx context.Context, host Host, req *abi.InvokeRequest) *abi.InvokeResponse {
	if req.DeadlineUnixMS > 0 {
		var cancel func()
		ctx, cancel = withDeadline(ctx, time.UnixMilli(req.DeadlineUnixMS))
		defer cancel()
	}
	h := c.handler(req.Action)
	if h == nil {
		return &abi.InvokeResponse{Error: &abi.Error{Kind: abi.KindInvalidInput, Field: "action",
			Message: fmt.Sprintf("connector %q has no action %q", c.ID, req.Action)}}
	}
	resp := &abi.InvokeResponse{Results: make([]abi.Result, len(req.Inputs))}
	for i, raw := range req.Inputs {
		ictx := &actionContext{Context: ctx, call: callInfo{req: req, key: req.IdempotencyKey, resp: resp}, host: host}
		if len(req.Inputs) > 1 && ictx.call.key != "" {
			ictx.call.key += "-" + strconv.Itoa(i)
		}
		out, err := h.Call(ictx, raw)
		if _, sdk := h.(namer); !sdk && err == nil {
			out, err = checkOutput(out)
		}
		if err != nil {
			resp.Results[i].Error = toABIError(err)
			continue
		}
		resp.Results[i].Output = out
	}
	return resp
}

// connector is the one registered with Main.
var connector *Connector

// Main registers c as this module's connector. Call it from package main's init; a reactor
// module never runs main. It panics on a second call or an invalid manifest, which the hub
// reports when it loads the module.
func Main(c *Connector) {
	if connector != nil {
		panic("plugin.Main called twice")
	}
	m := c.Manifest()
	if err := m.Validate(); err != nil {
		panic("plugin.Main: invalid connector: " + err.Error())
	}
	connector = c
}

// Registered returns the connector passed to Main, or nil.
func Registered() *Connector { return connector }

//lint:ignore U1000 called by the hub_describe export in wasm_wasip1.go
func describe() []byte {
	if connector == nil {
		b, _ := json.Marshal(map[string]string{"error": "plugin.Main was not called"})
		return b
	}
	b, err := json.Marshal(connector.Manifest())
	if err != nil {
		panic("encoding manifest: " + err.Error())
	}
	return b
}

//lint:ignore U1000 called by the hub_invoke export in wasm_wasip1.go
func invoke(host Host, raw []byte) []byte {
	var resp *abi.InvokeResponse
	req, err := abi.DecodeInvokeRequest(raw)
	switch {
	case connector == nil:
		resp = &abi.InvokeResponse{Error: &abi.Error{Kind: abi.KindPermanent, Message: "plugin.Main was not called"}}
	case err != nil:
		resp = &abi.InvokeResponse{Error: &abi.Error{Kind: abi.KindPermanent, Message: err.Error()}}
	default:
		resp = connector.Invoke(context.Background(), host, req)
	}
	return encodeResponse(resp)
}
