package rules

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/expr-lang/expr"
	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"
)

// Options configures loading.
type Options struct {
	// Kinds are the step kinds the hub can execute; a step of another kind is an error at
	// load, and each step's input is checked by its kind. Nil means the builtin kinds only.
	Kinds *core.StepKinds
	// Env is the allow-listed environment visible to expressions as `env`.
	Env map[string]string
}

// Load reads every *.yaml and *.yml file under the paths (files or directories) and
// compiles them into one Set. It returns Errors listing every problem found.
func Load(paths []string, opts Options) (*Set, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("rules path: %w", err)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("rules path: %w", err)
		}
	}
	sort.Strings(files)
	srcs := make(map[string][]byte, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading rules: %w", err)
		}
		srcs[f] = b
	}
	return Parse(srcs, files, opts)
}

// Parse compiles rule documents given as file name → content, in the order of names.
func Parse(srcs map[string][]byte, names []string, opts Options) (*Set, error) {
	if opts.Kinds == nil {
		kinds, err := core.NewStepKinds(core.BuiltinStepKinds(nil)...)
		if err != nil {
			return nil, err
		}
		opts.Kinds = kinds
	}
	set := &Set{byID: map[string]*Rule{}, exact: map[string][]*Rule{}, env: opts.Env}
	var errs Errors
	for _, name := range names {
		l := newLoader(name, opts)
		rules := l.file_(srcs[name])
		for _, r := range rules {
			if prev, dup := set.byID[r.ID]; dup {
				l.errs = append(l.errs, &Error{File: name, Line: r.line, Column: r.col, Path: r.path + ".id", Msg: fmt.Sprintf("duplicate rule id %q (first defined in %s:%d)", r.ID, prev.File, prev.line)})
				continue
			}
			set.add(r)
		}
		errs = append(errs, l.errs...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return set, nil
}

type loader struct {
	file        string
	opts        Options
	errs        Errors
	envTemplate map[string]any
	functions   []expr.Option
	nodes       int
	tooBig      bool
}

func newLoader(file string, opts Options) *loader {
	return &loader{file: file, opts: opts, envTemplate: envTemplate(), functions: functions()}
}

func (l *loader) errorf(n *yaml.Node, path, format string, args ...any) {
	e := &Error{File: l.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	l.errs = append(l.errs, e)
}

// fields checks a mapping node for unknown and duplicate keys and returns key → value.
func (l *loader) fields(n *yaml.Node, path string, allowed ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		l.errorf(n, path, "must be a mapping")
		return out
	}
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !ok[k.Value] {
			l.errorf(k, joinPath(path, k.Value), "unknown field %q (allowed: %s)", k.Value, strings.Join(allowed, ", "))
			continue
		}
		if _, dup := out[k.Value]; dup {
			l.errorf(k, joinPath(path, k.Value), "field given twice")
			continue
		}
		out[k.Value] = n.Content[i+1]
	}
	return out
}

func joinPath(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

func (l *loader) str(n *yaml.Node, path string) (string, bool) {
	if n == nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "!!int" && n.Tag != "!!float" && n.Tag != "!!bool") {
		l.errorf(n, path, "must be a string")
		return "", false
	}
	return n.Value, true
}

var ruleID = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$`)

func (l *loader) file_(src []byte) []*Rule {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&doc); err != nil {
		line := 0
		msg := err.Error()
		if m := regexp.MustCompile(`line (\d+)`).FindStringSubmatch(msg); m != nil {
			fmt.Sscan(m[1], &line)
		}
		msg = regexp.MustCompile(`^yaml: (line \d+: )?`).ReplaceAllString(msg, "")
		l.errs = append(l.errs, &Error{File: l.file, Line: line, Column: 1, Msg: "YAML syntax: " + msg})
		return nil
	}
	if len(doc.Content) == 0 {
		return nil
	}
	top := l.fields(doc.Content[0], "", "rules")
	rn := top["rules"]
	if rn == nil {
		if len(l.errs) == 0 {
			l.errorf(doc.Content[0], "rules", "missing: a rule file has a top-level `rules:` list")
		}
		return nil
	}
	if rn.Kind != yaml.SequenceNode {
		l.errorf(rn, "rules", "must be a list")
		return nil
	}
	var out []*Rule
	for i, n := range rn.Content {
		if r := l.rule(n, fmt.Sprintf("rules[%d]", i)); r != nil {
			out = append(out, r)
		}
	}
	return out
}

func (l *loader) rule(n *yaml.Node, path string) *Rule {
	before := len(l.errs)
	f := l.fields(n, path, "id", "description", "on", "schedule", "when", "tenants", "steps", "retry", "tests")
	r := &Rule{File: l.file, line: n.Line, col: n.Column, path: path}
	if id, ok := l.str(f["id"], path+".id"); ok {
		if !ruleID.MatchString(id) {
			l.errorf(f["id"], path+".id", "%q is not a valid id (letters, digits, _ . -; up to 128)", id)
		}
		r.ID = id
	} else if f["id"] == nil {
		l.errorf(n, path+".id", "required")
	}
	if d, ok := l.str(f["description"], path+".description"); ok {
		r.Description = d
	}
	switch on := f["on"]; {
	case on == nil:
		l.errorf(n, path+".on", "required: an event type pattern such as airtable.record.* or `schedule`")
	case on.Kind == yaml.SequenceNode:
		for i, c := range on.Content {
			if s, ok := l.str(c, fmt.Sprintf("%s.on[%d]", path, i)); ok {
				r.On = append(r.On, s)
			}
		}
	default:
		if s, ok := l.str(on, path+".on"); ok {
			r.On = []string{s}
		}
	}
	for i, p := range r.On {
		if p == "schedule" && len(r.On) > 1 {
			l.errorf(f["on"], fmt.Sprintf("%s.on[%d]", path, i), "`schedule` cannot be combined with event types")
		}
		if p == "" {
			l.errorf(f["on"], path+".on", "empty pattern")
		}
	}
	if len(r.On) == 1 && r.On[0] == "schedule" {
		sn := f["schedule"]
		if spec, ok := l.str(sn, path+".schedule"); ok {
			sched, err := cron.ParseStandard(spec)
			if err != nil {
				l.errorf(sn, path+".schedule", "invalid cron expression %q: %v", spec, err)
			} else {
				r.Cron = spec
				r.schedule = sched
			}
		} else if sn == nil {
			l.errorf(n, path+".schedule", "required when on is `schedule` (a cron expression such as \"0 9 * * 1\")")
		}
	} else if f["schedule"] != nil {
		l.errorf(f["schedule"], path+".schedule", "only allowed with `on: schedule`")
	}
	if wn := f["when"]; wn != nil {
		if s, ok := l.str(wn, path+".when"); ok {
			r.When = l.compileExpr(wn, path+".when", unwrap(s), 0, expr.AsBool())
		}
	}
	if tn := f["tenants"]; tn != nil {
		if tn.Kind != yaml.SequenceNode {
			l.errorf(tn, path+".tenants", "must be a list of tenant ids")
		} else {
			for i, c := range tn.Content {
				if s, ok := l.str(c, fmt.Sprintf("%s.tenants[%d]", path, i)); ok {
					r.Tenants = append(r.Tenants, s)
				}
			}
		}
	}
	r.Retry = core.DefaultRetry
	if rn := f["retry"]; rn != nil {
		r.Retry = l.retry(rn, path+".retry")
	}
	sn := f["steps"]
	if sn == nil || sn.Kind != yaml.SequenceNode || len(sn.Content) == 0 {
		l.errorf(n, path+".steps", "required: a non-empty list of steps")
	} else {
		seen := map[string]bool{}
		for i, c := range sn.Content {
			st := l.step(c, fmt.Sprintf("%s.steps[%d]", path, i))
			if st == nil {
				continue
			}
			if seen[st.ID] {
				l.errorf(c, fmt.Sprintf("%s.steps[%d].id", path, i), "duplicate step id %q", st.ID)
			}
			seen[st.ID] = true
			r.Steps = append(r.Steps, st)
		}
	}
	if tn := f["tests"]; tn != nil {
		r.Tests = l.tests(tn, path+".tests")
	}
	if len(l.errs) > before {
		return nil
	}
	return r
}

func (l *loader) retry(n *yaml.Node, path string) core.RetryPolicy {
	f := l.fields(n, path, "attempts", "backoff", "initial", "max")
	p := core.DefaultRetry
	if a := f["attempts"]; a != nil {
		if err := a.Decode(&p.Attempts); err != nil || p.Attempts < 1 || p.Attempts > 100 {
			l.errorf(a, path+".attempts", "must be a whole number from 1 to 100 (got %q)", a.Value)
		}
	}
	if b := f["backoff"]; b != nil {
		if b.Value != "exponential" && b.Value != "constant" {
			l.errorf(b, path+".backoff", "must be exponential or constant (got %q)", b.Value)
		}
		p.Backoff = b.Value
	}
	dur := func(key string, dst *time.Duration) {
		if d := f[key]; d != nil {
			v, err := time.ParseDuration(d.Value)
			if err != nil || v <= 0 {
				l.errorf(d, path+"."+key, "must be a positive duration such as 5s or 2h (got %q)", d.Value)
				return
			}
			*dst = v
		}
	}
	dur("initial", &p.Initial)
	dur("max", &p.Max)
	if p.Max < p.Initial {
		l.errorf(n, path+".max", "must not be less than initial (%s < %s)", p.Max, p.Initial)
	}
	return p
}

var stepID = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]{0,63}$`)

// stepFields are the keys every step may have besides its kind's.
var stepFields = []string{"id", "if", "retry"}

func (l *loader) step(n *yaml.Node, path string) *Step {
	kinds := l.opts.Kinds
	names := kinds.Names()
	allowed := append([]string(nil), stepFields...)
	targeted := false
	for _, name := range names {
		k, _ := kinds.Lookup(name)
		syn := k.Syntax()
		allowed = append(allowed, name)
		for _, p := range syn.Params {
			if !contains(allowed, p) {
				allowed = append(allowed, p)
			}
		}
		targeted = targeted || syn.Target
	}
	if targeted {
		allowed = append(allowed, "with")
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(n, path, "must be a mapping")
		return nil
	}
	if unavailable := l.unavailableKind(n, names, allowed); unavailable != nil {
		l.errorf(unavailable, path+"."+unavailable.Value, "step kind %q is not available in this hub (available: %s)", unavailable.Value, strings.Join(names, ", "))
		return nil
	}
	f := l.fields(n, path, allowed...)
	st := &Step{}
	id, ok := l.str(f["id"], path+".id")
	switch {
	case f["id"] == nil:
		l.errorf(n, path+".id", "required")
		return nil
	case !ok:
		return nil
	case !stepID.MatchString(id):
		l.errorf(f["id"], path+".id", "%q is not a valid step id: use letters, digits and _ so that steps.%s works in expressions", id, id)
		return nil
	}
	st.ID = id
	var found []string
	for _, name := range names {
		if f[name] != nil {
			found = append(found, name)
		}
	}
	if len(found) != 1 {
		l.errorf(n, path, "a step needs exactly one of %s (got %d: %s)", strings.Join(names, ", "), len(found), strings.Join(found, ", "))
		return nil
	}
	st.Kind = found[0]
	kind, _ := kinds.Lookup(st.Kind)
	syn := kind.Syntax()
	for _, name := range names {
		k, _ := kinds.Lookup(name)
		for _, p := range k.Syntax().Params {
			if f[p] != nil && !contains(syn.Params, p) {
				l.errorf(f[p], path+"."+p, "%s belongs to %s steps, not %s steps", p, name, st.Kind)
			}
		}
	}
	var body *yaml.Node
	bodyPath := path + "." + st.Kind
	if syn.Target {
		st.Target, _ = l.str(f[st.Kind], path+"."+st.Kind)
		st.Params = map[string]string{}
		for _, p := range syn.Params {
			if v, ok := l.str(f[p], path+"."+p); ok {
				st.Params[p] = v
			} else if f[p] == nil {
				l.errorf(n, path+"."+p, "required with %s", st.Kind)
			}
		}
		body, bodyPath = f["with"], path+".with"
		if body == nil {
			body = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
		}
	} else {
		if f["with"] != nil {
			l.errorf(f["with"], path+".with", "with belongs to targeted steps; put a %s step's input under %s:", st.Kind, st.Kind)
		}
		body = f[st.Kind]
	}
	if body.Kind != yaml.MappingNode {
		l.errorf(body, bodyPath, "must be a mapping of inputs")
		return nil
	}
	v, raw := l.compileValue(body, bodyPath)
	st.input = v
	st.Raw, _ = raw.(map[string]any)
	if err := kind.Check(core.StepDef{Kind: st.Kind, Target: st.Target, Params: st.Params, Input: st.Raw}); err != nil {
		l.errorf(body, bodyPath, "%v", err)
	}
	if in := f["if"]; in != nil {
		if s, ok := l.str(in, path+".if"); ok {
			st.If = l.compileExpr(in, path+".if", unwrap(s), 0, expr.AsBool())
		}
	}
	if rn := f["retry"]; rn != nil {
		p := l.retry(rn, path+".retry")
		st.Retry = &p
	}
	return st
}

// unavailableKind finds a step written with a kind this hub lacks: no known kind key, and
// one unknown key holding a mapping (`generate: {…}` in a hub without content generation).
func (l *loader) unavailableKind(n *yaml.Node, kinds, allowed []string) *yaml.Node {
	var unknown *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if contains(kinds, k.Value) {
			return nil
		}
		if !contains(allowed, k.Value) {
			if unknown != nil {
				return nil
			}
			unknown = k
		}
	}
	if unknown == nil {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i] == unknown && n.Content[i+1].Kind == yaml.MappingNode {
			return unknown
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
