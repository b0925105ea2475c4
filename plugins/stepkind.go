package plugins

import (
	"context"

	"github.com/aquascene/aquahub/core"
)

// StepKind is the `connector` rule step kind of a catalog:
//
//   - id: track
//     connector: airtable          # the connector id
//     action: records.upsert       # one of its actions
//     with: { table: Content_Master, … }
//
// `connector: partner/green-aqua` runs instance green-aqua of the partner connector, with
// the settings Deps.Instances gives it (see Instance). The input is checked against the action's input schema when the rules load and again
// before every call.
type StepKind struct{ cat *Catalog }

// StepKind returns the catalog's `connector` step kind.
func (c *Catalog) StepKind() StepKind { return StepKind{cat: c} }

// Syntax implements core.StepKind.
func (k StepKind) Syntax() core.StepSyntax {
	return core.StepSyntax{Name: "connector", Target: true, Params: []string{"action"}}
}

// Capacity implements core.Capacitor: a connector's steps run at most as many at once as it
// has instances, so the engine keeps the rest waiting without holding workers.
func (k StepKind) Capacity(string) int { return k.cat.cfg.PoolSize }

// Check implements core.StepKind.
func (k StepKind) Check(def core.StepDef) error {
	if def.Target == "" || def.Params["action"] == "" {
		return nil // the loader reports the missing connector or action
	}
	return k.cat.CheckStep(def.Target, def.Params["action"], def.Input)
}

// Execute implements core.StepKind.
func (k StepKind) Execute(ctx context.Context, call core.StepCall) (core.StepResult, error) {
	return k.cat.Execute(ctx, ActionCall{
		Tenant: call.Tenant, RunID: call.RunID, StepID: call.StepID,
		Connector: call.Target, Action: call.Params["action"], Input: call.Input,
		IdempotencyKey: call.IdempotencyKey, Attempt: call.Attempt, Released: call.Released,
	})
}

var (
	_ core.StepKind  = StepKind{}
	_ core.Capacitor = StepKind{}
)
