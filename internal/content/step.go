package content

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aquascene/aquahub/core"
)

// StepKind is the rule step kind `generate`. Its input is the step's map (template,
// topic, audience, keywords, instructions, partnership, ...; the names of Request and their
// seed aliases). Its output, visible to later steps as steps.<id>.<key>, is content_id,
// title, body_markdown, body_html, meta_description, quality_score, word_count, hashtags,
// caption, status, model, cost_usd and findings.
//
// It is idempotent per StepCall.IdempotencyKey: a retry after a crash returns the stored
// content instead of generating twice. The started and completed events are returned in
// StepResult.Emit, so the engine publishes them exactly once with the ledger entry.
type StepKind struct {
	// Service generates and stores; nil (a hub checking rules only) can Check but not
	// Execute.
	Service *Service
}

var _ core.StepKind = StepKind{}

// Syntax implements core.StepKind.
func (x StepKind) Syntax() core.StepSyntax { return core.StepSyntax{Name: "generate"} }

// Check implements core.StepKind: unknown fields, missing required fields and literal values
// of the wrong type or format are errors. A field whose value is a ${{ }} expression is
// unknown until the step runs, so only its presence counts.
func (x StepKind) Check(def core.StepDef) error {
	lits := def.Literals()
	exprs := expressionFields(def.Input)
	// A partnership names its partner by name or by partner_id: an expression for either
	// satisfies the requirement.
	if exprs["partnership.partner"] == nil && exprs["partnership.partner_id"] != nil {
		exprs["partnership.partner"] = exprs["partnership.partner_id"]
	}
	// Each round sets one required field given as an expression to a placeholder, so that
	// the checks behind it run too; there are three required fields.
	for range 4 {
		_, err := RequestFromMap(lits, "")
		var fe *core.FieldError
		if !errors.As(err, &fe) || !strings.HasPrefix(fe.Reason, "required") || exprs[fe.Path] == nil {
			return err
		}
		setPath(lits, exprs[fe.Path], "placeholder")
	}
	return nil
}

// expressionFields maps each request field whose value is an expression, by its canonical
// path (topic, partnership.partner), to the keys as written (which may be aliases).
func expressionFields(input map[string]any) map[string][]string {
	out := map[string][]string{}
	for k, v := range input {
		name := k
		if a, ok := requestAliases[k]; ok {
			name = a
		}
		if isExpression(v) {
			out[name] = []string{k}
		}
		if pm, ok := v.(map[string]any); ok && name == "partnership" {
			for pk, pv := range pm {
				pname := pk
				if a, ok := partnershipAliases[pk]; ok {
					pname = a
				}
				if isExpression(pv) {
					out["partnership."+pname] = []string{k, pk}
				}
			}
		}
	}
	return out
}

func isExpression(v any) bool {
	s, ok := v.(string)
	return ok && strings.Contains(s, core.ExpressionOpen)
}

// setPath sets the value at keys in nested maps.
func setPath(m map[string]any, keys []string, v any) {
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			return
		}
		m = next
	}
	m[keys[len(keys)-1]] = v
}

// Execute generates the content for one step.
func (x StepKind) Execute(ctx context.Context, call core.StepCall) (core.StepResult, error) {
	if x.Service == nil {
		return core.StepResult{}, core.Permanent(errors.New("content generation has no storage in this process"))
	}
	req, err := RequestFromMap(call.Input, "generate")
	if err != nil {
		return core.StepResult{}, &core.StepError{Class: core.ClassInvalidInput, Err: err}
	}
	if req.RequestID == "" {
		req.RequestID = call.RunID
	}
	var emitted []core.Event
	key := call.IdempotencyKey
	if key == "" {
		key = fmt.Sprintf("%s/%s", call.RunID, call.StepID)
	}
	c, err := x.Service.Generate(ctx, call.Tenant, req, GenerateOptions{
		IdempotencyKey: "step:" + key,
		Emit:           func(evs ...core.Event) { emitted = append(emitted, evs...) },
	})
	if err != nil {
		var ge *GenerationError
		if errors.As(err, &ge) {
			return core.StepResult{}, ge.StepError()
		}
		// A spent daily budget: nothing was tried; the run waits for the next day without
		// using an attempt.
		var oe *core.OverloadError
		if errors.As(err, &oe) {
			return core.StepResult{}, core.Deferred(oe.After, err)
		}
		if errors.Is(err, core.ErrInvalid) {
			return core.StepResult{}, &core.StepError{Class: core.ClassInvalidInput, Err: err}
		}
		return core.StepResult{}, core.Transient(err)
	}
	return core.StepResult{Output: StepOutput(&c), Emit: emitted}, nil
}

// StepOutput is what a generate step shows later steps.
func StepOutput(c *Content) map[string]any {
	hashtags := make([]any, len(c.Hashtags))
	for i, h := range c.Hashtags {
		hashtags[i] = h
	}
	findings := make([]any, 0, len(c.Findings))
	for _, f := range c.Findings {
		findings = append(findings, map[string]any{"kind": f.Kind, "type": f.Type, "severity": f.Severity, "message": f.Message})
	}
	return map[string]any{
		"content_id": c.ID, "status": c.Status, "template": c.Template, "title": c.Title,
		"body_markdown": c.BodyMarkdown, "body_html": c.BodyHTML, "meta_description": c.MetaDescription,
		"quality_score": c.QualityScore(), "word_count": c.WordCount, "hashtags": hashtags, "caption": c.Caption,
		"model": c.Model, "provider": c.Provider, "cost_usd": c.Usage.CostUSD, "findings": findings,
		"keywords": stringsToAny(c.Request.Keywords),
	}
}

func stringsToAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
