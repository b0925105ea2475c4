package content

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aquascene/aquahub/core"
)

// StepExecutor is the rule step kind `generate`. Its input is the step's map (template,
// topic, audience, keywords, instructions, partnership, ...; the names of Request and their
// seed aliases). Its output, visible to later steps as steps.<id>.<key>, is content_id,
// title, body_markdown, body_html, meta_description, quality_score, word_count, hashtags,
// caption, status, model, cost_usd and findings.
//
// It is idempotent per StepCall.IdempotencyKey: a retry after a crash returns the stored
// content instead of generating twice. The started and completed events are returned in
// StepResult.Emit, so the engine publishes them exactly once with the ledger entry.
type StepExecutor struct {
	Service *Service
}

var _ core.StepExecutor = StepExecutor{}

// Execute generates the content for one step.
func (x StepExecutor) Execute(ctx context.Context, call core.StepCall) (core.StepResult, error) {
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
		if errors.Is(err, core.ErrInvalid) {
			return core.StepResult{}, &core.StepError{Class: core.ClassInvalidInput, Err: err}
		}
		return core.StepResult{}, core.Transient(err)
	}
	return core.StepResult{Output: StepOutput(&c), Emit: emitted}, nil
}

// CheckStepInput validates a generate step's input when the rules load: unknown fields and
// literal values of the wrong type or format are errors. Values that are ${{ }} expressions
// are unknown until the step runs, so they are set aside and only literals are checked.
func CheckStepInput(with map[string]any) error {
	_, err := RequestFromMap(withoutExpressions(with).(map[string]any), "")
	var fe *core.FieldError
	if errors.As(err, &fe) && fe.Reason == "required" {
		// The field may be one of the expressions set aside; the step checks it at run time.
		return nil
	}
	return err
}

// withoutExpressions copies v with every ${{ }} string replaced by nil, the "not known
// yet" value, so that format checks apply to literals only.
func withoutExpressions(v any) any {
	switch x := v.(type) {
	case string:
		if strings.Contains(x, "${{") {
			return nil
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = withoutExpressions(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = withoutExpressions(e)
		}
		return out
	}
	return v
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
