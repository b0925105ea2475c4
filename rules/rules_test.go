package rules_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/rules"
)

func parse(t testing.TB, src string, opts rules.Options) (*rules.Set, error) {
	t.Helper()
	return rules.Parse(map[string][]byte{"r.yaml": []byte(src)}, []string{"r.yaml"}, opts)
}

func TestLoadErrorsNamePositionAndPath(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string // substring of the error, with file:line:col
	}{
		{"yaml syntax", "rules:\n  - id: a\n    on: [x\n", "r.yaml:2:1: YAML syntax: did not find expected"},
		{"unknown rule field", "rules:\n  - id: a\n    on: x\n    wen: true\n    steps: [{id: s, log: {message: m}}]\n", `r.yaml:4:5: rules[0].wen: unknown field "wen"`},
		{"unknown step field", "rules:\n  - id: a\n    on: x\n    steps:\n      - id: s\n        log: {message: m}\n        tabel: x\n", `r.yaml:7:9: rules[0].steps[0].tabel: unknown field "tabel"`},
		{"when does not compile", "rules:\n  - id: a\n    on: x\n    when: event.data. ==\n    steps: [{id: s, log: {message: m}}]\n", "r.yaml:4:11: rules[0].when: expression"},
		{"when is not boolean", "rules:\n  - id: a\n    on: x\n    when: '\"yes\"'\n    steps: [{id: s, log: {message: m}}]\n", "rules[0].when: expression"},
		{"interpolation does not compile", "rules:\n  - id: a\n    on: x\n    steps:\n      - id: s\n        log: {message: \"${{ event.( }}\"}\n", "rules[0].steps[0].log.message: expression"},
		{"unterminated interpolation", "rules:\n  - id: a\n    on: x\n    steps:\n      - id: s\n        log: {message: \"${{ event.id\"}\n", "unterminated ${{"},
		{"missing on", "rules:\n  - id: a\n    steps: [{id: s, log: {message: m}}]\n", "rules[0].on: required"},
		{"missing steps", "rules:\n  - id: a\n    on: x\n", "rules[0].steps: required"},
		{"two kinds in a step", "rules:\n  - id: a\n    on: x\n    steps:\n      - id: s\n        log: {message: m}\n        emit: {type: t}\n", "exactly one of"},
		{"bad step id", "rules:\n  - id: a\n    on: x\n    steps:\n      - id: my-step\n        log: {message: m}\n", "not a valid step id"},
		{"duplicate step id", "rules:\n  - id: a\n    on: x\n    steps:\n      - {id: s, log: {message: m}}\n      - {id: s, log: {message: m}}\n", `duplicate step id "s"`},
		{"duplicate rule id", "rules:\n  - {id: a, on: x, steps: [{id: s, log: {message: m}}]}\n  - {id: a, on: y, steps: [{id: s, log: {message: m}}]}\n", `duplicate rule id "a"`},
		{"bad cron", "rules:\n  - id: a\n    on: schedule\n    schedule: every monday\n    steps: [{id: s, log: {message: m}}]\n", "rules[0].schedule: invalid cron expression"},
		{"schedule without on schedule", "rules:\n  - id: a\n    on: x\n    schedule: '0 9 * * 1'\n    steps: [{id: s, log: {message: m}}]\n", "only allowed with `on: schedule`"},
		{"bad retry", "rules:\n  - id: a\n    on: x\n    retry: {attempts: 0, initial: soon}\n    steps: [{id: s, log: {message: m}}]\n", "rules[0].retry.attempts: must be a whole number"},
		{"kind not available", "rules:\n  - id: a\n    on: x\n    steps:\n      - id: s\n        generate: {template: t}\n", `step kind "generate" is not available`},
		{"no rules key", "rulez: []\n", `unknown field "rulez"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.src, rules.Options{})
			if err == nil {
				t.Fatalf("want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error\n%v\ndoes not contain %q", err, tc.want)
			}
		})
	}
}

// connectorKind is a targeted kind written like the connector host's: connector + action + with.
type connectorKind struct{}

func (connectorKind) Syntax() core.StepSyntax {
	return core.StepSyntax{Name: "connector", Target: true, Params: []string{"action"}}
}

func (connectorKind) Check(def core.StepDef) error {
	if _, ok := def.Input["tabel"]; ok {
		return errors.New(`with.tabel: unknown field (did you mean "table"?)`)
	}
	return nil
}

func (connectorKind) Execute(context.Context, core.StepCall) (core.StepResult, error) {
	return core.StepResult{}, nil
}

func withConnector(t testing.TB) rules.Options {
	t.Helper()
	kinds, err := core.NewStepKinds(append(core.BuiltinStepKinds(nil), connectorKind{})...)
	if err != nil {
		t.Fatal(err)
	}
	return rules.Options{Kinds: kinds}
}

func TestConnectorStepsAreCheckedAtLoad(t *testing.T) {
	src := "rules:\n  - id: a\n    on: x\n    steps:\n      - id: s\n        connector: airtable\n        action: records.upsert\n        with: {tabel: Content_Master}\n"
	_, err := parse(t, src, withConnector(t))
	if err == nil || !strings.Contains(err.Error(), "r.yaml:8:15: rules[0].steps[0].with: with.tabel: unknown field") {
		t.Fatalf("got %v", err)
	}
}

func ev(typ, data string) *core.Event {
	return &core.Event{ID: "1", Source: "s", Type: typ, SpecVersion: "1.0", Data: []byte(data), Tenant: "acme"}
}

func TestMatch(t *testing.T) {
	set, err := parse(t, `
rules:
  - {id: exact, on: airtable.record.created, steps: [{id: s, log: {message: m}}]}
  - {id: wild, on: "airtable.*", steps: [{id: s, log: {message: m}}]}
  - {id: list, on: [a.b, c.d], steps: [{id: s, log: {message: m}}]}
  - {id: cond, on: x, when: "event.data.n > 2", steps: [{id: s, log: {message: m}}]}
  - {id: tenant, on: x, tenants: [other], steps: [{id: s, log: {message: m}}]}
  - {id: sched, on: schedule, schedule: "*/5 * * * *", steps: [{id: s, log: {message: m}}]}
`, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ev   *core.Event
		want []string
	}{
		{"exact and wildcard", ev("airtable.record.created", `{}`), []string{"exact", "wild"}},
		{"wildcard only", ev("airtable.record.updated", `{}`), []string{"wild"}},
		{"list", ev("c.d", `{}`), []string{"list"}},
		{"condition true", ev("x", `{"n":3}`), []string{"cond"}},
		{"condition false", ev("x", `{"n":1}`), nil},
		{"condition on missing data is false, not an error", ev("x", `{}`), nil},
		{"nothing", ev("zzz", `{}`), nil},
		{"schedule event matches only its rule", &core.Event{ID: "i", Source: core.ScheduleSource, Type: core.ScheduleEventType, SpecVersion: "1.0", Data: []byte(`{"rule":"sched"}`)}, []string{"sched"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := set.Match(tc.ev)
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	if len(set.Schedules()) != 1 {
		t.Fatalf("schedules: %v", set.Schedules())
	}
}

func TestRenderKeepsTypes(t *testing.T) {
	set, err := parse(t, `
rules:
  - id: a
    on: x
    steps:
      - id: s
        emit:
          type: t
          data:
            score: ${{ event.data.score }}
            label: "score ${{ event.data.score }} of ${{ event.data.max ?? 10 }}"
            list: ${{ event.data.tags }}
            missing: ${{ event.data.nope ?? "default" }}
            slugged: ${{ slug(event.data.title) }}
`, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	plan, _ := set.Plan("a")
	e := ev("x", `{"score":8.5,"tags":["a","b"],"title":"Beginner Guide!"}`)
	in, err := plan.Steps[0].Render(core.Scope{Event: e, Tenant: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	data := in["data"].(map[string]any)
	if data["score"] != 8.5 || data["label"] != "score 8.5 of 10" || data["missing"] != "default" || data["slugged"] != "beginner-guide" {
		t.Fatalf("rendered: %#v", data)
	}
	if l, ok := data["list"].([]any); !ok || len(l) != 2 {
		t.Fatalf("list: %#v", data["list"])
	}
}

func TestRuleTestsReportFailures(t *testing.T) {
	set, err := parse(t, `
rules:
  - id: a
    on: x
    when: event.data.ok == true
    steps:
      - id: s
        emit: { type: t, data: { v: "${{ event.data.v }}" } }
    tests:
      - name: passes
        event: { type: x, data: { ok: true, v: 1 } }
        expect: { matched: true, steps: [s], inputs: { s: { data: { v: 1 } } } }
      - name: wrong expectation
        event: { type: x, data: { ok: true, v: 2 } }
        expect: { inputs: { s: { data: { v: 3 } } } }
      - name: should not match
        event: { type: x, data: { ok: false } }
        expect: { matched: true }
`, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res := set.RunTests()
	if len(res) != 3 || !res[0].Passed() || res[1].Passed() || res[2].Passed() {
		t.Fatalf("results: %+v", res)
	}
	if !strings.Contains(res[1].Failures[0], "inputs.s.data.v: want 3, got 2") {
		t.Fatalf("failure text: %v", res[1].Failures)
	}
	if !strings.Contains(res[2].Failures[0], "matched: want true, got false") {
		t.Fatalf("failure text: %v", res[2].Failures)
	}
}

// TestRuleTestsSeeSkippedSteps checks that a rule test shows later steps a skipped step the
// way the engine does, as steps.<id>.skipped.
func TestRuleTestsSeeSkippedSteps(t *testing.T) {
	set, err := parse(t, `
rules:
  - id: a
    on: x
    steps:
      - id: maybe
        if: event.data.go == true
        emit: { type: t }
      - id: after
        emit: { type: u, data: { skipped: "${{ steps.maybe.skipped ?? false }}" } }
    tests:
      - name: skipped
        event: { type: x, data: { go: false } }
        expect: { steps: [after], inputs: { after: { data: { skipped: true } } } }
      - name: ran
        event: { type: x, data: { go: true } }
        expect: { steps: [maybe, after], inputs: { after: { data: { skipped: false } } } }
`, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range set.RunTests() {
		if !r.Passed() {
			t.Errorf("%+v", r)
		}
	}
}

func FuzzParseRules(f *testing.F) {
	f.Add([]byte("rules:\n  - id: a\n    on: x\n    when: event.data.n > 1\n    steps:\n      - id: s\n        log: {message: \"${{ event.id }}\"}\n"))
	f.Add([]byte("rules:\n  - id: a\n    on: schedule\n    schedule: '@hourly'\n    steps: [{id: s, emit: {type: t}}]\n"))
	f.Add([]byte("rules: [{id: a, on: [a, b], steps: [{id: s, connector: c, action: d, with: {x: [1, 2]}}]}]"))
	f.Add([]byte("rules:\n  - &a {id: a}\n  - *a\n"))
	opts := withConnector(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		set, err := rules.Parse(map[string][]byte{"f.yaml": src}, []string{"f.yaml"}, opts)
		if err != nil {
			var es rules.Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error is not a rules.Errors list: %v", err)
			}
			return
		}
		for _, r := range set.Rules() {
			plan, ok := set.Plan(r.ID)
			if !ok || len(plan.Steps) == 0 {
				t.Fatalf("loaded rule %q has no plan", r.ID)
			}
		}
	})
}

func TestSelfReferencingAliasIsRefused(t *testing.T) {
	src := "rules:\n  - id: a\n    on: x\n    steps:\n      - id: s\n        emit: &loop {type: t, data: *loop}\n"
	_, err := parse(t, src, rules.Options{})
	if err == nil {
		t.Fatal("a self-referencing alias loaded")
	}
}
