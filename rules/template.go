package rules

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"gopkg.in/yaml.v3"
)

// value is a compiled `with` tree: constants, interpolated strings, maps and lists.
type value interface {
	eval(env map[string]any) (any, error)
}

type constant struct{ v any }

func (c constant) eval(map[string]any) (any, error) { return c.v, nil }

// interp is a string with ${{ }} parts. A string that is exactly one ${{ }} evaluates to
// the expression's own type, so `${{ steps.draft.quality_score }}` stays a number.
type interp struct {
	parts []any // string or *program
	whole bool
}

type program struct {
	src string
	p   *vm.Program
}

// vms are expression machines kept between runs: a machine resets its stack and scopes at
// each run, and a fresh one per expression allocated them again.
var vms = sync.Pool{New: func() any { return new(vm.VM) }}

func (p *program) run(env map[string]any) (any, error) {
	m := vms.Get().(*vm.VM)
	v, err := m.Run(p.p, env)
	vms.Put(m)
	if err != nil {
		return nil, fmt.Errorf("evaluating %q: %w", p.src, err)
	}
	return v, nil
}

func (s interp) eval(env map[string]any) (any, error) {
	if s.whole {
		return s.parts[0].(*program).run(env)
	}
	var b strings.Builder
	for _, part := range s.parts {
		switch p := part.(type) {
		case string:
			b.WriteString(p)
		case *program:
			v, err := p.run(env)
			if err != nil {
				return nil, err
			}
			if v != nil {
				fmt.Fprint(&b, v)
			}
		}
	}
	return b.String(), nil
}

type object struct {
	keys []string
	vals []value
}

func (o object) eval(env map[string]any) (any, error) {
	m := make(map[string]any, len(o.keys))
	for i, k := range o.keys {
		v, err := o.vals[i].eval(env)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		m[k] = v
	}
	return m, nil
}

type list []value

func (l list) eval(env map[string]any) (any, error) {
	out := make([]any, len(l))
	for i, v := range l {
		x, err := v.eval(env)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		out[i] = x
	}
	return out, nil
}

// maxNodes bounds the values one rule file may expand to, so a self-referencing or
// exponential YAML alias cannot exhaust memory or the stack.
const maxNodes = 10_000

// maxDepth bounds nesting of a step's input.
const maxDepth = 32

var placeholder = regexp.MustCompile(`\$\{\{(.*?)\}\}`)

// compileValue turns a YAML node into a value, compiling every ${{ }} it contains. The raw
// form (with placeholders kept as strings) is returned too, for schema checks at load time.
func (l *loader) compileValue(n *yaml.Node, path string) (value, any) {
	l.nodes++
	depth := strings.Count(path, ".") + strings.Count(path, "[")
	if l.nodes > maxNodes || depth > maxDepth {
		if !l.tooBig {
			l.tooBig = true
			l.errorf(n, path, "input is too large or too deeply nested (at most %d values, aliases expanded, and %d levels)", maxNodes, maxDepth)
		}
		return constant{}, nil
	}
	switch n.Kind {
	case yaml.AliasNode:
		return l.compileValue(n.Alias, path)
	case yaml.MappingNode:
		var o object
		raw := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			v, r := l.compileValue(n.Content[i+1], path+"."+k)
			o.keys = append(o.keys, k)
			o.vals = append(o.vals, v)
			raw[k] = r
		}
		return o, raw
	case yaml.SequenceNode:
		var out list
		var raw []any
		for i, c := range n.Content {
			v, r := l.compileValue(c, fmt.Sprintf("%s[%d]", path, i))
			out = append(out, v)
			raw = append(raw, r)
		}
		return out, raw
	case yaml.ScalarNode:
		if n.Tag == "!!str" && strings.Contains(n.Value, "${{") {
			return l.compileString(n, path), n.Value
		}
		var v any
		if err := n.Decode(&v); err != nil {
			l.errorf(n, path, "%v", err)
			return constant{}, nil
		}
		return constant{v}, v
	}
	return constant{}, nil
}

func (l *loader) compileString(n *yaml.Node, path string) value {
	s := n.Value
	locs := placeholder.FindAllStringSubmatchIndex(s, -1)
	if strings.Count(s, "${{") != len(locs) {
		l.errorf(n, path, "unterminated ${{ in %q", s)
		return constant{s}
	}
	var it interp
	last := 0
	for _, loc := range locs {
		if loc[0] > last {
			it.parts = append(it.parts, s[last:loc[0]])
		}
		src := strings.TrimSpace(s[loc[2]:loc[3]])
		p := l.compileExpr(n, path, src, loc[2])
		if p == nil {
			return constant{s}
		}
		it.parts = append(it.parts, p)
		last = loc[1]
	}
	if last < len(s) {
		it.parts = append(it.parts, s[last:])
	}
	it.whole = len(it.parts) == 1 && len(locs) == 1
	return it
}

// compileExpr compiles src against the rule environment. offset is where src starts in
// the node's value, for the column in errors.
func (l *loader) compileExpr(n *yaml.Node, path, src string, offset int, opts ...expr.Option) *program {
	if src == "" {
		l.errorf(n, path, "empty expression")
		return nil
	}
	all := append([]expr.Option{expr.Env(l.envTemplate)}, opts...)
	all = append(all, l.functions...)
	p, err := expr.Compile(src, all...)
	if err != nil {
		msg := err.Error()
		if i := strings.IndexByte(msg, '\n'); i > 0 {
			msg = msg[:i]
		}
		col := n.Column
		if n.Style == 0 {
			col += offset
		}
		l.errs = append(l.errs, &Error{File: l.file, Line: n.Line, Column: col, Path: path, Msg: fmt.Sprintf("expression %q does not compile: %s", src, msg)})
		return nil
	}
	return &program{src: src, p: p}
}

// unwrap strips an optional ${{ }} around a condition.
func unwrap(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "${{") && strings.HasSuffix(s, "}}") {
		return strings.TrimSpace(s[3 : len(s)-2])
	}
	return s
}
