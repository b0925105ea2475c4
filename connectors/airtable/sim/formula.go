package sim

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The subset of Airtable's formula language the simulator evaluates for filterByFormula:
//
//	field references  {Field name}  or a bare name without spaces: Status
//	literals          'text'  "text"  12  3.5
//	operators         =  !=  <  >  <=  >=  &  +  -  *  /  and parentheses
//	functions         AND OR NOT IF TODAY NOW TRUE FALSE BLANK RECORD_ID LOWER UPPER LEN TRIM
//
// Anything else is a formula error, which the API answers with 422 INVALID_FILTER_BY_FORMULA.
// Blank cells are nil; arrays (multiple selects, links) compare as their ", "-joined text;
// strings that look like ISO dates compare as dates against dates.

// formulaEnv is what a formula sees of one record.
type formulaEnv struct {
	fields   map[string]any
	recordID string
	now      time.Time
}

type node func(env *formulaEnv) any

// compileFormula parses src. known reports whether a field name exists in the table; it may be
// nil for a table without a schema.
func compileFormula(src string, known func(string) bool) (node, error) {
	p := &parser{src: src, known: known}
	p.next()
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, fmt.Errorf("unexpected %q at position %d", p.tok.text, p.tok.pos)
	}
	return n, nil
}

type tokKind int

const (
	tEOF tokKind = iota
	tNum
	tStr
	tField
	tIdent
	tOp
	tLParen
	tRParen
	tComma
	tErr
)

type token struct {
	kind tokKind
	text string
	num  float64
	pos  int
}

type parser struct {
	src   string
	pos   int
	tok   token
	known func(string) bool
	depth int
}

func (p *parser) next() {
	for p.pos < len(p.src) && unicode.IsSpace(rune(p.src[p.pos])) {
		p.pos++
	}
	start := p.pos
	if p.pos >= len(p.src) {
		p.tok = token{kind: tEOF, pos: start}
		return
	}
	c := p.src[p.pos]
	switch {
	case c == '{':
		end := strings.IndexByte(p.src[p.pos+1:], '}')
		if end < 0 {
			p.tok = token{kind: tErr, text: "unterminated field reference", pos: start}
			return
		}
		p.tok = token{kind: tField, text: p.src[p.pos+1 : p.pos+1+end], pos: start}
		p.pos += end + 2
	case c == '\'' || c == '"':
		var b strings.Builder
		i := p.pos + 1
		for ; i < len(p.src) && p.src[i] != c; i++ {
			if p.src[i] == '\\' && i+1 < len(p.src) {
				i++
				switch p.src[i] {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				default:
					b.WriteByte(p.src[i])
				}
				continue
			}
			b.WriteByte(p.src[i])
		}
		if i >= len(p.src) {
			p.tok = token{kind: tErr, text: "unterminated string", pos: start}
			return
		}
		p.tok = token{kind: tStr, text: b.String(), pos: start}
		p.pos = i + 1
	case c >= '0' && c <= '9' || c == '.':
		i := p.pos
		for i < len(p.src) && (p.src[i] >= '0' && p.src[i] <= '9' || p.src[i] == '.') {
			i++
		}
		f, err := strconv.ParseFloat(p.src[p.pos:i], 64)
		if err != nil {
			p.tok = token{kind: tErr, text: "bad number " + p.src[p.pos:i], pos: start}
			return
		}
		p.tok = token{kind: tNum, num: f, text: p.src[p.pos:i], pos: start}
		p.pos = i
	case c == '_' || unicode.IsLetter(rune(c)):
		i := p.pos
		for i < len(p.src) && (p.src[i] == '_' || p.src[i] >= 0x80 || unicode.IsLetter(rune(p.src[i])) || unicode.IsDigit(rune(p.src[i]))) {
			i++
		}
		p.tok = token{kind: tIdent, text: p.src[p.pos:i], pos: start}
		p.pos = i
	case c == '(':
		p.tok, p.pos = token{kind: tLParen, text: "(", pos: start}, p.pos+1
	case c == ')':
		p.tok, p.pos = token{kind: tRParen, text: ")", pos: start}, p.pos+1
	case c == ',':
		p.tok, p.pos = token{kind: tComma, text: ",", pos: start}, p.pos+1
	default:
		for _, op := range []string{"!=", "<=", ">=", "=", "<", ">", "&", "+", "-", "*", "/"} {
			if strings.HasPrefix(p.src[p.pos:], op) {
				p.tok, p.pos = token{kind: tOp, text: op, pos: start}, p.pos+len(op)
				return
			}
		}
		p.tok = token{kind: tErr, text: fmt.Sprintf("unexpected character %q", c), pos: start}
	}
}

func (p *parser) expr() (node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > 64 {
		return nil, fmt.Errorf("formula nested too deeply")
	}
	return p.comparison()
}

func (p *parser) comparison() (node, error) {
	l, err := p.concat()
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tOp && strings.ContainsAny(p.tok.text, "=<>") {
		op := p.tok.text
		p.next()
		r, err := p.concat()
		if err != nil {
			return nil, err
		}
		l = compareNode(op, l, r)
	}
	return l, nil
}

func (p *parser) concat() (node, error) {
	l, err := p.additive()
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tOp && p.tok.text == "&" {
		p.next()
		r, err := p.additive()
		if err != nil {
			return nil, err
		}
		a, b := l, r
		l = func(env *formulaEnv) any { return toText(a(env)) + toText(b(env)) }
	}
	return l, nil
}

func (p *parser) additive() (node, error) {
	l, err := p.multiplicative()
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tOp && (p.tok.text == "+" || p.tok.text == "-") {
		op := p.tok.text
		p.next()
		r, err := p.multiplicative()
		if err != nil {
			return nil, err
		}
		l = arithNode(op, l, r)
	}
	return l, nil
}

func (p *parser) multiplicative() (node, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tOp && (p.tok.text == "*" || p.tok.text == "/") {
		op := p.tok.text
		p.next()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = arithNode(op, l, r)
	}
	return l, nil
}

func (p *parser) unary() (node, error) {
	if p.tok.kind == tOp && p.tok.text == "-" {
		p.next()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return func(env *formulaEnv) any { return -toNumber(x(env)) }, nil
	}
	return p.primary()
}

func (p *parser) primary() (node, error) {
	t := p.tok
	switch t.kind {
	case tNum:
		p.next()
		return func(*formulaEnv) any { return t.num }, nil
	case tStr:
		p.next()
		return func(*formulaEnv) any { return t.text }, nil
	case tField:
		p.next()
		return p.field(t.text)
	case tLParen:
		p.next()
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			return nil, fmt.Errorf("missing ) at position %d", p.tok.pos)
		}
		p.next()
		return n, nil
	case tIdent:
		p.next()
		if p.tok.kind == tLParen {
			return p.call(t)
		}
		switch strings.ToUpper(t.text) {
		case "TRUE":
			return func(*formulaEnv) any { return true }, nil
		case "FALSE":
			return func(*formulaEnv) any { return false }, nil
		}
		return p.field(t.text)
	case tErr:
		return nil, fmt.Errorf("%s at position %d", t.text, t.pos)
	case tEOF:
		return nil, fmt.Errorf("unexpected end of formula")
	default:
		return nil, fmt.Errorf("unexpected %q at position %d", t.text, t.pos)
	}
}

func (p *parser) field(name string) (node, error) {
	if p.known != nil && !p.known(name) {
		return nil, fmt.Errorf("unknown field names: %s", strings.ToLower(name))
	}
	return func(env *formulaEnv) any { return env.fields[name] }, nil
}

var arity = map[string][2]int{ // min, max (-1: any)
	"AND": {1, -1}, "OR": {1, -1}, "NOT": {1, 1}, "IF": {2, 3},
	"TODAY": {0, 0}, "NOW": {0, 0}, "TRUE": {0, 0}, "FALSE": {0, 0}, "BLANK": {0, 0}, "RECORD_ID": {0, 0},
	"LOWER": {1, 1}, "UPPER": {1, 1}, "LEN": {1, 1}, "TRIM": {1, 1},
}

func (p *parser) call(name token) (node, error) {
	fn := strings.ToUpper(name.text)
	ar, ok := arity[fn]
	if !ok {
		return nil, fmt.Errorf("unknown function %s", name.text)
	}
	p.next() // (
	var args []node
	if p.tok.kind != tRParen {
		for {
			a, err := p.expr()
			if err != nil {
				return nil, err
			}
			args = append(args, a)
			if p.tok.kind == tComma {
				p.next()
				continue
			}
			break
		}
	}
	if p.tok.kind != tRParen {
		return nil, fmt.Errorf("missing ) after arguments of %s", fn)
	}
	p.next()
	if len(args) < ar[0] || ar[1] >= 0 && len(args) > ar[1] {
		return nil, fmt.Errorf("wrong number of arguments to %s", fn)
	}
	switch fn {
	case "AND":
		return func(env *formulaEnv) any {
			for _, a := range args {
				if !truthy(a(env)) {
					return false
				}
			}
			return true
		}, nil
	case "OR":
		return func(env *formulaEnv) any {
			for _, a := range args {
				if truthy(a(env)) {
					return true
				}
			}
			return false
		}, nil
	case "NOT":
		return func(env *formulaEnv) any { return !truthy(args[0](env)) }, nil
	case "IF":
		return func(env *formulaEnv) any {
			if truthy(args[0](env)) {
				return args[1](env)
			}
			if len(args) == 3 {
				return args[2](env)
			}
			return nil
		}, nil
	case "TODAY":
		return func(env *formulaEnv) any {
			y, m, d := env.now.UTC().Date()
			return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		}, nil
	case "NOW":
		return func(env *formulaEnv) any { return env.now.UTC() }, nil
	case "TRUE":
		return func(*formulaEnv) any { return true }, nil
	case "FALSE":
		return func(*formulaEnv) any { return false }, nil
	case "BLANK":
		return func(*formulaEnv) any { return nil }, nil
	case "RECORD_ID":
		return func(env *formulaEnv) any { return env.recordID }, nil
	case "LOWER":
		return func(env *formulaEnv) any { return strings.ToLower(toText(args[0](env))) }, nil
	case "UPPER":
		return func(env *formulaEnv) any { return strings.ToUpper(toText(args[0](env))) }, nil
	case "LEN":
		return func(env *formulaEnv) any { return float64(len([]rune(toText(args[0](env))))) }, nil
	default: // TRIM
		return func(env *formulaEnv) any { return strings.TrimSpace(toText(args[0](env))) }, nil
	}
}

func arithNode(op string, l, r node) node {
	return func(env *formulaEnv) any {
		a, b := toNumber(l(env)), toNumber(r(env))
		switch op {
		case "+":
			return a + b
		case "-":
			return a - b
		case "*":
			return a * b
		default:
			if b == 0 {
				return math.NaN()
			}
			return a / b
		}
	}
}

func compareNode(op string, l, r node) node {
	return func(env *formulaEnv) any {
		c, ok := compare(l(env), r(env))
		if !ok {
			return op == "!="
		}
		switch op {
		case "=":
			return c == 0
		case "!=":
			return c != 0
		case "<":
			return c < 0
		case ">":
			return c > 0
		case "<=":
			return c <= 0
		default:
			return c >= 0
		}
	}
}

// compare orders a and b the way Airtable coerces them; ok is false when they cannot be
// ordered (a blank against a date, NaN).
func compare(a, b any) (int, bool) {
	a, b = normalize(a), normalize(b)
	if ta, ok := a.(time.Time); ok {
		tb, ok := asTime(b)
		if !ok {
			return 0, false
		}
		return ta.Compare(tb), true
	}
	if tb, ok := b.(time.Time); ok {
		ta, ok := asTime(a)
		if !ok {
			return 0, false
		}
		return ta.Compare(tb), true
	}
	_, an := a.(float64)
	_, bn := b.(float64)
	if an || bn {
		x, y := toNumber(a), toNumber(b)
		if math.IsNaN(x) || math.IsNaN(y) {
			return 0, false
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	}
	return strings.Compare(toText(a), toText(b)), true
}

// normalize turns JSON cell values into formula values: bools become numbers, arrays text.
func normalize(v any) any {
	switch x := v.(type) {
	case bool:
		if x {
			return 1.0
		}
		return 0.0
	case int:
		return float64(x)
	case []any:
		return toText(x)
	}
	return v
}

func asTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case string:
		return parseDate(x)
	}
	return time.Time{}, false
}

func parseDate(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func truthy(v any) bool {
	switch x := normalize(v).(type) {
	case nil:
		return false
	case float64:
		return x != 0 && !math.IsNaN(x)
	case string:
		return x != ""
	default:
		return true
	}
}

func toNumber(v any) float64 {
	switch x := normalize(v).(type) {
	case nil:
		return 0
	case float64:
		return x
	case string:
		if x == "" {
			return 0
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return math.NaN()
		}
		return f
	case time.Time:
		return float64(x.Unix())
	}
	return math.NaN()
}

func toText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "1"
		}
		return "0"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case time.Time:
		return x.UTC().Format("2006-01-02T15:04:05.000Z")
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			if m, ok := e.(map[string]any); ok {
				parts[i] = toText(m["name"])
				continue
			}
			parts[i] = toText(e)
		}
		return strings.Join(parts, ", ")
	default:
		return fmt.Sprint(x)
	}
}
