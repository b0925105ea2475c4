package catalog

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestValues(t *testing.T) {
	tests := []struct {
		name    string
		in      any
		str     string
		strs    []string
		inStock bool
	}{
		{name: "nil", in: nil, str: "", strs: nil},
		{name: "padded text", in: "  Moss  ", str: "Moss", strs: []string{"Moss"}},
		{name: "bulleted lines", in: "- Fast growth\n• Low light\n\n* Easy", str: "- Fast growth\n• Low light\n\n* Easy", strs: []string{"Fast growth", "Low light", "Easy"}},
		{name: "float", in: 12.50, str: "12.5", strs: []string{"12.5"}, inStock: true},
		{name: "int zero", in: 0, str: "0", strs: []string{"0"}},
		{name: "json number", in: json.Number("3"), str: "3", strs: []string{"3"}, inStock: true},
		{name: "list of any", in: []any{"a", 2.0, "", nil}, str: "a, 2", strs: []string{"a", "2"}},
		{name: "list of strings", in: []string{" a ", ""}, str: "a", strs: []string{"a"}},
		{name: "stock word", in: "In Stock", str: "In Stock", strs: []string{"In Stock"}, inStock: true},
		{name: "other word", in: "backorder", str: "backorder", strs: []string{"backorder"}},
		{name: "object", in: map[string]any{"k": "v"}, str: `{"k":"v"}`, strs: []string{`{"k":"v"}`}},
		{name: "bool", in: true, str: "true", strs: []string{"true"}, inStock: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := String(tt.in); got != tt.str {
				t.Errorf("String = %q, want %q", got, tt.str)
			}
			if got := Strings(tt.in); !slices.Equal(got, tt.strs) {
				t.Errorf("Strings = %q, want %q", got, tt.strs)
			}
			if got := Bool(tt.in); got != tt.inStock {
				t.Errorf("Bool = %v, want %v", got, tt.inStock)
			}
		})
	}
}
