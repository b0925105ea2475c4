package abi

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// manifestWith returns a valid manifest whose one action has input schema input.
func manifestWith(input string) string {
	return `{"abi":1,"id":"acme","version":"1.0.0","actions":[{"name":"x","input":` + input + `}]}`
}

// nested returns a schema with depth levels of properties.
func nested(depth int) string {
	s := `{"type":"string"}`
	for range depth - 1 {
		s = `{"type":"object","properties":{"a":` + s + `}}`
	}
	return s
}

func TestManifestLimits(t *testing.T) {
	lim := DefaultLimits()
	actions := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"name":"a%d","input":{}}`, i)
		}
		return `{"abi":1,"id":"acme","version":"1.0.0","actions":[` + b.String() + `]}`
	}
	enum := func(n int) string {
		vals := make([]string, n)
		for i := range vals {
			vals[i] = fmt.Sprint(i)
		}
		return `{"enum":[` + strings.Join(vals, ",") + `]}`
	}
	tests := []struct {
		name string
		in   string
		want string // error substring; empty = valid
	}{
		{"actions at the limit", actions(256), ""},
		{"too many actions", actions(257), "actions: 257 actions exceed the limit of 256"},
		{"schema at the depth limit", manifestWith(nested(32)), ""},
		{"schema too deep", manifestWith(nested(33)), "schemas nest deeper than the limit of 32 levels"},
		{"JSON too deep to decode", manifestWith(strings.Repeat(`{"items":`, 5000) + `{}` + strings.Repeat(`}`, 5000)), "JSON nested more than 80 levels deep"},
		{"enum at the limit", manifestWith(enum(1000)), ""},
		{"enum too large", manifestWith(enum(1001)), ".enum: 1001 values exceed the limit of 1000"},
		{"pattern too long", manifestWith(`{"type":"string","pattern":"` + strings.Repeat("a", 1025) + `"}`), "pattern of 1025 bytes exceeds the limit of 1024"},
		{"pattern compiling too large", manifestWith(`{"type":"string","pattern":"` + strings.Repeat(`(?:[\\p{L}\\p{N}]{1,1000})`, 40) + `"}`), "over the limit of 10000"},
		{"counted repetition within bounds", manifestWith(`{"type":"string","pattern":"^[a-z]{1,1000}$"}`), ""},
		{"patterns too large together", manifestWith(`{"type":"object","properties":{` + func() string {
			var parts []string
			for i := range 21 {
				parts = append(parts, fmt.Sprintf(`"p%d":{"type":"string","pattern":"%s"}`, i, strings.Repeat("[a-z]{1,1000}", 4)))
			}
			return strings.Join(parts, ",")
		}() + `}}`), "patterns together compile to about"},
		{"invalid pattern", manifestWith(`{"type":"string","pattern":"(a"}`), ".pattern: error parsing regexp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeManifestLimits([]byte(tt.in), lim)
			checkErr(t, err, tt.want)
		})
	}
}

func TestValidationBudget(t *testing.T) {
	m, err := DecodeManifest([]byte(manifestWith(`{"type":"object","properties":{"name":{"type":"string","pattern":"^(?:[a-z]{1,100})x$"},"kind":{"enum":["a","b","c"]}}}`)))
	if err != nil {
		t.Fatal(err)
	}
	schema := m.Actions[0].Input
	if schema.Properties["name"].re == nil {
		t.Fatal("decoding should compile the pattern once")
	}
	long := strings.Repeat("a", 5000)
	tests := []struct {
		name   string
		value  map[string]any
		budget int64
		want   string
	}{
		{"cheap input within budget", map[string]any{"name": "abcx", "kind": "a"}, 10_000, ""},
		{"pattern mismatch is a plain validation error", map[string]any{"name": "abc"}, 10_000, "name: must match"},
		{"long input over budget", map[string]any{"name": long}, 100_000, "name: input too costly to validate: matching 5000 bytes"},
		{"no budget is no bound", map[string]any{"name": long}, -1, "name: must match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := ValidateOptions{}
			if tt.budget >= 0 {
				opts.Budget = &Budget{Steps: tt.budget}
			}
			err := schema.Validate(tt.value, opts)
			checkErr(t, err, tt.want)
			if tt.budget >= 0 && strings.Contains(tt.want, "costly") != errors.Is(err, ErrBudget) {
				t.Fatalf("errors.Is(%v, ErrBudget) = %v", err, errors.Is(err, ErrBudget))
			}
		})
	}
	t.Run("the budget is shared and spent", func(t *testing.T) {
		b := &Budget{Steps: 1000}
		for i := 0; ; i++ {
			err := schema.Validate(map[string]any{"name": strings.Repeat("a", 2) + "x"}, ValidateOptions{Budget: b})
			if errors.Is(err, ErrBudget) {
				if i == 0 {
					t.Fatal("the first validation should fit")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if i > 1000 {
				t.Fatal("the budget was never spent")
			}
		}
	})
}
