package abi

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"regexp"
	"regexp/syntax"
	"sort"
	"strconv"
	"strings"
)

// Schema is the subset of JSON Schema (draft 2020-12) that actions use for input and output.
//
// Supported keywords: type (one of object, array, string, integer, number, boolean, null, or
// empty for any), description, enum, default, format (uri, email, date-time: informative
// except uri), properties, required, additionalProperties (boolean or schema), items,
// minimum, maximum, minLength, maxLength, minItems, maxItems, pattern. Other keywords are
// rejected by Check so that a manifest never carries constraints the host silently ignores.
type Schema struct {
	Type        string             `json:"type,omitempty"`
	Description string             `json:"description,omitempty"`
	Enum        []any              `json:"enum,omitempty"`
	Default     any                `json:"default,omitempty"`
	Format      string             `json:"format,omitempty"`
	Properties  map[string]*Schema `json:"properties,omitempty"`
	Required    []string           `json:"required,omitempty"`
	// AdditionalProperties is nil when absent (any allowed), or a schema for extra keys.
	// ClosedObject set means additionalProperties: false.
	AdditionalProperties *Schema  `json:"-"`
	ClosedObject         bool     `json:"-"`
	Items                *Schema  `json:"items,omitempty"`
	Minimum              *float64 `json:"minimum,omitempty"`
	Maximum              *float64 `json:"maximum,omitempty"`
	MinLength            *int     `json:"minLength,omitempty"`
	MaxLength            *int     `json:"maxLength,omitempty"`
	MinItems             *int     `json:"minItems,omitempty"`
	MaxItems             *int     `json:"maxItems,omitempty"`
	Pattern              string   `json:"pattern,omitempty"`

	// re is Pattern compiled by Check, and reSize its estimated size in instructions: a
	// checked schema compiles its patterns once, not on every Validate.
	re     *regexp.Regexp
	reSize int64
}

// JSONSchemaAlias tells JSON Schema generators (the hub's OpenAPI document) to describe a
// Schema as an open JSON object: a schema's keywords, additionalProperties among them, are
// written by MarshalJSON, so its Go fields do not describe its JSON.
func (Schema) JSONSchemaAlias() any { return map[string]any{} }

type schemaAlias Schema

// MarshalJSON writes additionalProperties as false or a schema.
func (s *Schema) MarshalJSON() ([]byte, error) {
	type wire struct {
		*schemaAlias
		AdditionalProperties any `json:"additionalProperties,omitempty"`
	}
	w := wire{schemaAlias: (*schemaAlias)(s)}
	if s.ClosedObject {
		w.AdditionalProperties = false
	} else if s.AdditionalProperties != nil {
		w.AdditionalProperties = s.AdditionalProperties
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads additionalProperties as a boolean or a schema and rejects unknown
// keywords.
func (s *Schema) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	ap, hasAP := raw["additionalProperties"]
	delete(raw, "additionalProperties")
	delete(raw, "$schema")
	for k := range raw {
		if !knownKeyword[k] {
			return fmt.Errorf("schema: unsupported keyword %q", k)
		}
	}
	rest, _ := json.Marshal(raw)
	var a schemaAlias
	if err := json.Unmarshal(rest, &a); err != nil {
		return err
	}
	*s = Schema(a)
	if hasAP {
		var closed bool
		if err := json.Unmarshal(ap, &closed); err == nil {
			s.ClosedObject = !closed
		} else {
			var sub Schema
			if err := json.Unmarshal(ap, &sub); err != nil {
				return fmt.Errorf("schema: additionalProperties: %w", err)
			}
			s.AdditionalProperties = &sub
		}
	}
	return nil
}

var knownKeyword = map[string]bool{
	"type": true, "description": true, "enum": true, "default": true, "format": true,
	"properties": true, "required": true, "items": true, "minimum": true, "maximum": true,
	"minLength": true, "maxLength": true, "minItems": true, "maxItems": true, "pattern": true,
}

var knownType = map[string]bool{
	"": true, "object": true, "array": true, "string": true, "integer": true, "number": true,
	"boolean": true, "null": true,
}

// Check validates the schema itself under DefaultLimits and compiles its patterns. The
// error starts with the path inside the schema, for example ".properties.url.type: unknown
// type \"uri\"".
func (s *Schema) Check() error { return s.CheckLimits(DefaultLimits()) }

// CheckLimits validates the schema itself under lim (depth, enum size, pattern size) and
// compiles its patterns, so that Validate does not compile them again.
func (s *Schema) CheckLimits(lim Limits) error {
	var patterns int64
	return s.check("", 1, lim, &patterns)
}

func (s *Schema) check(path string, depth int, lim Limits, patterns *int64) error {
	if s == nil {
		return nil
	}
	if lim.MaxSchemaDepth > 0 && depth > lim.MaxSchemaDepth {
		return fmt.Errorf("%s: schemas nest deeper than the limit of %d levels", path, lim.MaxSchemaDepth)
	}
	if !knownType[s.Type] {
		return fmt.Errorf("%s.type: unknown type %q", path, s.Type)
	}
	if lim.MaxEnumValues > 0 && len(s.Enum) > lim.MaxEnumValues {
		return fmt.Errorf("%s.enum: %d values exceed the limit of %d", path, len(s.Enum), lim.MaxEnumValues)
	}
	if s.Pattern != "" {
		size, err := checkPattern(s.Pattern, lim)
		if err != nil {
			return fmt.Errorf("%s.pattern: %w", path, err)
		}
		*patterns += size
		if lim.MaxPatternProgram > 0 && *patterns > int64(lim.patternTotal()) {
			return fmt.Errorf("%s.pattern: the schemas' patterns together compile to about %d instructions, over the limit of %d", path, *patterns, lim.patternTotal())
		}
		re, err := regexp.Compile(s.Pattern)
		if err != nil {
			return fmt.Errorf("%s.pattern: %w", path, err)
		}
		s.re, s.reSize = re, size
	}
	for _, r := range s.Required {
		if s.Properties != nil && s.Properties[r] == nil && s.ClosedObject {
			return fmt.Errorf("%s.required: %q is not a property", path, r)
		}
	}
	for _, name := range sortedKeys(s.Properties) {
		if err := s.Properties[name].check(path+".properties."+name, depth+1, lim, patterns); err != nil {
			return err
		}
	}
	if err := s.AdditionalProperties.check(path+".additionalProperties", depth+1, lim, patterns); err != nil {
		return err
	}
	return s.Items.check(path+".items", depth+1, lim, patterns)
}

// ValidateOptions tunes Validate.
type ValidateOptions struct {
	// AllowExpressions accepts a string containing "${{" wherever any value is expected: at
	// rule load time such a value is an expression evaluated only when the step runs.
	AllowExpressions bool
	// Budget, when not nil, bounds the work of validation and is spent by it: the host
	// gives each action call one, so that a guest's schema cannot make the host spend more
	// than that on the call's inputs. Nil is no bound.
	Budget *Budget
}

// ValidationError names the field (dotted path, "[i]" for array items) that failed.
type ValidationError struct {
	Path   string
	Reason string
	// Err is ErrBudget when the budget ran out, else nil.
	Err error
}

// Unwrap returns Err.
func (e *ValidationError) Unwrap() error { return e.Err }

// Error implements error.
func (e *ValidationError) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return e.Path + ": " + e.Reason
}

// Validate checks v, a value as produced by encoding/json decoding into any (map[string]any,
// []any, string, float64, bool, nil; int types and json.Number are accepted too), against
// the schema. It returns the first *ValidationError in field order.
func (s *Schema) Validate(v any, opts ValidateOptions) error {
	return s.validate("", v, opts)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (s *Schema) validate(path string, v any, opts ValidateOptions) error {
	if s == nil {
		return nil
	}
	if str, ok := v.(string); ok && opts.AllowExpressions && strings.Contains(str, "${{") {
		return nil
	}
	fail := func(format string, args ...any) error {
		return &ValidationError{Path: path, Reason: fmt.Sprintf(format, args...)}
	}
	if !opts.Budget.spend(1 + int64(len(s.Enum))) {
		return &ValidationError{Path: path, Reason: ErrBudget.Error(), Err: ErrBudget}
	}
	if len(s.Enum) > 0 {
		found := false
		for _, e := range s.Enum {
			if equalJSON(e, v) {
				found = true
				break
			}
		}
		if !found {
			return fail("must be one of %s (got %s)", enumList(s.Enum), show(v))
		}
	}
	switch s.Type {
	case "":
		return nil
	case "null":
		if v != nil {
			return fail("must be null (got %s)", show(v))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fail("must be a boolean (got %s)", show(v))
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return fail("must be a string (got %s)", show(v))
		}
		n := len([]rune(str))
		if s.MinLength != nil && n < *s.MinLength {
			return fail("must be at least %d characters long", *s.MinLength)
		}
		if s.MaxLength != nil && n > *s.MaxLength {
			return fail("must be at most %d characters long", *s.MaxLength)
		}
		if s.Pattern != "" {
			re, size := s.re, s.reSize
			if re == nil {
				// A schema built in Go and never checked (a guest's own); the host's are.
				var err error
				if re, err = regexp.Compile(s.Pattern); err != nil {
					return fail("pattern %s does not compile: %v", s.Pattern, err)
				}
				size = 1
				if parsed, err := syntax.Parse(s.Pattern, syntax.Perl); err == nil {
					size = patternSize(parsed)
				}
			}
			if !opts.Budget.spend(size * int64(len(str)+1)) {
				return &ValidationError{Path: path, Err: ErrBudget, Reason: fmt.Sprintf(
					"%v: matching %d bytes against pattern %s exceeds the validation budget of the call", ErrBudget, len(str), s.Pattern)}
			}
			if !re.MatchString(str) {
				return fail("must match %s (got %s)", s.Pattern, show(str))
			}
		}
		if s.Format == "uri" {
			if u, err := url.Parse(str); err != nil || u.Scheme == "" {
				return fail("must be an absolute URI (got %q)", str)
			}
		}
	case "integer", "number":
		f, ok := toFloat(v)
		if !ok {
			return fail("must be a %s (got %s)", s.Type, show(v))
		}
		if s.Type == "integer" && f != math.Trunc(f) {
			return fail("must be an integer (got %v)", f)
		}
		if s.Minimum != nil && f < *s.Minimum {
			return fail("must be >= %v (got %v)", *s.Minimum, f)
		}
		if s.Maximum != nil && f > *s.Maximum {
			return fail("must be <= %v (got %v)", *s.Maximum, f)
		}
	case "array":
		arr, ok := asList(v)
		if !ok {
			return fail("must be an array (got %s)", show(v))
		}
		if s.MinItems != nil && len(arr) < *s.MinItems {
			return fail("must have at least %d items", *s.MinItems)
		}
		if s.MaxItems != nil && len(arr) > *s.MaxItems {
			return fail("must have at most %d items", *s.MaxItems)
		}
		for i, item := range arr {
			if err := s.Items.validate(path+"["+strconv.Itoa(i)+"]", item, opts); err != nil {
				return err
			}
		}
	case "object":
		obj, ok := asObject(v)
		if !ok {
			return fail("must be an object (got %s)", show(v))
		}
		// Unknown fields first: a misspelt key also leaves a required one missing, and the
		// misspelling is the error worth reporting.
		if s.ClosedObject && s.AdditionalProperties == nil {
			for _, k := range sortedKeys(obj) {
				if _, ok := s.Properties[k]; !ok {
					return &ValidationError{Path: join(path, k), Reason: fmt.Sprintf("unknown field %q", k)}
				}
			}
		}
		for _, r := range s.Required {
			if _, ok := obj[r]; !ok {
				return &ValidationError{Path: join(path, r), Reason: "required field missing"}
			}
		}
		for _, k := range sortedKeys(obj) {
			sub, ok := s.Properties[k]
			switch {
			case ok:
			case s.AdditionalProperties != nil:
				sub = s.AdditionalProperties
			case s.ClosedObject:
				return &ValidationError{Path: join(path, k), Reason: fmt.Sprintf("unknown field %q", k)}
			default:
				continue
			}
			if err := sub.validate(join(path, k), obj[k], opts); err != nil {
				return err
			}
		}
	}
	return nil
}

// asList accepts any Go slice or array, so typed values from Go callers ([]string,
// []map[string]any) validate like the []any that JSON decoding produces.
func asList(v any) ([]any, bool) {
	if l, ok := v.([]any); ok {
		return l, true
	}
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || (rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array) || rv.Type().Elem().Kind() == reflect.Uint8 {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

// asObject accepts any Go map keyed by strings, for the same reason as asList.
func asObject(v any) (map[string]any, bool) {
	if m, ok := v.(map[string]any); ok {
		return m, true
	}
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
		return nil, false
	}
	out := make(map[string]any, rv.Len())
	for it := rv.MapRange(); it.Next(); {
		out[it.Key().String()] = it.Value().Interface()
	}
	return out, true
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case uint32:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func equalJSON(a, b any) bool {
	switch a := a.(type) {
	case string:
		b, ok := b.(string)
		return ok && a == b
	case bool:
		b, ok := b.(bool)
		return ok && a == b
	}
	if fa, ok := toFloat(a); ok {
		fb, ok := toFloat(b)
		return ok && fa == fb
	}
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

func enumList(e []any) string {
	parts := make([]string, len(e))
	for i, v := range e {
		parts[i] = show(v)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func show(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	if len(b) > 60 {
		b = append(b[:57], "..."...)
	}
	return string(b)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
