package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SOQL is built here so that rule data can never change a query's shape. Names (objects,
// fields) must match strict patterns; values are always rendered as literals of a declared
// or inferred type: strings quoted with every quote and backslash escaped, numbers,
// booleans, dates and date-times in their canonical forms, date literals from a fixed
// grammar. Queries with a shape the builder cannot express are named templates in the
// tenant's configuration (operator-written, never rule data) whose :binds are replaced by
// such literals.

var (
	objectPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,79}$`)
	fieldPattern  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,79}(\.[A-Za-z][A-Za-z0-9_]{0,79}){0,4}$`)
	datePattern   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	dateLiteral   = regexp.MustCompile(`^(YESTERDAY|TODAY|TOMORROW|LAST_WEEK|THIS_WEEK|NEXT_WEEK|LAST_MONTH|THIS_MONTH|NEXT_MONTH|LAST_90_DAYS|NEXT_90_DAYS|THIS_QUARTER|LAST_QUARTER|NEXT_QUARTER|THIS_YEAR|LAST_YEAR|NEXT_YEAR|THIS_FISCAL_QUARTER|LAST_FISCAL_QUARTER|NEXT_FISCAL_QUARTER|THIS_FISCAL_YEAR|LAST_FISCAL_YEAR|NEXT_FISCAL_YEAR|(LAST|NEXT)_N_(DAYS|WEEKS|MONTHS|QUARTERS|YEARS|FISCAL_QUARTERS|FISCAL_YEARS):\d{1,4}|N_(DAYS|WEEKS|MONTHS|QUARTERS|YEARS|FISCAL_QUARTERS|FISCAL_YEARS)_AGO:\d{1,4})$`)
)

// literalError says why a value cannot be a SOQL literal; path is added by the caller.
type literalError struct{ msg string }

func (e *literalError) Error() string { return e.msg }

func badLiteral(format string, args ...any) error {
	return &literalError{fmt.Sprintf(format, args...)}
}

// quote renders s as a SOQL string literal: backslash, both quotes and the control
// characters SOQL has escapes for are escaped; other control characters are refused.
func quote(s string) (string, error) {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 || r == 0x7f {
				return "", badLiteral("control character %U cannot be in a SOQL string", r)
			}
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String(), nil
}

// likeLiteral renders a LIKE pattern that matches s literally between the wildcards
// prefix and suffix ("%" or ""): s is quoted first, then its own % and _ are escaped, so
// that the escapes are SOQL's (\% and \_) and not backslashes the quoting doubled.
func likeLiteral(prefix, s, suffix string) (string, error) {
	q, err := quote(s)
	if err != nil {
		return "", err
	}
	inner := strings.NewReplacer(`%`, `\%`, `_`, `\_`).Replace(q[1 : len(q)-1])
	return "'" + prefix + inner + suffix + "'", nil
}

// literal renders one value as a SOQL literal of typ ("" infers it from the JSON type:
// string, number or boolean; date, datetime and date_literal must be declared).
func literal(v any, typ string) (string, error) {
	if v == nil {
		return "", badLiteral("a value is required (use the is_null or not_null operators for null)")
	}
	switch typ {
	case "", "string", "number", "boolean":
	case "date":
		s, ok := v.(string)
		if !ok || !datePattern.MatchString(s) {
			return "", badLiteral("a date must be a string YYYY-MM-DD (got %v)", v)
		}
		if _, err := time.Parse("2006-01-02", s); err != nil {
			return "", badLiteral("%q is not a calendar date", s)
		}
		return s, nil
	case "datetime":
		s, ok := v.(string)
		t, err := time.Parse(time.RFC3339Nano, s)
		if !ok || err != nil {
			return "", badLiteral("a datetime must be an RFC 3339 string such as 2025-08-06T10:00:00Z (got %v)", v)
		}
		return t.UTC().Format("2006-01-02T15:04:05Z"), nil
	case "date_literal":
		s, ok := v.(string)
		if !ok || !dateLiteral.MatchString(s) {
			return "", badLiteral("%v is not a SOQL date literal (TODAY, LAST_N_DAYS:30, …)", v)
		}
		return s, nil
	default:
		return "", badLiteral("unknown type %q", typ)
	}
	switch x := v.(type) {
	case string:
		switch typ {
		case "number":
			f, err := strconv.ParseFloat(x, 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return "", badLiteral("%q is not a number", x)
			}
			return strconv.FormatFloat(f, 'f', -1, 64), nil
		case "boolean":
			if x != "true" && x != "false" {
				return "", badLiteral("%q is not true or false", x)
			}
			return x, nil
		}
		return quote(x)
	case float64:
		if typ == "string" {
			return quote(strconv.FormatFloat(x, 'f', -1, 64))
		}
		if typ == "boolean" || math.IsInf(x, 0) || math.IsNaN(x) {
			return "", badLiteral("%v is not a %s", x, typ)
		}
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return "", badLiteral("%v is not a number", x)
		}
		return literal(f, typ)
	case bool:
		if typ == "string" || typ == "number" {
			return "", badLiteral("%v is not a %s", x, typ)
		}
		return strconv.FormatBool(x), nil
	}
	return "", badLiteral("a value must be a string, number or boolean (got %T)", v)
}

// listLiteral renders a non-empty list of values as ('a', 'b').
func listLiteral(v any, typ string) (string, error) {
	items, ok := v.([]any)
	if !ok || len(items) == 0 {
		return "", badLiteral("needs a non-empty list of values")
	}
	if len(items) > 1000 {
		return "", badLiteral("at most 1000 values (got %d)", len(items))
	}
	parts := make([]string, len(items))
	for i, it := range items {
		s, err := literal(it, typ)
		if err != nil {
			return "", badLiteral("[%d]: %s", i, err)
		}
		parts[i] = s
	}
	return "(" + strings.Join(parts, ", ") + ")", nil
}

// Condition is one WHERE condition of the query builder.
type Condition struct {
	Field string `json:"field" desc:"field name (Email, Account.Name)" jsonschema:"minLength=1,maxLength=400"`
	// Op: comparisons, like (value is a LIKE pattern: % and _ are wildcards), starts_with,
	// ends_with, contains (value matched literally), in and not_in (value is a list),
	// includes and excludes (multi-select picklists), is_null and not_null (no value).
	Op    string `json:"op" jsonschema:"enum==|!=|<|<=|>|>=|like|starts_with|ends_with|contains|in|not_in|includes|excludes|is_null|not_null"`
	Value any    `json:"value,omitempty"`
	// Type declares how the value is written: date (YYYY-MM-DD), datetime (RFC 3339),
	// date_literal (TODAY, LAST_N_DAYS:30…), or string/number/boolean to convert; by default
	// the JSON type decides.
	Type string `json:"type,omitempty" jsonschema:"enum=string|number|boolean|date|datetime|date_literal"`
}

// OrderBy is one ORDER BY key.
type OrderBy struct {
	Field     string `json:"field" jsonschema:"minLength=1,maxLength=400"`
	Direction string `json:"direction,omitempty" jsonschema:"enum=asc|desc"`
	Nulls     string `json:"nulls,omitempty" jsonschema:"enum=first|last"`
}

// condition renders one condition; path names it in errors.
func condition(c Condition) (string, error) {
	if !fieldPattern.MatchString(c.Field) {
		return "", &fieldError{"field", fmt.Errorf("%q is not a field name", c.Field)}
	}
	val := func(render func() (string, error)) (string, error) {
		s, err := render()
		if err != nil {
			return "", &fieldError{"value", err}
		}
		return s, nil
	}
	switch c.Op {
	case "is_null", "not_null":
		if c.Value != nil {
			return "", &fieldError{"value", errors.New("is_null and not_null take no value")}
		}
		if c.Op == "is_null" {
			return c.Field + " = null", nil
		}
		return c.Field + " != null", nil
	case "in", "not_in", "includes", "excludes":
		list, err := val(func() (string, error) { return listLiteral(c.Value, c.Type) })
		if err != nil {
			return "", err
		}
		op := map[string]string{"in": "IN", "not_in": "NOT IN", "includes": "INCLUDES", "excludes": "EXCLUDES"}[c.Op]
		return c.Field + " " + op + " " + list, nil
	case "like", "starts_with", "ends_with", "contains":
		s, ok := c.Value.(string)
		if !ok || (c.Type != "" && c.Type != "string") {
			return "", &fieldError{"value", errors.New("LIKE operators take a string value")}
		}
		wild := map[string][2]string{"starts_with": {"", "%"}, "ends_with": {"%", ""}, "contains": {"%", "%"}}[c.Op]
		q, err := val(func() (string, error) {
			if c.Op == "like" {
				return quote(s)
			}
			return likeLiteral(wild[0], s, wild[1])
		})
		if err != nil {
			return "", err
		}
		return c.Field + " LIKE " + q, nil
	case "=", "!=", "<", "<=", ">", ">=":
		lit, err := val(func() (string, error) { return literal(c.Value, c.Type) })
		if err != nil {
			return "", err
		}
		return c.Field + " " + c.Op + " " + lit, nil
	}
	return "", &fieldError{"op", fmt.Errorf("unknown operator %q", c.Op)}
}

// fieldError is a builder error about one part of the input, named relative to it.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return e.err.Error() }

// buildQuery renders the query builder's input as SOQL; errors name the input field.
func buildQuery(in QueryIn) (string, error) {
	if !objectPattern.MatchString(in.Object) {
		return "", &fieldError{"object", fmt.Errorf("%q is not an sObject name", in.Object)}
	}
	if len(in.Fields) == 0 {
		return "", &fieldError{"fields", errors.New("name at least one field")}
	}
	for i, f := range in.Fields {
		if !fieldPattern.MatchString(f) {
			return "", &fieldError{fmt.Sprintf("fields[%d]", i), fmt.Errorf("%q is not a field name", f)}
		}
	}
	q := "SELECT " + strings.Join(in.Fields, ", ") + " FROM " + in.Object
	if len(in.Where) > 0 {
		joiner := " AND "
		switch in.Match {
		case "", "all":
		case "any":
			joiner = " OR "
		}
		parts := make([]string, len(in.Where))
		for i, c := range in.Where {
			s, err := condition(c)
			if err != nil {
				fe := err.(*fieldError)
				return "", &fieldError{fmt.Sprintf("where[%d].%s", i, fe.field), fe.err}
			}
			parts[i] = s
		}
		q += " WHERE " + strings.Join(parts, joiner)
	}
	if len(in.OrderBy) > 0 {
		keys := make([]string, len(in.OrderBy))
		for i, o := range in.OrderBy {
			if !fieldPattern.MatchString(o.Field) {
				return "", &fieldError{fmt.Sprintf("order_by[%d].field", i), fmt.Errorf("%q is not a field name", o.Field)}
			}
			k := o.Field
			if o.Direction == "desc" {
				k += " DESC"
			} else {
				k += " ASC"
			}
			switch o.Nulls {
			case "first":
				k += " NULLS FIRST"
			case "last":
				k += " NULLS LAST"
			}
			keys[i] = k
		}
		q += " ORDER BY " + strings.Join(keys, ", ")
	}
	if in.Limit > 0 {
		q += " LIMIT " + strconv.Itoa(in.Limit)
	}
	if in.Offset > 0 {
		q += " OFFSET " + strconv.Itoa(in.Offset)
	}
	return q, nil
}

// bindValue renders a bind: a string, number, boolean or null as such, a list for IN, or
// {"date"|"datetime"|"date_literal": "…"} for the unquoted kinds.
func bindValue(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "null", nil
	case []any:
		return listLiteral(x, "")
	case map[string]any:
		if len(x) != 1 {
			return "", badLiteral(`a typed value is one of {"date": …}, {"datetime": …}, {"date_literal": …}`)
		}
		for typ, inner := range x {
			if typ != "date" && typ != "datetime" && typ != "date_literal" {
				return "", badLiteral(`a typed value is one of {"date": …}, {"datetime": …}, {"date_literal": …} (got %q)`, typ)
			}
			return literal(inner, typ)
		}
	}
	return literal(v, "")
}

// expandNamed replaces the :binds of a query template outside its string literals.
func expandNamed(template string, binds map[string]any) (string, error) {
	used := map[string]bool{}
	var b strings.Builder
	for i := 0; i < len(template); {
		c := template[i]
		switch {
		case c == '\'':
			j := i + 1
			for j < len(template) && template[j] != '\'' {
				if template[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(template) {
				return "", errors.New("the template has an unterminated string literal")
			}
			b.WriteString(template[i : j+1])
			i = j + 1
		case c == ':' && i+1 < len(template) && (template[i+1] == '_' || isLetter(template[i+1])):
			j := i + 1
			for j < len(template) && (template[j] == '_' || isLetter(template[j]) || template[j] >= '0' && template[j] <= '9') {
				j++
			}
			name := template[i+1 : j]
			v, ok := binds[name]
			if !ok {
				return "", &fieldError{"binds." + name, fmt.Errorf("the query uses :%s; give binds.%s", name, name)}
			}
			s, err := bindValue(v)
			if err != nil {
				return "", &fieldError{"binds." + name, err}
			}
			used[name] = true
			b.WriteString(s)
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	var unused []string
	for name := range binds {
		if !used[name] {
			unused = append(unused, name)
		}
	}
	if len(unused) > 0 {
		sort.Strings(unused)
		return "", &fieldError{"binds." + unused[0], fmt.Errorf("the query does not use :%s", unused[0])}
	}
	return b.String(), nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
