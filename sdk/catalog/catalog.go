// Package catalog reads the values of partner product catalogs the way partners write them:
// a field that should be text may arrive as a number or a list, a list as lines of text with
// bullets, a stock flag as a quantity or a word. The partner connector (in the guest) and the
// hub's partner mapping (for raw items) both read catalogs, so both read them through this
// package and agree on every value.
package catalog

import (
	"encoding/json"
	"strconv"
	"strings"
)

// String renders v as text: strings trimmed, numbers without exponent or trailing zeros,
// lists joined with ", ", nil as "", anything else as its JSON.
func String(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(t)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case int:
		return strconv.Itoa(t)
	case json.Number:
		return t.String()
	case bool:
		return strconv.FormatBool(t)
	case []any, []string:
		return strings.Join(Strings(t), ", ")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// Strings turns a list, or a string of lines (each stripped of a leading "-", "•" or "*"),
// into its non-empty strings; any other value becomes a list of one.
func Strings(v any) []string {
	var out []string
	add := func(s string) {
		if s != "" {
			out = append(out, s)
		}
	}
	switch t := v.(type) {
	case nil:
	case []any:
		for _, e := range t {
			add(String(e))
		}
	case []string:
		for _, e := range t {
			add(strings.TrimSpace(e))
		}
	case string:
		for _, line := range strings.Split(t, "\n") {
			add(strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(line), "-•*")))
		}
	default:
		add(String(t))
	}
	return out
}

// Bool reads a stock flag: a boolean, a quantity (true when positive), or a word such as
// "in_stock", "available" or "yes".
func Bool(v any) bool {
	switch t := v.(type) {
	case bool:
		return t
	case float64:
		return t > 0
	case int:
		return t > 0
	case json.Number:
		f, _ := t.Float64()
		return f > 0
	case string:
		switch strings.ToLower(strings.TrimSpace(t)) {
		case "true", "yes", "1", "in_stock", "instock", "in stock", "available", "available_now":
			return true
		}
	}
	return false
}
