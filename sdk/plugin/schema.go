package plugin

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/aquascene/aquahub/sdk/abi"
)

// SchemaOf derives the JSON Schema of T from its Go type and struct tags:
//
//   - `json:"name,omitempty"` gives the property name; a field without omitempty (or
//     omitzero) that is not a pointer is required.
//   - `desc:"..."` gives the description.
//   - `jsonschema:"..."` adds comma-separated constraints: required, optional,
//     enum=a|b|c, format=uri, pattern=^x, minimum=1, maximum=10, minLength=1,
//     maxLength=80, minItems=1, maxItems=100, default=x.
//
// Structs are closed objects (unknown fields are errors), maps with string keys are objects
// whose values follow the element type, slices are arrays ([]byte is a base64 string),
// time.Time is a date-time string, and interface types accept any value.
func SchemaOf[T any]() *abi.Schema { return schemaFor(reflect.TypeFor[T]()) }

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

func schemaFor(t reflect.Type) *abi.Schema { return schemaDepth(t, 0) }

func schemaDepth(t reflect.Type, depth int) *abi.Schema {
	if depth > 16 {
		return &abi.Schema{}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return &abi.Schema{Type: "string", Format: "date-time"}
	case t == rawType:
		return &abi.Schema{}
	}
	switch t.Kind() {
	case reflect.String:
		return &abi.Schema{Type: "string"}
	case reflect.Bool:
		return &abi.Schema{Type: "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &abi.Schema{Type: "integer"}
	case reflect.Float32, reflect.Float64:
		return &abi.Schema{Type: "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return &abi.Schema{Type: "string", Format: "byte"}
		}
		return &abi.Schema{Type: "array", Items: schemaDepth(t.Elem(), depth+1)}
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return &abi.Schema{Type: "object"}
		}
		return &abi.Schema{Type: "object", AdditionalProperties: schemaDepth(t.Elem(), depth+1)}
	case reflect.Struct:
		s := &abi.Schema{Type: "object", Properties: map[string]*abi.Schema{}, ClosedObject: true}
		addFields(s, t, depth)
		return s
	}
	return &abi.Schema{}
}

func addFields(s *abi.Schema, t reflect.Type, depth int) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addFields(s, ft, depth)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		p := schemaDepth(f.Type, depth+1)
		if d := f.Tag.Get("desc"); d != "" {
			p.Description = d
		}
		required := !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") &&
			f.Type.Kind() != reflect.Pointer
		for _, c := range splitConstraints(f.Tag.Get("jsonschema")) {
			key, val, _ := strings.Cut(c, "=")
			switch key {
			case "required":
				required = true
			case "optional":
				required = false
			case "enum":
				for _, e := range strings.Split(val, "|") {
					p.Enum = append(p.Enum, typedValue(p.Type, e))
				}
			case "format":
				p.Format = val
			case "pattern":
				p.Pattern = val
			case "default":
				p.Default = typedValue(p.Type, val)
			case "minimum":
				p.Minimum = floatPtr(val)
			case "maximum":
				p.Maximum = floatPtr(val)
			case "minLength":
				p.MinLength = intPtr(val)
			case "maxLength":
				p.MaxLength = intPtr(val)
			case "minItems":
				p.MinItems = intPtr(val)
			case "maxItems":
				p.MaxItems = intPtr(val)
			}
		}
		s.Properties[name] = p
		if required {
			s.Required = append(s.Required, name)
		}
	}
}

func splitConstraints(tag string) []string {
	if tag == "" {
		return nil
	}
	return strings.Split(tag, ",")
}

func typedValue(typ, v string) any {
	switch typ {
	case "integer", "number":
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	case "boolean":
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	}
	return v
}

func floatPtr(v string) *float64 {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return nil
	}
	return &f
}

func intPtr(v string) *int {
	n, err := strconv.Atoi(v)
	if err != nil {
		return nil
	}
	return &n
}
