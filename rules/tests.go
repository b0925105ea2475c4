package rules

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/aquascene/aquahub/core"
	"gopkg.in/yaml.v3"
)

// Test is one `tests:` entry of a rule: an event, optional outputs standing in for earlier
// steps, and what the rule must do with it.
type Test struct {
	Name   string
	Tenant string
	Event  core.Event
	// Outputs stand in for step outputs (steps.<id>.<key>) when inputs of later steps are
	// rendered; steps are never executed by a rule test.
	Outputs map[string]map[string]any
	Expect  Expect
	line    int
}

// Expect is what a rule test checks. Unset parts are not checked.
type Expect struct {
	Matched *bool
	// Steps is the ids of the steps that run, in order, after `if` conditions.
	Steps []string
	// Inputs maps a step id to a subset of its rendered input.
	Inputs map[string]map[string]any
}

func (l *loader) tests(n *yaml.Node, path string) []Test {
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, path, "must be a list")
		return nil
	}
	var out []Test
	for i, c := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		f := l.fields(c, p, "name", "tenant", "event", "outputs", "expect")
		t := Test{Tenant: "test", line: c.Line}
		t.Name, _ = l.str(f["name"], p+".name")
		if t.Name == "" {
			l.errorf(c, p+".name", "required")
		}
		if tn, ok := l.str(f["tenant"], p+".tenant"); ok {
			t.Tenant = tn
		}
		en := f["event"]
		if en == nil {
			l.errorf(c, p+".event", "required")
			continue
		}
		var ev map[string]any
		if err := en.Decode(&ev); err != nil {
			l.errorf(en, p+".event", "%v", err)
			continue
		}
		for k, v := range map[string]any{"id": fmt.Sprintf("test-%d", i+1), "source": "aquahub/rules/test", "specversion": core.SpecVersion} {
			if _, ok := ev[k]; !ok {
				ev[k] = v
			}
		}
		raw, _ := json.Marshal(ev)
		e, err := core.DecodeEvent(raw)
		if err == nil {
			err = e.Validate()
		}
		if err != nil {
			l.errorf(en, p+".event", "%v", err)
			continue
		}
		e.Tenant = t.Tenant
		t.Event = e
		if on := f["outputs"]; on != nil {
			if err := on.Decode(&t.Outputs); err != nil {
				l.errorf(on, p+".outputs", "must map step ids to outputs: %v", err)
			}
		}
		if xn := f["expect"]; xn != nil {
			xf := l.fields(xn, p+".expect", "matched", "steps", "inputs")
			if m := xf["matched"]; m != nil {
				var b bool
				if err := m.Decode(&b); err != nil {
					l.errorf(m, p+".expect.matched", "must be true or false")
				}
				t.Expect.Matched = &b
			}
			if s := xf["steps"]; s != nil {
				if err := s.Decode(&t.Expect.Steps); err != nil {
					l.errorf(s, p+".expect.steps", "must be a list of step ids")
				}
			}
			if in := xf["inputs"]; in != nil {
				if err := in.Decode(&t.Expect.Inputs); err != nil {
					l.errorf(in, p+".expect.inputs", "must map step ids to inputs: %v", err)
				}
			}
		} else {
			l.errorf(c, p+".expect", "required")
		}
		out = append(out, t)
	}
	return out
}

// TestResult is the outcome of one rule test.
type TestResult struct {
	Rule     string
	Name     string
	File     string
	Line     int
	Failures []string
}

// Passed reports whether the test passed.
func (r TestResult) Passed() bool { return len(r.Failures) == 0 }

// RunTests runs every rule's tests against the whole set, so a test also sees whether
// the rule's pattern and condition select the event among all rules.
func (s *Set) RunTests() []TestResult {
	var out []TestResult
	for _, r := range s.rules {
		for _, t := range r.Tests {
			out = append(out, s.runTest(r, t))
		}
	}
	return out
}

func (s *Set) runTest(r *Rule, t Test) TestResult {
	res := TestResult{Rule: r.ID, Name: t.Name, File: r.File, Line: t.line}
	fail := func(format string, args ...any) { res.Failures = append(res.Failures, fmt.Sprintf(format, args...)) }
	ev := t.Event
	ids, err := s.Match(&ev)
	if err != nil {
		fail("evaluating conditions: %v", err)
	}
	matched := contains(ids, r.ID)
	if r.schedule != nil {
		matched = true // a schedule rule's trigger is time; its test checks the steps.
	}
	if t.Expect.Matched != nil && *t.Expect.Matched != matched {
		fail("matched: want %v, got %v", *t.Expect.Matched, matched)
	}
	if !matched {
		if len(t.Expect.Steps) > 0 {
			fail("steps: want %v, but the rule did not match", t.Expect.Steps)
		}
		return res
	}
	sc := core.Scope{Event: &ev, Tenant: t.Tenant, Steps: map[string]map[string]any{}}
	var ran []string
	inputs := map[string]map[string]any{}
	for _, st := range r.Steps {
		env := s.scope(sc)
		if st.If != nil {
			v, err := st.If.run(env)
			if err != nil {
				fail("step %s: if: %v", st.ID, err)
				continue
			}
			if b, _ := v.(bool); !b {
				// As the engine records it: later steps see steps.<id>.skipped.
				sc.Steps[st.ID] = map[string]any{"skipped": true}
				continue
			}
		}
		in, err := st.Render(env)
		if err != nil {
			fail("step %s: rendering input: %v", st.ID, err)
			continue
		}
		inputs[st.ID] = in
		ran = append(ran, st.ID)
		out := t.Outputs[st.ID]
		if out == nil {
			out = map[string]any{}
		}
		sc.Steps[st.ID] = out
	}
	if t.Expect.Steps != nil && !reflect.DeepEqual(t.Expect.Steps, ran) {
		fail("steps: want %v, got %v", t.Expect.Steps, ran)
	}
	stepIDs := make([]string, 0, len(t.Expect.Inputs))
	for id := range t.Expect.Inputs {
		stepIDs = append(stepIDs, id)
	}
	sort.Strings(stepIDs)
	for _, id := range stepIDs {
		got, ok := inputs[id]
		if !ok {
			fail("inputs.%s: step did not run", id)
			continue
		}
		for _, d := range subsetDiff("inputs."+id, t.Expect.Inputs[id], got) {
			fail("%s", d)
		}
	}
	return res
}

// subsetDiff lists where got differs from want, looking only at keys want has. Values are
// compared after a JSON round trip so that 8 and 8.0 are equal.
func subsetDiff(path string, want, got any) []string {
	norm := func(v any) any {
		b, _ := json.Marshal(v)
		var out any
		_ = json.Unmarshal(b, &out)
		return out
	}
	w, g := norm(want), norm(got)
	if wm, ok := w.(map[string]any); ok {
		gm, ok := g.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want an object, got %s", path, short(g))}
		}
		var out []string
		keys := make([]string, 0, len(wm))
		for k := range wm {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, ok := gm[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s.%s: missing", path, k))
				continue
			}
			out = append(out, subsetDiff(path+"."+k, wm[k], gv)...)
		}
		return out
	}
	if !reflect.DeepEqual(w, g) {
		return []string{fmt.Sprintf("%s: want %s, got %s", path, short(w), short(g))}
	}
	return nil
}

func short(v any) string {
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return strings.TrimSpace(s)
}
