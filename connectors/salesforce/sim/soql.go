package sim

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The SOQL subset: SELECT fields | COUNT() FROM object [WHERE condition] [ORDER BY field
// [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]. Conditions compare a field with
// a literal (=, !=, <>, <, <=, >, >=, LIKE, IN, NOT IN), combine with AND, OR and NOT, and
// group with parentheses; AND and OR may not be mixed without them, as in Salesforce.

type tokKind int

const (
	tkEOF tokKind = iota
	tkIdent
	tkString
	tkNumber
	tkDate
	tkDateTime
	tkDateLiteral
	tkOp
	tkPunct
)

type token struct {
	kind tokKind
	text string // identifiers and keywords as written; strings unescaped
	pos  int
}

// soqlError is a query Salesforce refuses: MALFORMED_QUERY, INVALID_FIELD or INVALID_TYPE.
type soqlError struct {
	code, msg string
}

func (e *soqlError) Error() string { return e.msg }

func malformed(query string, pos int, format string, args ...any) *soqlError {
	line := strings.ReplaceAll(query, "\n", " ")
	return &soqlError{"MALFORMED_QUERY", fmt.Sprintf("\n%s\n%s^\nERROR at Row:1:Column:%d\n%s", line, strings.Repeat(" ", pos), pos+1, fmt.Sprintf(format, args...))}
}

var (
	dateLit     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}`)
	dateTimeLit = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})`)
	numberLit   = regexp.MustCompile(`^-?\d+(\.\d+)?`)
	relDate     = regexp.MustCompile(`(?i)^(TODAY|YESTERDAY|TOMORROW|LAST_N_DAYS:\d+|NEXT_N_DAYS:\d+)$`)
)

func lex(q string) ([]token, *soqlError) {
	var out []token
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(q) && q[j] != '\''; j++ {
				if q[j] != '\\' {
					b.WriteByte(q[j])
					continue
				}
				j++
				if j >= len(q) {
					break
				}
				switch q[j] {
				case 'n':
					b.WriteByte('\n')
				case 'r':
					b.WriteByte('\r')
				case 't':
					b.WriteByte('\t')
				case 'b':
					b.WriteByte('\b')
				case 'f':
					b.WriteByte('\f')
				case '\'', '"', '\\':
					b.WriteByte(q[j])
				case '%', '_':
					b.WriteByte('\\') // kept for LIKE, where it escapes a wildcard
					b.WriteByte(q[j])
				default:
					return nil, malformed(q, j, "Invalid string literal '%s'. Illegal character sequence '\\%c' in string literal.", q[i:j+1], q[j])
				}
			}
			if j >= len(q) {
				return nil, malformed(q, i, "line 1:%d mismatched character '<EOF>' expecting '''", len(q))
			}
			out = append(out, token{tkString, b.String(), i})
			i = j + 1
		case c >= '0' && c <= '9' || c == '-' && i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9':
			rest := q[i:]
			if m := dateTimeLit.FindString(rest); m != "" {
				out = append(out, token{tkDateTime, m, i})
				i += len(m)
			} else if m := dateLit.FindString(rest); m != "" {
				out = append(out, token{tkDate, m, i})
				i += len(m)
			} else {
				m := numberLit.FindString(rest)
				out = append(out, token{tkNumber, m, i})
				i += len(m)
			}
		case unicode.IsLetter(rune(c)) || c == '_':
			j := i
			for j < len(q) && (unicode.IsLetter(rune(q[j])) || unicode.IsDigit(rune(q[j])) || q[j] == '_' || q[j] == '.') {
				j++
			}
			word := q[i:j]
			if j < len(q) && q[j] == ':' && relDate.MatchString(word+":0") {
				k := j + 1
				for k < len(q) && q[k] >= '0' && q[k] <= '9' {
					k++
				}
				word, j = q[i:k], k
			}
			kind := tkIdent
			if relDate.MatchString(word) {
				kind = tkDateLiteral
			}
			out = append(out, token{kind, word, i})
			i = j
		case strings.HasPrefix(q[i:], "!=") || strings.HasPrefix(q[i:], "<>") || strings.HasPrefix(q[i:], "<=") || strings.HasPrefix(q[i:], ">="):
			out = append(out, token{tkOp, q[i : i+2], i})
			i += 2
		case c == '=' || c == '<' || c == '>':
			out = append(out, token{tkOp, q[i : i+1], i})
			i++
		case c == '(' || c == ')' || c == ',':
			out = append(out, token{tkPunct, q[i : i+1], i})
			i++
		default:
			return nil, malformed(q, i, "unexpected token: '%c'", c)
		}
	}
	return append(out, token{tkEOF, "", len(q)}), nil
}

// cond is a parsed WHERE condition.
type cond struct {
	op       string // AND, OR, NOT, or a comparison operator
	children []*cond
	field    *Field
	values   []token
}

type orderKey struct {
	field      *Field
	desc       bool
	nullsFirst bool
}

// soqlQuery is a parsed query.
type soqlQuery struct {
	obj           *object
	fields        []*Field
	count         bool
	where         *cond
	order         []orderKey
	limit, offset int
}

type parser struct {
	q    string
	toks []token
	i    int
	obj  *object
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tkEOF {
		p.i++
	}
	return t
}

func (p *parser) keyword(kw string) bool {
	if t := p.peek(); t.kind == tkIdent && strings.EqualFold(t.text, kw) {
		p.i++
		return true
	}
	return false
}

func (p *parser) unexpected() *soqlError {
	t := p.peek()
	if t.kind == tkEOF {
		return malformed(p.q, t.pos, "unexpected token: <EOF>")
	}
	return malformed(p.q, t.pos, "unexpected token: '%s'", t.text)
}

func (p *parser) fieldOf(t token) (*Field, *soqlError) {
	f := p.obj.field(t.text)
	if f == nil {
		return nil, &soqlError{"INVALID_FIELD", fmt.Sprintf("\n%s\n%s^\nERROR at Row:1:Column:%d\nNo such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
			p.q, strings.Repeat(" ", t.pos), t.pos+1, t.text, p.obj.name)}
	}
	return f, nil
}

// parseSOQL parses q against the objects it may name.
func parseSOQL(q string, objects map[string]*object) (*soqlQuery, *soqlError) {
	toks, err := lex(q)
	if err != nil {
		return nil, err
	}
	p := &parser{q: q, toks: toks}
	if !p.keyword("SELECT") {
		return nil, p.unexpected()
	}
	var selected []token
	count := false
	if t := p.peek(); t.kind == tkIdent && strings.EqualFold(t.text, "COUNT") && p.toks[p.i+1].text == "(" {
		p.i += 2
		if p.next().text != ")" {
			return nil, malformed(q, p.toks[p.i-1].pos, "unexpected token: '%s'", p.toks[p.i-1].text)
		}
		count = true
	} else {
		for {
			t := p.next()
			if t.kind != tkIdent || strings.EqualFold(t.text, "FROM") {
				return nil, malformed(q, t.pos, "unexpected token: '%s'", t.text)
			}
			selected = append(selected, t)
			if p.peek().text != "," {
				break
			}
			p.next()
		}
	}
	if !p.keyword("FROM") {
		return nil, p.unexpected()
	}
	ot := p.next()
	if ot.kind != tkIdent {
		return nil, p.unexpected()
	}
	if p.obj = objects[strings.ToLower(ot.text)]; p.obj == nil {
		return nil, &soqlError{"INVALID_TYPE", fmt.Sprintf("\n%s\n%s^\nERROR at Row:1:Column:%d\nsObject type '%s' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
			q, strings.Repeat(" ", ot.pos), ot.pos+1, ot.text)}
	}
	sq := &soqlQuery{obj: p.obj, count: count, limit: -1}
	for _, t := range selected {
		f, err := p.fieldOf(t)
		if err != nil {
			return nil, err
		}
		sq.fields = append(sq.fields, f)
	}
	if p.keyword("WHERE") {
		c, err := p.condition()
		if err != nil {
			return nil, err
		}
		sq.where = c
	}
	if p.keyword("ORDER") {
		if !p.keyword("BY") {
			return nil, p.unexpected()
		}
		for {
			t := p.next()
			if t.kind != tkIdent {
				return nil, malformed(q, t.pos, "unexpected token: '%s'", t.text)
			}
			f, err := p.fieldOf(t)
			if err != nil {
				return nil, err
			}
			k := orderKey{field: f, nullsFirst: true}
			if p.keyword("DESC") {
				k.desc, k.nullsFirst = true, false
			} else {
				p.keyword("ASC")
			}
			if p.keyword("NULLS") {
				switch {
				case p.keyword("FIRST"):
					k.nullsFirst = true
				case p.keyword("LAST"):
					k.nullsFirst = false
				default:
					return nil, p.unexpected()
				}
			}
			sq.order = append(sq.order, k)
			if p.peek().text != "," {
				break
			}
			p.next()
		}
	}
	if p.keyword("LIMIT") {
		t := p.next()
		n, err := strconv.Atoi(t.text)
		if t.kind != tkNumber || err != nil || n < 0 {
			return nil, malformed(q, t.pos, "unexpected token: '%s'", t.text)
		}
		sq.limit = n
	}
	if p.keyword("OFFSET") {
		t := p.next()
		n, err := strconv.Atoi(t.text)
		if t.kind != tkNumber || err != nil || n < 0 {
			return nil, malformed(q, t.pos, "unexpected token: '%s'", t.text)
		}
		if n > 2000 {
			return nil, &soqlError{"NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000"}
		}
		sq.offset = n
	}
	if p.peek().kind != tkEOF {
		return nil, p.unexpected()
	}
	return sq, nil
}

// condition parses terms joined all by AND or all by OR.
func (p *parser) condition() (*cond, *soqlError) {
	first, err := p.term()
	if err != nil {
		return nil, err
	}
	joined := &cond{children: []*cond{first}}
	for {
		var op string
		switch {
		case p.keyword("AND"):
			op = "AND"
		case p.keyword("OR"):
			op = "OR"
		default:
			if len(joined.children) == 1 {
				return first, nil
			}
			return joined, nil
		}
		if joined.op != "" && joined.op != op {
			return nil, malformed(p.q, p.toks[p.i-1].pos, "unexpected token: '%s'", p.toks[p.i-1].text)
		}
		joined.op = op
		t, err := p.term()
		if err != nil {
			return nil, err
		}
		joined.children = append(joined.children, t)
	}
}

func (p *parser) term() (*cond, *soqlError) {
	if p.keyword("NOT") {
		t, err := p.term()
		if err != nil {
			return nil, err
		}
		return &cond{op: "NOT", children: []*cond{t}}, nil
	}
	if p.peek().text == "(" {
		p.next()
		c, err := p.condition()
		if err != nil {
			return nil, err
		}
		if p.next().text != ")" {
			return nil, malformed(p.q, p.toks[p.i-1].pos, "unexpected token: '%s'", p.toks[p.i-1].text)
		}
		return c, nil
	}
	ft := p.next()
	if ft.kind != tkIdent {
		return nil, malformed(p.q, ft.pos, "unexpected token: '%s'", ft.text)
	}
	f, err := p.fieldOf(ft)
	if err != nil {
		return nil, err
	}
	c := &cond{field: f}
	switch t := p.peek(); {
	case t.kind == tkOp:
		c.op = p.next().text
		if c.op == "<>" {
			c.op = "!="
		}
		c.values = []token{p.next()}
	case t.kind == tkIdent && strings.EqualFold(t.text, "LIKE"):
		p.next()
		c.op = "LIKE"
		c.values = []token{p.next()}
	case t.kind == tkIdent && (strings.EqualFold(t.text, "IN") || strings.EqualFold(t.text, "NOT")):
		c.op = "IN"
		if p.keyword("NOT") {
			c.op = "NOT IN"
		}
		if !p.keyword("IN") || p.next().text != "(" {
			return nil, malformed(p.q, p.toks[p.i-1].pos, "unexpected token: '%s'", p.toks[p.i-1].text)
		}
		for {
			c.values = append(c.values, p.next())
			if sep := p.next(); sep.text == ")" {
				break
			} else if sep.text != "," {
				return nil, malformed(p.q, sep.pos, "unexpected token: '%s'", sep.text)
			}
		}
	default:
		return nil, p.unexpected()
	}
	for _, v := range c.values {
		if err := p.checkValue(c, v); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// checkValue refuses a literal of the wrong kind for the field, with Salesforce's message.
func (p *parser) checkValue(c *cond, v token) *soqlError {
	f := c.field
	bad := func(typ, quoting string) *soqlError {
		return &soqlError{"INVALID_FIELD", fmt.Sprintf("\n%s\n%s^\nERROR at Row:1:Column:%d\nvalue of filter criterion for field '%s' must be of type %s and %s", p.q, strings.Repeat(" ", v.pos), v.pos+1, f.Name, typ, quoting)}
	}
	isNull := v.kind == tkIdent && strings.EqualFold(v.text, "null")
	if isNull && (c.op == "=" || c.op == "!=" || c.op == "IN" || c.op == "NOT IN") {
		return nil
	}
	switch v.kind {
	case tkIdent, tkOp, tkPunct, tkEOF:
		if !(f.Type == "boolean" && (strings.EqualFold(v.text, "true") || strings.EqualFold(v.text, "false"))) {
			return malformed(p.q, v.pos, "unexpected token: '%s'", v.text)
		}
	}
	switch f.Type {
	case "boolean":
		if v.kind != tkIdent {
			return bad("boolean", "should not be enclosed in quotes")
		}
	case "double", "currency", "percent", "int":
		if v.kind != tkNumber {
			return bad("double", "should not be enclosed in quotes")
		}
	case "date":
		if v.kind != tkDate && v.kind != tkDateLiteral {
			return bad("date", "should not be enclosed in quotes")
		}
	case "datetime":
		if v.kind != tkDateTime && v.kind != tkDateLiteral {
			return bad("dateTime", "should not be enclosed in quotes")
		}
	default:
		if v.kind != tkString {
			return bad("string", "should be enclosed in quotes")
		}
	}
	if c.op == "LIKE" && v.kind != tkString {
		return malformed(p.q, v.pos, "invalid operator on field: %s", f.Name)
	}
	return nil
}

// dayRange returns the [start, end) of a relative date literal in UTC.
func dayRange(lit string, now time.Time) (time.Time, time.Time) {
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	up := strings.ToUpper(lit)
	n := 0
	if i := strings.IndexByte(up, ':'); i > 0 {
		n, _ = strconv.Atoi(up[i+1:])
		up = up[:i]
	}
	switch up {
	case "YESTERDAY":
		return today.AddDate(0, 0, -1), today
	case "TOMORROW":
		return today.AddDate(0, 0, 1), today.AddDate(0, 0, 2)
	case "LAST_N_DAYS":
		return today.AddDate(0, 0, -n), today.AddDate(0, 0, 1)
	case "NEXT_N_DAYS":
		return today.AddDate(0, 0, 1), today.AddDate(0, 0, n+1)
	}
	return today, today.AddDate(0, 0, 1)
}

// match evaluates a condition on a record.
func (c *cond) match(rec *record, now time.Time) bool {
	switch c.op {
	case "AND":
		for _, ch := range c.children {
			if !ch.match(rec, now) {
				return false
			}
		}
		return true
	case "OR":
		for _, ch := range c.children {
			if ch.match(rec, now) {
				return true
			}
		}
		return false
	case "NOT":
		return !c.children[0].match(rec, now)
	case "IN", "NOT IN":
		in := false
		for _, v := range c.values {
			if compareValue(c.field, rec.fields[c.field.Name], v, now) == 0 {
				in = true
			}
		}
		return in == (c.op == "IN")
	case "LIKE":
		s, ok := rec.fields[c.field.Name].(string)
		return ok && like(s, c.values[0].text)
	}
	v := c.values[0]
	cmp := compareValue(c.field, rec.fields[c.field.Name], v, now)
	switch c.op {
	case "=":
		return cmp == 0
	case "!=":
		return cmp != 0
	}
	if cmp == cmpNull {
		return false
	}
	if v.kind == tkDateLiteral {
		// A relative date is a range: < before it starts, > after it ends.
		start, end := dayRange(v.text, now)
		t, _ := parseDateTime(asDateTime(rec.fields[c.field.Name]))
		switch c.op {
		case "<":
			return t.Before(start)
		case "<=":
			return t.Before(end)
		case ">":
			return !t.Before(end)
		case ">=":
			return !t.Before(start)
		}
	}
	switch c.op {
	case "<":
		return cmp < 0
	case "<=":
		return cmp <= 0
	case ">":
		return cmp > 0
	case ">=":
		return cmp >= 0
	}
	return false
}

// cmpNull is what compareValue returns when either side is null (and they differ).
const cmpNull = 2

func asDateTime(v any) string {
	s, _ := v.(string)
	if len(s) == 10 {
		return s + "T00:00:00Z"
	}
	return s
}

// compareValue compares a stored value with a literal: 0 equal, -1/1 ordered, cmpNull when
// one side is null.
func compareValue(f *Field, stored any, lit token, now time.Time) int {
	litNull := lit.kind == tkIdent && strings.EqualFold(lit.text, "null")
	switch {
	case stored == nil && litNull:
		return 0
	case stored == nil || litNull:
		return cmpNull
	}
	switch f.Type {
	case "boolean":
		b, _ := stored.(bool)
		if b == strings.EqualFold(lit.text, "true") {
			return 0
		}
		return cmpNull
	case "double", "currency", "percent", "int":
		x, _ := stored.(float64)
		y, _ := strconv.ParseFloat(lit.text, 64)
		return order(x < y, x > y)
	case "date", "datetime":
		t, _ := parseDateTime(asDateTime(stored))
		if lit.kind == tkDateLiteral {
			start, end := dayRange(lit.text, now)
			return order(t.Before(start), !t.Before(end))
		}
		u, _ := parseDateTime(asDateTime(lit.text))
		if f.Type == "date" {
			return strings.Compare(stored.(string), lit.text)
		}
		return t.Compare(u)
	}
	return strings.Compare(strings.ToLower(fmt.Sprint(stored)), strings.ToLower(lit.text))
}

func order(less, more bool) int {
	switch {
	case less:
		return -1
	case more:
		return 1
	}
	return 0
}

// like matches s against a SOQL LIKE pattern: % any run, _ one character, \% and \_
// themselves; case-insensitive.
func like(s, pattern string) bool {
	var b strings.Builder
	b.WriteString("(?is)^")
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; {
		case c == '\\' && i+1 < len(pattern) && (pattern[i+1] == '%' || pattern[i+1] == '_'):
			b.WriteString(regexp.QuoteMeta(pattern[i+1 : i+2]))
			i++
		case c == '%':
			b.WriteString(".*")
		case c == '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	return err == nil && re.MatchString(s)
}
